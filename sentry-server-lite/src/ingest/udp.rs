//! The UDP listener (protocol reference §9.3): one complete envelope per datagram,
//! plain or gzip/zstd-compressed (detected by magic bytes), authenticated by the `dsn` in
//! its header. There are no replies, so refusals (bad key, rate limit, full queue) are
//! only counted in the metrics. The raven-era layout (`X-Sentry-Auth` value, `\n\n`,
//! store body) is accepted as well (§9.1).
//!
//! The receive loop only copies each datagram into a bounded queue
//! ([`crate::config::IngestLimits::udp_queue`]); one worker thread decodes and ingests
//! them. When the queue is full, datagrams are dropped and counted
//! (`sentry_lite_udp_dropped_total`). The key named by an envelope's `dsn` is checked
//! before the rest of the datagram is decompressed.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use sentry_client::protocol::encoding::{decode_legacy_store_body, decompress, ContentEncoding};
use sentry_client::protocol::Auth;
use tokio::net::UdpSocket;

use super::{auth, IngestError, Ingestor, Payload, Prepared, Source};
use crate::metrics::Metrics;

/// The largest UDP payload (IPv4).
pub const MAX_DATAGRAM: usize = 65_507;

/// Binds a UDP socket with a large receive buffer (bursts would overflow the default).
pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // Best effort: the kernel may cap it (net.core.rmem_max).
    let _ = socket.set_recv_buffer_size(8 * 1024 * 1024);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Receives datagrams until `shutdown` resolves.
pub async fn serve(
    socket: UdpSocket,
    ing: Arc<Ingestor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let (queue, datagrams) = std::sync::mpsc::sync_channel::<Vec<u8>>(ing.limits.udp_queue);
    let worker = {
        let ing = ing.clone();
        std::thread::Builder::new()
            .name("udp-ingest".into())
            .spawn(move || {
                // Ends when the receive loop drops the queue's sender.
                for datagram in datagrams {
                    if let Err(e) = handle_datagram(&ing, &datagram) {
                        ing.metrics.reject(e.reason());
                        tracing::debug!(status = e.status(), detail = %e, "udp datagram dropped");
                    }
                }
            })
    };
    if let Err(e) = worker {
        tracing::error!(error = %e, "could not start the udp worker; udp is off");
        return;
    }
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, peer)) => {
                    if !enqueue(&queue, &buf[..n], &ing.metrics) {
                        tracing::debug!(%peer, "udp queue full: datagram dropped");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "udp receive failed"),
            }
        }
    }
}

/// Counts a received datagram and queues a copy for the worker; when the queue is full
/// the datagram is dropped and counted instead (`false`).
fn enqueue(queue: &SyncSender<Vec<u8>>, datagram: &[u8], metrics: &Metrics) -> bool {
    metrics.udp_datagrams.fetch_add(1, Ordering::Relaxed);
    let queued = queue.try_send(datagram.to_vec()).is_ok();
    if !queued {
        metrics.udp_dropped.fetch_add(1, Ordering::Relaxed);
    }
    queued
}

/// Processes one datagram: decode it, then the one ingest path; its events are queued
/// without waiting for the commit.
pub fn handle_datagram(ing: &Ingestor, datagram: &[u8]) -> Result<(), IngestError> {
    let cap = ing.limits.max_decompressed_bytes;
    let prepared = if let Some(encoding) = ContentEncoding::sniff(datagram) {
        let mut source = Source::default();
        ing.precheck_envelope(&mut source, encoding, datagram)?;
        let bytes = decompress(encoding, datagram, cap)?;
        let envelope = ing.parse_envelope(&bytes)?;
        ing.accept(source, Payload::Envelope(&envelope))?
    } else if datagram.starts_with(b"{") {
        let envelope = ing.parse_envelope(datagram)?;
        ing.accept(Source::default(), Payload::Envelope(&envelope))?
    } else {
        legacy(ing, datagram)?
    };
    ing.commit_detached(prepared)
}

/// A raven-era datagram: an `X-Sentry-Auth` value, `\n\n`, a store body. The key is
/// checked before the body is decoded.
fn legacy(ing: &Ingestor, datagram: &[u8]) -> Result<Prepared, IngestError> {
    let split = datagram
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or_else(|| IngestError::BadRequest("unrecognized datagram (not an envelope)".into()))?;
    let header = std::str::from_utf8(&datagram[..split])
        .map_err(|_| IngestError::BadRequest("auth header is not UTF-8".into()))?;
    let creds: auth::Credentials = Auth::from_header(header)
        .map_err(|e| IngestError::Unauthorized(format!("invalid auth header: {e}")))?
        .into();
    let mut source = Source {
        credentials: Some(creds),
        ..Source::default()
    };
    ing.precheck(&mut source)?;
    let body = decode_legacy_store_body(&datagram[split + 2..], ing.limits.max_decompressed_bytes)?;
    ing.accept(source, Payload::Store(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts() {
        let metrics = Metrics::default();
        let (queue, datagrams) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let sent: Vec<bool> = (0..5).map(|_| enqueue(&queue, b"{}", &metrics)).collect();
        assert_eq!(sent, [true, true, false, false, false]);
        assert_eq!(metrics.udp_datagrams.load(Ordering::Relaxed), 5);
        assert_eq!(metrics.udp_dropped.load(Ordering::Relaxed), 3);
        assert_eq!(datagrams.try_iter().count(), 2, "what was queued is kept");
        assert!(metrics
            .render(0, 1)
            .contains("sentry_lite_udp_dropped_total 3"));
    }
}
