//! `sentry-server-lite`: a single-binary server that accepts events from Sentry SDKs
//! (ours and the official ones), groups them into issues and stores them in SQLite.
//!
//! The ingest path is a pipeline of named stages — [`ingest`] (receive, decode,
//! authenticate), [`normalize`], [`grouping`], and one [`writer`] that commits batches
//! durably before anyone gets a 200 — over one storage interface, [`store::Store`].
//! The JSON API ([`api`]), the web pages ([`ui`]), health and metrics sit beside it;
//! [`cli`] is the command line.
//! Who may do what is decided in one place, [`policy::authorize`]; the API and the CLI
//! ask it, and the accounts storage ([`store::AccountStore`]) keeps the audit log.
//!
//! Start a server on a free port, create a project and send it an event:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use sentry_server_lite::{config::ServerConfig, server::Server};
//!
//! let dir = std::env::temp_dir().join(format!("sentry-lite-doc-{}", std::process::id()));
//! let mut config = ServerConfig::new(&dir);
//! config.bind = "127.0.0.1:0".parse().unwrap();
//! let server = Server::bind(config).await.unwrap();
//! let store = server.store();
//! let team = store.create_team("demo", "Demo", None).unwrap();
//! let project = store.create_project(team.id, "app", "App", None).unwrap();
//! let key = store.create_key(project.id, "Default").unwrap();
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

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod grouping;
pub mod ingest;
pub mod metrics;
pub mod normalize;
pub mod policy;
pub mod ratelimit;
pub mod secrets;
pub mod server;
pub mod slug;
pub mod store;
pub mod ui;
pub mod writer;
