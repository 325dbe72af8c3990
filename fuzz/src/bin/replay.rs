//! Replays a corpus through [`sentry_lite_fuzz::run`] without the fuzzer or sanitizers,
//! timing each input: prints the count, the median, p99 and slowest inputs, and exits 1
//! when one took longer than the limit (default 50 ms), so a run can show that no input
//! is slow.
//!
//! Usage: `replay CORPUS_DIR [LIMIT_MS]`

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: replay CORPUS_DIR [LIMIT_MS]");
        std::process::exit(2);
    };
    let limit_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("replay: {dir}: {e}");
            std::process::exit(2);
        }
    };
    let mut times: Vec<(Duration, String, usize)> = Vec::new();
    for entry in entries.flatten() {
        let Ok(data) = std::fs::read(entry.path()) else {
            continue;
        };
        // The best of three runs: the input's cost, not the machine's noise.
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            sentry_lite_fuzz::run(&data);
            best = best.min(start.elapsed());
        }
        times.push((
            best,
            entry.file_name().to_string_lossy().into_owned(),
            data.len(),
        ));
    }
    if times.is_empty() {
        eprintln!("replay: {dir} holds no inputs");
        std::process::exit(2);
    }
    times.sort();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q) as usize].0;
    println!(
        "replay: {} inputs; median {:?}, p99 {:?}, max {:?}",
        times.len(),
        pick(0.5),
        pick(0.99),
        times[times.len() - 1].0
    );
    for (t, name, len) in times.iter().rev().take(5) {
        println!("  {t:?}  {name} ({len} bytes)");
    }
    let slow = times
        .iter()
        .filter(|(t, _, _)| *t > Duration::from_millis(limit_ms))
        .count();
    if slow > 0 {
        println!("replay: {slow} inputs slower than {limit_ms} ms");
        std::process::exit(1);
    }
}
