//! `serve` and `quickstart`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use super::admin::{open_store, project_dsns};
use super::output::Output;
use super::{Db, QuickstartArgs, ServeArgs};
use crate::app::projects::{NewOwner, ProjectName};
use crate::app::settings::{self, SIGNUP_SETTING};
use crate::app::{projects, teams, users, Caller};
use crate::config::ServerConfig;
use crate::secrets;
use crate::server::{shutdown_signal, Server};
use crate::store::{RetentionPolicy, Store};

const QUICKSTART_SETTING: &str = "quickstart";
/// The generated quickstart password is kept here (mode 0600) so that re-runs can print
/// it again; it is shown only while it still matches the account's password.
const PASSWORD_FILE: &str = "quickstart-password";

/// Connection limits, timeouts and other hardening options of `serve` (defaults in
/// [`crate::config::HttpLimits`]; README "Limits" lists them all).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Seconds a client has to send a request's line and headers.
    #[arg(long, env = "SENTRY_LITE_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds an open connection may sit with no request and no traffic.
    #[arg(long, env = "SENTRY_LITE_IDLE_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,
    /// Seconds a request body has to arrive in full (then 408).
    #[arg(long, env = "SENTRY_LITE_BODY_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub body_timeout: u64,
    /// HTTP connections open at once; more wait in the kernel's accept queue.
    #[arg(long, env = "SENTRY_LITE_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// The largest attachment stored, in bytes (an envelope with a larger one gets 413).
    #[arg(long, env = "SENTRY_LITE_MAX_ATTACHMENT_BYTES", default_value_t = 20 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..=100 * 1024 * 1024))]
    pub max_attachment_bytes: u64,
    /// The most attachment bytes of one envelope (one event); past it, 413.
    #[arg(long, env = "SENTRY_LITE_MAX_ATTACHMENTS_BYTES", default_value_t = 20 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..=100 * 1024 * 1024))]
    pub max_attachments_bytes: u64,
    /// Delete audit-log rows older than this many days (0 keeps them).
    #[arg(long, env = "SENTRY_LITE_AUDIT_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub audit_retention_days: u64,
    /// Serve `/metrics` only with `Authorization: Bearer TOKEN` (default: to anyone).
    #[arg(long, env = "SENTRY_LITE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` only on this address, e.g. 127.0.0.1:9090 (default: on --bind).
    #[arg(long, env = "SENTRY_LITE_METRICS_BIND")]
    pub metrics_bind: Option<std::net::SocketAddr>,
}

impl LimitArgs {
    fn apply(&self, c: &mut ServerConfig) {
        use std::time::Duration;
        c.http.header_read_timeout = Duration::from_secs(self.header_timeout);
        c.http.idle_timeout = Duration::from_secs(self.idle_timeout);
        c.http.body_timeout = Duration::from_secs(self.body_timeout);
        c.http.max_connections = usize::try_from(self.max_connections).unwrap_or(usize::MAX);
        c.metrics_token = self.metrics_token.clone().filter(|t| !t.is_empty());
        c.metrics_bind = self.metrics_bind;
        c.limits.max_attachment_bytes =
            usize::try_from(self.max_attachment_bytes).unwrap_or(usize::MAX);
        c.limits.max_attachments_bytes =
            usize::try_from(self.max_attachments_bytes).unwrap_or(usize::MAX);
    }
}

fn config(db: &Db, args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut c = ServerConfig::new(&db.data_dir);
    c.database_url = db.url.clone();
    c.bind = args.bind;
    c.udp_bind = args.udp_bind;
    c.public_url = args.public_url.clone();
    c.synchronous = args.synchronous;
    c.retention = RetentionPolicy {
        max_age_days: args.retention_days,
        max_events_per_issue: args.max_events_per_issue,
        audit_max_age_days: args.limits.audit_retention_days,
        ..RetentionPolicy::default()
    };
    args.limits.apply(&mut c);
    c.writer.queue_capacity = usize::try_from(args.queue_capacity)?;
    c.writer.max_batch = usize::try_from(args.max_batch)?;
    c.alerts = args.alerts.config();
    if let Some(n) = args.writer_threads {
        if db.url.is_none() && n > 1 {
            anyhow::bail!(
                "--writer-threads {n}: SQLite commits through one writer; several writer \
                 threads need PostgreSQL (--database-url)"
            );
        }
        c.writer.threads = Some(usize::from(n));
    }
    Ok(c)
}

