//! Hostile addresses and parameters of the API and the pages (issue #17 item 11): each
//! answers a clear 4xx, never a 500, and changes nothing.

mod common;
#[path = "support/web.rs"]
mod support;

use common::{request, TestServer};
use serde_json::json;

/// A `%0A` (or other control character) in any path segment of any route is a 4xx.
#[test]
fn control_characters_in_path_segments_are_4xx() {
    let s = TestServer::start();
    let web = support::login(&s, "admin@example.com", "password1");
    let bearer = format!("Bearer {}", s.token);
    let cookie = web.cookie.clone();
    let evil = "x%0Ay";
    let gets = [
        format!("/api/0/projects/{evil}/proj/issues/"),
        format!("/api/0/projects/team/{evil}/issues/"),
        format!("/api/0/projects/team/proj/events/{evil}/"),
        format!("/api/0/issues/{evil}/"),
        format!("/api/0/issues/{evil}/events/"),
        format!("/api/0/issues/{evil}/events/latest/"),
        format!("/api/0/shared/issues/{evil}/"),
        format!("/api/0/teams/{evil}/"),
        format!("/api/0/teams/{evil}/members/"),
        format!("/api/0/teams/team/members/{evil}/"),
        format!("/api/0/teams/{evil}/projects/"),
        format!("/api/0/projects/{evil}/proj/"),
        format!("/api/0/projects/team/{evil}/keys/"),
        format!("/api/0/projects/team/proj/keys/{evil}/"),
        format!("/api/{evil}/envelope/"),
        format!("/api/{evil}/store/"),
        format!("/projects/{evil}/proj/"),
        format!("/projects/team/{evil}/"),
        format!("/issues/{evil}/"),
        format!("/share/{evil}/"),
        format!("/invite/{evil}"),
        format!("/settings/teams/{evil}/"),
        format!("/settings/projects/team/{evil}/"),
        format!("/settings/projects/{evil}/proj/"),
    ];
    for path in &gets {
        for method in ["GET", "PUT", "DELETE"] {
            let r = request(
                s.addr,
                method,
                path,
                &[("Authorization", &bearer), ("Cookie", &cookie)],
                b"{}",
            );
            assert!(
                (400..500).contains(&r.status),
                "{method} {path}: {} {}",
                r.status,
                r.text()
            );
        }
    }
    let posts = [
        format!("/settings/teams/{evil}/"),
        format!("/settings/projects/team/{evil}/"),
        format!("/projects/team/{evil}/bulk"),
        format!("/issues/{evil}/actions"),
        format!("/invite/{evil}"),
    ];
    for path in &posts {
        let body = format!("csrf={}&action=rename&name=n", web.csrf);
        let r = support::post(&s, Some(&web), path, &body);
        assert!(
            (300..500).contains(&r.status),
            "POST {path}: {} {}",
            r.status,
            r.text()
        );
    }
}

/// 1,200 `key:value` filters answer 400 naming the cap; 32 are fine.
#[test]
fn too_many_search_filters_are_400() {
    let s = TestServer::start();
    let many: Vec<String> = (0..1200).map(|i| format!("k{i}:v{i}")).collect();
    let path = format!(
        "/api/0/projects/team/proj/issues/?query={}",
        many.join("%20")
    );
    let r = s.api_raw("GET", &path, b"");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.detail().contains("at most 32"), "{}", r.detail());
    let ok = format!(
        "/api/0/projects/team/proj/issues/?query={}",
        many[..32].join("%20")
    );
    assert_eq!(s.api_raw("GET", &ok, b"").status, 200);
    // The page shows the same message instead of a 500.
    let web = support::login(&s, "admin@example.com", "password1");
    let page = support::get(
        &s,
        Some(&web),
        &format!("/projects/team/proj/?query={}", many.join("%20")),
    );
    assert!(page.status < 500, "{}", page.status);
    assert!(page.text().contains("at most 32"));
}

/// Pages, limits and cursors out of range answer 400 instead of wrapping or clamping.
#[test]
fn out_of_range_pages_limits_and_cursors_are_400() {
    let s = TestServer::start();
    for query in [
        "limit=0",
        "limit=101",
        "limit=18446744073709551615",
        "limit=-1",
        "cursor=0:18446744073709551615:0",
        "cursor=0:9223372036854775808:0",
        "cursor=0:-5:0",
    ] {
        let r = s.api_raw(
            "GET",
            &format!("/api/0/projects/team/proj/issues/?{query}"),
            b"",
        );
        assert_eq!(r.status, 400, "{query}: {}", r.text());
        assert!(!r.detail().is_empty(), "{query}");
    }
    let web = support::login(&s, "admin@example.com", "password1");
    for page in ["18446744073709551615", "9223372036854775807", "100000001"] {
        let r = support::get(&s, Some(&web), &format!("/projects/team/proj/?page={page}"));
        assert_eq!(r.status, 400, "page={page}");
    }
    for page in ["0", "1", "2"] {
        let r = support::get(&s, Some(&web), &format!("/projects/team/proj/?page={page}"));
        assert_eq!(r.status, 200, "page={page} (0 is the first page)");
    }
}

/// The `Link` header's URLs start with the public URL, whatever `Host` says.
#[test]
fn the_host_header_is_not_reflected_into_link_urls() {
    let s = TestServer::start_with(|c| c.public_url = Some("https://sentry.example".into()));
    let r = request(
        s.addr,
        "GET",
        "/api/0/projects/team/proj/issues/?limit=1",
        &[
            ("Authorization", &format!("Bearer {}", s.token)),
            ("Host", "evil.example"),
        ],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let link = r.header("link").expect("a Link header").to_owned();
    assert!(!link.contains("evil.example"), "{link}");
    assert!(
        link.contains("<https://sentry.example/api/0/projects/team/proj/issues/?"),
        "{link}"
    );
}

/// A key's rate limit with a window or count out of range is refused with 400 and
/// leaves the key as it was.
#[test]
fn out_of_range_rate_limits_are_400_and_change_nothing() {
    let s = TestServer::start();
    let path = format!("/api/0/projects/team/proj/keys/{}/", s.key.id);
    for limit in [
        json!({"count": 10, "window": 0}),
        json!({"count": 10, "window": 1u64 << 61}),
        json!({"count": 10, "window": u64::MAX}),
        json!({"count": u64::MAX, "window": 60}),
        json!({"count": -1, "window": 60}),
        json!({"count": 10, "window": 1.5}),
    ] {
        let body = json!({"isActive": false, "rateLimit": limit}).to_string();
        let r = s.api_raw("PUT", &path, body.as_bytes());
        assert_eq!(r.status, 400, "{limit}: {}", r.text());
        assert!(
            r.detail().contains("rate limit") || r.detail().contains("rateLimit"),
            "{}",
            r.detail()
        );
    }
    let key = s
        .store
        .key_by_public(&s.key.public_key)
        .expect("lookup")
        .expect("key");
    assert!(key.is_active, "nothing changed half-way");
    assert_eq!(key.rate_limit, None);
    // And the server still takes events for the key.
    let body = common::envelope(
        &format!(r#"{{"event_id":"{}"}}"#, common::new_id()),
        r#"{"message":"still fine"}"#,
    );
    assert_eq!(s.post_envelope(&body).status, 200);
}
