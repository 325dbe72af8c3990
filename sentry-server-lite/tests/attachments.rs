//! Attachments (issue #22): files sent by our SDK, by the official `sentry` crate and by
//! sentry-python (`scope.add_attachment`) are listed under their event and download
//! byte-identical with headers that never let a browser render or frame them; a
//! minidump is stored with its type; an oversize attachment gets a 413 and nothing of
//! its envelope is stored; a retried envelope stores its files once; the project
//! setting turns storage off. Runs on SQLite and, with `SENTRY_TEST_BACKEND=postgres`,
//! on PostgreSQL.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{new_id, python, request, wait_for, Response, TestServer};
use serde_json::Value;

/// Every byte value, a few times: a binary file no text handling may touch.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

/// An envelope: header, an event, then `(headers, payload)` attachment items.
fn envelope_with(event_id: &str, message: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let event = format!(r#"{{"event_id":"{event_id}","message":"{message}"}}"#);
    let mut body = format!(
        "{{\"event_id\":\"{event_id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{event}\n",
        event.len()
    )
    .into_bytes();
    for (headers, payload) in files {
        let headers = headers.replace("LEN", &payload.len().to_string());
        body.extend_from_slice(headers.as_bytes());
        body.push(b'\n');
        body.extend_from_slice(payload);
        body.push(b'\n');
    }
    body
}

fn list(s: &TestServer, event_id: &str) -> Vec<Value> {
    s.api(&format!(
        "/api/0/projects/team/proj/events/{event_id}/attachments/"
    ))
    .as_array()
    .expect("array")
    .clone()
}

fn wait_list(s: &TestServer, event_id: &str, n: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(20), || {
        let path = format!("/api/0/projects/team/proj/events/{event_id}/attachments/");
        let r = s.api_raw("GET", &path, b"");
        (r.status == 200)
            .then(|| r.json().as_array().cloned().unwrap_or_default())
            .filter(|l| l.len() >= n)
    })
    .unwrap_or_else(|| panic!("{n} attachment(s) of event {event_id}"))
}