/// The async runtime: `worker_threads` workers, or one per core when not given.
fn runtime(worker_threads: Option<u16>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = worker_threads {
        builder.worker_threads(usize::from(n).max(1));
    }
    builder
        .enable_all()
        .thread_name("sentry-lite")
        .build()
        .context("starting the async runtime")
}

fn announce(server: &Server, out: &Output) {
    let url = server.base_url().to_owned();
    tracing::info!(%url, udp = ?server.udp_addr(), "sentry-server-lite listening");
    if !out.json {
        out.print(
            &format!("sentry-server-lite listening on {url}"),
            &json!({}),
        );
    }
}

pub(super) fn serve(db: &Db, args: ServeArgs, out: &Output) -> anyhow::Result<()> {
    let config = config(db, &args)?;
    runtime(args.worker_threads)?.block_on(async move {
        let server = Server::bind(config).await.context("starting the server")?;
        record_signup(server.store().as_ref(), args.allow_signup)?;
        if out.json {
            out.print(
                "",
                &json!({ "url": server.base_url(), "udp": server.udp_addr().map(|a| a.to_string()) }),
            );
        }
        announce(&server, out);
        server.run(shutdown_signal()).await?;
        tracing::info!("stopped after draining acknowledged events");
        Ok(())
    })
}

