//! The permission table of `docs/permissions.md`, walked row × column through the JSON
//! API of a real server: every cell asserts the status code, that an allowed action did
//! what it says and that a refused one changed nothing (the whole accounts state is
//! re-read and compared) and was written to the audit log.

mod common;

use std::collections::BTreeMap;

use common::{envelope, new_id, request, Response, TestServer};
use sentry_server_lite::policy::Role;
use sentry_server_lite::secrets;
use sentry_server_lite::store::{Page, Store};
use serde_json::{json, Value};

/// The table from `docs/permissions.md`, verbatim (the unit test in `src/policy/tests.rs`
/// holds the same copy).
const TABLE: &str = "
| create a user / invite | yes | yes (into own team) | yes (into own team) | no | no | sign-up only if enabled |
| create a team | yes | no | no | no | no | no |
| create a project | yes | no | no | no | no | no |
| see the team's settings pages (members, projects) | yes | yes | yes | no | no | no |
| add/remove team members, set roles | yes | yes | yes | no | no | no |
| rename the team | yes | yes | yes | no | no | no |
| change the team's owner | yes | team owner only | no | no | no | no |
| edit project settings: name, public flag, allowed origins | yes | yes | yes | no | no | no |
| manage project keys (create, revoke, rate limit), see secret keys | yes | yes | yes | no | no | no |
| change the project's owner | yes | project or team owner | no | no | no | no |
| move a project to another team | yes | no | no | no | no | no |
| delete a project | yes | yes | no | no | no | no |
| view issues and events | yes | yes | yes | yes | yes | only where the project is public, or the issue is public (by its share link) |
| resolve / unresolve an issue | yes | yes | yes | yes | **no** | no |
| bookmark / unbookmark (own bookmark) | yes | yes | yes | yes | yes | no |
| make an issue public | yes | yes | yes | yes | **no** | no |
| make an issue private | yes | yes | yes | yes | yes | no |
| remove (delete) an issue and its events | yes | yes | yes | yes | yes | no |
| see a project's alert rules and their deliveries | yes | yes | yes | yes | yes | no |
| manage alert rules (create, edit, delete, send a test) | yes | yes | yes | no | no | no |
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Superuser,
    TeamOwner,
    ProjectOwner,
    Admin,
    Member,
    Agent,
    Anonymous,
    /// Admin of another team.
    Outsider,
    /// An inactive admin of the team.
    Inactive,
}

/// A server with team `t1` (owner without a role, admin, member, agent), project `p1`
/// (with its own owner) holding one issue, and team `t2` with its own admin.
struct Fixture {
    s: TestServer,
    tokens: BTreeMap<&'static str, String>,
    emails: BTreeMap<&'static str, String>,
    issue_id: i64,
}

fn name(w: Who) -> &'static str {
    match w {
        Who::Superuser => "superuser",
        Who::TeamOwner => "team-owner",
        Who::ProjectOwner => "project-owner",
        Who::Admin => "admin",
        Who::Member => "member",
        Who::Agent => "agent",
        Who::Anonymous => "anonymous",
        Who::Outsider => "outsider",
        Who::Inactive => "inactive",
    }
}

