//! The permission table of `docs/permissions.md`, kept here as data (the markdown rows,
//! verbatim), parsed and checked cell by cell against [`authorize`].

use super::*;

/// The table from `docs/permissions.md`, verbatim.
const TABLE: &str = "
| action | superuser | owner | admin | member | agent | anonymous |
|---|---|---|---|---|---|---|
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

const TEAM: TeamRef = TeamRef {
    id: 1,
    owner_id: Some(TEAM_OWNER),
};
const OTHER_TEAM: TeamRef = TeamRef {
    id: 2,
    owner_id: Some(99),
};
const SUPERUSER: i64 = 1;
const TEAM_OWNER: i64 = 2;
const ADMIN: i64 = 3;
const MEMBER: i64 = 4;
const AGENT: i64 = 5;
const PROJECT_OWNER: i64 = 6;
const OUTSIDER: i64 = 7;

fn project(is_public: bool) -> ProjectRef {
    ProjectRef {
        id: 10,
        team: TEAM,
        owner_id: Some(PROJECT_OWNER),
        is_public,
    }
}

fn issue(project_public: bool, issue_public: bool, by_share_link: bool) -> Resource {
    Resource::Issue {
        project: project(project_public),
        is_public: issue_public,
        by_share_link,
    }
}

fn actor(id: i64) -> Actor {
    match id {
        SUPERUSER => Actor::user(id, true, true, []),
        TEAM_OWNER | PROJECT_OWNER | OUTSIDER => Actor::user(id, false, true, []),
        ADMIN => Actor::user(id, false, true, [(1, Role::Admin)]),
        MEMBER => Actor::user(id, false, true, [(1, Role::Member)]),
        AGENT => Actor::user(id, false, true, [(1, Role::Agent)]),
        _ => Actor::Anonymous,
    }
}

/// The action of each row, matched on the row's text.
fn row_action(text: &str) -> Action {
    let rows: [(&str, Action); 20] = [
        ("create a user", Action::CreateUser),
        ("create a team", Action::CreateTeam),
        ("create a project", Action::CreateProject),
        ("see the team's settings", Action::ViewTeamSettings),
        ("add/remove team members", Action::ManageMembers),
        ("rename the team", Action::RenameTeam),
        ("change the team's owner", Action::ChangeTeamOwner),
        ("edit project settings", Action::EditProject),
        ("manage project keys", Action::ManageKeys),
        ("change the project's owner", Action::ChangeProjectOwner),
        ("move a project", Action::MoveProject),
        ("delete a project", Action::DeleteProject),
        ("view issues", Action::ViewIssues),
        ("resolve / unresolve", Action::ResolveIssue),
        ("bookmark", Action::Bookmark),
        ("make an issue public", Action::MakeIssuePublic),
        ("make an issue private", Action::MakeIssuePrivate),
        ("remove (delete) an issue", Action::DeleteIssue),
        ("see a project's alert rules", Action::ViewAlertRules),
        ("manage alert rules", Action::ManageAlertRules),
    ];
    rows.iter()
        .find(|(prefix, _)| text.starts_with(prefix))
        .map(|(_, a)| *a)
        .unwrap_or_else(|| panic!("unknown row {text:?}"))
}

/// The resource a row is about, as seen by the member columns.
fn row_resource(action: Action) -> Resource {
    match action {
        Action::CreateUser
        | Action::ViewTeamSettings
        | Action::ManageMembers
        | Action::RenameTeam
        | Action::ChangeTeamOwner => Resource::Team(TEAM),
        Action::CreateTeam | Action::CreateProject => Resource::Server {
            signup_enabled: true,
        },
        Action::EditProject
        | Action::ManageKeys
        | Action::ChangeProjectOwner
        | Action::MoveProject
        | Action::DeleteProject
        | Action::ViewAlertRules
        | Action::ManageAlertRules => Resource::Project(project(false)),
        _ => issue(false, false, false),
    }
}

