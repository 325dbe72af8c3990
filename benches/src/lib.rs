//! Benchmarks live as `[[bench]]` targets; shared helpers go here.

pub mod server_events;

/// Sends one HTTP/1.1 request on a keep-alive connection and reads its answer (headers
/// and a `Content-Length` body) into `buf`; the status. No time limit: callers that need
/// one wrap it in `tokio::time::timeout`.
pub async fn http_round_trip(
    stream: &mut tokio::net::TcpStream,
    req: &[u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(req).await?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Ok(status);
    }
}

/// CPU time a process has used so far (user + system), in clock ticks of 1/100 s, read
/// from `/proc/PID/stat`; 0 when the process is gone.
pub fn cpu_ticks(pid: u32) -> u64 {
    stat_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// CPU time (user + system, clock ticks of 1/100 s) of every process named `postgres` on
/// this machine: PostgreSQL's share of a benchmark on a machine running one cluster.
pub fn postgres_cpu_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(head, _)| head.ends_with("(postgres"))
        })
        .map(|stat| stat_cpu_ticks(&stat))
        .sum()
}

/// The machine's CPU counters from the first line of `/proc/stat`, in clock ticks: time
/// busy (user, nice, system, irq, softirq), time in all, and time stolen by the
/// hypervisor (a figure taken while the host took much of it is not comparable).
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineCpu {
    /// Busy ticks, summed over the cores.
    pub busy: u64,
    /// All ticks (busy, idle, iowait, steal), summed over the cores.
    pub total: u64,
    /// Ticks stolen by the hypervisor, summed over the cores.
    pub steal: u64,
}

impl MachineCpu {
    /// Reads the counters now (zeros when `/proc/stat` cannot be read).
    pub fn now() -> MachineCpu {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let f = |i: usize| fields.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        MachineCpu {
            busy: f(0) + f(1) + f(2) + f(5) + f(6),
            total: (0..8).map(f).sum(),
            steal: f(7),
        }
    }

    /// Cores busy and cores stolen between `earlier` and `self`, on a machine of
    /// `cores` cores.
    pub fn since(&self, earlier: &MachineCpu, cores: f64) -> (f64, f64) {
        let total = self.total.saturating_sub(earlier.total).max(1) as f64;
        (
            self.busy.saturating_sub(earlier.busy) as f64 / total * cores,
            self.steal.saturating_sub(earlier.steal) as f64 / total * cores,
        )
    }
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line.
fn stat_cpu_ticks(stat: &str) -> u64 {
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}