/// Records whether this run allows anonymous sign-up (the API reads the setting).
fn record_signup(store: &dyn Store, allow: bool) -> anyhow::Result<()> {
    let value = if allow { "true" } else { "false" };
    settings::set(store, &Caller::operator(), SIGNUP_SETTING, value)?;
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct QuickstartState {
    email: String,
    team: String,
    project: String,
}

/// Creates (or finds) the quickstart user, team and project; returns the state and the
/// password to show, if it is known and still valid.
fn ensure_setup(
    store: &dyn Store,
    data_dir: &Path,
    args: &QuickstartArgs,
) -> anyhow::Result<(QuickstartState, Option<String>, bool)> {
    let existing: Option<QuickstartState> = store
        .get_setting(QUICKSTART_SETTING)?
        .and_then(|s| serde_json::from_str(&s).ok());
    let first_run = existing.is_none();
    let state = match existing {
        Some(s) => s,
        None => {
            let password_path = data_dir.join(PASSWORD_FILE);
            let operator = Caller::operator();
            if store.user_by_email(&args.email)?.is_none() {
                let password = secrets::generate_password();
                users::create_superuser(store, &operator, &args.email, &password)?;
                write_private(&password_path, &password)?;
            }
            let owner = store.user_by_email(&args.email)?.map(|u| u.email);
            if store.team_by_slug(&args.team)?.is_none() {
                teams::create(store, &operator, &args.team, None, owner.as_deref())?;
            }
            if projects::find(store, ProjectName::slug(&args.project)).is_err() {
                let owner = owner.as_deref().map_or(NewOwner::Nobody, NewOwner::User);
                projects::create(store, &operator, &args.team, &args.project, None, owner)?;
            }
            let state = QuickstartState {
                email: args.email.clone(),
                team: args.team.clone(),
                project: args.project.clone(),
            };
            let value = serde_json::to_string(&json!(state))?;
            settings::set(store, &operator, QUICKSTART_SETTING, &value)?;
            state
        }
    };
    let password = std::fs::read_to_string(data_dir.join(PASSWORD_FILE))
        .ok()
        .map(|p| p.trim().to_owned())
        .filter(|p| {
            store
                .user_by_email(&state.email)
                .ok()
                .flatten()
                .is_some_and(|u| secrets::verify_password(p, &u.password_hash))
        });
    Ok((state, password, first_run))
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}

pub(super) fn quickstart(db: &Db, args: QuickstartArgs, out: &Output) -> anyhow::Result<()> {
    let config = config(db, &args.serve)?;
    let store: Arc<dyn Store> = open_store(db)?;
    let (state, password, first_run) = ensure_setup(&*store, &db.data_dir, &args)?;
    runtime(args.serve.worker_threads)?.block_on(async move {
        let server = Server::bind_with_store(config, store.clone())
            .await
            .context("starting the server")?;
        record_signup(store.as_ref(), args.serve.allow_signup)?;
        let project = store
            .project_by_slug(&state.project)?
            .with_context(|| format!("the quickstart project {:?} is gone", state.project))?;
        let dsns = project_dsns(&*store, &project, Some(server.base_url()))?;
        let password_line = match &password {
            Some(p) => format!("Password: {p}"),
            None => "Password: (not shown: it was changed since the first quickstart, or the \
                     user existed before; set one with the accounts commands)"
                .to_owned(),
        };
        let mut text = format!(
            "{}\n\n  URL:      {}\n  Login:    {}\n  {}\n  Project:  {}/{} (id {})\n  DSN:      {}",
            if first_run {
                "sentry-server-lite is set up."
            } else {
                "sentry-server-lite (existing setup)."
            },
            server.base_url(),
            state.email,
            password_line,
            state.team,
            project.slug,
            project.id,
            dsns.http
                .first()
                .map(String::as_str)
                .unwrap_or("(no active key)"),
        );
        if let Some(u) = dsns.udp.first() {
            text.push_str(&format!("\n  UDP DSN:  {u}"));
        }
        text.push_str(&format!(
            "\n\nSend a test event:\n  cargo run -p sentry-examples --example quickstart -- '{}'\n",
            dsns.http.first().map(String::as_str).unwrap_or("DSN")
        ));
        out.print(
            &text,
            &json!({
                "url": server.base_url(),
                "email": state.email,
                "password": password,
                "team": state.team,
                "project": project.slug,
                "project_id": project.id,
                "dsn": dsns.http.first(),
                "udp_dsn": dsns.udp.first(),
                "first_run": first_run,
            }),
        );
        if args.no_serve {
            return Ok(());
        }
        announce(&server, out);
        server.run(shutdown_signal()).await?;
        tracing::info!("stopped after draining acknowledged events");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(
            ["sentry-server-lite", "serve"]
                .iter()
                .chain(args)
                .copied()
                .collect::<Vec<_>>(),
        )
        .expect("arguments");
        match cli.command {
            Command::Serve(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn db(url: Option<&str>) -> Db {
        Db {
            data_dir: "/nonexistent".into(),
            url: url.map(str::to_owned),
        }
    }

    #[test]
    fn limit_flags_reach_the_config_and_out_of_range_values_are_refused() {
        use std::time::Duration;
        let args = serve_args(&[
            "--header-timeout",
            "3",
            "--idle-timeout",
            "30",
            "--body-timeout",
            "20",
            "--max-connections",
            "64",
            "--audit-retention-days",
            "7",
            "--metrics-token",
            "tok",
            "--metrics-bind",
            "127.0.0.1:9091",
        ]);
        let c = config(&db(None), &args).expect("config");
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(30));
        assert_eq!(c.http.body_timeout, Duration::from_secs(20));
        assert_eq!(c.http.max_connections, 64);
        assert_eq!(c.retention.audit_max_age_days, 7);
        assert_eq!(c.metrics_token.as_deref(), Some("tok"));
        assert_eq!(c.metrics_bind, "127.0.0.1:9091".parse().ok());
        let defaults = config(&db(None), &serve_args(&[])).expect("defaults");
        assert_eq!(defaults.http, crate::config::HttpLimits::default());
        assert_eq!(
            (defaults.metrics_token, defaults.metrics_bind),
            (None, None)
        );
        for bad in [
            &["--header-timeout", "0"][..],
            &["--max-connections", "0"],
            &["--retention-days", "1099511627776"],
            &["--audit-retention-days", "40000"],
            &["--queue-capacity", "0"],
            &["--max-batch", "0"],
        ] {
            let mut argv = vec!["sentry-server-lite", "serve"];
            argv.extend_from_slice(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?} refused");
        }
    }

    #[test]
    fn thread_counts_reach_the_config_and_sqlite_refuses_several_writers() {
        let args = serve_args(&["--worker-threads", "1", "--writer-threads", "3"]);
        assert_eq!(args.worker_threads, Some(1));
        let pg = config(&db(Some("postgres://u@127.0.0.1/d")), &args).expect("config");
        assert_eq!(pg.writer.threads, Some(3));

        let err = config(&db(None), &args).expect_err("SQLite has one writer");
        assert!(
            err.to_string()
                .contains("SQLite commits through one writer"),
            "{err}"
        );
        let one = serve_args(&["--writer-threads", "1"]);
        assert_eq!(
            config(&db(None), &one).expect("one writer").writer.threads,
            Some(1)
        );
        assert_eq!(
            config(&db(None), &serve_args(&[]))
                .expect("defaults")
                .writer
                .threads,
            None,
            "the store's default"
        );

        for bad in [
            &["--writer-threads", "0"][..],
            &["--writer-threads", "9"],
            &["--worker-threads", "0"],
            &["--worker-threads", "many"],
        ] {
            let mut argv = vec!["sentry-server-lite", "serve"];
            argv.extend_from_slice(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?} refused");
        }
    }
}
