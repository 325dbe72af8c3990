//! Storage failures on the ingest path, on a real SQLite file: a full database
//! (`PRAGMA max_page_count` makes writes fail with SQLITE_FULL exactly as a full disk
//! does) and a commit gate that is never released.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::WriterConfig;
use crate::ingest::{http::error_response, IngestError, STORAGE_RETRY_AFTER};
use crate::metrics::Metrics;
use crate::writer::{WriteError, Writer, Written};

/// Long enough for any commit on a loaded machine; a hang fails the test instead of
/// hanging it.
const BOUND: Duration = Duration::from_secs(60);

fn open() -> (tempfile::TempDir, Arc<SqliteStore>, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStore::open(&dir.path().join("sentry.db"), Synchronous::Normal).expect("open");
    let team = s.create_team("t", "T", None).expect("team");
    let p = s.create_project(team.id, "p", "P", None).expect("project");
    (dir, Arc::new(s), p.id)
}

/// An event of the one issue "m", with `body` bytes of incompressible body.
fn event(project_id: i64, id: &str, body: usize) -> NewEvent {
    let e = sentry_client::protocol::Event::from_slice(br#"{"message":"m"}"#).expect("event");
    let mut n = crate::ingest::prepare_event(project_id, &e, b"{}", None, 1).expect("prepare");
    n.event_id = id.to_owned();
    let raw: Vec<u8> = (0..body).map(|_| rand::random::<u8>()).collect();
    n.body_zstd = zstd::bulk::compress(&raw, 1).expect("zstd");
    n
}

fn times_seen(s: &SqliteStore) -> i64 {
    s.writer
        .lock()
        .query_row("SELECT coalesce(sum(times_seen), 0) FROM issues", [], |r| {
            r.get(0)
        })
        .expect("times_seen")
}

/// Sets the writer connection's page limit; returns the limit in effect (SQLite does not
/// go below the current size).
fn max_pages(s: &SqliteStore, pages: i64) -> i64 {
    s.writer
        .lock()
        .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get(0)
        })
        .expect("max_page_count")
}

/// Queues `events` through the writer and waits (bounded) for each answer.
fn send(
    rt: &tokio::runtime::Runtime,
    writer: &Writer,
    events: Vec<NewEvent>,
) -> Vec<Result<WriteOutcome, WriteError>> {
    let receivers = writer.write_all(events, Vec::new()).expect("queued");
    receivers
        .into_iter()
        .map(|rx| {
            let written = rt
                .block_on(async { tokio::time::timeout(BOUND, rx).await })
                .expect("the writer answers (no hang)")
                .expect("the writer keeps the reply");
            written.map(|w| match w {
                Written::Event(outcome) => outcome,
                Written::Record => panic!("an event answered as a record"),
            })
        })
        .collect()
}

/// With the database full, every event of a failed batch is answered 503 (storage
/// unavailable, Retry-After) and nothing of it is stored, not even the issue counter;
/// the writer keeps answering; once there is room again the same events are stored, and
/// every event ever acknowledged is in the database.
#[test]
fn full_database_answers_503_stores_nothing_half_way_and_recovers() {
    let (_dir, s, pid) = open();
    let metrics = Arc::new(Metrics::default());
    let config = WriterConfig {
        queue_capacity: 64,
        max_batch: 8,
        threads: None,
    };
    let (writer, thread) = Writer::spawn(s.clone(), &config, metrics.clone()).expect("spawn");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("rt");
    let first = send(&rt, &writer, vec![event(pid, "warm", 10)]);
    assert!(matches!(first[0], Ok(WriteOutcome::Stored { .. })));
    let limit = max_pages(&s, 1);
    assert!(limit > 1, "the limit is the current size: {limit}");

    // Big bodies need new pages: refused. Several rounds, so that the writer proves it
    // goes on after each failed batch.
    let mut acknowledged = vec!["warm".to_owned()];
    let mut refused = Vec::new();
    for round in 0..3 {
        let ids: Vec<String> = (0..5).map(|i| format!("big-{round}-{i}")).collect();
        let events = ids.iter().map(|id| event(pid, id, 64 * 1024)).collect();
        for (id, outcome) in ids.iter().zip(send(&rt, &writer, events)) {
            let err = outcome.expect_err("a full database refuses the event");
            // The whole batch fails at once as "unavailable" (no event-by-event retry
            // of a full disk), with SQLite's reason.
            assert!(
                matches!(&err, WriteError::Store(StoreError::Unavailable(m)) if m.contains("full")),
                "storage unavailable: {err:?}"
            );
            let ingest = IngestError::from(err);
            let response = error_response(&ingest);
            assert_eq!(response.status(), 503);
            assert_eq!(
                response.headers()[http::header::RETRY_AFTER],
                STORAGE_RETRY_AFTER.to_string().as_str()
            );
            let detail = response.headers()["x-sentry-error"]
                .to_str()
                .expect("ascii")
                .to_owned();
            assert!(detail.contains("storage unavailable"), "{detail}");
            refused.push(id.clone());
        }
        assert!(
            writer.is_alive(),
            "the writer thread survives a failed batch"
        );
    }
    assert_eq!(s.count_events().expect("count"), 1, "nothing half-way");
    assert_eq!(times_seen(&s), 1, "no issue counted for a refused event");
    assert!(s.writer.lock().is_autocommit(), "no transaction left open");
    assert!(metrics.rejected("storage_error") >= 15);

    // Room again: the same events (a client's retry) are stored.
    max_pages(&s, 1 << 30);
    let events = refused.iter().map(|id| event(pid, id, 64 * 1024)).collect();
    for (id, outcome) in refused.iter().zip(send(&rt, &writer, events)) {
        assert!(
            matches!(outcome, Ok(WriteOutcome::Stored { .. })),
            "{id}: {outcome:?}"
        );
        acknowledged.push(id.clone());
    }
    for id in &acknowledged {
        assert!(
            s.event(pid, id).expect("read").is_some(),
            "{id} acknowledged"
        );
    }
    assert_eq!(s.count_events().expect("count"), acknowledged.len() as u64);
    assert_eq!(times_seen(&s), acknowledged.len() as i64);
    thread.shutdown();
    assert!(!writer.is_alive());
}

