//! Project keys managed through the JSON API take effect on ingestion: a revoked key is
//! refused, a per-key rate limit answers 429, allowed origins gate browser requests.

mod common;

use common::{envelope, new_id, request, TestServer};
use serde_json::json;

fn event() -> Vec<u8> {
    let e = format!(r#"{{"event_id":"{}","message":"hello keys"}}"#, new_id());
    envelope("{}", &e)
}

fn send(s: &TestServer, public_key: &str, origin: Option<&str>) -> u16 {
    let auth = format!("Sentry sentry_key={public_key}, sentry_version=7");
    let mut headers = vec![("X-Sentry-Auth", auth.as_str())];
    if let Some(o) = origin {
        headers.push(("Origin", o));
    }
    request(s.addr, "POST", &s.envelope_path(), &headers, &event()).status
}

#[test]
fn keys_from_the_api_govern_ingestion() {
    let s = TestServer::start();
    let created = s.api_raw(
        "POST",
        "/api/0/projects/team/proj/keys/",
        json!({"name": "browser"}).to_string().as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let key = created.json();
    let public = key["public"].as_str().expect("public").to_owned();
    let id = key["id"].as_str().expect("id").to_owned();
    assert_eq!(send(&s, &public, None), 200);

    // Rate limit: 2 events per window (a long fixed window, so the test never straddles
    // a window boundary).
    let r = s.api_raw(
        "PUT",
        &format!("/api/0/projects/team/proj/keys/{id}/"),
        json!({"rateLimit": {"count": 2, "window": 10_000_000u64}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(send(&s, &public, None), 200);
    assert_eq!(send(&s, &public, None), 200);
    assert_eq!(send(&s, &public, None), 429);
    // The other key is not limited.
    assert_eq!(send(&s, &s.key.public_key, None), 200);
    let r = s.api_raw(
        "PUT",
        &format!("/api/0/projects/team/proj/keys/{id}/"),
        json!({"rateLimit": null}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 200);

    // Allowed origins: browser requests from elsewhere are refused.
    let r = s.api_raw(
        "PUT",
        "/api/0/projects/team/proj/",
        json!({"allowedOrigins": ["app.example.com"]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        send(&s, &s.key.public_key, Some("https://evil.example.net")),
        403
    );
    assert_eq!(
        send(&s, &s.key.public_key, Some("https://app.example.com")),
        200
    );
    // Opaque and non-web origins are not "no origin": the allow-list refuses them.
    for opaque in ["null", "chrome-extension://abcdef", "file://"] {
        assert_eq!(send(&s, &s.key.public_key, Some(opaque)), 403, "{opaque}");
    }
    // Server-side SDKs send no Origin: not affected.
    assert_eq!(send(&s, &s.key.public_key, None), 200);

    // Revoked: refused from then on.
    let r = s.api_raw(
        "DELETE",
        &format!("/api/0/projects/team/proj/keys/{id}/"),
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(send(&s, &public, None), 403);
    assert_eq!(send(&s, &s.key.public_key, None), 200);
    s.stop();
}