impl Fixture {
    fn new() -> Fixture {
        let s = TestServer::start();
        let store = s.store.clone();
        let mut tokens = BTreeMap::new();
        let mut emails = BTreeMap::new();
        tokens.insert("superuser", s.token.clone());
        emails.insert("superuser", "admin@example.com".to_owned());
        let mut user = |n: &'static str| {
            let email = format!("{n}@perm.example");
            // Tokens authenticate the API; the password hash is not used here.
            let u = store.create_user(&email, "unused", false).expect("user");
            let (token, digest) = secrets::new_api_token();
            store.create_token(u.id, &digest, "t").expect("token");
            tokens.insert(n, token);
            emails.insert(n, email);
            u
        };
        let owner = user("team-owner");
        let powner = user("project-owner");
        let admin = user("admin");
        let member = user("member");
        let agent = user("agent");
        let outsider = user("outsider");
        let inactive = user("inactive");
        let t1 = store.create_team("t1", "T1", Some(owner.id)).expect("t1");
        // The owner holds no role: the owner column is tested as owner only.
        store.remove_membership(t1.id, owner.id).expect("rm");
        let t2 = store.create_team("t2", "T2", None).expect("t2");
        store
            .set_membership(t1.id, admin.id, Role::Admin)
            .expect("m");
        store
            .set_membership(t1.id, member.id, Role::Member)
            .expect("m");
        store
            .set_membership(t1.id, agent.id, Role::Agent)
            .expect("m");
        store
            .set_membership(t1.id, inactive.id, Role::Admin)
            .expect("m");
        store
            .set_membership(t2.id, outsider.id, Role::Admin)
            .expect("m");
        store.set_user_active(inactive.id, false).expect("inactive");
        let p1 = store
            .create_project(t1.id, "p1", "P1", Some(powner.id))
            .expect("p1");
        let key = store.create_key(p1.id, "Default").expect("key");
        let event = format!(
            r#"{{"event_id":"{}","message":"boom in p1","level":"error","platform":"other"}}"#,
            new_id()
        );
        let auth = format!("Sentry sentry_key={}, sentry_version=7", key.public_key);
        let r = request(
            s.addr,
            "POST",
            &format!("/api/{}/envelope/", p1.id),
            &[("X-Sentry-Auth", &auth)],
            &envelope("{}", &event),
        );
        assert_eq!(r.status, 200, "ingest: {}", r.text());
        let issues = store
            .search_issues(
                p1.id,
                &sentry_server_lite::store::IssueQuery::default(),
                Page {
                    offset: 0,
                    limit: 10,
                },
            )
            .map(|p| p.issues)
            .expect("issues");
        assert_eq!(issues.len(), 1);
        Fixture {
            s,
            tokens,
            emails,
            issue_id: issues[0].id,
        }
    }

    fn store(&self) -> &dyn Store {
        self.s.store.as_ref()
    }

    fn call(&self, who: Who, method: &str, path: &str, body: Option<Value>) -> Response {
        let auth = self.tokens.get(name(who)).map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        request(self.s.addr, method, path, &headers, body.as_bytes())
    }

    fn user_id(&self, n: &str) -> i64 {
        self.store()
            .user_by_email(&self.emails[n])
            .expect("read")
            .expect("user")
            .id
    }

    /// Everything a request could change, as comparable text.
    fn snapshot(&self) -> String {
        let st = self.store();
        let mut out = String::new();
        for u in st.list_users().expect("users") {
            out += &format!(
                "user {} {} su={} active={}\n",
                u.id, u.email, u.is_superuser, u.is_active
            );
        }
        for t in st.list_teams().expect("teams") {
            out += &format!(
                "team {t:?} members={:?}\n",
                st.team_members(t.id).expect("members")
            );
        }
        let users: Vec<i64> = st
            .list_users()
            .expect("users")
            .iter()
            .map(|u| u.id)
            .collect();
        for p in st.list_projects().expect("projects") {
            out += &format!(
                "project {p:?} keys={:?}\n",
                st.list_keys(p.id).expect("keys")
            );
            let issues = st
                .search_issues(
                    p.id,
                    &sentry_server_lite::store::IssueQuery::default(),
                    Page {
                        offset: 0,
                        limit: 100,
                    },
                )
                .map(|p| p.issues)
                .expect("issues");
            for i in issues {
                out += &format!(
                    "issue {} status={:?} public={} share={:?} events={}\n",
                    i.id,
                    i.status,
                    i.is_public,
                    st.issue_share_id(i.id).expect("share"),
                    st.list_events(
                        i.id,
                        Page {
                            offset: 0,
                            limit: 100
                        }
                    )
                    .expect("events")
                    .len()
                );
                for u in &users {
                    if !st.bookmarked(*u, &[i.id]).expect("bm").is_empty() {
                        out += &format!("bookmark {u} {}\n", i.id);
                    }
                }
            }
        }
        out += &format!(
            "signup={:?}\n",
            st.get_setting("accounts.allow_signup").expect("s")
        );
        out
    }

    fn refusals(&self) -> usize {
        self.store()
            .audit_log(10_000)
            .expect("audit")
            .iter()
            .filter(|r| r.outcome != "ok")
            .count()
    }
}

