//! The background sender of the alert outbox, started by `serve`: it claims due
//! deliveries (a lease, so that with several instances each row is tried by one, and a
//! crashed instance's rows are tried again when the lease ends), sends each to its
//! webhook, Slack-style URL or SMTP relay, and records the outcome: sent only after a
//! 2xx answer (or the relay's 250), else retried with exponential backoff
//! ([`AlertConfig::backoff`]) until [`AlertConfig::retry_for`] has passed since the alert
//! was written, then failed. Every try of a row carries the row's delivery id.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::message::{hmac_sha256_hex, Alert};
use super::outbound;
use super::AlertConfig;
use crate::metrics::Metrics;
use crate::store::alerts::{self, AlertAction};
use crate::store::outbox::{self, Delivery, TryOutcome};
use crate::store::{Store, StoreError, StoreResult};

/// Deliveries claimed per round.
const CLAIM_BATCH: i64 = 16;
/// Sent and failed deliveries are kept this long (the settings page shows them).
const KEEP_DONE: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often old deliveries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The header carrying a delivery's id (the same on every try).
pub const DELIVERY_HEADER: &str = "X-Sentry-Lite-Delivery";
/// The header carrying `sha256=<hex HMAC of the body>` when the webhook has a secret.
pub const SIGNATURE_HEADER: &str = "X-Sentry-Lite-Signature";

/// What a try needs, shared by the sender's tasks.
struct Shared {
    store: Arc<dyn Store>,
    config: AlertConfig,
    base_url: String,
    metrics: Arc<Metrics>,
    http: reqwest::Client,
    smtp: Option<Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox), String>>,
}

async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|_| StoreError::Corrupt("the alert sender's store task panicked".into()))?
}

/// The SMTP transport of `url` (`smtp://` with STARTTLS when offered, `smtps://` with
/// TLS from the start; credentials from the URL's user and password).
pub fn smtp_transport(
    url: &str,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("SMTP URL {url:?}: {e}"))?;
    let wrapper = match u.scheme() {
        "smtp" => false,
        "smtps" => true,
        other => {
            return Err(format!(
                "SMTP URL scheme {other:?}: use smtp:// or smtps://"
            ))
        }
    };
    let host = u
        .host_str()
        .ok_or_else(|| format!("SMTP URL {url:?} has no host"))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = u.port().unwrap_or(if wrapper { 465 } else { 25 });
    let tls = TlsParameters::new(host.clone()).map_err(|e| format!("SMTP TLS: {e}"))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(timeout))
        .tls(if wrapper {
            Tls::Wrapper(tls)
        } else {
            Tls::Opportunistic(tls)
        });
    if !u.username().is_empty() {
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| format!("SMTP URL {url:?}: bad percent-encoding"))
        };
        builder = builder.credentials(Credentials::new(
            decode(u.username())?,
            decode(u.password().unwrap_or(""))?,
        ));
    }
    Ok(builder.build())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Starts the sender; it stops (after the tries in flight) when `stop` turns true.
