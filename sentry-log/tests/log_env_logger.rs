//! `SentryLogger` wrapping a real env_logger: the console output is unchanged (its own
//! binary: the logger is process-wide).

use std::io::Write;
use std::sync::{Arc, Mutex};

use log::LevelFilter;
use sentry_client::test::with_captured_events;
use sentry_log::SentryLogger;

/// An env_logger target that keeps what was written.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

#[test]
fn env_logger_prints_the_same_lines_and_sentry_gets_its_share() {
    let out = Buffer::default();
    let console = env_logger::Builder::new()
        .parse_filters("debug,noisy=off")
        .format(|f, record| {
            writeln!(
                f,
                "{} {}: {}",
                record.level(),
                record.target(),
                record.args()
            )
        })
        .target(env_logger::Target::Pipe(Box::new(out.clone())))
        .build();
    let level = console.filter();
    assert_eq!(level, LevelFilter::Debug);
    SentryLogger::with_dest(console)
        .dest_max_level(level)
        .install()
        .expect("the only logger of this test binary");
    assert_eq!(log::max_level(), LevelFilter::Debug);

    let events = with_captured_events(|| {
        log::trace!("not printed, not sent");
        log::debug!("printed only");
        log::info!(target: "noisy", "sent as a breadcrumb, not printed");
        log::warn!("printed and a breadcrumb");
        log::error!("printed and an event");
    });
    assert_eq!(
        out.text(),
        "DEBUG env_logger_prints: printed only\n\
         WARN env_logger_prints: printed and a breadcrumb\n\
         ERROR env_logger_prints: printed and an event\n"
            .replace("env_logger_prints", module_path!())
    );
    assert_eq!(events.len(), 1);
    let crumbs: Vec<_> = events[0]
        .breadcrumbs
        .iter()
        .filter_map(|b| b.message.as_deref())
        .collect();
    assert_eq!(
        crumbs,
        [
            "sent as a breadcrumb, not printed",
            "printed and a breadcrumb"
        ]
    );
}