fn download(s: &TestServer, event_id: &str, id: &str) -> Response {
    let r = s.api_raw(
        "GET",
        &format!("/api/0/projects/team/proj/events/{event_id}/attachments/{id}/?download=1"),
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

/// The headers that keep a download from being rendered, sniffed or framed.
fn assert_safe_download(r: &Response, expected_type: &str) {
    assert_eq!(r.header("content-type"), Some(expected_type));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("sandbox"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let cd = r.header("content-disposition").unwrap_or_default();
    assert!(cd.starts_with("attachment; filename=\""), "{cd}");
}

fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list:#?}"))
}

#[test]
fn our_sdk_attachments_are_listed_and_download_byte_identical() {
    use sentry_client::protocol::{Attachment, AttachmentType};
    let s = TestServer::start();
    let client = Arc::new(sentry_client::Client::from_config(
        sentry_client::ClientOptions::default().with_dsn(&s.dsn()),
    ));
    let hub = Arc::new(sentry_client::Hub::new(
        Some(Arc::clone(&client)),
        Default::default(),
    ));
    let bytes = binary(70_000);
    let id = sentry_client::Hub::run(hub, || {
        sentry_client::configure_scope(|scope| {
            scope.add_attachment(Attachment {
                buffer: bytes.clone(),
                filename: "state.bin".into(),
                content_type: None,
                ty: None,
            });
            scope.add_attachment(Attachment {
                buffer: b"view tree".to_vec(),
                filename: "hierarchy.json".into(),
                content_type: Some("application/json".into()),
                ty: Some(AttachmentType::ViewHierarchy),
            });
        });
        sentry_client::capture_message("sdk attachment", sentry_client::Level::Error)
    });
    assert!(client.flush(Some(Duration::from_secs(10))), "delivered");
    let event_id = id.simple().to_string();
    let files = wait_list(&s, &event_id, 2);
    let state = by_name(&files, "state.bin");
    assert_eq!(state["size"], 70_000);
    assert_eq!(state["mimetype"], "application/octet-stream");
    assert_eq!(state["type"], "event.attachment");
    let r = download(&s, &event_id, state["id"].as_str().expect("id"));
    assert_eq!(r.body, bytes, "byte-identical");
    assert_safe_download(&r, "application/octet-stream");
    let tree = by_name(&files, "hierarchy.json");
    assert_eq!(tree["type"], "event.view_hierarchy");
    let r = download(&s, &event_id, tree["id"].as_str().expect("id"));
    assert_eq!(r.body, b"view tree");
    assert_safe_download(&r, "application/json");
    // Without ?download=1: the attachment's JSON.
    let one = s.api(&format!(
        "/api/0/projects/team/proj/events/{event_id}/attachments/{}/",
        tree["id"].as_str().expect("id")
    ));
    assert_eq!(one["name"], "hierarchy.json");
    client.close(None);
}

/// Sends each envelope of the official crate synchronously.
struct BlockingHttp {
    addr: SocketAddr,
    path: String,
    auth: String,
}

impl sentry::Transport for BlockingHttp {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        let mut body = Vec::new();
        envelope.to_writer(&mut body).expect("serialize envelope");
        let r = request(
            self.addr,
            "POST",
            &self.path,
            &[("X-Sentry-Auth", &self.auth)],
            &body,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

#[test]
fn official_crate_attachments_are_listed_and_download_byte_identical() {
    let s = TestServer::start();
    let dsn: sentry::types::Dsn = s.dsn().parse().expect("dsn");
    let addr = s.addr;
    let path = dsn.envelope_api_url().path().to_owned();
    let auth = dsn.to_auth(Some("sentry.rust/0.49")).to_string();
    let transport = move |_: &sentry::ClientOptions| -> Arc<dyn sentry::Transport> {
        Arc::new(BlockingHttp {
            addr,
            path: path.clone(),
            auth: auth.clone(),
        })
    };
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(dsn);
    options.transport = Some(Arc::new(transport));
    let guard = sentry::init(options);
    let bytes = binary(5000);
    let id = sentry::with_scope(
        |scope| {
            scope.add_attachment(sentry::protocol::Attachment {
                buffer: bytes.clone(),
                filename: "official.dat".into(),
                content_type: Some("application/x-custom".into()),
                ty: None,
            });
            scope.add_attachment(sentry::protocol::Attachment {
                buffer: b"MDMP\x93\xa7\x00\x00rest".to_vec(),
                filename: "crash.dmp".into(),
                content_type: None,
                ty: Some(sentry::protocol::AttachmentType::Minidump),
            });
        },
        || sentry::capture_message("official attachment", sentry::Level::Error),
    );
    drop(guard);
    let event_id = id.simple().to_string();
    let files = wait_list(&s, &event_id, 2);
    let file = by_name(&files, "official.dat");
    assert_eq!(file["mimetype"], "application/x-custom");
    let r = download(&s, &event_id, file["id"].as_str().expect("id"));
    assert_eq!(r.body, bytes, "byte-identical");
    // A type not on the safe list is served as bytes.
    assert_safe_download(&r, "application/octet-stream");
    let dump = by_name(&files, "crash.dmp");
    assert_eq!(dump["type"], "event.minidump");
    let r = download(&s, &event_id, dump["id"].as_str().expect("id"));
    assert_eq!(r.body, b"MDMP\x93\xa7\x00\x00rest");
}

const PYTHON: &str = r#"
import sys
import sentry_sdk

dsn, path = sys.argv[1], sys.argv[2]
sentry_sdk.init(dsn=dsn)
data = open(path, "rb").read()
with sentry_sdk.new_scope() as scope:
    scope.add_attachment(bytes=data, filename="python.bin", content_type="application/octet-stream")
    scope.add_attachment(bytes=b"hello from python\n", filename="notes.txt", content_type="text/plain")
    event_id = sentry_sdk.capture_message("python attachment")
sentry_sdk.flush(timeout=10)
print(event_id)
"#;

#[test]
fn python_sdk_attachments_are_listed_and_download_byte_identical() {
    let s = TestServer::start();
    let script = s.dir.path().join("attach.py");
    std::fs::write(&script, PYTHON).expect("script");
    let bytes = binary(200_000);
    let data = s.dir.path().join("data.bin");
    std::fs::write(&data, &bytes).expect("data");
    let out = Command::new(python())
        .arg(&script)
        .arg(s.dsn())
        .arg(&data)
        .output()
        .expect("run the Python SDK");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event_id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(event_id.len(), 32, "an event id: {event_id:?}");
    let files = wait_list(&s, &event_id, 2);
    let file = by_name(&files, "python.bin");
    assert_eq!(file["size"], 200_000);
    let r = download(&s, &event_id, file["id"].as_str().expect("id"));
    assert_eq!(r.body, bytes, "byte-identical");
    let notes = by_name(&files, "notes.txt");
    let r = download(&s, &event_id, notes["id"].as_str().expect("id"));
    assert_eq!(r.body, b"hello from python\n");
    assert_safe_download(&r, "text/plain");
}

#[test]
fn minidumps_and_other_types_are_stored_and_retries_store_once() {
    let s = TestServer::start();
    let id = new_id();
    let dump = b"MDMP\x93\xa7\x00\x00\x0b\x00\x00\x00 minidump body";
    let body = envelope_with(
        &id,
        "native crash",
        &[
            (
                r#"{"type":"attachment","length":LEN,"filename":"upload_file_minidump","attachment_type":"event.minidump"}"#,
                dump,
            ),
            (
                r#"{"type":"attachment","length":LEN,"filename":"crash.ips","attachment_type":"event.applecrashreport","content_type":"text/plain"}"#,
                b"Incident Identifier: 1",
            ),
            (
                r#"{"type":"attachment","length":LEN,"filename":"ctx.xml","attachment_type":"unreal.context"}"#,
                b"<FGenericCrashContext/>",
            ),
            (
                r#"{"type":"attachment","length":LEN,"filename":"future.bin","attachment_type":"event.future_kind"}"#,
                b"?",
            ),
        ],
    );
    assert_eq!(s.post_envelope(&body).status, 200);
    // The SDK retries (no answer seen): nothing is stored twice.
    assert_eq!(s.post_envelope(&body).status, 200);
    let files = wait_list(&s, &id, 4);
    assert_eq!(files.len(), 4, "{files:#?}");
    let types: Vec<&str> = files.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "event.minidump",
            "event.applecrashreport",
            "unreal.context",
            "event.future_kind"
        ]
    );
    let dump_file = by_name(&files, "upload_file_minidump");
    assert_eq!(dump_file["mimetype"], "application/octet-stream");
    let r = download(&s, &id, dump_file["id"].as_str().expect("id"));
    assert_eq!(r.body, dump);
    assert_eq!(s.event_count(), 1);
    // Another project's reader, or an unknown event or id, finds nothing.
    let r = s.api_raw(
        "GET",
        "/api/0/projects/team/proj/events/00000000000000000000000000000000/attachments/",
        b"",
    );
    assert_eq!(r.status, 404);
    let r = s.api_raw(
        "GET",
        &format!("/api/0/projects/team/proj/events/{id}/attachments/999999/?download=1"),
        b"",
    );
    assert_eq!(r.status, 404);
    let anonymous = request(
        s.addr,
        "GET",
        &format!("/api/0/projects/team/proj/events/{id}/attachments/"),
        &[],
        b"",
    );
    assert!(
        [401, 404].contains(&anonymous.status),
        "a private project's files: {}",
        anonymous.status
    );
}

#[test]
fn oversize_attachments_are_refused_whole() {
    let s = TestServer::start_with(|c| {
        c.limits.max_attachment_bytes = 1000;
        c.limits.max_attachments_bytes = 1500;
    });
    let header = r#"{"type":"attachment","length":LEN,"filename":"big.log"}"#;
    // One file over the per-attachment cap.
    let id = new_id();
    let big = vec![b'x'; 1001];
    let r = s.post_envelope(&envelope_with(&id, "too big", &[(header, &big)]));
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.detail().contains("limit per attachment is 1000 bytes"),
        "{}",
        r.detail()
    );
    // Files that fit one by one but not together.
    let id2 = new_id();
    let part = vec![b'y'; 800];
    let r = s.post_envelope(&envelope_with(
        &id2,
        "too much",
        &[(header, &part), (header, &part)],
    ));
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.detail().contains("limit per event is 1500 bytes"),
        "{}",
        r.detail()
    );
    // Nothing of either envelope was stored: no event, no file.
    let ok = new_id();
    let small = vec![b'z'; 1000];
    assert_eq!(
        s.post_envelope(&envelope_with(&ok, "fits", &[(header, &small)]))
            .status,
        200
    );
    wait_list(&s, &ok, 1);
    assert_eq!(s.event_count(), 1, "only the envelope that fits");
    for gone in [&id, &id2] {
        let r = s.api_raw(
            "GET",
            &format!("/api/0/projects/team/proj/events/{gone}/"),
            b"",
        );
        assert_eq!(r.status, 404, "event {gone} not stored");
    }
}

