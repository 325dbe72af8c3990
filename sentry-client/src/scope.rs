//! [`Scope`]: the data (tags, user, extra, contexts, breadcrumbs, ...) that is merged into
//! every event captured while it is active.
//!
//! A scope is copy-on-write: every field sits behind an `Arc`, so cloning a scope (which
//! the capture path does for each event, and `with_scope` does once) costs a handful of
//! reference-count increments, and a setter copies only the one map it changes, and only
//! when a snapshot still shares it. Breadcrumbs live in a persistent list that is never
//! copied on push (see `breadcrumbs.rs`).
//!
//! The scope is *applied* to an event on the background worker, not on the thread that
//! captured it; event processors therefore run on the worker too.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::breadcrumbs::BreadcrumbRing;
use crate::performance::{TraceHeadersIter, TransactionOrSpan};
use crate::protocol::{Attachment, Breadcrumb, Event, Level, Request, User};

/// An event processor: edits an event or drops it by returning `None`.
pub type EventProcessor = dyn Fn(Event) -> Option<Event> + Send + Sync;

/// Data a lazily forked hub ([`Hub::fork_lazily`](crate::Hub::fork_lazily)) writes into
/// its scope once the scope is needed: when code running under the hub first changes (or
/// reads through `configure_scope`) the scope, or, for an event captured before that, on
/// the background worker, into a copy of the parent's scope made for that event.
///
/// Web integrations use it to keep a request as one cheap struct and turn it into scope
/// data (transaction name, an event processor adding the request) only when something
/// needs it.
pub trait ScopeSeed: Send + Sync + 'static {
    /// Writes this seed's data into `scope` (a copy of the parent hub's top scope).
    fn seed(self: Arc<Self>, scope: &mut Scope);
}

/// A scope on its way to the worker with the seeds of lazily forked hubs still to apply
/// (parent's first).
pub(crate) struct Snapshot {
    pub(crate) scope: Arc<Scope>,
    pub(crate) seeds: Vec<Arc<dyn ScopeSeed>>,
}

impl Snapshot {
    pub(crate) fn plain(scope: Arc<Scope>) -> Snapshot {
        Snapshot {
            scope,
            seeds: Vec::new(),
        }
    }

    /// The scope with the seeds applied (a copy when there are any).
    pub(crate) fn into_scope(self) -> Arc<Scope> {
        if self.seeds.is_empty() {
            return self.scope;
        }
        let mut scope = Scope::clone(&self.scope);
        for seed in self.seeds {
            seed.seed(&mut scope);
        }
        Arc::new(scope)
    }
}

/// The contextual data merged into events.
///
/// Obtain one through [`configure_scope`](crate::configure_scope),
/// [`with_scope`](crate::with_scope) or [`Hub::configure_scope`](crate::Hub::configure_scope).
///
/// ```
/// # let events = sentry_client::test::with_captured_events(|| {
/// sentry_client::configure_scope(|scope| {
///     scope.set_tag("region", "eu-west-1");
///     scope.set_user(Some(sentry_client::User {
///         id: Some("42".into()),
///         ..Default::default()
///     }));
/// });
/// sentry_client::capture_message("hello", sentry_client::Level::Info);
/// # });
/// # assert_eq!(events[0].tags.get("region"), Some("eu-west-1"));
/// ```
#[derive(Clone, Default)]
pub struct Scope {
    pub(crate) level: Option<Level>,
    pub(crate) fingerprint: Option<Arc<[String]>>,
    pub(crate) transaction: Option<Arc<str>>,
    pub(crate) user: Option<Arc<User>>,
    pub(crate) request: Option<Arc<Request>>,
    pub(crate) tags: Arc<BTreeMap<String, String>>,
    pub(crate) extra: Arc<Map<String, Value>>,
    pub(crate) contexts: Arc<Map<String, Value>>,
    pub(crate) breadcrumbs: BreadcrumbRing,
    pub(crate) processors: Arc<Vec<Arc<EventProcessor>>>,
    /// The release-health session events captured in this scope count on.
    pub(crate) session: Option<Arc<crate::session::SessionHandle>>,
    pub(crate) span: Option<Arc<TransactionOrSpan>>,
    pub(crate) attachments: crate::attachments::ScopeAttachments,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("level", &self.level)
            .field("fingerprint", &self.fingerprint)
            .field("transaction", &self.transaction)
            .field("user", &self.user)
            .field("request", &self.request)
            .field("tags", &self.tags)
            .field("extra", &self.extra)
            .field("contexts", &self.contexts)
            .field("breadcrumbs", &self.breadcrumbs)
            .field("processors", &self.processors.len())
            .field("session", &self.session)
            .field("span", &self.span.is_some())
            .field("attachments", &self.attachments.len())
            .finish()
    }
}