/// Sends a row's request as someone.
type Runner = fn(&Fixture, Who) -> Response;

/// One row of the table as an API request and a check that it took effect.
struct Row {
    action: &'static str,
    /// Anonymous refusal status: 401 where the thing is visible or server-wide, 404
    /// where existence would leak.
    anon_status: u16,
    run: Runner,
    done: fn(&Fixture, Who) -> bool,
    /// Prepares the state (e.g. makes the issue public before "make private").
    prepare: fn(&Fixture),
}

fn issue_path(f: &Fixture) -> String {
    format!("/api/0/issues/{}/", f.issue_id)
}

fn no_prep(_: &Fixture) {}

fn rows() -> Vec<Row> {
    vec![
        Row {
            action: "create a user",
            anon_status: 401,
            run: |f, w| {
                let body = if matches!(w, Who::Anonymous | Who::Inactive) {
                    json!({"email": "new@example.com", "password": "long enough pw"})
                } else {
                    json!({"email": "new@example.com", "team": "t1", "role": "member"})
                };
                f.call(w, "POST", "/api/0/users/", Some(body))
            },
            done: |f, _| {
                f.store()
                    .user_by_email("new@example.com")
                    .expect("r")
                    .is_some()
            },
            prepare: no_prep,
        },
        Row {
            action: "create a team",
            anon_status: 401,
            run: |f, w| {
                f.call(
                    w,
                    "POST",
                    "/api/0/teams/",
                    Some(json!({"slug": "t3", "name": "T3"})),
                )
            },
            done: |f, _| f.store().team_by_slug("t3").expect("r").is_some(),
            prepare: no_prep,
        },
        Row {
            action: "create a project",
            anon_status: 401,
            run: |f, w| {
                f.call(
                    w,
                    "POST",
                    "/api/0/teams/t1/projects/",
                    Some(json!({"slug": "p9"})),
                )
            },
            done: |f, _| f.store().project_by_slug("p9").expect("r").is_some(),
            prepare: no_prep,
        },
        Row {
            action: "see the team's settings",
            anon_status: 404,
            run: |f, w| {
                let r = f.call(w, "GET", "/api/0/teams/t1/", None);
                if r.status == 200 {
                    assert_eq!(r.json()["members"].as_array().expect("members").len(), 4);
                }
                r
            },
            done: |_, _| true,
            prepare: no_prep,
        },
        Row {
            action: "add/remove team members",
            anon_status: 404,
            run: |f, w| {
                let email = f.emails["outsider"].clone();
                f.call(
                    w,
                    "POST",
                    "/api/0/teams/t1/members/",
                    Some(json!({"email": email, "role": "agent"})),
                )
            },
            done: |f, _| {
                let t1 = f.store().team_by_slug("t1").expect("r").expect("t1");
                f.store()
                    .team_members(t1.id)
                    .expect("m")
                    .iter()
                    .any(|m| m.email == f.emails["outsider"] && m.role == Role::Agent)
            },
            prepare: no_prep,
        },
        Row {
            action: "rename the team",
            anon_status: 404,
            run: |f, w| {
                f.call(
                    w,
                    "PUT",
                    "/api/0/teams/t1/",
                    Some(json!({"name": "Renamed"})),
                )
            },
            done: |f, _| f.store().team_by_slug("t1").expect("r").expect("t").name == "Renamed",
            prepare: no_prep,
        },
        Row {
            action: "change the team's owner",
            anon_status: 404,
            run: |f, w| {
                let email = f.emails["member"].clone();
                f.call(w, "PUT", "/api/0/teams/t1/", Some(json!({"owner": email})))
            },
            done: |f, _| {
                f.store()
                    .team_by_slug("t1")
                    .expect("r")
                    .expect("t")
                    .owner_id
                    == Some(f.user_id("member"))
            },
            prepare: no_prep,
        },
        Row {
            action: "edit project settings",
            anon_status: 404,
            run: |f, w| {
                f.call(
                    w,
                    "PUT",
                    "/api/0/projects/t1/p1/",
                    Some(json!({"name": "New", "isPublic": true, "allowedOrigins": ["app.example.com"]})),
                )
            },
            done: |f, _| {
                let p = f.store().project_by_slug("p1").expect("r").expect("p");
                p.name == "New" && p.is_public && p.allowed_origins == vec!["app.example.com"]
            },
            prepare: no_prep,
        },
        Row {
            action: "manage project keys",
            anon_status: 404,
            run: |f, w| {
                // Seeing secrets is part of the row: the key list shows them only to those
                // allowed to manage keys (members see public keys only).
                let list = f.call(w, "GET", "/api/0/projects/t1/p1/keys/", None);
                if list.status == 200 {
                    let keys = list.json();
                    let has_secret = keys[0].get("secret").is_some();
                    let manager = matches!(
                        w,
                        Who::Superuser | Who::TeamOwner | Who::ProjectOwner | Who::Admin
                    );
                    assert_eq!(has_secret, manager, "{w:?} secrets in key list");
                }
                f.call(
                    w,
                    "POST",
                    "/api/0/projects/t1/p1/keys/",
                    Some(json!({"name": "second"})),
                )
            },
            done: |f, _| {
                let p = f.store().project_by_slug("p1").expect("r").expect("p");
                f.store().list_keys(p.id).expect("k").len() == 2
            },
            prepare: no_prep,
        },
        Row {
            action: "change the project's owner",
            anon_status: 404,
            run: |f, w| {
                let email = f.emails["member"].clone();
                f.call(
                    w,
                    "PUT",
                    "/api/0/projects/t1/p1/",
                    Some(json!({"owner": email})),
                )
            },
            done: |f, _| {
                f.store()
                    .project_by_slug("p1")
                    .expect("r")
                    .expect("p")
                    .owner_id
                    == Some(f.user_id("member"))
            },
            prepare: no_prep,
        },
        Row {
            action: "move a project",
            anon_status: 404,
            run: |f, w| {
                f.call(
                    w,
                    "PUT",
                    "/api/0/projects/t1/p1/",
                    Some(json!({"team": "t2"})),
                )
            },
            done: |f, _| {
                f.store()
                    .project_by_slug("p1")
                    .expect("r")
                    .expect("p")
                    .team_slug
                    == "t2"
            },
            prepare: no_prep,
        },
        Row {
            action: "delete a project",
            anon_status: 404,
            run: |f, w| f.call(w, "DELETE", "/api/0/projects/t1/p1/", None),
            done: |f, _| {
                f.store().project_by_slug("p1").expect("r").is_none()
                    && f.store().issue(f.issue_id).expect("r").is_none()
            },
            prepare: no_prep,
        },
        Row {
            action: "view issues",
            anon_status: 404,
            run: |f, w| {
                let r = f.call(w, "GET", &issue_path(f), None);
                if r.status == 200 {
                    // The other read endpoints agree.
                    let events = f.call(w, "GET", &format!("{}events/", issue_path(f)), None);
                    assert_eq!(events.status, 200);
                    let list = f.call(w, "GET", "/api/0/projects/t1/p1/issues/", None);
                    assert_eq!(list.status, 200);
                    assert_eq!(list.json().as_array().expect("list").len(), 1);
                }
                r
            },
            done: |_, _| true,
            prepare: no_prep,
        },
        Row {
            action: "resolve / unresolve",
            anon_status: 404,
            run: |f, w| {
                f.call(
                    w,
                    "PUT",
                    &issue_path(f),
                    Some(json!({"status": "resolved"})),
                )
            },
            done: |f, _| {
                f.store().issue(f.issue_id).expect("r").expect("i").status
                    == sentry_server_lite::store::IssueStatus::Resolved
            },
            prepare: no_prep,
        },
        Row {
            action: "bookmark",
            anon_status: 404,
            run: |f, w| {
                let r = f.call(
                    w,
                    "PUT",
                    &issue_path(f),
                    Some(json!({"isBookmarked": true})),
                );
                if r.status == 200 {
                    assert_eq!(r.json()["isBookmarked"], json!(true));
                }
                r
            },
            done: |f, w| {
                // Own bookmark only: nobody else's changed.
                let me = f.user_id(name(w));
                let all = f.store().list_users().expect("u");
                all.iter().all(|u| {
                    let on = !f
                        .store()
                        .bookmarked(u.id, &[f.issue_id])
                        .expect("b")
                        .is_empty();
                    on == (u.id == me)
                })
            },
            prepare: no_prep,
        },
        Row {
            action: "make an issue public",
            anon_status: 404,
            run: |f, w| f.call(w, "PUT", &issue_path(f), Some(json!({"isPublic": true}))),
            done: |f, _| {
                f.store()
                    .issue(f.issue_id)
                    .expect("r")
                    .expect("i")
                    .is_public
                    && f.store().issue_share_id(f.issue_id).expect("s").is_some()
            },
            prepare: no_prep,
        },
        Row {
            action: "make an issue private",
            anon_status: 404,
            run: |f, w| f.call(w, "PUT", &issue_path(f), Some(json!({"isPublic": false}))),
            done: |f, _| {
                !f.store()
                    .issue(f.issue_id)
                    .expect("r")
                    .expect("i")
                    .is_public
                    && f.store().issue_share_id(f.issue_id).expect("s").is_none()
            },
            prepare: |f| {
                f.store()
                    .set_issue_public(f.issue_id, true)
                    .expect("public");
            },
        },
        Row {
            action: "remove (delete) an issue",
            anon_status: 404,
            run: |f, w| f.call(w, "DELETE", &issue_path(f), None),
            done: |f, _| {
                f.store().issue(f.issue_id).expect("r").is_none()
                    && f.store().count_events().expect("c") == 0
            },
            prepare: no_prep,
        },
        Row {
            action: "see a project's alert rules",
            anon_status: 404,
            run: |f, w| f.call(w, "GET", "/api/0/projects/t1/p1/alert-rules/", None),
            done: |_, _| true,
            prepare: no_prep,
        },
        Row {
            action: "manage alert rules",
            anon_status: 404,
            run: |f, w| {
                f.call(
                    w,
                    "POST",
                    "/api/0/projects/t1/p1/alert-rules/",
                    Some(json!({"name": "r", "triggers": ["new_issue"],
                                "actions": [{"type": "webhook",
                                             "url": "https://hooks.example.com/x"}]})),
                )
            },
            done: |f, _| {
                let p = f.store().project_by_slug("p1").expect("r").expect("p");
                sentry_server_lite::store::alerts::list_rules(f.store(), p.id)
                    .expect("rules")
                    .len()
                    == 1
            },
            prepare: no_prep,
        },
    ]
}