/// Mixed sizes while the database is full: some events fit the free room of existing
/// pages, some do not. Whatever was acknowledged is stored, whatever was refused is not.
#[test]
fn full_database_acknowledged_means_stored() {
    let (_dir, s, pid) = open();
    let (writer, thread) = Writer::spawn(
        s.clone(),
        &WriterConfig {
            queue_capacity: 64,
            max_batch: 4,
            threads: None,
        },
        Arc::new(Metrics::default()),
    )
    .expect("spawn");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("rt");
    send(&rt, &writer, vec![event(pid, "warm", 10)]);
    max_pages(&s, 1);
    let (mut ok, mut refused) = (vec!["warm".to_owned()], Vec::new());
    for i in 0..40 {
        let id = format!("e{i}");
        let size = if i % 3 == 0 { 40 * 1024 } else { 50 };
        match send(&rt, &writer, vec![event(pid, &id, size)]).pop() {
            Some(Ok(_)) => ok.push(id),
            Some(Err(_)) => refused.push(id),
            None => panic!("no outcome"),
        }
    }
    assert!(!refused.is_empty(), "the limit refused nothing");
    for id in &ok {
        assert!(
            s.event(pid, id).expect("read").is_some(),
            "{id} acknowledged"
        );
    }
    for id in &refused {
        assert!(s.event(pid, id).expect("read").is_none(), "{id} refused");
    }
    assert_eq!(times_seen(&s), ok.len() as i64);
    thread.shutdown();
}

/// A checkpointer that never releases the commit gate (stuck in its gated pass) holds
/// the writer off for a bounded time only: the batch is committed anyway.
#[test]
fn gate_held_forever_does_not_stop_the_writer() {
    let (_dir, s, pid) = open();
    let held = s.commit_gate.lock();
    let (tx, rx) = std::sync::mpsc::channel();
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            let _ = tx.send(s.write_batch(&[event(pid, "a", 10)]));
        })
    };
    let outcomes = rx
        .recv_timeout(BOUND)
        .expect("write_batch returns while the gate is held");
    assert!(matches!(outcomes[..], [Ok(WriteOutcome::Stored { .. })]));
    drop(held);
    writer.join().expect("join");
    assert!(s.event(pid, "a").expect("read").is_some());
}

/// A transaction left open on the writer connection (a ROLLBACK that failed after a
/// failed COMMIT) is rolled back by the next batch instead of failing every later one.
#[test]
fn open_transaction_left_behind_is_rolled_back() {
    let (_dir, s, pid) = open();
    s.writer
        .lock()
        .execute_batch("BEGIN; INSERT INTO settings (key, value) VALUES ('x', 'y');")
        .expect("begin");
    let outcomes = s.write_batch(&[event(pid, "a", 10)]);
    assert!(matches!(outcomes[..], [Ok(WriteOutcome::Stored { .. })]));
    assert!(s.writer.lock().is_autocommit());
    assert!(s.event(pid, "a").expect("read").is_some());
    assert_eq!(
        s.get_setting("x").expect("setting"),
        None,
        "the stray write is gone"
    );
}