impl Scope {
    /// Sets the span events captured under this scope belong to (their `trace`
    /// context), and that integrations start their spans under; `None` clears it.
    pub fn set_span(&mut self, span: Option<TransactionOrSpan>) {
        self.span = span.map(Arc::new);
    }

    /// The span set by [`Scope::set_span`].
    pub fn get_span(&self) -> Option<TransactionOrSpan> {
        self.span.as_deref().cloned()
    }

    /// The headers that continue the scope's trace in a service called from here
    /// (empty without a span).
    pub fn iter_trace_propagation_headers(&self) -> TraceHeadersIter {
        self.span
            .as_deref()
            .map(TransactionOrSpan::iter_headers)
            .unwrap_or_default()
    }

    /// Removes everything from the scope.
    pub fn clear(&mut self) {
        *self = Scope::default();
    }

    /// Overrides the level of every event captured in this scope (`None` keeps the
    /// event's own level).
    pub fn set_level(&mut self, level: Option<Level>) {
        self.level = level;
    }

    /// Sets the grouping fingerprint, e.g. `Some(&["{{ default }}", "db"])`.
    pub fn set_fingerprint(&mut self, fingerprint: Option<&[&str]>) {
        self.fingerprint = fingerprint.map(|f| f.iter().map(|s| (*s).to_owned()).collect());
    }

    /// Sets the transaction name (route or task), used as the culprit.
    pub fn set_transaction(&mut self, transaction: Option<&str>) {
        self.transaction = transaction.map(Arc::from);
    }

    /// Sets the user.
    pub fn set_user(&mut self, user: Option<User>) {
        self.user = user.map(Arc::new);
    }

    /// Sets the HTTP request being handled (used by web integrations).
    pub fn set_request(&mut self, request: Option<Request>) {
        self.request = request.map(Arc::new);
    }

    /// Sets a tag.
    pub fn set_tag<V: ToString>(&mut self, key: &str, value: V) {
        Arc::make_mut(&mut self.tags).insert(key.to_owned(), value.to_string());
    }

    /// Removes a tag.
    pub fn remove_tag(&mut self, key: &str) {
        if self.tags.contains_key(key) {
            Arc::make_mut(&mut self.tags).remove(key);
        }
    }

    /// Sets an extra value.
    pub fn set_extra(&mut self, key: &str, value: Value) {
        Arc::make_mut(&mut self.extra).insert(key.to_owned(), value);
    }

    /// Removes an extra value.
    pub fn remove_extra(&mut self, key: &str) {
        if self.extra.contains_key(key) {
            Arc::make_mut(&mut self.extra).shift_remove(key);
        }
    }

    /// Sets a context, e.g. `scope.set_context("order", serde_json::json!({"id": 7}))`.
    ///
    /// A context is a JSON object; anything else is wrapped as `{"value": ...}`. The
    /// `type` key defaults to the context's key on the server side.
    pub fn set_context<C: Into<Value>>(&mut self, key: &str, value: C) {
        let value = match value.into() {
            Value::Object(map) => Value::Object(map),
            other => {
                let mut map = Map::new();
                map.insert("value".into(), other);
                Value::Object(map)
            }
        };
        Arc::make_mut(&mut self.contexts).insert(key.to_owned(), value);
    }

    /// Removes a context.
    pub fn remove_context(&mut self, key: &str) {
        if self.contexts.contains_key(key) {
            Arc::make_mut(&mut self.contexts).shift_remove(key);
        }
    }

