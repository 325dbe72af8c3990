//! The web UI over plain HTTP: login sessions and their cookies, CSRF, logout, the issue
//! actions walked through every role of docs/permissions.md (the button shown exactly
//! when allowed, and the POST refused otherwise with nothing changed), settings pages
//! per role, public and shared pages for visitors, and the issue list's search, sort
//! and pages.

mod common;
#[path = "support/web.rs"]
mod web;

use common::{envelope, new_id, request, TestServer};
use sentry_server_lite::policy::Role;
use sentry_server_lite::secrets;
use sentry_server_lite::store::accounts::ProjectUpdate;
use sentry_server_lite::store::IssueStatus;
use web::{
    cookie_pair, csrf_of, get, login, message_issue, post, set_cookie_value, try_login, user, Web,
};

#[test]
fn sessions_cookies_csrf_and_logout() {
    let s = TestServer::start();
    // Without the login form's CSRF cookie, a login POST is refused.
    let r = post(
        &s,
        None,
        "/login",
        "csrf=x&email=admin%40example.com&password=password1",
    );
    assert_eq!(r.status, 403);
    let page = get(&s, None, "/login");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("frame-ancestors 'none'")));
    let r = try_login(&s, "admin@example.com", "wrong-password", &[]);
    assert_eq!(r.status, 401);
    assert!(r.text().contains("Wrong e-mail or password."));
    assert!(set_cookie_value(&r, "sentry_lite_session").is_none());

    let r = try_login(&s, "admin@example.com", "password1", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    let set = set_cookie_value(&r, "sentry_lite_session").expect("session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
    // Behind a TLS-terminating proxy the cookie is Secure.
    let r = try_login(
        &s,
        "admin@example.com",
        "password1",
        &[("X-Forwarded-Proto", "https")],
    );
    let tls = set_cookie_value(&r, "sentry_lite_session").expect("session cookie");
    assert!(tls.contains("; Secure"), "{tls}");

    let web = login(&s, "admin@example.com", "password1");
    let issue = message_issue(&s, "csrf target");
    // A POST without the session's CSRF token changes nothing.
    let r = post(
        &s,
        Some(&web),
        &format!("/issues/{issue}/actions"),
        "action=resolve",
    );
    assert_eq!(r.status, 403);
    let r = post(
        &s,
        Some(&web),
        &format!("/issues/{issue}/actions"),
        "csrf=0000&action=resolve",
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        s.store.issue(issue).expect("read").expect("issue").status,
        IssueStatus::Unresolved
    );
    let r = post(
        &s,
        Some(&web),
        &format!("/issues/{issue}/actions"),
        &format!("csrf={}&action=resolve", web.csrf),
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        s.store.issue(issue).expect("read").expect("issue").status,
        IssueStatus::Resolved
    );

    // Logging out deletes the session: the old cookie no longer works.
    let r = post(&s, Some(&web), "/logout", &format!("csrf={}", web.csrf));
    assert_eq!(r.status, 303);
    let cleared = set_cookie_value(&r, "sentry_lite_session").expect("cleared cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let token = web.cookie.split_once('=').expect("pair").1;
    assert!(s
        .store
        .session(
            &secrets::token_digest(token),
            sentry_server_lite::clock::now_ms()
        )
        .expect("read")
        .is_none());
    let r = get(&s, Some(&web), "/account/");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
}

/// The roles of the permission table's columns.
const ROLES: [&str; 7] = [
    "superuser",
    "owner",
    "admin",
    "member",
    "agent",
    "outsider",
    "anonymous",
];

/// Issue actions and who may do them (docs/permissions.md, columns as in `ROLES`).
const ISSUE_ROWS: [(&str, [bool; 7]); 6] = [
    ("resolve", [true, true, true, true, false, false, false]),
    ("unresolve", [true, true, true, true, false, false, false]),
    ("bookmark", [true, true, true, true, true, false, false]),
    ("public", [true, true, true, true, false, false, false]),
    ("private", [true, true, true, true, true, false, false]),
    ("remove", [true, true, true, true, true, false, false]),
];

fn sessions_per_role(s: &TestServer) -> Vec<(&'static str, Option<Web>, Option<i64>)> {
    let team = s.project.team_id;
    let owner = user(s, "owner@example.com");
    s.store.set_team_owner(team, owner).expect("owner");
    for (email, role) in [
        ("teamadmin@example.com", Role::Admin),
        ("member@example.com", Role::Member),
        ("agent@example.com", Role::Agent),
    ] {
        let id = user(s, email);
        s.store.set_membership(team, id, role).expect("membership");
    }
    user(s, "outsider@example.com");
    ROLES
        .iter()
        .map(|role| {
            let email = match *role {
                "superuser" => "admin@example.com",
                "owner" => "owner@example.com",
                "admin" => "teamadmin@example.com",
                "member" => "member@example.com",
                "agent" => "agent@example.com",
                "outsider" => "outsider@example.com",
                _ => return (*role, None, None),
            };
            let id = s
                .store
                .user_by_email(email)
                .expect("read")
                .expect("user")
                .id;
            (*role, Some(login(s, email, "password1")), Some(id))
        })
        .collect()
}

#[test]
fn issue_actions_follow_the_permission_table() {
    let s = TestServer::start();
    let people = sessions_per_role(&s);
    for (action, allowed) in ISSUE_ROWS {
        for (col, (role, web, uid)) in people.iter().enumerate() {
            let issue = message_issue(&s, &format!("cell {action} {role}"));
            match action {
                "unresolve" => {
                    s.store
                        .set_issue_status(issue, IssueStatus::Resolved)
                        .expect("resolve");
                }
                "private" => {
                    s.store.set_issue_public(issue, true).expect("public");
                }
                _ => {}
            }
            // The button is on the page exactly when the policy allows the action.
            let page = get(&s, web.as_ref(), &format!("/issues/{issue}/"));
            let shown = page.status == 200 && page.text().contains(&format!("value=\"{action}\""));
            let expect = allowed[col];
            assert_eq!(
                shown, expect,
                "{action} button for {role} (page {})",
                page.status
            );
            let csrf = web.as_ref().map(|w| w.csrf.clone()).unwrap_or_default();
            let r = post(
                &s,
                web.as_ref(),
                &format!("/issues/{issue}/actions"),
                &format!("csrf={csrf}&action={action}"),
            );
            let now = s.store.issue(issue).expect("read");
            let changed = match action {
                "resolve" => now.as_ref().map(|i| i.status) == Some(IssueStatus::Resolved),
                "unresolve" => now.as_ref().map(|i| i.status) == Some(IssueStatus::Unresolved),
                "bookmark" => uid
                    .map(|u| !s.store.bookmarked(u, &[issue]).expect("read").is_empty())
                    .unwrap_or(false),
                "public" => now.as_ref().is_some_and(|i| i.is_public),
                "private" => now.as_ref().is_some_and(|i| !i.is_public),
                _ => now.is_none(),
            };
            assert_eq!(
                changed, expect,
                "{action} by {role}: state (answer {})",
                r.status
            );
            let expected_status = match (*role, expect) {
                (_, true) => 303,
                ("anonymous", false) => 303, // to the login page
                ("outsider", false) => 404,  // a private project: existence is not revealed
                _ => 403,
            };
            assert_eq!(
                r.status,
                expected_status,
                "{action} by {role}: {}",
                r.text()
            );
            if *role == "anonymous" {
                assert_eq!(r.header("location"), Some("/login"));
            }
        }
    }
    // The bulk form on the issue list asks the same policy.
    let agent = &people[4].1;
    let issue = message_issue(&s, "bulk by agent");
    let r = post(
        &s,
        agent.as_ref(),
        "/projects/team/proj/bulk",
        &format!(
            "csrf={}&action=resolve&id={issue}",
            agent.as_ref().expect("agent").csrf
        ),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        s.store.issue(issue).expect("read").expect("issue").status,
        IssueStatus::Unresolved
    );
    let member = &people[3].1;
    let r = post(
        &s,
        member.as_ref(),
        "/projects/team/proj/bulk",
        &format!(
            "csrf={}&action=resolve&id={issue}",
            member.as_ref().expect("member").csrf
        ),
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        s.store.issue(issue).expect("read").expect("issue").status,
        IssueStatus::Resolved
    );
}

#[test]
fn settings_pages_per_role() {
    let s = TestServer::start();
    let people = sessions_per_role(&s);
    // (path, statuses per role in ROLES order). Teams and private projects are invisible to
    // outsiders and visitors (404); the account page sends visitors to the login page.
    let pages: [(&str, [u16; 7]); 3] = [
        ("/settings/teams/team/", [200, 200, 200, 403, 403, 404, 404]),
        (
            "/settings/projects/team/proj/",
            [200, 200, 200, 403, 403, 404, 404],
        ),
        ("/account/", [200, 200, 200, 200, 200, 200, 303]),
    ];
    for (path, statuses) in pages {
        for (col, (role, web, _)) in people.iter().enumerate() {
            let r = get(&s, web.as_ref(), path);
            assert_eq!(r.status, statuses[col], "GET {path} as {role}");
        }
    }
    let admin = people[2].1.as_ref().expect("admin");
    let page = get(&s, Some(admin), "/settings/projects/team/proj/").text();
    assert!(
        page.contains(&s.key.public_key),
        "the DSN is shown to key managers"
    );
    assert!(page.contains("data-copy"), "with a copy button");
    assert!(
        !page.contains("value=\"move\""),
        "only superusers move projects"
    );
    assert!(
        !page.contains("value=\"owner\""),
        "an admin does not change the owner"
    );
    let superuser = people[0].1.as_ref().expect("superuser");
    let page = get(&s, Some(superuser), "/settings/projects/team/proj/").text();
    assert!(page.contains("value=\"move\"") && page.contains("value=\"owner\""));

    // An admin invites a new user into the team and gets a link; through it the new user
    // sets a password (once: the link then stops working) and is logged in.
    let r = post(
        &s,
        Some(admin),
        "/settings/teams/team/",
        &format!(
            "csrf={}&action=add&email=new%40example.com&role=agent",
            admin.csrf
        ),
    );
    assert_eq!(r.status, 200);
    let html = r.text();
    let marker = "id=\"notice-secret\" type=\"text\" readonly value=\"";
    let start = html.find(marker).expect("invitation link shown") + marker.len();
    let link = html[start..].split('"').next().expect("link").to_owned();
    let path = link
        .strip_prefix(&format!("http://{}", s.addr))
        .unwrap_or_else(|| panic!("absolute link on this server: {link}"))
        .to_owned();
    assert!(path.starts_with("/invite/"), "{path}");
    let page = get(&s, None, &path);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("new@example.com"));
    let csrf = csrf_of(&page.text());
    let r = post(
        &s,
        None,
        &path,
        &format!("csrf={csrf}&password=my-own-password&confirm=other-password"),
    );
    assert_eq!(r.status, 400, "passwords differ");
    let r = post(
        &s,
        None,
        &path,
        "csrf=forged&password=my-own-password&confirm=my-own-password",
    );
    assert_eq!(r.status, 403);
    let r = post(
        &s,
        None,
        &path,
        &format!("csrf={csrf}&password=my-own-password&confirm=my-own-password"),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        set_cookie_value(&r, "sentry_lite_session").is_some(),
        "logged in"
    );
    assert_eq!(get(&s, None, &path).status, 404, "an invitation works once");
    let newbie = login(&s, "new@example.com", "my-own-password");
    // A second session of the same user, say on another computer.
    let elsewhere = login(&s, "new@example.com", "my-own-password");
    assert_eq!(get(&s, Some(&elsewhere), "/account/").status, 200);
    let members = s.store.team_members(s.project.team_id).expect("members");
    assert!(members
        .iter()
        .any(|m| m.email == "new@example.com" && m.role == Role::Agent));
    // Changing one's password on the account page.
    let r = post(
        &s,
        Some(&newbie),
        "/account/password",
        &format!(
            "csrf={}&current=wrong-one&new=another-password",
            newbie.csrf
        ),
    );
    assert_eq!(r.status, 400);
    let r = post(
        &s,
        Some(&newbie),
        "/account/password",
        &format!(
            "csrf={}&current=my-own-password&new=another-password",
            newbie.csrf
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("other sessions were logged out"));
    // The session that changed it goes on; every other session of the user has ended.
    assert_eq!(get(&s, Some(&newbie), "/account/").status, 200);
    let ended = get(&s, Some(&elsewhere), "/account/");
    assert_ne!(
        ended.status, 200,
        "another session survived a password change"
    );
    assert!(
        ended
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("location") && v.starts_with("/login")),
        "sent to the login page: {:?}",
        ended.headers
    );
    login(&s, "new@example.com", "another-password");
    // A member may not manage members: the POST is refused and changes nothing.
    let member = people[3].1.as_ref().expect("member");
    let r = post(
        &s,
        Some(member),
        "/settings/teams/team/",
        &format!(
            "csrf={}&action=role&email=agent%40example.com&role=admin",
            member.csrf
        ),
    );
    assert_eq!(r.status, 403);
    let members = s.store.team_members(s.project.team_id).expect("members");
    let agent = members
        .iter()
        .find(|m| m.email == "agent@example.com")
        .expect("agent");
    assert_eq!(agent.role, Role::Agent);

    // API tokens on the account page: created (shown once), listed, deleted.
    let r = post(
        &s,
        Some(member),
        "/account/tokens",
        &format!("csrf={}&action=create&label=ci", member.csrf),
    );
    assert_eq!(r.status, 200);
    let uid = people[3].2.expect("member id");
    let tokens = s.store.list_tokens(uid).expect("tokens");
    assert_eq!(tokens.len(), 1);
    let r = post(
        &s,
        Some(member),
        "/account/tokens",
        &format!("csrf={}&action=delete&id={}", member.csrf, tokens[0].id),
    );
    assert_eq!(r.status, 303);
    assert!(s.store.list_tokens(uid).expect("tokens").is_empty());
}

#[test]
fn public_and_shared_pages_for_visitors() {
    let s = TestServer::start();
    let issue = message_issue(&s, "shared boom");
    // Private project: nothing for visitors.
    assert_eq!(get(&s, None, "/projects/team/proj/").status, 404);
    assert!(!get(&s, None, "/").text().contains("/projects/team/proj/"));
    // A public issue's share link works, without actions.
    let share = s
        .store
        .set_issue_public(issue, true)
        .expect("share")
        .expect("share id");
    let page = get(&s, None, &format!("/share/{share}/"));
    assert_eq!(page.status, 200);
    assert!(page.text().contains("shared boom"));
    assert!(!page
        .text()
        .contains("<form method=\"post\" action=\"/issues/"));
    s.store.set_issue_public(issue, false).expect("private");
    assert_eq!(get(&s, None, &format!("/share/{share}/")).status, 404);
    // A public project is listed on the home page and readable.
    s.store
        .update_project(
            s.project.id,
            &ProjectUpdate {
                is_public: Some(true),
                ..Default::default()
            },
        )
        .expect("public");
    let home = get(&s, None, "/").text();
    assert!(
        home.contains("href=\"/projects/team/proj/\""),
        "listed for visitors"
    );
    assert!(home.contains("id=\"login-email\""), "with the login form");
    let list = get(&s, None, "/projects/team/proj/");
    assert_eq!(list.status, 200);
    assert!(list.text().contains("shared boom"));
    assert!(!list.text().contains("id=\"bulk\""), "no bulk actions");
    let detail = get(&s, None, &format!("/issues/{issue}/"));
    assert_eq!(detail.status, 200);
    assert!(!detail.text().contains("value=\"resolve\""));
}

/// A distinct two-letter word per number (no digits or hex letters, which grouping
/// would treat as variable parts of one message).
fn word(i: usize) -> String {
    let letter = |n: usize| (b'g' + n as u8) as char;
    format!("{}{}", letter(i / 20), letter(i % 20))
}

#[test]
fn issue_list_search_sort_and_pages() {
    let s = TestServer::start();
    for i in 0..30 {
        let body = envelope(
            &format!("{{\"event_id\":\"{}\"}}", new_id()),
            &format!(
                "{{\"message\":\"list item {}\",\"tags\":{{\"parity\":\"{}\"}}}}",
                word(i),
                if i % 2 == 0 { "even" } else { "odd" }
            ),
        );
        assert_eq!(s.post_envelope(&body).status, 200);
    }
    // One issue with three events: first by event count.
    for _ in 0..2 {
        let body = envelope(
            &format!("{{\"event_id\":\"{}\"}}", new_id()),
            "{\"message\":\"list item gn\",\"tags\":{\"parity\":\"odd\"}}",
        );
        assert_eq!(s.post_envelope(&body).status, 200);
    }
    let web = login(&s, "admin@example.com", "password1");
    let count = |html: &str| html.matches("class=\"title\"").count();
    let first = get(&s, Some(&web), "/projects/team/proj/").text();
    assert_eq!(count(&first), 25);
    assert!(first.contains("1–25 of 30 issues"));
    assert!(first.contains("rel=\"next\""));
    let second = get(
        &s,
        Some(&web),
        "/projects/team/proj/?status=unresolved&page=2",
    )
    .text();
    assert_eq!(count(&second), 5);
    assert!(second.contains("26–30 of 30 issues"));
    let odd = get(&s, Some(&web), "/projects/team/proj/?query=parity%3Aodd").text();
    assert!(odd.contains("1–15 of 15 issues"), "tag filter");
    let one = get(&s, Some(&web), "/projects/team/proj/?query=item+gs").text();
    assert_eq!(count(&one), 1);
    assert!(one.contains("list item gs"));
    let by_events = get(&s, Some(&web), "/projects/team/proj/?sort=freq").text();
    let top = by_events.find("class=\"title\"").expect("a row");
    assert!(by_events[top..]
        .split("</a>")
        .next()
        .expect("title")
        .contains("list item gn"));
    // Event navigation on the issue with three events: latest first, then older ones.
    let id = s.issue_by_title("list item gn")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let events = s.api(&format!("/api/0/issues/{id}/events/"));
    let ids: Vec<String> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["eventID"].as_str().expect("event id").to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "newest first: {ids:?}");
    let latest = get(&s, Some(&web), &format!("/issues/{id}/")).text();
    assert!(latest.contains(&ids[0]), "the latest event is shown");
    assert!(latest.contains(&format!(
        "href=\"/issues/{id}/?event={}\" rel=\"prev\"",
        ids[1]
    )));
    assert!(latest.contains(&format!("href=\"/issues/{id}/?event={}\">« Oldest", ids[2])));
    let middle = get(&s, Some(&web), &format!("/issues/{id}/?event={}", ids[1])).text();
    assert!(middle.contains(&format!("?event={}\" rel=\"next\"", ids[0])));
    assert!(middle.contains(&format!("?event={}\" rel=\"prev\"", ids[2])));
    let other = s.issue_by_title("list item gs")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let wrong = get(
        &s,
        Some(&web),
        &format!("/issues/{other}/?event={}", ids[0]),
    );
    assert_eq!(wrong.status, 404, "an event of another issue");
    let bad = get(&s, Some(&web), "/projects/team/proj/?query=is%3Abogus");
    assert_eq!(bad.status, 200);
    assert!(bad.text().contains("unknown status"));
}

