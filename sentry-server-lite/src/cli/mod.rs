//! The command line: argument definitions (clap) and one module per command group.
//! `main.rs` only parses and calls [`run`]. Commands that change accounts, teams,
//! projects or keys act as the operator ([`crate::app::Caller::operator`]) through the
//! same [`crate::app`] operations as the API and the web pages.

mod accounts;
mod admin;
pub mod log_args;
mod output;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use serve::LimitArgs;

use crate::policy::Role;
use crate::store::{RateLimit, Synchronous};

/// A single-binary Sentry-compatible server: ingest, group and store events.
#[derive(Debug, Parser)]
#[command(name = "sentry-server-lite", version, about)]
pub struct Cli {
    /// Data directory (the database is DIR/sentry.db).
    #[arg(
        long,
        global = true,
        env = "SENTRY_LITE_DATA_DIR",
        default_value = "./sentry-lite-data"
    )]
    pub data_dir: PathBuf,
    /// PostgreSQL instead of the SQLite file:
    /// `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=require]` (add
    /// `&sslrootcert=FILE` for a private CA). Every instance on the same database acts as
    /// one server.
    #[arg(
        long,
        global = true,
        env = "SENTRY_LITE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Where a command's data lives.
#[derive(Debug, Clone)]
pub struct Db {
    /// The data directory (the SQLite file, quickstart's password file).
    pub data_dir: PathBuf,
    /// PostgreSQL URL; when set, the SQLite file is not used.
    pub url: Option<String>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Create a superuser, a team and a project on first run, print the login, URL and
    /// DSN, then serve. Later runs print them again and serve.
    Quickstart(QuickstartArgs),
    /// Create a superuser (password generated and printed, or read from stdin).
    Createsuperuser {
        /// E-mail address (the login).
        #[arg(long)]
        email: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage users (never superusers: see `createsuperuser`).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage project keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Database maintenance: migrations, copying to another database.
    #[command(subcommand)]
    Db(DbCommand),
}

/// `db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending schema migrations (serve also applies them at start).
    Migrate,
    /// Copy everything (users, teams, projects, keys, tokens, issues, events, tags,
    /// bookmarks, sessions, audit log, settings) to another database, ids preserved:
    /// every DSN and token keeps working. Stop the server first.
    Copy {
        /// Source: a data dir (SQLite) or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// Target: a data dir (SQLite) or a postgres:// URL; must be empty.
        #[arg(long)]
        to: String,
        /// Empty a non-empty target first.
        #[arg(long)]
        replace: bool,
    },
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (password generated and printed, or read from stdin).
    Create {
        /// E-mail address (the login).
        #[arg(long)]
        email: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Deactivate a user (anonymous everywhere, cannot log in) or activate them again.
    SetActive {
        /// The user's e-mail.
        #[arg(long)]
        email: String,
        /// true or false.
        #[arg(action = clap::ArgAction::Set)]
        active: bool,
    },
}

/// `key` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key for a project.
    Create {
        /// Project slug.
        #[arg(long)]
        project: String,
        /// A label.
        #[arg(long, default_value = "Default")]
        label: String,
    },
    /// Revoke a key: ingestion refuses it from then on.
    Revoke {
        /// Project slug.
        #[arg(long)]
        project: String,
        /// Key id or public key.
        #[arg(long)]
        key: String,
    },
    /// List a project's keys (with secrets).
    List {
        /// Project slug.
        #[arg(long)]
        project: String,
    },
    /// Set or remove a key's rate limit.
    SetRateLimit {
        /// Project slug.
        #[arg(long)]
        project: String,
        /// Key id or public key.
        #[arg(long)]
        key: String,
        /// Events allowed per window.
        #[arg(long, requires = "window", conflicts_with = "none")]
        count: Option<u64>,
        /// Window length in seconds.
        #[arg(long, requires = "count")]
        window: Option<u64>,
        /// Remove the limit.
        #[arg(long)]
        none: bool,
    },
}

