//! [`Hub`]: a stack of (client, scope) layers, and which hub is current where.
//!
//! **Which hub is current.** There is one process-wide main hub ([`Hub::main`]); `init`
//! always binds its client there (and on the calling thread's hub), wherever `init` runs,
//! including inside `#[tokio::main]` or a runtime worker. Every other thread gets its own
//! hub that *inherits* the main hub: until the thread changes its own scope, it reads the
//! main hub's base scope and client live, so tags or a user set on the main hub after a
//! thread started are still seen there. A thread's first scope change (`configure_scope`,
//! `with_scope`, `add_breadcrumb`) forks a private copy, so changes never leak from one
//! thread to another. A thread whose hub has no client uses the main hub's client, so a
//! thread that touched the SDK before `init` still reports. [`Hub::run`] makes another
//! hub current for a closure; [`SentryFutureExt::bind_hub`](crate::SentryFutureExt::bind_hub)
//! does it for every poll of a future, so a task keeps its hub across `.await` and
//! threads.
//!
//! **Locks.** The layer stack is behind a short mutex that is never held while user code
//! runs: `configure_scope` takes the top scope out, lets the closure edit it, and puts it
//! back. Captures only clone two `Arc`s under the lock.

use std::cell::RefCell;
use std::error::Error;
use std::sync::{Arc, OnceLock};

use crate::sync::Mutex;
use uuid::Uuid;

use crate::client::Client;
use crate::protocol::{Breadcrumb, Event, Level};
use crate::scope::{Scope, ScopeSeed, Snapshot};

#[derive(Clone)]
struct Layer {
    client: Option<Arc<Client>>,
    scope: Arc<Scope>,
    /// A copy of the parent's base scope that was never written: dropped when it becomes
    /// the only layer again, so the hub goes back to inheriting live.
    inherited: bool,
}

/// A stack of (client, scope) layers.
///
/// There is one process-wide main hub ([`Hub::main`]); `init` always binds its client
/// there. Every other thread has its own hub that reads the main hub's base scope and
/// client live until the thread changes its own scope (`configure_scope`, `with_scope`,
/// `add_breadcrumb`), which forks a private copy: changes never leak between threads.
/// [`Hub::run`] makes another hub current for a closure, and
/// [`SentryFutureExt::bind_hub`](crate::SentryFutureExt::bind_hub) for every poll of a
/// future. The layer stack sits behind a short lock that is never held while user code
/// runs.
pub struct Hub {
    /// Shared with the [`ScopeGuard`]s of this hub, which pop from it.
    layers: Arc<Mutex<Vec<Layer>>>,
    /// Read through while `layers` is empty (thread hubs inheriting the main hub, lazy
    /// forks).
    parent: Option<Arc<Hub>>,
    /// Whether an empty hub reads the parent's top layer (a lazy fork) rather than its
    /// base layer (a thread hub).
    follows_top: bool,
    /// Written into the scope when this hub forks its own (lazy forks only).
    seed: Option<Arc<dyn ScopeSeed>>,
    last_event_id: Mutex<Option<Uuid>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("depth", &self.layers.lock().len())
            .field("inherits", &self.parent.is_some())
            .finish()
    }
}

static MAIN_HUB: OnceLock<Arc<Hub>> = OnceLock::new();

thread_local! {
    /// The hub made current by `Hub::run` (innermost wins).
    static BOUND: RefCell<Option<Arc<Hub>>> = const { RefCell::new(None) };
    /// This thread's own hub, created on first use.
    static THREAD_HUB: Arc<Hub> = {
        let main = Hub::main();
        if std::thread::current().name() == Some("main") {
            main
        } else {
            Arc::new(Hub::inheriting(main))
        }
    };
}

impl Hub {
    /// A hub with one layer.
    pub fn new(client: Option<Arc<Client>>, scope: Arc<Scope>) -> Hub {
        Hub {
            layers: Arc::new(Mutex::new(vec![Layer {
                client,
                scope,
                inherited: false,
            }])),
            parent: None,
            follows_top: false,
            seed: None,
            last_event_id: Mutex::new(None),
        }
    }

    /// A new, independent hub with a copy of `other`'s top layer (client and scope).
    pub fn new_from_top<H: AsRef<Hub>>(other: H) -> Hub {
        let (client, snapshot) = other.as_ref().top_snapshot();
        Hub::new(client, snapshot.into_scope())
    }