    /// Adds an event processor; it runs on the background worker for every event
    /// captured in this scope, after the scope's data is applied. Returning `None` drops
    /// the event (counted as `event_processor` in client reports). A panicking processor
    /// drops the event the same way instead of unwinding into the SDK.
    pub fn add_event_processor<F>(&mut self, f: F)
    where
        F: Fn(Event) -> Option<Event> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.processors).push(Arc::new(f));
    }

    /// Adds an attachment: it is sent in the envelope of every event captured with this
    /// scope (files over [`max_attachment_size`](crate::ClientOptions::max_attachment_size),
    /// or past [`max_attachments_size`](crate::ClientOptions::max_attachments_size) in
    /// one envelope, are dropped and counted in client reports).
    ///
    /// ```
    /// use sentry_client::protocol::Attachment;
    ///
    /// sentry_client::configure_scope(|scope| {
    ///     scope.add_attachment(Attachment {
    ///         buffer: b"retries=3".to_vec(),
    ///         filename: "config.ini".into(),
    ///         content_type: Some("text/plain".into()),
    ///         ty: None,
    ///     });
    /// });
    /// ```
    pub fn add_attachment(&mut self, attachment: Attachment) {
        Arc::make_mut(&mut self.attachments).push(Arc::new(attachment));
    }

    /// Removes the scope's attachments.
    pub fn clear_attachments(&mut self) {
        if !self.attachments.is_empty() {
            self.attachments = Arc::default();
        }
    }

    /// The scope's attachments, in the order they were added.
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.attachments.iter().map(|a| &**a)
    }

    /// Removes all breadcrumbs.
    pub fn clear_breadcrumbs(&mut self) {
        self.breadcrumbs.clear();
    }

    /// Adds a breadcrumb without running `before_breadcrumb`, keeping at most `max`.
    /// Prefer [`add_breadcrumb`](crate::add_breadcrumb), which applies the client options.
    pub fn add_breadcrumb_with_max(&mut self, breadcrumb: Breadcrumb, max: usize) {
        self.breadcrumbs.push(breadcrumb, max);
    }

    /// The tag value for `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// The extra value for `key`.
    pub fn extra(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }

    /// The context for `key`.
    pub fn context(&self, key: &str) -> Option<&Value> {
        self.contexts.get(key)
    }

    /// The user.
    pub fn user(&self) -> Option<&User> {
        self.user.as_deref()
    }

    /// The level override.
    pub fn level(&self) -> Option<Level> {
        self.level
    }

    /// The transaction name.
    pub fn transaction(&self) -> Option<&str> {
        self.transaction.as_deref()
    }

    /// The newest `max` breadcrumbs, oldest first.
    pub fn breadcrumbs(&self, max: usize) -> Vec<Breadcrumb> {
        self.breadcrumbs.to_vec(max)
    }

    /// Applies the scope to `event` as a capture would (its data, then its event
    /// processors); `None` if a processor dropped the event.
    pub fn apply_to_event(&self, mut event: Event) -> Option<Event> {
        self.apply_data(&mut event, usize::MAX);
        self.run_processors(event)
    }

    /// Merges the scope's data into `event` (event values win over scope values, except
    /// `level` and `fingerprint`, which the scope overrides), without running processors.
    pub(crate) fn apply_data(&self, event: &mut Event, max_breadcrumbs: usize) {
        if let Some(level) = self.level {
            event.level = Some(level);
        }
        if let Some(fp) = &self.fingerprint {
            if event.fingerprint.is_none() {
                event.fingerprint = Some(fp.to_vec());
            }
        }
        if event.transaction.is_none() {
            event.transaction = self.transaction.as_deref().map(str::to_owned);
        }
        if event.user.is_none() {
            event.user = self.user.as_deref().cloned();
        }
        if event.request.is_none() {
            event.request = self.request.as_deref().cloned();
        }
        for (k, v) in self.tags.iter() {
            if event.tags.get(k).is_none() {
                event.tags.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in self.extra.iter() {
            event.extra.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in self.contexts.iter() {
            event.contexts.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if let Some(span) = &self.span {
            if !event.contexts.contains_key("trace") {
                if let Ok(trace) = serde_json::to_value(span.get_trace_context()) {
                    event.contexts.insert("trace".into(), trace);
                }
            }
        }
        let scope_crumbs = self.breadcrumbs.len(max_breadcrumbs);
        if scope_crumbs > 0 {
            let mut crumbs = self.breadcrumbs.to_vec(max_breadcrumbs);
            crumbs.append(&mut event.breadcrumbs.values);
            let excess = crumbs.len().saturating_sub(max_breadcrumbs);
            crumbs.drain(..excess);
            event.breadcrumbs.values = crumbs;
        }
    }

    /// Runs the event processors in order; `None` if one dropped the event or panicked.
    pub(crate) fn run_processors(&self, mut event: Event) -> Option<Event> {
        for p in self.processors.iter() {
            let p = Arc::clone(p);
            event = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || p(event)))
                .ok()
                .flatten()?;
        }
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_values_win_except_level_and_fingerprint() {
        let mut scope = Scope::default();
        scope.set_tag("a", "scope");
        scope.set_tag("b", 2);
        scope.set_level(Some(Level::Warning));
        scope.set_fingerprint(Some(&["fp"]));
        scope.set_extra("x", json!(1));
        scope.set_context("ctx", json!({"k": "v"}));
        scope.set_context("scalar", json!(3));
        scope.set_transaction(Some("/route"));
        let mut event = Event::new();
        event.tags.insert("a", "event");
        event.level = Some(Level::Error);
        scope.apply_data(&mut event, 100);
        assert_eq!(event.tags.get("a"), Some("event"));
        assert_eq!(event.tags.get("b"), Some("2"));
        assert_eq!(event.level, Some(Level::Warning));
        assert_eq!(event.fingerprint, Some(vec!["fp".to_owned()]));
        assert_eq!(event.extra["x"], json!(1));
        assert_eq!(event.contexts["ctx"], json!({"k": "v"}));
        assert_eq!(event.contexts["scalar"], json!({"value": 3}));
        assert_eq!(event.transaction.as_deref(), Some("/route"));
    }

    #[test]
    fn clone_shares_maps_until_written() {
        let mut a = Scope::default();
        a.set_tag("k", "v");
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.tags, &b.tags));
        b.set_extra("only", json!(true));
        assert!(
            Arc::ptr_eq(&a.tags, &b.tags),
            "tags untouched by an extra write"
        );
        b.set_tag("k", "w");
        assert_eq!(a.tag("k"), Some("v"));
        assert_eq!(b.tag("k"), Some("w"));
        b.remove_tag("k");
        assert_eq!(b.tag("k"), None);
    }

    #[test]
    fn breadcrumbs_merge_and_trim() {
        let mut scope = Scope::default();
        for i in 0..5 {
            scope.add_breadcrumb_with_max(
                Breadcrumb {
                    message: Some(format!("s{i}")),
                    ..Default::default()
                },
                10,
            );
        }
        let mut event = Event::new();
        event.breadcrumbs.values.push(Breadcrumb {
            message: Some("e".into()),
            ..Default::default()
        });
        scope.apply_data(&mut event, 3);
        let got: Vec<_> = event
            .breadcrumbs
            .iter()
            .filter_map(|c| c.message.clone())
            .collect();
        assert_eq!(got, ["s3", "s4", "e"]);
    }

    #[test]
    fn processors_edit_drop_and_survive_panics() {
        let mut scope = Scope::default();
        scope.add_event_processor(|mut e| {
            e.logger = Some("edited".into());
            Some(e)
        });
        let out = scope.run_processors(Event::new()).expect("kept");
        assert_eq!(out.logger.as_deref(), Some("edited"));
        scope.add_event_processor(|e| if e.logger.is_some() { None } else { Some(e) });
        assert!(scope.run_processors(Event::new()).is_none());
        let mut panicky = Scope::default();
        panicky.add_event_processor(|_| panic!("processor bug"));
        assert!(panicky.run_processors(Event::new()).is_none());
    }
}