/// The table's cells: `(row text, [superuser, owner, admin, member, agent, anonymous])`.
fn table() -> Vec<(String, Vec<String>)> {
    TABLE
        .lines()
        .filter(|l| l.starts_with("| "))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect();
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect()
}

fn yes(cell: &str) -> bool {
    let c = cell.trim_matches('*');
    c.starts_with("yes") || c == "team owner only" || c == "project or team owner"
}

/// Runs one cell on a fresh server: status, effect, and on refusal no change + audit.
fn run_cell(row: &Row, who: Who, allowed: bool, refused_status: u16) {
    let f = Fixture::new();
    (row.prepare)(&f);
    let before = f.snapshot();
    let refusals = f.refusals();
    let r = (row.run)(&f, who);
    let label = format!("{} / {}", row.action, name(who));
    if allowed {
        assert!(
            (200..300).contains(&r.status),
            "{label}: expected success, got {} {}",
            r.status,
            r.text()
        );
        assert!(
            (row.done)(&f, who),
            "{label}: answered {} but did not take effect",
            r.status
        );
    } else {
        assert_eq!(r.status, refused_status, "{label}: {}", r.text());
        assert_eq!(
            f.snapshot(),
            before,
            "{label}: a refused request changed state"
        );
        assert!(
            f.refusals() > refusals,
            "{label}: refusal not in the audit log"
        );
    }
    f.s.stop();
}

