//! Attachments on their way out: the scope's attachments go into the envelope of each
//! event captured with that scope, within the size limits of the client options.
//!
//! Two limits apply, both checked on the worker before the envelope is written:
//! [`max_attachment_size`](crate::ClientOptions::max_attachment_size) per file and
//! [`max_attachments_size`](crate::ClientOptions::max_attachments_size) for all the files
//! of one envelope (in the order they were added: the first ones that fit are sent).
//! Both default to 20 MiB: that is the compressed request limit of sentry.io and of the
//! lite server (`--max-body-bytes`), so an envelope within it is not refused whole with a
//! 413 — which would lose the event along with the file. A file that does not fit is
//! dropped alone and counted in client reports as `buffer_overflow` in the `attachment`
//! category, with its size in bytes as the quantity (the unit Sentry counts attachments
//! in).

use std::sync::Arc;

use crate::protocol::{Attachment, Envelope};

/// The attachments of a scope (shared by its snapshots).
pub(crate) type ScopeAttachments = Arc<Vec<Arc<Attachment>>>;

/// The default of both attachment limits: 20 MiB.
pub const DEFAULT_MAX_ATTACHMENT_SIZE: usize = 20 * 1024 * 1024;

/// Adds `attachments` to `envelope` within the limits; returns the sizes in bytes of
/// those left out.
pub(crate) fn attach(
    envelope: &mut Envelope,
    attachments: &[Arc<Attachment>],
    max_each: usize,
    max_total: usize,
) -> Vec<u64> {
    let mut dropped = Vec::new();
    let mut total = 0usize;
    for a in attachments {
        let len = a.buffer.len();
        if len > max_each || total.saturating_add(len) > max_total {
            dropped.push(len as u64);
            continue;
        }
        total += len;
        envelope.push(a.to_item());
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ItemType;

    fn file(name: &str, len: usize) -> Arc<Attachment> {
        Arc::new(Attachment {
            buffer: vec![b'x'; len],
            filename: name.into(),
            ..Default::default()
        })
    }

    #[test]
    fn limits_per_file_and_per_envelope() {
        let mut env = Envelope::new();
        let files = [file("a", 4), file("big", 11), file("b", 5), file("c", 2)];
        let dropped = attach(&mut env, &files, 10, 10);
        // "big" is over the per-file limit, "c" over what is left of the total.
        assert_eq!(dropped, [11, 2]);
        let names: Vec<_> = env
            .items
            .iter()
            .map(|i| {
                (
                    i.ty().clone(),
                    i.headers.filename.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (ItemType::Attachment, "a".to_owned()),
                (ItemType::Attachment, "b".to_owned())
            ]
        );
    }
}
