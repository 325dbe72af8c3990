//! `sentry-server-lite`: parses the command line and runs the command.

use clap::Parser;

/// mimalloc: parsing events allocates many small strings on several threads, where the
/// system allocator's arena locking showed up at ~15% of server CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    sentry_server_lite::cli::run(sentry_server_lite::cli::Cli::parse())
}