/// Walks one row: every column (both owners where the cell names two, and an inactive
/// admin, who must be treated as anonymous). Returns the number of table cells.
fn walk_row(row: &Row, text: &str, cols: &[String]) -> usize {
    assert!(
        text.starts_with(row.action),
        "row order: {text:?} vs {:?}",
        row.action
    );
    let owners: &[Who] = match cols[1].as_str() {
        "team owner only" => &[Who::TeamOwner],
        "project or team owner" => &[Who::ProjectOwner, Who::TeamOwner],
        _ if text.contains("project settings")
            || text.contains("project keys")
            || text.contains("delete a project")
            || text.contains("issue") =>
        {
            &[Who::ProjectOwner, Who::TeamOwner]
        }
        _ => &[Who::TeamOwner],
    };
    let mut cells = 0;
    for (col, whos) in [
        (0, &[Who::Superuser][..]),
        (1, owners),
        (2, &[Who::Admin][..]),
        (3, &[Who::Member][..]),
        (4, &[Who::Agent][..]),
    ] {
        for who in whos {
            run_cell(row, *who, yes(&cols[col]), 403);
        }
        cells += 1;
    }
    // Anonymous: never allowed on a private project / without sign-up; the exceptions
    // (sign-up, public project, shared issue) have their own tests below.
    run_cell(row, Who::Anonymous, false, row.anon_status);
    cells += 1;
    // An inactive admin of the team is anonymous.
    run_cell(row, Who::Inactive, false, row.anon_status);
    cells
}

