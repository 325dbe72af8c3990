//! Admin commands: superuser, team, project, DSN and token. They open the database
//! directly and work while the server runs (SQLite WAL allows it; PostgreSQL anyway),
//! and act as the operator through [`crate::app`] like the accounts commands.

use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use super::accounts::{named, read_password_stdin};
use super::output::{Operator, Output};
use super::Db;
use crate::app::projects::NewOwner;
use crate::app::{projects, teams, tokens, users};
use crate::config::database_path;
use crate::secrets;
use crate::server::{SETTING_HTTP_URL, SETTING_UDP_ADDR};
use crate::store::{self, Project, Store, Synchronous};

/// Opens the database: PostgreSQL when a database URL is given, else the data
/// directory's SQLite file.
pub fn open_store(db: &Db) -> anyhow::Result<Arc<dyn Store>> {
    let path = database_path(&db.data_dir);
    store::open(db.url.as_deref(), &path, Synchronous::Full).with_context(|| match &db.url {
        Some(_) => "opening the PostgreSQL database".to_owned(),
        None => format!("opening the database {}", path.display()),
    })
}

/// `db migrate`: opening a store applies its pending migrations.
pub(super) fn migrate(db: &Db, out: &Output) -> anyhow::Result<()> {
    let what = match &db.url {
        Some(url) => {
            let store = store::PgStore::open(url).context("opening the PostgreSQL database")?;
            store.describe().to_owned()
        }
        None => {
            let path = database_path(&db.data_dir);
            drop(
                store::SqliteStore::open(&path, Synchronous::Full)
                    .with_context(|| format!("opening the database {}", path.display()))?,
            );
            path.display().to_string()
        }
    };
    out.print(
        &format!("The schema of {what} is up to date."),
        &json!({ "database": what, "migrated": true }),
    );
    Ok(())
}

/// `db copy --from SRC --to DST [--replace]`, with progress on stderr.
pub(super) fn copy(from: &str, to: &str, replace: bool, out: &Output) -> anyhow::Result<()> {
    use crate::store::copy::{copy, Endpoint};
    let (from, to) = (Endpoint::parse(from), Endpoint::parse(to));
    let mut last = std::time::Instant::now();
    let mut progress = |table: &str, done: u64, total: u64| {
        if done == total || last.elapsed() >= std::time::Duration::from_secs(1) {
            eprintln!("db copy: {table}: {done}/{total}");
            last = std::time::Instant::now();
        }
    };
    let report = copy(&from, &to, replace, &mut progress)
        .with_context(|| format!("copying {} to {}", from.describe(), to.describe()))?;
    let rows: u64 = report.tables.iter().map(|t| t.1).sum();
    out.print(
        &format!(
            "Copied {rows} rows in {} tables from {} to {}{}.",
            report.tables.len(),
            from.describe(),
            to.describe(),
            if report.resumed { " (resumed)" } else { "" }
        ),
        &json!({ "from": from.describe(), "to": to.describe(), "tables": report.tables,
                 "resumed": report.resumed }),
    );
    Ok(())
}

/// The DSNs of a project: one http DSN per active key, and one udp DSN per key when the
/// server last ran with UDP on.
pub struct Dsns {
    /// `http://KEY@HOST:PORT/ID`.
    pub http: Vec<String>,
    /// `udp://KEY@HOST:PORT/ID`.
    pub udp: Vec<String>,
}

/// Computes a project's DSNs from its keys and the server's (recorded or given) URL.
pub fn project_dsns(
    store: &dyn Store,
    project: &Project,
    public_url: Option<&str>,
) -> anyhow::Result<Dsns> {
    let base = match public_url {
        Some(u) => u.to_owned(),
        None => store
            .get_setting(SETTING_HTTP_URL)?
            .unwrap_or_else(|| "http://127.0.0.1:9000".to_owned()),
    };
    let base = base.trim_end_matches('/');
    let (scheme, rest) = base
        .split_once("://")
        .with_context(|| format!("public URL {base:?} has no scheme"))?;
    let udp_addr = store
        .get_setting(SETTING_UDP_ADDR)?
        .filter(|a| !a.is_empty());
    let mut dsns = Dsns {
        http: Vec::new(),
        udp: Vec::new(),
    };
    for key in store.list_keys(project.id)?.iter().filter(|k| k.is_active) {
        dsns.http.push(format!(
            "{scheme}://{}@{rest}/{}",
            key.public_key, project.id
        ));
        if let Some(addr) = &udp_addr {
            dsns.udp
                .push(format!("udp://{}@{addr}/{}", key.public_key, project.id));
        }
    }
    Ok(dsns)
}

