//! Attachments and user feedback: an error sent with the files that explain it (a log
//! excerpt and the running configuration), then what the user who hit it said.
//!
//! ```sh
//! cargo run -p sentry-examples --example feedback-demo -- <DSN>
//! ```
//!
//! The DSN comes from the first argument, else `SENTRY_DSN`. On a lite server the issue
//! page then lists both files (with download links) and the feedback, and the project's
//! feedback page (`/projects/{team}/{project}/feedback/`) shows it too.

use sentry::protocol::{Attachment, Feedback};
use sentry_client as sentry;

fn main() {
    let dsn = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SENTRY_DSN").ok())
        .unwrap_or_default();
    if dsn.is_empty() {
        eprintln!("usage: feedback-demo <DSN>   (or set SENTRY_DSN)");
        std::process::exit(2);
    }
    let _guard = sentry::init(dsn.as_str());
    let event_id = sentry::with_scope(
        |scope| {
            scope.add_attachment(Attachment {
                buffer: b"12:00:01 export started\n12:00:03 disk full\n".to_vec(),
                filename: "export.log".into(),
                content_type: Some("text/plain".into()),
                ty: None,
            });
            scope.add_attachment(Attachment {
                buffer: br#"{"export_dir": "/var/exports", "max_rows": 100000}"#.to_vec(),
                filename: "config.json".into(),
                content_type: Some("application/json".into()),
                ty: None,
            });
        },
        || sentry::capture_message("export failed: disk full", sentry::Level::Error),
    );
    let feedback_id = sentry::capture_feedback(Feedback {
        message: "I clicked Export and got an empty file".into(),
        contact_email: Some("ana@example.com".into()),
        name: Some("Ana".into()),
        url: Some("https://shop.example/admin/export".into()),
        associated_event_id: Some(event_id),
    });
    println!("event {event_id} with 2 attachments, feedback {feedback_id}");
}