/// The owners a row's "owner" column is about.
fn row_owners(action: Action, cell: &str) -> Vec<i64> {
    match (action, cell) {
        (_, "team owner only") => vec![TEAM_OWNER],
        (_, "project or team owner") => vec![PROJECT_OWNER, TEAM_OWNER],
        (Action::CreateUser | Action::CreateTeam | Action::CreateProject, _) => vec![TEAM_OWNER],
        (
            Action::ViewTeamSettings
            | Action::ManageMembers
            | Action::RenameTeam
            | Action::ChangeTeamOwner,
            _,
        ) => vec![TEAM_OWNER],
        _ => vec![PROJECT_OWNER, TEAM_OWNER],
    }
}

fn yes(cell: &str) -> bool {
    match cell.trim_matches('*') {
        c if c.starts_with("yes") => true,
        "team owner only" | "project or team owner" => true,
        "no" => false,
        other => panic!("unexpected cell {other:?}"),
    }
}

fn rows() -> Vec<(String, Vec<String>)> {
    TABLE
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| action"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect();
            assert_eq!(cells.len(), 7, "row {l:?}");
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect()
}

fn check(who: &str, actor: &Actor, action: Action, resource: &Resource, expect_yes: bool) {
    let got = authorize(actor, action, resource);
    assert_eq!(
        got.is_ok(),
        expect_yes,
        "{who} / {action:?} on {resource:?}: got {got:?}"
    );
}

#[test]
fn every_cell_of_the_table() {
    let rows = rows();
    assert_eq!(rows.len(), 20, "the table has 20 rows");
    let mut seen = std::collections::HashSet::new();
    let mut cells = 0;
    for (text, cols) in &rows {
        let action = row_action(text);
        assert!(seen.insert(action), "row {text:?} twice");
        let resource = row_resource(action);
        // superuser, admin, member, agent: the row's resource.
        for (col, id) in [(0, SUPERUSER), (2, ADMIN), (3, MEMBER), (4, AGENT)] {
            check(text, &actor(id), action, &resource, yes(&cols[col]));
            cells += 1;
        }
        // owner: every owner the cell names.
        for owner in row_owners(action, &cols[1]) {
            check(text, &actor(owner), action, &resource, yes(&cols[1]));
        }
        cells += 1;
        // anonymous.
        let anon = Actor::Anonymous;
        match cols[5].as_str() {
            "no" => check(text, &anon, action, &resource, false),
            "sign-up only if enabled" => {
                let on = Resource::Server {
                    signup_enabled: true,
                };
                let off = Resource::Server {
                    signup_enabled: false,
                };
                check(text, &anon, action, &on, true);
                assert_eq!(authorize(&anon, action, &off), Err(Denied::Unauthenticated));
                check(text, &anon, action, &resource, false);
            }
            c if c.starts_with("only where the project is public") => {
                check(text, &anon, action, &issue(false, false, false), false);
                check(text, &anon, action, &issue(true, false, false), true);
                check(text, &anon, action, &Resource::Project(project(true)), true);
                check(text, &anon, action, &issue(false, true, true), true);
                check(text, &anon, action, &issue(false, true, false), false);
            }
            other => panic!("unexpected anonymous cell {other:?}"),
        }
        cells += 1;
        // The superuser may do everything, even on another team.
        if matches!(resource, Resource::Team(_)) {
            check(
                text,
                &actor(SUPERUSER),
                action,
                &Resource::Team(OTHER_TEAM),
                true,
            );
        }
    }
    assert_eq!(cells, 20 * 6);
    assert_eq!(seen.len(), Action::ALL.len());
}

#[test]
fn superuser_only_through_server_for_teams_and_projects() {
    let server = Resource::Server {
        signup_enabled: false,
    };
    for id in [TEAM_OWNER, ADMIN, MEMBER, AGENT, OUTSIDER] {
        for a in [
            Action::CreateTeam,
            Action::CreateProject,
            Action::CreateUser,
        ] {
            assert_eq!(authorize(&actor(id), a, &server), Err(Denied::Forbidden));
        }
    }
    assert_eq!(
        authorize(&Actor::Anonymous, Action::CreateTeam, &server),
        Err(Denied::Unauthenticated)
    );
    // Sign-up is for anonymous visitors only.
    let on = Resource::Server {
        signup_enabled: true,
    };
    assert!(!can(&actor(MEMBER), Action::CreateUser, &on));
}

