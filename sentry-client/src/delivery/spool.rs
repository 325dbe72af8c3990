//! The disk spool: envelopes that could not be sent, one file each, re-sent later (also
//! by the next run of the program).
//!
//! Files are written atomically (a temporary file, then a rename), named so that sorting
//! by name is sorting by age (`<unix-nanos>-<pid>-<seq>.envelope`), and capped in total
//! size: the oldest are deleted first, and each deletion is counted as `cache_overflow`.
//! One spool directory belongs to one running program at a time.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const EXT: &str = "envelope";

/// A spooled envelope taken out for sending: its file stays until [`Spool::remove`].
#[derive(Debug)]
pub(crate) struct SpoolEntry {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
}

/// The spool directory and an index of its files, oldest first.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    files: VecDeque<SpoolEntry>,
    /// Bytes of every file, including entries taken out and not yet removed.
    total: u64,
    seq: u64,
}

impl Spool {
    /// Opens (creating if needed) a spool directory and indexes the files already there.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        let mut files = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) == Some(EXT) {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                files.push(SpoolEntry { path, size });
            } else if path.extension().and_then(|e| e.to_str()) == Some("tmp") {
                // A write interrupted by a crash: never complete, never renamed.
                let _ = fs::remove_file(&path);
            }
        }
        files.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
        let total = files.iter().map(|f| f.size).sum();
        Ok(Spool {
            dir: dir.to_owned(),
            max_bytes,
            files: files.into(),
            total,
            seq: 0,
        })
    }

    /// Files waiting (not counting entries taken out).
    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes an envelope; returns how many old files were deleted to stay under the cap.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let size = bytes.len() as u64;
        let mut evicted = 0;
        while self.total + size > self.max_bytes {
            let Some(old) = self.files.pop_front() else {
                break;
            };
            self.total = self.total.saturating_sub(old.size);
            let _ = fs::remove_file(&old.path);
            evicted += 1;
        }
        if self.total + size > self.max_bytes {
            // Larger than the whole spool: it cannot be kept.
            return Err(io::Error::other("envelope larger than max_spool_bytes"));
        }
        self.seq += 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("{nanos:024}-{}-{:08}", std::process::id(), self.seq);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let path = self.dir.join(format!("{name}.{EXT}"));
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.total += size;
        self.files.push_back(SpoolEntry { path, size });
        Ok(evicted)
    }

    /// Takes the oldest file out for sending, with its bytes. Unreadable files are
    /// deleted and skipped.
    pub(crate) fn take_oldest(&mut self) -> Option<(SpoolEntry, Vec<u8>)> {
        while let Some(entry) = self.files.pop_front() {
            match fs::read(&entry.path) {
                Ok(bytes) => return Some((entry, bytes)),
                Err(_) => {
                    self.total = self.total.saturating_sub(entry.size);
                    let _ = fs::remove_file(&entry.path);
                }
            }
        }
        None
    }

    /// Puts an entry taken out back at the front (its send failed).
    pub(crate) fn put_back(&mut self, entry: SpoolEntry) {
        self.files.push_front(entry);
    }

    /// Deletes an entry taken out (it was sent or is to be dropped).
    pub(crate) fn remove(&mut self, entry: SpoolEntry) {
        self.total = self.total.saturating_sub(entry.size);
        let _ = fs::remove_file(&entry.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "sentry-client-spool-{name}-{}-{}",
            std::process::id(),
            crate::random::next_u64()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn keeps_order_survives_reopen_and_caps_size() {
        let dir = tempdir("order");
        let mut spool = Spool::open(&dir, 25).expect("open");
        assert_eq!(spool.push(b"first-----").expect("push"), 0);
        assert_eq!(spool.push(b"second----").expect("push"), 0);
        drop(spool);
        let mut spool = Spool::open(&dir, 25).expect("reopen");
        assert_eq!(spool.len(), 2);
        // A third file exceeds 25 bytes: the oldest goes.
        assert_eq!(spool.push(b"third-----").expect("push"), 1);
        let (e, bytes) = spool.take_oldest().expect("oldest");
        assert_eq!(bytes, b"second----");
        spool.put_back(e);
        let (e, _) = spool.take_oldest().expect("again");
        spool.remove(e);
        let (e, bytes) = spool.take_oldest().expect("third");
        assert_eq!(bytes, b"third-----");
        spool.remove(e);
        assert!(spool.is_empty());
        assert!(spool.push(&[0u8; 100]).is_err(), "larger than the spool");
        assert_eq!(fs::read_dir(&dir).expect("dir").count(), 0);
        let _ = fs::remove_dir_all(&dir);
    }
}