#[test]
fn hostile_names_and_types_download_as_inert_bytes() {
    let s = TestServer::start();
    let id = new_id();
    let html = b"<html><script>alert(1)</script></html>";
    let body = envelope_with(
        &id,
        "hostile file",
        &[(
            r#"{"type":"attachment","length":LEN,"filename":"../<img src=x onerror=alert(1)>\".html","content_type":"text/html"}"#,
            html,
        )],
    );
    assert_eq!(s.post_envelope(&body).status, 200);
    let files = wait_list(&s, &id, 1);
    let name = files[0]["name"].as_str().expect("name");
    assert_eq!(
        name, "<img src=x onerror=alert(1)>\".html",
        "path part removed"
    );
    assert_eq!(files[0]["mimetype"], "text/html", "listed as sent");
    let r = download(&s, &id, files[0]["id"].as_str().expect("id"));
    assert_eq!(r.body, html);
    assert_safe_download(&r, "application/octet-stream");
    let cd = r.header("content-disposition").unwrap_or_default();
    assert_eq!(cd.matches('"').count(), 2, "one quoted name: {cd}");
    assert!(cd.contains("filename*=UTF-8''%3Cimg%20src%3Dx"), "{cd}");
}

#[test]
fn the_project_setting_turns_storage_off() {
    let s = TestServer::start_with(|c| c.limits.max_attachment_bytes = 1000);
    let r = s.api_raw(
        "PUT",
        "/api/0/projects/team/proj/",
        br#"{"storeAttachments": false}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["storeAttachments"], false);
    let id = new_id();
    let header = r#"{"type":"attachment","length":LEN,"filename":"dropped.txt"}"#;
    // Even a file over the caps does not cost the event when files are not kept.
    let big = vec![b'q'; 2000];
    let body = envelope_with(
        &id,
        "no files kept",
        &[(header, b"dropped"), (header, &big)],
    );
    assert_eq!(s.post_envelope(&body).status, 200);
    wait_for(Duration::from_secs(20), || {
        (s.event_count() == 1).then_some(())
    })
    .expect("the event is stored");
    assert!(list(&s, &id).is_empty(), "no attachment stored");
    let r = s.api_raw(
        "PUT",
        "/api/0/projects/team/proj/",
        br#"{"storeAttachments": "yes"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        s.api("/api/0/projects/team/proj/")["storeAttachments"],
        false
    );
}

#[test]
fn each_attachment_counts_in_the_key_rate_limit() {
    let s = TestServer::start();
    s.store
        .set_key_rate_limit(
            s.key.id,
            Some(sentry_server_lite::store::RateLimit {
                count: 3,
                window_secs: 3600,
            }),
        )
        .expect("rate limit");
    let header = r#"{"type":"attachment","length":LEN,"filename":"a.txt"}"#;
    // An event with two files: three units of the three allowed.
    let first = new_id();
    let r = s.post_envelope(&envelope_with(
        &first,
        "three units",
        &[(header, b"1"), (header, b"2")],
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    // The next event with one file is over the limit: refused whole.
    let second = new_id();
    let r = s.post_envelope(&envelope_with(&second, "over", &[(header, b"3")]));
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(list(&s, &first).len(), 2);
    assert_eq!(s.event_count(), 1);
}