    /// A hub that behaves like [`Hub::new_from_top`]`(parent)` with `seed` written into
    /// its scope, but copies nothing until it must: it costs one allocation to create.
    ///
    /// Until code running under it changes its scope (`configure_scope`, `with_scope`,
    /// `push_scope`, `add_breadcrumb`, `bind_client`), the hub reads `parent`'s top
    /// client and scope live, and an event captured through it carries that scope plus
    /// the seed, applied on the background worker. The first change forks a private copy
    /// of the parent's top scope, writes the seed into it and edits that: changes never
    /// reach the parent or another fork, exactly as with `new_from_top`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sentry_client::{Hub, Scope, ScopeSeed};
    ///
    /// struct Route(&'static str);
    /// impl ScopeSeed for Route {
    ///     fn seed(self: Arc<Self>, scope: &mut Scope) {
    ///         scope.set_transaction(Some(self.0));
    ///     }
    /// }
    ///
    /// let parent = Hub::current();
    /// let request = Arc::new(Hub::fork_lazily(parent, Some(Arc::new(Route("GET /")))));
    /// request.configure_scope(|s| s.set_tag("user", "7")); // forks here
    /// assert_eq!(request.configure_scope(|s| s.transaction().map(str::to_owned)),
    ///            Some("GET /".to_owned()));
    /// assert_eq!(Hub::current().configure_scope(|s| s.tag("user").map(str::to_owned)), None);
    /// ```
    pub fn fork_lazily(parent: Arc<Hub>, seed: Option<Arc<dyn ScopeSeed>>) -> Hub {
        Hub {
            layers: Arc::new(Mutex::new(Vec::new())),
            parent: Some(parent),
            follows_top: true,
            seed,
            last_event_id: Mutex::new(None),
        }
    }

    fn inheriting(parent: Arc<Hub>) -> Hub {
        Hub {
            layers: Arc::new(Mutex::new(Vec::new())),
            parent: Some(parent),
            follows_top: false,
            seed: None,
            last_event_id: Mutex::new(None),
        }
    }

    /// The process-wide main hub.
    pub fn main() -> Arc<Hub> {
        Arc::clone(MAIN_HUB.get_or_init(|| Arc::new(Hub::new(None, Arc::new(Scope::default())))))
    }

    /// The hub current on this thread: the one bound by [`Hub::run`], else the thread's
    /// own hub (the main hub on the main thread).
    pub fn current() -> Arc<Hub> {
        if let Ok(Some(h)) = BOUND.try_with(|b| b.borrow().clone()) {
            return h;
        }
        THREAD_HUB
            .try_with(Arc::clone)
            .unwrap_or_else(|_| Hub::main())
    }

    /// Calls `f` with the current hub.
    pub fn with<F: FnOnce(&Arc<Hub>) -> R, R>(f: F) -> R {
        f(&Hub::current())
    }

    /// Calls `f` with the current hub if it has an enabled client; `R::default()` else.
    pub fn with_active<F: FnOnce(&Arc<Hub>) -> R, R: Default>(f: F) -> R {
        let hub = Hub::current();
        if hub.is_active() {
            f(&hub)
        } else {
            R::default()
        }
    }