/// `createsuperuser --email E [--password-stdin]`.
pub(super) fn create_superuser(
    op: &Operator,
    email: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let store = op.store();
    let (password, generated) = if password_stdin {
        (read_password_stdin()?, false)
    } else {
        (secrets::generate_password(), true)
    };
    let user = users::create_superuser(store, op.who(), email, &password)?;
    let mut text = format!("Created superuser {} (id {}).", user.email, user.id);
    if generated {
        text.push_str(&format!("\nPassword: {password}"));
    }
    op.done(
        &text,
        &json!({
            "id": user.id,
            "email": user.email,
            "superuser": true,
            "password": generated.then_some(password),
        }),
    )
}

/// `team create SLUG [--name N] [--owner E]`.
pub(super) fn create_team(
    op: &Operator,
    slug: &str,
    name: Option<String>,
    owner: Option<String>,
) -> anyhow::Result<()> {
    let team = teams::create(
        op.store(),
        op.who(),
        slug,
        name.as_deref(),
        owner.as_deref(),
    )?;
    op.done(
        &format!("Created team {} (id {}).", team.slug, team.id),
        &json!({ "id": team.id, "slug": team.slug, "name": team.name, "owner_id": team.owner_id }),
    )
}

/// `project create --team T SLUG [--name N]`: owned by the team's owner.
pub(super) fn create_project(
    op: &Operator,
    team: &str,
    slug: &str,
    name: Option<String>,
) -> anyhow::Result<()> {
    let store = op.store();
    let (team, project, key) = projects::create(
        store,
        op.who(),
        team,
        slug,
        name.as_deref(),
        NewOwner::TeamOwner,
    )
    .map_err(named(format!(
        "team {team:?} (create it with `team create {team}`)"
    )))?;
    let dsns = project_dsns(store, &project, None)?;
    let mut text = format!(
        "Created project {} (id {}) in team {}.\nDSN: {}",
        project.slug,
        project.id,
        team.slug,
        dsns.http.join("\n     ")
    );
    for u in &dsns.udp {
        text.push_str(&format!("\nUDP DSN: {u}"));
    }
    op.done(
        &text,
        &json!({
            "id": project.id,
            "slug": project.slug,
            "team": team.slug,
            "public_key": key.public_key,
            "dsn": dsns.http.first(),
            "dsns": dsns.http,
            "udp_dsns": dsns.udp,
        }),
    )
}

pub(super) fn project_dsn(
    op: &Operator,
    slug: &str,
    public_url: Option<String>,
) -> anyhow::Result<()> {
    let store = op.store();
    let project = store
        .project_by_slug(slug)?
        .with_context(|| format!("no project {slug:?}"))?;
    let dsns = project_dsns(store, &project, public_url.as_deref())?;
    let text = dsns
        .http
        .iter()
        .chain(&dsns.udp)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    op.done(
        &text,
        &json!({ "project": project.slug, "id": project.id, "dsns": dsns.http, "udp_dsns": dsns.udp }),
    )
}

/// `token create --email E [--label L]`.
pub(super) fn create_token(op: &Operator, email: &str, label: &str) -> anyhow::Result<()> {
    let (user, token) = tokens::create(op.store(), op.who(), Some(email), label)?;
    op.done(
        &format!(
            "API token for {} (shown once; use `Authorization: Bearer <token>`):\n{token}",
            user.email
        ),
        &json!({ "token": token, "email": user.email, "label": label }),
    )
}