pub fn spawn(
    store: Arc<dyn Store>,
    config: AlertConfig,
    base_url: String,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let http = outbound::client(config.allow_private_networks, config.request_timeout)
        .map_err(|e| format!("alert HTTP client: {e}"))?;
    type Smtp = Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox), String>;
    let smtp = config.smtp_url.as_deref().map(|url| -> Smtp {
        let transport = smtp_transport(url, config.request_timeout)?;
        let from = config
            .smtp_from
            .as_deref()
            .ok_or("--smtp-from is required with --smtp-url")?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("--smtp-from {from:?}: {e}"))?;
        Ok((transport, from))
    });
    if let Some(Err(e)) = &smtp {
        return Err(e.clone());
    }
    let shared = Arc::new(Shared {
        store,
        config,
        base_url: base_url.trim_end_matches('/').to_owned(),
        metrics,
        http,
        smtp,
    });
    Ok(tokio::spawn(async move {
        let mut tries: JoinSet<()> = JoinSet::new();
        let mut last_prune = tokio::time::Instant::now();
        loop {
            while tries.try_join_next().is_some() {}
            let pause = match round(&shared, &mut tries).await {
                Ok(true) => Duration::ZERO,
                Ok(false) => shared.config.poll,
                Err(e) => {
                    tracing::warn!(error = %e, "alert sender: the outbox is unavailable");
                    shared.config.poll
                }
            };
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = tokio::time::Instant::now();
                let before = crate::clock::now_ms() - KEEP_DONE.as_millis() as i64;
                if let Err(e) = blocking(&shared.store, move |s| outbox::prune(s, before)).await {
                    tracing::warn!(error = %e, "pruning old alert deliveries failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        // Tries in flight finish (each is bounded by the request timeout); rows whose try
        // did not are tried again when their lease ends.
        let _ = tokio::time::timeout(shared.config.request_timeout * 2, async {
            while tries.join_next().await.is_some() {}
        })
        .await;
    }))
}

/// One round: claims what is due and starts a try of each; whether it claimed a full
/// batch (more may be due).
async fn round(shared: &Arc<Shared>, tries: &mut JoinSet<()>) -> StoreResult<bool> {
    let now = crate::clock::now_ms();
    let due = blocking(&shared.store, outbox::next_due).await?;
    if due.is_none_or(|at| at > now) {
        return Ok(false);
    }
    let token = uuid::Uuid::new_v4().to_string();
    let lease = shared.config.lease.as_millis() as i64;
    let claimed = {
        let token = token.clone();
        blocking(&shared.store, move |s| {
            outbox::claim(s, &token, now, lease, CLAIM_BATCH)
        })
        .await?
    };
    let full = claimed.len() as i64 >= CLAIM_BATCH;
    for d in claimed {
        let shared = shared.clone();
        let token = token.clone();
        tries.spawn(async move { attempt(&shared, d, &token).await });
    }
    Ok(full)
}

/// One try of a claimed delivery, its outcome recorded.
async fn attempt(shared: &Shared, d: Delivery, token: &str) {
    let kind = d.target.kind();
    let result = send(shared, &d).await;
    let now = crate::clock::now_ms();
    let (outcome, label) = match result {
        Ok(()) => (TryOutcome::Sent, "sent"),
        Err(error) => {
            let at = now + shared.config.backoff(d.attempts + 1).as_millis() as i64;
            if at - d.created_at > shared.config.retry_for.as_millis() as i64 {
                (TryOutcome::Failed { error }, "failed")
            } else {
                (TryOutcome::Retry { error, at }, "retry")
            }
        }
    };
    if let TryOutcome::Retry { error, .. } | TryOutcome::Failed { error } = &outcome {
        tracing::info!(delivery = %d.delivery_id, %kind, %error, "alert delivery failed");
    }
    shared.metrics.alert_deliveries.count(kind, label);
    let (id, token) = (d.id, token.to_owned());
    match blocking(&shared.store, move |s| {
        outbox::finish(s, id, &token, &outcome, now)
    })
    .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(delivery = %d.delivery_id, "alert delivery claim expired"),
        Err(e) => {
            tracing::warn!(error = %e, delivery = %d.delivery_id, "recording an alert try failed")
        }
    }
}

/// Sends one delivery; the error says why it did not arrive.
async fn send(shared: &Shared, d: &Delivery) -> Result<(), String> {
    let (rule_id, project_id, issue_id) = (d.rule_id, d.project_id, d.issue_id);
    let found = blocking(&shared.store, move |s| {
        let rule = alerts::rule_by_id(s, project_id, rule_id)?;
        let project = s.project_by_id(project_id)?;
        let issue = match issue_id {
            Some(id) => s.issue(id)?,
            None => None,
        };
        Ok((rule, project, issue))
    })
    .await
    .map_err(|e| format!("reading the alert: {e}"))?;
    let (Some(rule), Some(project), issue) = found else {
        return Err("the rule or its project was deleted".into());
    };
    let alert = Alert {
        delivery: d,
        rule: &rule,
        project: &project,
        issue: issue.as_ref(),
        base_url: &shared.base_url,
    };
    match &d.target {
        AlertAction::Webhook { url, secret } => {
            let body = serde_json::to_vec(&alert.webhook_body()).map_err(|e| e.to_string())?;
            let signature = secret
                .as_deref()
                .map(|s| format!("sha256={}", hmac_sha256_hex(s.as_bytes(), &body)));
            post(shared, url, &d.delivery_id, body, signature).await
        }
        AlertAction::Slack { url } => {
            let body = serde_json::to_vec(&alert.slack_body()).map_err(|e| e.to_string())?;
            post(shared, url, &d.delivery_id, body, None).await
        }
        AlertAction::Email { to } => mail(shared, &alert, to).await,
    }
}

async fn post(
    shared: &Shared,
    url: &str,
    delivery_id: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> Result<(), String> {
    let url = outbound::check_url(url, shared.config.allow_private_networks)
        .map_err(|e| e.to_string())?;
    let mut request = shared
        .http
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(DELIVERY_HEADER, delivery_id)
        .body(body);
    if let Some(sig) = signature {
        request = request.header(SIGNATURE_HEADER, sig);
    }
    let response = request.send().await.map_err(|e| error_chain(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = outbound::read_capped(response).await;
    let text: String = text.chars().take(200).collect();
    Err(format!("HTTP {status}: {}", text.trim()))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

async fn mail(shared: &Shared, alert: &Alert<'_>, to: &[String]) -> Result<(), String> {
    let (transport, from) = match &shared.smtp {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("no SMTP relay is configured (serve --smtp-url)".into()),
    };
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(alert.subject())
        .message_id(Some(format!(
            "<{}@sentry-server-lite>",
            alert.delivery.delivery_id
        )));
    for addr in to {
        let mailbox: Mailbox = addr
            .parse()
            .map_err(|e| format!("recipient {addr:?}: {e}"))?;
        builder = builder.to(mailbox);
    }
    let message = builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(alert.text_body()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(alert.html_body()),
                ),
        )
        .map_err(|e| format!("building the e-mail: {e}"))?;
    transport
        .send(message)
        .await
        .map(drop)
        .map_err(|e| format!("SMTP: {}", error_chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let t = Duration::from_secs(1);
        assert!(smtp_transport("smtp://127.0.0.1:2525", t).is_ok());
        assert!(smtp_transport("smtps://user:p%40ss@mail.example.com", t).is_ok());
        assert!(smtp_transport("http://mail.example.com", t).is_err());
        assert_eq!(percent_decode("p%40ss").as_deref(), Some("p@ss"));
        assert_eq!(percent_decode("bad%4"), None);
    }
}