#[test]
fn inactive_user_is_anonymous_everywhere() {
    for (id, su) in [(SUPERUSER, true), (TEAM_OWNER, false)] {
        let inactive = Actor::user(id, su, false, [(1, Role::Admin)]);
        for action in Action::ALL {
            for resource in [
                Resource::Team(TEAM),
                Resource::Project(project(false)),
                issue(false, false, false),
            ] {
                assert_eq!(
                    authorize(&inactive, action, &resource),
                    authorize(&Actor::Anonymous, action, &resource),
                    "{action:?} {resource:?}"
                );
            }
        }
    }
}

#[test]
fn roles_act_only_inside_their_team() {
    let foreign = ProjectRef {
        id: 20,
        team: OTHER_TEAM,
        owner_id: Some(99),
        is_public: false,
    };
    let foreign_issue = Resource::Issue {
        project: foreign,
        is_public: false,
        by_share_link: false,
    };
    for id in [TEAM_OWNER, ADMIN, MEMBER, AGENT, PROJECT_OWNER, OUTSIDER] {
        let a = actor(id);
        for action in Action::ALL {
            for r in [
                Resource::Team(OTHER_TEAM),
                Resource::Project(foreign),
                foreign_issue,
            ] {
                assert_eq!(
                    authorize(&a, action, &r),
                    Err(Denied::NotFound),
                    "{id} {action:?} {r:?}"
                );
            }
        }
    }
    // A project owner has no power over the rest of the team.
    let po = actor(PROJECT_OWNER);
    for action in [
        Action::ViewTeamSettings,
        Action::ManageMembers,
        Action::RenameTeam,
        Action::ChangeTeamOwner,
        Action::CreateUser,
    ] {
        assert_eq!(
            authorize(&po, action, &Resource::Team(TEAM)),
            Err(Denied::NotFound)
        );
    }
}

#[test]
fn refusals_distinguish_401_403_404() {
    // Members see the team exists: 403 on its settings.
    assert_eq!(
        authorize(
            &actor(AGENT),
            Action::ViewTeamSettings,
            &Resource::Team(TEAM)
        ),
        Err(Denied::Forbidden)
    );
    assert_eq!(
        authorize(
            &actor(AGENT),
            Action::ResolveIssue,
            &issue(false, false, false)
        ),
        Err(Denied::Forbidden)
    );
    // Public things: outsiders read, never write (403); anonymous writes get 401.
    let public = issue(true, false, false);
    assert_eq!(
        authorize(&actor(OUTSIDER), Action::ViewIssues, &public),
        Ok(())
    );
    let shared = issue(false, true, true);
    for action in Action::ALL {
        if action == Action::ViewIssues {
            continue;
        }
        for r in [public, shared, Resource::Project(project(true))] {
            assert_eq!(
                authorize(&actor(OUTSIDER), action, &r),
                Err(Denied::Forbidden)
            );
            assert_eq!(
                authorize(&Actor::Anonymous, action, &r),
                Err(Denied::Unauthenticated)
            );
        }
    }
    // Private things: 404 for outsiders and anonymous alike.
    let private = issue(false, true, false);
    assert_eq!(
        authorize(&actor(OUTSIDER), Action::ViewIssues, &private),
        Err(Denied::NotFound)
    );
    assert_eq!(
        authorize(&Actor::Anonymous, Action::ViewIssues, &private),
        Err(Denied::NotFound)
    );
    assert_eq!(Denied::NotFound.status(), 404);
    assert_eq!(Denied::Forbidden.status(), 403);
    assert_eq!(Denied::Unauthenticated.status(), 401);
}

#[test]
fn the_operator_stands_as_a_superuser_everywhere() {
    let rows = rows();
    for (text, cols) in &rows {
        let action = row_action(text);
        let resource = row_resource(action);
        assert_eq!(
            authorize(&Actor::Operator, action, &resource).is_ok(),
            yes(&cols[0]),
            "operator / {action:?}"
        );
    }
    let private = issue(false, false, false);
    assert_eq!(
        authorize(&Actor::Operator, Action::DeleteIssue, &private),
        Ok(())
    );
    assert_eq!(Actor::Operator.user_id(), None);
    assert!(Actor::Operator.active_user().is_none());
}
