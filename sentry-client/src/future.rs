//! Keeping a hub across `.await`: [`SentryFutureExt::bind_hub`].
//!
//! A task that sets scope data must see it after every `.await`, on whichever runtime
//! thread polls it next, and must not see other tasks' data. Binding the task to its own
//! hub makes that hub current for the duration of each poll.
//!
//! ```
//! use std::sync::Arc;
//! use sentry_client::{Hub, SentryFutureExt};
//!
//! let hub = Arc::new(Hub::new_from_top(Hub::current()));
//! let fut = async {
//!     sentry_client::configure_scope(|s| s.set_tag("task", "a"));
//!     Hub::current().configure_scope(|s| s.tag("task").map(str::to_owned))
//! }
//! .bind_hub(hub);
//! // Any executor works; this one is tiny.
//! let waker = std::task::Waker::noop();
//! let mut cx = std::task::Context::from_waker(&waker);
//! let mut fut = std::pin::pin!(fut);
//! let out = fut.as_mut().poll(&mut cx);
//! assert_eq!(out, std::task::Poll::Ready(Some("a".to_owned())));
//! # use std::future::Future;
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::Hub;

pin_project_lite::pin_project! {
    /// A future that runs every poll with its hub current. Made by
    /// [`SentryFutureExt::bind_hub`].
    #[derive(Debug)]
    pub struct SentryFuture<F> {
        hub: Arc<Hub>,
        #[pin]
        future: F,
    }
}

impl<F> SentryFuture<F> {
    /// Wraps `future` so that `hub` is current while it is polled.
    pub fn new(hub: Arc<Hub>, future: F) -> Self {
        SentryFuture { hub, future }
    }
}

impl<F: Future> Future for SentryFuture<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let hub = Arc::clone(this.hub);
        let future = this.future;
        Hub::run(hub, || future.poll(cx))
    }
}

/// Binds futures to hubs.
pub trait SentryFutureExt: Sized {
    /// Makes `hub` current whenever this future is polled.
    fn bind_hub<H: Into<Arc<Hub>>>(self, hub: H) -> SentryFuture<Self> {
        SentryFuture::new(hub.into(), self)
    }
}

impl<F: Future> SentryFutureExt for F {}
