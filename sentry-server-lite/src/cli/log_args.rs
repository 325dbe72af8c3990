//! The `serve` / `quickstart` options of structured logs and the Spotlight listener
//! (issue #20).

use std::net::SocketAddr;

use crate::config::ServerConfig;

/// Logs and Spotlight options.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Delete structured logs older than this many days (0 keeps them).
    #[arg(long, env = "SENTRY_LITE_LOG_RETENTION_DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub log_retention_days: u64,
    /// Keep at most this many logs per project, the newest (0: no cap).
    #[arg(
        long,
        env = "SENTRY_LITE_MAX_LOGS_PER_PROJECT",
        default_value_t = 2_000_000
    )]
    pub max_logs_per_project: u64,
    /// Act as a Spotlight sidecar on this loopback address (`POST`/`GET /stream`, the
    /// live page `/live/`); without a value 127.0.0.1:8969. On by default in
    /// `quickstart`.
    #[arg(long, env = "SENTRY_LITE_SPOTLIGHT", num_args = 0..=1,
          default_missing_value = crate::live::DEFAULT_ADDR)]
    pub spotlight: Option<SocketAddr>,
    /// `quickstart`: do not start the Spotlight listener.
    #[arg(long)]
    pub no_spotlight: bool,
}

impl LogArgs {
    /// Sets the log retention and the Spotlight listener of `serve`.
    pub fn apply(&self, c: &mut ServerConfig) {
        c.retention.log_max_age_days = self.log_retention_days;
        c.retention.max_logs_per_project = self.max_logs_per_project;
        c.spotlight_bind = self.spotlight.filter(|_| !self.no_spotlight);
    }

    /// `quickstart`: the Spotlight listener is on unless `--no-spotlight`; on its
    /// default address only when that is free (a Spotlight sidecar of its own may run
    /// there: quickstart then starts without, and says so).
    pub fn apply_quickstart(&self, c: &mut ServerConfig) {
        self.apply(c);
        if !self.no_spotlight && c.spotlight_bind.is_none() {
            let addr: Option<SocketAddr> = crate::live::DEFAULT_ADDR.parse().ok();
            let free = addr.is_some_and(|a| std::net::TcpListener::bind(a).is_ok());
            if free {
                c.spotlight_bind = addr;
            } else {
                tracing::warn!(
                    "{} is taken: no Spotlight listener (give --spotlight ADDR)",
                    crate::live::DEFAULT_ADDR
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};
    use crate::config::ServerConfig;

    fn logs(args: &[&str]) -> super::LogArgs {
        let argv = ["sentry-server-lite"].iter().chain(args).copied();
        match Cli::try_parse_from(argv.collect::<Vec<_>>())
            .expect("arguments")
            .command
        {
            Command::Serve(a) => a.logs,
            Command::Quickstart(q) => q.serve.logs,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_reach_the_config() {
        let mut c = ServerConfig::new("/nonexistent");
        logs(&[
            "serve",
            "--log-retention-days",
            "3",
            "--max-logs-per-project",
            "10",
            "--spotlight",
        ])
        .apply(&mut c);
        assert_eq!(c.retention.log_max_age_days, 3);
        assert_eq!(c.retention.max_logs_per_project, 10);
        assert_eq!(c.spotlight_bind, Some("127.0.0.1:8969".parse().unwrap()));
        let mut c = ServerConfig::new("/nonexistent");
        logs(&["serve"]).apply(&mut c);
        assert_eq!((c.retention.log_max_age_days, c.spotlight_bind), (14, None));
        let mut c = ServerConfig::new("/nonexistent");
        logs(&["serve", "--spotlight", "127.0.0.1:9999"]).apply(&mut c);
        assert_eq!(c.spotlight_bind, Some("127.0.0.1:9999".parse().unwrap()));
        let mut c = ServerConfig::new("/nonexistent");
        logs(&["quickstart"]).apply_quickstart(&mut c);
        // On when its default address is free (this machine may run a sidecar there).
        let free = std::net::TcpListener::bind("127.0.0.1:8969").is_ok();
        assert_eq!(c.spotlight_bind.is_some(), free);
        let mut c = ServerConfig::new("/nonexistent");
        logs(&["quickstart", "--no-spotlight"]).apply_quickstart(&mut c);
        assert_eq!(c.spotlight_bind, None);
    }
}
