//! `sentry-server-lite`: a single-binary server that accepts events from Sentry SDKs
//! (ours and the official ones), groups them into issues and stores them in SQLite.
//!
//! The ingest path is a pipeline of named stages — [`ingest`] (receive, decode,
//! authenticate), [`normalize`], [`grouping`], and one [`writer`] that commits batches
//! durably before anyone gets a 200 — over one storage interface, [`store::Store`].
//! The JSON API ([`api`]), the web pages ([`ui`]) and the command line ([`cli`]) are thin
//! front ends over one application layer, [`app`]: one function per domain operation
//! (create a team, add a member, revoke a key, resolve an issue, ...) that looks up what
//! it works on, asks [`policy::authorize`] — the one place that decides who may do what —
//! changes it through the store and writes the audit log. The command line acts as the
//! operator ([`policy::Actor::Operator`], a superuser everywhere) and goes through the
//! same operations, so its changes are audited too. Health and metrics sit beside them.
//!
//! Start a server on a free port, create a project (as the operator) and get its DSN:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use sentry_server_lite::app::{projects, teams, Caller};
//! use sentry_server_lite::{config::ServerConfig, server::Server};
//!
//! let dir = std::env::temp_dir().join(format!("sentry-lite-doc-{}", std::process::id()));
//! let mut config = ServerConfig::new(&dir);
//! config.bind = "127.0.0.1:0".parse().unwrap();
//! let server = Server::bind(config).await.unwrap();
//! let store = server.store();
//! let operator = Caller::operator();
//! teams::create(store.as_ref(), &operator, "demo", Some("Demo"), None).unwrap();
//! let owner = projects::NewOwner::Nobody;
//! let (_, project, key) =
//!     projects::create(store.as_ref(), &operator, "demo", "app", Some("App"), owner).unwrap();
//! let dsn = format!("http://{}@{}/{}", key.public_key, server.http_addr(), project.id);
//! assert!(dsn.starts_with("http://"));
//!
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(server.run(async { let _ = stopped.await; }));
//! stop.send(()).unwrap();
//! running.await.unwrap().unwrap();
//! # std::fs::remove_dir_all(&dir).ok();
//! # });
//! ```
#![warn(missing_docs)]

pub mod alerts;
pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod grouping;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod monitors;
pub mod normalize;
pub mod policy;
pub mod ratelimit;
pub mod schedule;
pub mod secrets;
pub mod server;
pub mod slug;
pub mod store;
pub mod ui;
pub mod writer;
