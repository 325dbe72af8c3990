//! [`SentryService`] and its [`ResponseFuture`]: the per-request work.
//!
//! `call` keeps what it needs of the request in one [`RequestInfo`] and makes a lazily
//! forked hub for the request ([`Hub::fork_lazily`]) with it as the seed: nothing is
//! copied from the parent hub's scope until the handler changes the scope, and the
//! request's scope data (transaction, trace, the processor adding the request) is made
//! only then or for a captured event. It calls the inner service with the hub current.
//! The response future makes the hub current on every poll (a thread-local swap, so the
//! handler's scope changes follow it across `.await` and worker threads, and never reach
//! another request), catches a panic, and looks at the final status.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::SystemTime;

use http::{Request, Response, StatusCode};
use sentry_client::protocol::{Event, Exception, Level, Mechanism};
use sentry_client::{Hub, Transaction};
use serde_json::{Map, Value};
use tower_service::Service;

use crate::layer::Config;
use crate::request::{client_ip, BreadcrumbSettings, RequestInfo};

/// The service made by [`SentryLayer`](crate::SentryLayer) around an inner service.
pub struct SentryService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: Clone> Clone for SentryService<S> {
    fn clone(&self) -> Self {
        SentryService {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for SentryService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> SentryService<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        SentryService { inner, config }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SentryService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let (request, transaction) = match request_hub(&config, &req) {
            Some((hub, transaction)) => (Some(hub), transaction),
            None => (None, None),
        };
        let inner = &mut self.inner;
        let mut transaction = transaction;
        let called = match &request {
            Some(hub) => {
                let _ = sentry_client::panic::take_hook_report();
                Hub::run(Arc::clone(hub), || {
                    catch_unwind(AssertUnwindSafe(|| inner.call(req)))
                })
            }
            None => catch_unwind(AssertUnwindSafe(|| inner.call(req))),
        };
        let kind = match called {
            Ok(future) => Kind::Running { future },
            Err(payload) if config.catch_panics => {
                if let Some(hub) = &request {
                    report_panic(hub, payload.as_ref());
                    if let Some(t) = transaction.take() {
                        crate::transaction::finish(hub, t, None);
                    }
                    end_request_session(hub);
                }
                Kind::Failed
            }
            Err(payload) => resume_unwind(payload),
        };
        ResponseFuture {
            kind,
            hub: request,
            transaction,
            config,
        }
    }
}

/// Reports a caught panic unless the SDK's panic hook (when installed) already captured
/// it, with its stack, on the request hub. Must run on the thread that panicked.
fn report_panic(hub: &Hub, payload: &(dyn Any + Send)) {
    if sentry_client::panic::take_hook_report().is_none() {
        hub.capture_event(panic_event(payload));
    }
}

/// The request's hub, a lazy fork of the parent with the request as its seed, and the
/// request's transaction when the client traces and sampled it; `None` when the parent
/// hub has no enabled client (then the layer only catches panics).
fn request_hub<B>(config: &Config, req: &Request<B>) -> Option<(Arc<Hub>, Option<Transaction>)> {
    let parent = config.hub.clone().unwrap_or_else(Hub::current);
    let client = parent.client().filter(|c| c.is_enabled())?;
    let options = client.options();
    let info = RequestInfo {
        method: req.method().clone(),
        uri: req.uri().clone(),
        headers: req.headers().clone(),
        #[cfg(feature = "axum-matched-path")]
        route: crate::request::matched_route(req),
        client_ip: if options.send_default_pii {
            client_ip(req)
        } else {
            None
        },
        started: SystemTime::now(),
        continue_traces: config.continue_traces,
        trace: OnceLock::new(),
        breadcrumb: config.breadcrumbs.then(|| BreadcrumbSettings {
            before_breadcrumb: options.before_breadcrumb.clone(),
            max_breadcrumbs: options.max_breadcrumbs,
        }),
        extra_sensitive: Arc::clone(&config.extra_sensitive),
    };
    let tracing = crate::transaction::tracing_enabled(options);
    let info = Arc::new(info);
    let hub = Arc::new(Hub::fork_lazily(parent, Some(Arc::clone(&info) as _)));
    let transaction = if tracing {
        crate::transaction::start(&hub, &info)
    } else {
        None
    };
    if request_sessions(options) {
        hub.start_session();
    }
    Some((hub, transaction))
}

/// Whether each request is a release-health session (`auto_session_tracking` in
/// request mode); it ends when the response is ready, `crashed` after a panic.
fn request_sessions(options: &sentry_client::ClientOptions) -> bool {
    options.auto_session_tracking && options.session_mode == sentry_client::SessionMode::Request
}

/// Ends the request's session, if the request has one.
fn end_request_session(hub: &Hub) {
    if hub.client().is_some_and(|c| request_sessions(c.options())) {
        hub.end_session();
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`SentryService`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
        hub: Option<Arc<Hub>>,
        transaction: Option<Transaction>,
        config: Arc<Config>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Running { #[pin] future: F },
        // The inner service's `call` panicked (already reported).
        Failed,
        Done,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let polled = match this.kind.as_mut().project() {
            KindProj::Running { future } => match this.hub {
                Some(hub) => {
                    // Clear what the panic hook may have left from an earlier panic on
                    // this thread, so that only this poll's panic counts.
                    let _ = sentry_client::panic::take_hook_report();
                    Hub::run(Arc::clone(hub), || {
                        catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
                    })
                }
                None => catch_unwind(AssertUnwindSafe(|| future.poll(cx))),
            },
            KindProj::Failed => {
                this.kind.set(Kind::Done);
                return Poll::Ready(Ok(internal_server_error()));
            }
            KindProj::Done => panic!("ResponseFuture polled after completion"),
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => {
                this.kind.set(Kind::Done);
                if let (Some(hub), Some(t)) = (this.hub.as_ref(), this.transaction.take()) {
                    // An error result (no response) counts as a failed request.
                    let status = result.as_ref().map(|r| r.status()).ok();
                    let status = status.or(Some(StatusCode::INTERNAL_SERVER_ERROR));
                    crate::transaction::finish(hub, t, status);
                }
                if let (Ok(response), Some(hub), Some(filter)) =
                    (&result, this.hub.as_ref(), &this.config.capture_status)
                {
                    let status = response.status();
                    if filter(status) && hub.last_event_id().is_none() {
                        // Error path only: the name as the scope has it now (the
                        // handler may have renamed the transaction).
                        let name = hub.configure_scope(|s| s.transaction().map(str::to_owned));
                        hub.capture_event(status_event(status, name.as_deref()));
                    }
                }
                if let Some(hub) = this.hub.as_ref() {
                    end_request_session(hub);
                }
                Poll::Ready(result)
            }
            Err(payload) => {
                this.kind.set(Kind::Done);
                if !this.config.catch_panics {
                    resume_unwind(payload);
                }
                if let Some(hub) = this.hub {
                    report_panic(hub, payload.as_ref());
                    if let Some(t) = this.transaction.take() {
                        crate::transaction::finish(hub, t, None);
                    }
                    end_request_session(hub);
                }
                Poll::Ready(Ok(internal_server_error()))
            }
        }
    }
}

fn internal_server_error<B: Default>() -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// The event for a panic the hook did not report (no hook installed). It looks like the
/// hook's, minus the stack, which is gone once the panic has unwound.
fn panic_event(payload: &(dyn Any + Send)) -> Event {
    let mut data = Map::new();
    data.insert("caught_by".into(), Value::from("sentry-tower"));
    Event {
        level: Some(Level::Fatal),
        exception: vec![Exception {
            ty: Some("panic".into()),
            value: Some(panic_message(payload)),
            mechanism: Some(Mechanism {
                ty: Some("panic".into()),
                handled: Some(false),
                data,
                ..Default::default()
            }),
            ..Default::default()
        }]
        .into(),
        ..Event::new()
    }
}

/// The event for a reported response status.
fn status_event(status: StatusCode, transaction: Option<&str>) -> Event {
    // The route is part of the message so that each route's failures group apart.
    let code = match status.canonical_reason() {
        Some(reason) => format!("{} {}", status.as_u16(), reason),
        None => status.as_u16().to_string(),
    };
    let text = match transaction {
        Some(t) => format!("{t} answered {code}"),
        None => format!("answered {code}"),
    };
    let mut event = Event {
        level: Some(Level::Error),
        message: Some(text.as_str().into()),
        ..Event::new()
    };
    let mut response = Map::new();
    response.insert("type".into(), "response".into());
    response.insert("status_code".into(), status.as_u16().into());
    event
        .contexts
        .insert("response".into(), Value::Object(response));
    event
        .tags
        .insert("http.status_code", status.as_u16().to_string());
    event
}
