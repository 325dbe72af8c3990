//! Delivery: the background worker that finishes captured events and sends envelopes
//! through a [`Transport`](crate::transport::Transport), above the transports (which
//! see only envelopes) and below the client (which only queues).
//!
//! Every client owns one named worker thread (`sentry-client-worker`) running its own
//! current-thread tokio runtime, so the SDK behaves the same in sync programs and inside
//! any async runtime. The caller side ([`Worker`], in `handle`) counts and queues jobs;
//! the worker (`worker`) takes them from the bounded queue, finishes events
//! (`pipeline`: scope, symbols, processors, `before_send`), writes envelopes, and hands
//! them to the transport. Rate limits (`ratelimit`), retries with backoff, the disk spool
//! (`spool`) and client reports (`discards`) are handled here, the same way for every
//! transport. What both sides share is in `jobs`.
//!
//! The modules depend one way: `handle` → `worker` → `pipeline`, `ratelimit`, `spool`;
//! all of them → `jobs` → `discards`; nothing here is used by `transport`.

mod batch;
pub(crate) mod discards;
mod handle;
mod jobs;
mod pipeline;
mod ratelimit;
mod spool;
mod worker;

pub(crate) use handle::Worker;
pub(crate) use jobs::{on_worker_thread, Job, Shared};