    /// Makes `hub` current on this thread while `f` runs (restored even if `f` panics).
    pub fn run<F: FnOnce() -> R, R>(hub: Arc<Hub>, f: F) -> R {
        struct Restore(Option<Arc<Hub>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                let _ = BOUND.try_with(|b| *b.borrow_mut() = prev);
            }
        }
        let prev = BOUND
            .try_with(|b| b.borrow_mut().replace(hub))
            .ok()
            .flatten();
        let _restore = Restore(prev);
        f()
    }

    /// The client and scope that captures use, with the seeds of lazy forks that have
    /// not forked yet (to apply on the worker).
    pub(crate) fn top_snapshot(&self) -> (Option<Arc<Client>>, Snapshot) {
        let (client, scope) = {
            let layers = self.layers.lock();
            match layers.last() {
                Some(l) => (l.client.clone(), Arc::clone(&l.scope)),
                None => {
                    drop(layers);
                    return self.unforked_snapshot();
                }
            }
        };
        let client = match (client, &self.parent) {
            (None, Some(p)) => p.client(),
            (c, _) => c,
        };
        (client, Snapshot::plain(scope))
    }

    /// What a hub without layers reads: its parent's base (thread hub) or top (lazy
    /// fork, plus its seed).
    fn unforked_snapshot(&self) -> (Option<Arc<Client>>, Snapshot) {
        match &self.parent {
            Some(p) if self.follows_top => {
                let (client, mut snapshot) = p.top_snapshot();
                if let Some(seed) = &self.seed {
                    snapshot.seeds.push(Arc::clone(seed));
                }
                (client, snapshot)
            }
            Some(p) => {
                let (client, scope) = p.base();
                (client, Snapshot::plain(scope))
            }
            None => (None, Snapshot::plain(Arc::new(Scope::default()))),
        }
    }

    /// The bottom layer (the hub's long-lived scope), for inheriting hubs.
    fn base(&self) -> (Option<Arc<Client>>, Arc<Scope>) {
        let layers = self.layers.lock();
        match layers.first() {
            Some(l) => (l.client.clone(), Arc::clone(&l.scope)),
            None => {
                drop(layers);
                match &self.parent {
                    Some(p) => p.base(),
                    None => (None, Arc::new(Scope::default())),
                }
            }
        }
    }

    /// Makes sure the hub has its own layer (forking the parent's base scope).
    fn fork(&self, layers: &mut Vec<Layer>) {
        if layers.is_empty() {
            // The parent's lock is taken while ours is held: locks go from child to
            // parent only, so this cannot deadlock.
            let scope = self.unforked_snapshot().1.into_scope();
            layers.push(Layer {
                client: None,
                scope,
                inherited: true,
            });
        }
    }

    /// The client of the top layer (or the parent's, for a hub without one).
    pub fn client(&self) -> Option<Arc<Client>> {
        // `None`: no layers; `Some(None)`: a top layer without a client.
        let top = self.layers.lock().last().map(|l| l.client.clone());
        match (top, &self.parent) {
            (Some(Some(c)), _) => Some(c),
            (Some(None), Some(p)) => p.client(),
            (None, Some(p)) if self.follows_top => p.client(),
            (None, Some(p)) => p.base_client(),
            (_, None) => None,
        }
    }

    /// The client of the bottom layer, for inheriting hubs (no scope clone).
    fn base_client(&self) -> Option<Arc<Client>> {
        let base = self.layers.lock().first().map(|l| l.client.clone());
        match (base, &self.parent) {
            (Some(c), _) => c,
            (None, Some(p)) => p.base_client(),
            (None, None) => None,
        }
    }

    /// Calls `f` with the integration of type `I` of this hub's client, when the client
    /// is enabled and has one among its [`integrations`](crate::ClientOptions::integrations);
    /// `R::default()` else.
    pub fn with_integration<I, F, R>(&self, f: F) -> R
    where
        I: crate::integrations::Integration,
        F: FnOnce(&I) -> R,
        R: Default,
    {
        let Some(client) = self.client().filter(|c| c.is_enabled()) else {
            return R::default();
        };
        let found = client
            .options()
            .integrations
            .iter()
            .find_map(|i| (**i).as_any().downcast_ref::<I>());
        match found {
            Some(integration) => f(integration),
            None => R::default(),
        }
    }

    /// Whether captures on this hub go anywhere.
    pub fn is_active(&self) -> bool {
        self.client().is_some_and(|c| c.is_enabled())
    }

    /// Binds a client to the top layer.
    pub fn bind_client(&self, client: Option<Arc<Client>>) {
        let mut layers = self.layers.lock();
        self.fork(&mut layers);
        if let Some(top) = layers.last_mut() {
            top.client = client;
            top.inherited = false;
        }
    }

    /// Edits the top scope. The closure runs without any SDK lock held.
    pub fn configure_scope<F: FnOnce(&mut Scope) -> R, R>(&self, f: F) -> R {
        let (mut scope, depth) = {
            let mut layers = self.layers.lock();
            self.fork(&mut layers);
            let depth = layers.len();
            let top = layers.last_mut().map(|l| {
                l.inherited = false;
                Arc::clone(&l.scope)
            });
            (top.unwrap_or_default(), depth)
        };
        // The layer still holds the scope, so `make_mut` copies the struct (a handful of
        // `Arc`s, not the maps); only the maps the closure writes to are copied.
        let r = f(Arc::make_mut(&mut scope));
        let mut layers = self.layers.lock();
        if layers.len() == depth {
            if let Some(top) = layers.last_mut() {
                top.scope = scope;
            }
        }
        r
    }

    /// The span the top scope holds ([`Scope::set_span`]), read without forking a lazily
    /// forked hub's scope (integrations ask for it on every span they start).
    pub fn current_span(&self) -> Option<crate::TransactionOrSpan> {
        self.top_snapshot().1.scope.get_span()
    }

    /// Pushes a layer with a copy of the top scope; popped when the guard drops.
    pub fn push_scope(&self) -> ScopeGuard {
        let depth = {
            let mut layers = self.layers.lock();
            self.fork(&mut layers);
            let top = layers.last().cloned();
            if let Some(mut top) = top {
                top.inherited = false;
                layers.push(top);
            }
            layers.len()
        };
        ScopeGuard {
            layers: Arc::clone(&self.layers),
            has_parent: self.parent.is_some(),
            depth,
        }
    }

    /// Runs `callback` with a temporary scope configured by `scope_config`; the scope is
    /// gone afterwards, even if `callback` panics.
    pub fn with_scope<C, F, R>(self: &Arc<Self>, scope_config: C, callback: F) -> R
    where
        C: FnOnce(&mut Scope),
        F: FnOnce() -> R,
    {
        let _guard = self.push_scope();
        self.configure_scope(scope_config);
        callback()
    }

    /// Captures an event; returns its id (nil when nothing was captured).
    pub fn capture_event(&self, event: Event) -> Uuid {
        let (client, scope) = self.top_snapshot();
        let Some(client) = client.filter(|c| c.is_enabled()) else {
            return Uuid::nil();
        };
        if !client.sample_should_send() {
            return Uuid::nil();
        }
        let id = client.capture_pending(event, Some(scope), Vec::new());
        self.remember(id)
    }

    /// Captures a message at a level.
    pub fn capture_message(&self, message: &str, level: Level) -> Uuid {
        let (client, scope) = self.top_snapshot();
        let Some(client) = client.filter(|c| c.is_enabled()) else {
            return Uuid::nil();
        };
        if !client.sample_should_send() {
            return Uuid::nil();
        }
        let id = client.capture_message_with(message, level, Some(scope));
        self.remember(id)
    }

    /// Captures an error and its `source()` chain.
    pub fn capture_error<E: Error + ?Sized>(&self, error: &E) -> Uuid {
        let (client, scope) = self.top_snapshot();
        let Some(client) = client.filter(|c| c.is_enabled()) else {
            return Uuid::nil();
        };
        if !client.sample_should_send() {
            return Uuid::nil();
        }
        let id = client.capture_error_with(error, Some(scope));
        self.remember(id)
    }

    /// Captures a structured log (what the `logger_*!` macros do); nothing happens when
    /// the client is disabled or [`enable_logs`](crate::ClientOptions::enable_logs) is off.
    pub fn capture_log(&self, log: crate::protocol::Log) {
        if let Some(target) = self.log_target() {
            target.send(log);
        }
    }

    /// Captures a metric (what `.capture()` of [`metrics::counter`](crate::metrics::counter)
    /// and friends does, on the current hub); nothing happens when the client is disabled
    /// or [`enable_metrics`](crate::ClientOptions::enable_metrics) is off.
    pub fn capture_metric<M: crate::metrics::IntoProtocolMetric>(&self, metric: M) {
        let (client, scope) = self.top_snapshot();
        if let Some(client) = client.filter(|c| c.is_enabled() && c.options().enable_metrics) {
            client.submit_metric(crate::metrics::PendingMetric::new(metric, scope));
        }
    }

    /// Where a log captured on this hub goes, if anywhere.
    pub(crate) fn log_target(&self) -> Option<crate::logs::LogTarget> {
        let (client, scope) = self.top_snapshot();
        crate::logs::LogTarget::new(client?, scope)
    }

    /// Captures a pre-built event with raw stacks (used by the panic handler).
    pub(crate) fn capture_with_stacks(
        &self,
        event: Event,
        stacks: Vec<(crate::draft::StackTarget, crate::backtrace::RawBacktrace)>,
    ) -> Option<(Uuid, Arc<Client>)> {
        let (client, scope) = self.top_snapshot();
        let client = client.filter(|c| c.is_enabled())?;
        if !client.sample_should_send() {
            return None;
        }
        let id = client.capture_pending(event, Some(scope), stacks);
        self.remember(id);
        Some((id, client))
    }

    fn remember(&self, id: Uuid) -> Uuid {
        if !id.is_nil() {
            *self.last_event_id.lock() = Some(id);
        }
        id
    }

    /// The id of the last event captured through this hub.
    pub fn last_event_id(&self) -> Option<Uuid> {
        *self.last_event_id.lock()
    }

    /// Adds breadcrumbs to the top scope, after `before_breadcrumb`. Does nothing (and
    /// does not evaluate a closure argument) when the hub has no enabled client.
    pub fn add_breadcrumb<B: IntoBreadcrumbs>(&self, breadcrumb: B) {
        let Some(client) = self.client().filter(|c| c.is_enabled()) else {
            return;
        };
        let options = client.options();
        let max = options.max_breadcrumbs;
        let mut crumbs = Vec::new();
        for mut crumb in breadcrumb.into_breadcrumbs() {
            if crumb.timestamp.is_none() {
                crumb.timestamp = Some(crate::protocol::Timestamp::now());
            }
            let kept = match &options.before_breadcrumb {
                Some(cb) => {
                    let cb = Arc::clone(cb);
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || cb(crumb)))
                        .ok()
                        .flatten()
                }
                None => Some(crumb),
            };
            crumbs.extend(kept);
        }
        if crumbs.is_empty() {
            return;
        }
        self.configure_scope(|scope| {
            for c in crumbs {
                scope.breadcrumbs.push(c, max);
            }
        });
    }
}