#[test]
fn every_row_and_column_through_the_api() {
    let table = table();
    let rows = rows();
    assert_eq!(table.len(), 20);
    assert_eq!(rows.len(), table.len());
    let mut cells = 0;
    for (row, (text, cols)) in rows.iter().zip(&table) {
        cells += walk_row(row, text, cols);
    }
    assert_eq!(cells, 20 * 6);
}

fn bulk_path(f: &Fixture) -> String {
    format!("/api/0/projects/t1/p1/issues/?id={}", f.issue_id)
}

/// The issue rows again, through the bulk forms on the project's issue list.
fn bulk_rows() -> Vec<Row> {
    let single = rows();
    let bulk_run: [(&str, Runner); 5] = [
        ("resolve / unresolve", |f, w| {
            f.call(w, "PUT", &bulk_path(f), Some(json!({"status": "resolved"})))
        }),
        ("bookmark", |f, w| {
            f.call(w, "PUT", &bulk_path(f), Some(json!({"isBookmarked": true})))
        }),
        ("make an issue public", |f, w| {
            f.call(w, "PUT", &bulk_path(f), Some(json!({"isPublic": true})))
        }),
        ("make an issue private", |f, w| {
            f.call(w, "PUT", &bulk_path(f), Some(json!({"isPublic": false})))
        }),
        ("remove (delete) an issue", |f, w| {
            f.call(w, "DELETE", &bulk_path(f), None)
        }),
    ];
    bulk_run
        .iter()
        .map(|(action, run)| {
            let s = single
                .iter()
                .find(|r| r.action == *action)
                .expect("row exists");
            Row {
                action: s.action,
                anon_status: s.anon_status,
                run: *run,
                done: s.done,
                prepare: s.prepare,
            }
        })
        .collect()
}

#[test]
fn issue_rows_through_the_bulk_forms() {
    let table = table();
    let mut cells = 0;
    for row in bulk_rows() {
        let (text, cols) = table
            .iter()
            .find(|(t, _)| t.starts_with(row.action))
            .expect("table row");
        cells += walk_row(&row, text, cols);
    }
    assert_eq!(cells, 5 * 6);
}