/// `team` subcommands.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team.
    Create {
        /// Team slug (lowercase letters, digits, '-', '_').
        slug: String,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
        /// E-mail of the owner (becomes an admin of the team).
        #[arg(long)]
        owner: Option<String>,
    },
    /// Add a member to a team, or change their role.
    AddMember {
        /// The team's slug.
        #[arg(long)]
        team: String,
        /// The user's e-mail.
        #[arg(long)]
        email: String,
        /// admin, member or agent.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Remove a member from a team.
    RemoveMember {
        /// The team's slug.
        #[arg(long)]
        team: String,
        /// The user's e-mail.
        #[arg(long)]
        email: String,
    },
    /// Change a team's owner.
    SetOwner {
        /// The team's slug.
        #[arg(long)]
        team: String,
        /// The new owner's e-mail.
        #[arg(long)]
        email: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: use admin, member or agent"))
}

/// `project` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project (with one key) in a team and print its DSN.
    Create {
        /// The team's slug.
        #[arg(long)]
        team: String,
        /// Project slug, unique on this server.
        slug: String,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
    },
    /// Print the DSNs of a project's active keys.
    Dsn {
        /// Project slug.
        slug: String,
        /// Base URL for the DSN (default: what the server last bound to).
        #[arg(long, env = "SENTRY_LITE_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Make a project readable anonymously, or private again.
    SetPublic {
        /// Project slug.
        slug: String,
        /// true or false.
        #[arg(action = clap::ArgAction::Set)]
        public: bool,
    },
    /// Change a project's owner.
    SetOwner {
        /// Project slug.
        slug: String,
        /// The new owner's e-mail.
        #[arg(long)]
        email: String,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user (shown once).
    Create {
        /// The user's e-mail.
        #[arg(long)]
        email: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

/// Options of `serve` (and `quickstart`).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// HTTP address to listen on (port 0 picks a free port).
    #[arg(long, env = "SENTRY_LITE_BIND", default_value = "127.0.0.1:9000")]
    pub bind: SocketAddr,
    /// UDP address for one-envelope-per-datagram ingestion (off when not given).
    #[arg(long, env = "SENTRY_LITE_UDP_BIND")]
    pub udp_bind: Option<SocketAddr>,
    /// Public base URL used in DSNs (default: http:// + the bound address).
    #[arg(long, env = "SENTRY_LITE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SQLite durability: `full` fsyncs every commit (survives power loss); `normal`
    /// survives a killed server but not a power loss.
    #[arg(
        long,
        env = "SENTRY_LITE_SYNCHRONOUS",
        value_enum,
        default_value = "full"
    )]
    pub synchronous: Synchronous,
    /// Delete events older than this many days (0 keeps them).
    #[arg(long, env = "SENTRY_LITE_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub retention_days: u64,
    /// Keep at most this many events per issue (0 keeps all).
    #[arg(long, env = "SENTRY_LITE_MAX_EVENTS_PER_ISSUE", default_value_t = 1000)]
    pub max_events_per_issue: u64,
    /// Events that may wait for the writer before requests get 503.
    #[arg(long, env = "SENTRY_LITE_QUEUE_CAPACITY", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub queue_capacity: u64,
    /// Most events committed per transaction.
    #[arg(long, env = "SENTRY_LITE_MAX_BATCH", default_value_t = 512,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_batch: u64,
    /// Let anonymous visitors create accounts (off by default).
    #[arg(long, env = "SENTRY_LITE_ALLOW_SIGNUP")]
    pub allow_signup: bool,
    /// Threads serving HTTP and preparing events (default: one per CPU core). Instances
    /// that share a machine should split its cores between them (two instances on four
    /// cores: 2 each); the database writer threads come on top of these.
    #[arg(long, env = "SENTRY_LITE_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// PostgreSQL only: transactions committing batches of events side by side (default
    /// 2, at most 8). SQLite commits through one writer.
    #[arg(long, env = "SENTRY_LITE_WRITER_THREADS", value_parser = clap::value_parser!(u8).range(1..=crate::store::postgres::MAX_WRITER_THREADS as i64))]
    pub writer_threads: Option<u8>,
    /// Connection limits, timeouts and other hardening options.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Alerts: the SMTP relay, private networks.
    #[command(flatten)]
    pub alerts: crate::alerts::AlertArgs,
    /// Structured logs and the Spotlight listener.
    #[command(flatten)]
    pub logs: log_args::LogArgs,
}

/// Options of `quickstart`.
#[derive(Debug, Clone, Args)]
pub struct QuickstartArgs {
    /// Server options.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The superuser's e-mail on first run.
    #[arg(
        long,
        env = "SENTRY_LITE_ADMIN_EMAIL",
        default_value = "admin@example.com"
    )]
    pub email: String,
    /// The team created on first run.
    #[arg(long, default_value = "default")]
    pub team: String,
    /// The project created on first run.
    #[arg(long, default_value = "my-project")]
    pub project: String,
    /// Set everything up and print it, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let out = output::Output { json: cli.json };
    let db = Db {
        data_dir: cli.data_dir.clone(),
        url: cli.database_url.clone().filter(|u| !u.trim().is_empty()),
    };
    let op = || output::Operator::open(&db, &out);
    match cli.command {
        Command::Serve(args) => serve::serve(&db, args, &out),
        Command::Quickstart(args) => serve::quickstart(&db, args, &out),
        Command::Createsuperuser {
            email,
            password_stdin,
        } => admin::create_superuser(&op()?, &email, password_stdin),
        Command::Team(TeamCommand::Create { slug, name, owner }) => {
            admin::create_team(&op()?, &slug, name, owner)
        }
        Command::Project(ProjectCommand::Create { team, slug, name }) => {
            admin::create_project(&op()?, &team, &slug, name)
        }
        Command::Project(ProjectCommand::Dsn { slug, public_url }) => {
            admin::project_dsn(&op()?, &slug, public_url)
        }
        Command::Token(TokenCommand::Create { email, label }) => {
            admin::create_token(&op()?, &email, &label)
        }
        Command::User(UserCommand::Create {
            email,
            password_stdin,
        }) => accounts::create_user(&op()?, &email, password_stdin),
        Command::User(UserCommand::SetActive { email, active }) => {
            accounts::set_user_active(&op()?, &email, active)
        }
        Command::Team(TeamCommand::AddMember { team, email, role }) => {
            accounts::add_member(&op()?, &team, &email, role)
        }
        Command::Team(TeamCommand::RemoveMember { team, email }) => {
            accounts::remove_member(&op()?, &team, &email)
        }
        Command::Team(TeamCommand::SetOwner { team, email }) => {
            accounts::set_team_owner(&op()?, &team, &email)
        }
        Command::Project(ProjectCommand::SetPublic { slug, public }) => {
            accounts::set_public(&op()?, &slug, public)
        }
        Command::Project(ProjectCommand::SetOwner { slug, email }) => {
            accounts::set_project_owner(&op()?, &slug, &email)
        }
        Command::Db(DbCommand::Migrate) => admin::migrate(&db, &out),
        Command::Db(DbCommand::Copy { from, to, replace }) => {
            admin::copy(&from, &to, replace, &out)
        }
        Command::Key(KeyCommand::Create { project, label }) => {
            accounts::create_key(&op()?, &project, &label)
        }
        Command::Key(KeyCommand::Revoke { project, key }) => {
            accounts::revoke_key(&op()?, &project, &key)
        }
        Command::Key(KeyCommand::List { project }) => accounts::list_keys(&op()?, &project),
        Command::Key(KeyCommand::SetRateLimit {
            project,
            key,
            count,
            window,
            none,
        }) => {
            let limit = match (count, window, none) {
                (Some(count), Some(window_secs), false) if window_secs > 0 => {
                    Some(RateLimit { count, window_secs })
                }
                (None, None, true) => None,
                _ => anyhow::bail!("give --count N --window SECONDS (> 0), or --none"),
            };
            accounts::set_rate_limit(&op()?, &project, &key, limit)
        }
    }
}
