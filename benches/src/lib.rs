//! Benchmarks live as `[[bench]]` targets; shared helpers go here.

pub mod server_events;

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