impl AsRef<Hub> for Hub {
    fn as_ref(&self) -> &Hub {
        self
    }
}

impl Hub {
    /// Binds a client to the bottom layer (what `init` does on the main hub).
    pub(crate) fn bind_client_base(&self, client: Option<Arc<Client>>) {
        let mut layers = self.layers.lock();
        self.fork(&mut layers);
        if let Some(base) = layers.first_mut() {
            base.client = client;
            base.inherited = false;
        }
    }

    /// Whether this is an inheriting thread hub.
    pub(crate) fn inherits(&self) -> bool {
        self.parent.is_some()
    }
}

/// Pops the layer pushed by [`Hub::push_scope`] when dropped.
#[must_use = "the scope is popped when the guard is dropped"]
pub struct ScopeGuard {
    layers: Arc<Mutex<Vec<Layer>>>,
    has_parent: bool,
    depth: usize,
}

impl std::fmt::Debug for ScopeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeGuard")
            .field("depth", &self.depth)
            .finish()
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let mut layers = self.layers.lock();
        if layers.len() == self.depth && self.depth > 1 {
            layers.pop();
        }
        // A layer forked from the parent and never written goes: the hub reads its
        // parent live again (a lazy fork re-seeds when it forks next).
        if layers.len() == 1 && layers[0].inherited && self.has_parent {
            layers.clear();
        }
    }
}