#[test]
fn an_admin_of_another_team_is_nobody_here() {
    for row in rows() {
        let status = match row.action {
            // Server-wide actions: the team is not named, refusal is plain 403.
            "create a team" | "create a project" => 403,
            _ => 404,
        };
        run_cell(&row, Who::Outsider, false, status);
    }
    // Nor do they see the team's projects in lists.
    let f = Fixture::new();
    let list = f.call(Who::Outsider, "GET", "/api/0/projects/", None);
    assert_eq!(list.status, 200);
    assert!(list.json().as_array().expect("list").is_empty());
    let teams = f.call(Who::Outsider, "GET", "/api/0/teams/", None);
    let slugs: Vec<&str> = teams
        .json()
        .as_array()
        .expect("teams")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .map(|_| "x")
        .collect();
    assert_eq!(slugs.len(), 1, "only their own team t2");
}

#[test]
fn anonymous_sign_up_only_when_enabled() {
    let f = Fixture::new();
    let body = json!({"email": "self@example.com", "password": "long enough pw"});
    let r = f.call(Who::Anonymous, "POST", "/api/0/users/", Some(body.clone()));
    assert_eq!(r.status, 401);
    f.store()
        .set_setting("accounts.allow_signup", "true")
        .expect("setting");
    let r = f.call(Who::Anonymous, "POST", "/api/0/users/", Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    let u = f
        .store()
        .user_by_email("SELF@example.com")
        .expect("r")
        .expect("user");
    assert!(!u.is_superuser);
    assert!(secrets::verify_password("long enough pw", &u.password_hash));
    // No way to make a superuser through the API, not even for a superuser.
    let r = f.call(
        Who::Superuser,
        "POST",
        "/api/0/users/",
        Some(json!({"email": "su2@example.com", "isSuperuser": true})),
    );
    assert_eq!(r.status, 201);
    assert!(
        !f.store()
            .user_by_email("su2@example.com")
            .expect("r")
            .expect("u")
            .is_superuser
    );
    assert!(r.json()["password"].as_str().is_some_and(|p| p.len() == 20));
}

#[test]
fn public_project_and_shared_issue_are_read_only_for_anonymous() {
    let f = Fixture::new();
    // Shared issue of a private project: readable by its link only.
    let r = f.call(
        Who::Admin,
        "PUT",
        &issue_path(&f),
        Some(json!({"isPublic": true})),
    );
    assert_eq!(r.status, 200);
    let share = r.json()["shareId"].as_str().expect("shareId").to_owned();
    let shared = f.call(
        Who::Anonymous,
        "GET",
        &format!("/api/0/shared/issues/{share}/"),
        None,
    );
    assert_eq!(shared.status, 200, "{}", shared.text());
    assert_eq!(shared.json()["title"], json!("boom in p1"));
    assert_eq!(
        f.call(Who::Anonymous, "GET", &issue_path(&f), None).status,
        404
    );
    assert_eq!(
        f.call(Who::Anonymous, "GET", "/api/0/shared/issues/nope/", None)
            .status,
        404
    );

    // Public project: everything readable, nothing writable.
    f.store()
        .update_project(
            f.store().project_by_slug("p1").expect("r").expect("p").id,
            &sentry_server_lite::store::accounts::ProjectUpdate {
                is_public: Some(true),
                ..Default::default()
            },
        )
        .expect("public");
    let listed = f.call(Who::Anonymous, "GET", "/api/0/projects/", None);
    assert_eq!(listed.status, 200, "{}", listed.text());
    let slugs: Vec<_> = listed
        .json()
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["slug"].clone())
        .collect();
    assert_eq!(
        slugs,
        vec![json!("p1")],
        "anonymous list shows the public project only"
    );
    for path in [
        issue_path(&f),
        format!("{}events/", issue_path(&f)),
        format!("{}events/latest/", issue_path(&f)),
        "/api/0/projects/t1/p1/".to_owned(),
        "/api/0/projects/t1/p1/issues/".to_owned(),
    ] {
        let r = f.call(Who::Anonymous, "GET", &path, None);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        let r = f.call(Who::Outsider, "GET", &path, None);
        assert_eq!(r.status, 200, "outsider GET {path}: {}", r.text());
    }
    assert_eq!(
        f.call(Who::Anonymous, "GET", "/api/0/teams/t1/", None)
            .status,
        404
    );
    assert_eq!(
        f.call(Who::Anonymous, "GET", "/api/0/projects/t1/p1/keys/", None)
            .status,
        401
    );
    let before = f.snapshot();
    let ip = issue_path(&f);
    let writes: Vec<(&str, String, Option<Value>)> = vec![
        ("PUT", ip.clone(), Some(json!({"status": "resolved"}))),
        ("PUT", ip.clone(), Some(json!({"isBookmarked": true}))),
        ("PUT", ip.clone(), Some(json!({"isPublic": false}))),
        ("DELETE", ip.clone(), None),
        (
            "PUT",
            "/api/0/projects/t1/p1/issues/?id=".to_owned() + &f.issue_id.to_string(),
            Some(json!({"status": "resolved"})),
        ),
        (
            "DELETE",
            "/api/0/projects/t1/p1/issues/?id=".to_owned() + &f.issue_id.to_string(),
            None,
        ),
        (
            "PUT",
            "/api/0/projects/t1/p1/".to_owned(),
            Some(json!({"name": "x"})),
        ),
        (
            "PUT",
            "/api/0/projects/t1/p1/".to_owned(),
            Some(json!({"isPublic": false})),
        ),
        ("DELETE", "/api/0/projects/t1/p1/".to_owned(), None),
        (
            "POST",
            "/api/0/projects/t1/p1/keys/".to_owned(),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in &writes {
        let r = f.call(Who::Anonymous, method, path, body.clone());
        assert_eq!(r.status, 401, "anonymous {method} {path}: {}", r.text());
        let r = f.call(Who::Outsider, method, path, body.clone());
        assert_eq!(r.status, 403, "outsider {method} {path}: {}", r.text());
    }
    assert_eq!(f.snapshot(), before, "refused writes changed state");
}

#[test]
fn bulk_forms_follow_the_same_policy() {
    let f = Fixture::new();
    let q = format!("/api/0/projects/t1/p1/issues/?id={}", f.issue_id);
    let before = f.snapshot();
    let r = f.call(Who::Agent, "PUT", &q, Some(json!({"status": "resolved"})));
    assert_eq!(r.status, 403);
    assert_eq!(f.snapshot(), before);
    let r = f.call(Who::Member, "PUT", &q, Some(json!({"status": "resolved"})));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        f.store().issue(f.issue_id).expect("r").expect("i").status,
        sentry_server_lite::store::IssueStatus::Resolved
    );
    // An id of another project is refused as missing, and nothing is deleted.
    let other = format!("/api/0/projects/t1/p1/issues/?id={}&id=999999", f.issue_id);
    assert_eq!(f.call(Who::Agent, "DELETE", &other, None).status, 404);
    assert!(f.store().issue(f.issue_id).expect("r").is_some());
    assert_eq!(f.call(Who::Agent, "DELETE", &q, None).status, 204);
    assert!(f.store().issue(f.issue_id).expect("r").is_none());
}

#[test]
fn audit_log_records_changes_without_secrets() {
    let f = Fixture::new();
    let r = f.call(
        Who::Admin,
        "POST",
        "/api/0/projects/t1/p1/keys/",
        Some(json!({"name": "k"})),
    );
    assert_eq!(r.status, 201);
    let secret = r.json()["secret"].as_str().expect("secret").to_owned();
    let r = f.call(
        Who::Superuser,
        "POST",
        "/api/0/users/",
        Some(json!({"email": "gen@example.com", "team": "t1"})),
    );
    let password = r.json()["password"].as_str().expect("generated").to_owned();
    let log = f.store().audit_log(100).expect("audit");
    assert!(log.iter().any(|e| e.action == "project.manage_keys"
        && e.outcome == "ok"
        && e.actor_id == Some(f.user_id("admin"))));
    assert!(log
        .iter()
        .any(|e| e.action == "user.create" && e.outcome == "ok"));
    for e in &log {
        let all = format!("{e:?}");
        assert!(
            !all.contains(&secret) && !all.contains(&password) && !all.contains(&f.tokens["admin"])
        );
    }
}