#[test]
fn sign_up_only_when_enabled() {
    let s = TestServer::start();
    assert_eq!(get(&s, None, "/signup").status, 404);
    assert!(!get(&s, None, "/login").text().contains("href=\"/signup\""));
    s.store
        .set_setting(sentry_server_lite::app::settings::SIGNUP_SETTING, "true")
        .expect("enable");
    assert!(get(&s, None, "/login").text().contains("href=\"/signup\""));
    let page = get(&s, None, "/signup");
    assert_eq!(page.status, 200);
    let csrf_cookie =
        cookie_pair(&set_cookie_value(&page, "sentry_lite_login_csrf").expect("csrf cookie"));
    let token = csrf_of(&page.text());
    let signup = |password: &str| {
        request(
            s.addr,
            "POST",
            "/signup",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", csrf_cookie.as_str()),
            ],
            format!("csrf={token}&email=self%40example.com&password={password}").as_bytes(),
        )
    };
    assert_eq!(signup("short").status, 400);
    let r = signup("long-enough");
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(set_cookie_value(&r, "sentry_lite_session").is_some());
    let user = s
        .store
        .user_by_email("self@example.com")
        .expect("read")
        .expect("created");
    assert!(!user.is_superuser);
    assert_eq!(signup("long-enough").status, 400, "e-mail taken");
    login(&s, "self@example.com", "long-enough");
}