/// Things that can be added as breadcrumbs: a [`Breadcrumb`], a `Vec` or `Option` of
/// them, or a closure producing one of those (only called when a client is active).
pub trait IntoBreadcrumbs {
    /// The iterator of breadcrumbs.
    type Output: IntoIterator<Item = Breadcrumb>;
    /// Converts into breadcrumbs.
    fn into_breadcrumbs(self) -> Self::Output;
}

impl IntoBreadcrumbs for Breadcrumb {
    type Output = std::iter::Once<Breadcrumb>;
    fn into_breadcrumbs(self) -> Self::Output {
        std::iter::once(self)
    }
}

impl IntoBreadcrumbs for Vec<Breadcrumb> {
    type Output = Vec<Breadcrumb>;
    fn into_breadcrumbs(self) -> Self::Output {
        self
    }
}

impl IntoBreadcrumbs for Option<Breadcrumb> {
    type Output = std::option::IntoIter<Breadcrumb>;
    fn into_breadcrumbs(self) -> Self::Output {
        self.into_iter()
    }
}

impl<F: FnOnce() -> I, I: IntoBreadcrumbs> IntoBreadcrumbs for F {
    type Output = I::Output;
    fn into_breadcrumbs(self) -> Self::Output {
        self().into_breadcrumbs()
    }
}
