//! The accept loop: HTTP/1.1 connections with every wait bounded.
//!
//! A client that opens connections and sends nothing (or half a header, slowly) must not take
//! the site from everyone else. So: at most `max_connections` open at once (kept below the
//! process's open-file limit), the request headers within `header_timeout_secs` (the same
//! clock closes a kept-alive connection that sends no next request), a request body never
//! pausing longer than `body_timeout_secs`, and an `accept` error (no file descriptors left,
//! a connection reset before it was taken) is logged and waited out, never fatal.

use crate::config::Settings;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::{DeadlineBody, TimeoutBody};

/// The limits the accept loop keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at once.
    pub max_connections: usize,
    /// Time to send a request's headers, and to start the next request on a kept-alive
    /// connection.
    pub header_timeout: Duration,
    /// Longest pause within a request body.
    pub body_timeout: Duration,
    /// Longest a whole request body may take (a 50 MB upload on a slow line).
    pub body_deadline: Duration,
}

/// Bytes of request line and headers accepted (browsers send a few KB).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Descriptors kept free for the catalogue, Parquet files, logs and uploads.
const RESERVED_FILES: usize = 64;

impl Limits {
    /// The limits of the settings, with the connection limit lowered below the open-file
    /// limit of this process (a connection is a file descriptor).
    pub fn from_settings(settings: &Settings) -> Limits {
        let mut max_connections = settings.max_connections.max(1);
        if let Some(files) = open_file_limit() {
            let room = files.saturating_sub(RESERVED_FILES).max(8);
            if room < max_connections {
                tracing::warn!(
                    "max_connections {max_connections} liegt über dem Limit offener Dateien ({files}); es gelten {room} / lowered to stay below the open-file limit"
                );
                max_connections = room;
            }
        }
        Limits {
            max_connections,
            header_timeout: Duration::from_secs(settings.header_timeout_secs),
            body_timeout: Duration::from_secs(settings.body_timeout_secs),
            body_deadline: Duration::from_secs(15 * 60),
        }
    }
}

/// The soft limit of open files (`ulimit -n`), where the system tells it.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `app` on `listener` until `shutdown` completes, then lets running requests finish
/// (at most 10 s).
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // A free slot first: beyond the limit, clients wait in the kernel's queue instead of
        // costing this process a descriptor each.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses go out at once (no 40 ms Nagle/delayed-ACK stall on streamed bodies).
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            app.clone()
                .oneshot(hyper::Request::from_parts(parts, bounded(body, limits)))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("Verbindung {peer} beendet / connection ended: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("Offene Verbindungen nach 10 s geschlossen / open connections closed after 10 s");
        }
    }
    Ok(())
}

/// A request body that may pause at most `body_timeout` and take at most `body_deadline`.
/// Bodiless requests (nearly every GET) get no timers: they would cost every page view.
fn bounded(body: Incoming, limits: Limits) -> Body {
    use hyper::body::Body as _;
    if body.is_end_stream() {
        return Body::new(body);
    }
    Body::new(DeadlineBody::new(
        limits.body_deadline,
        TimeoutBody::new(limits.body_timeout, body),
    ))
}

/// An `accept` that failed: a connection aborted before it was taken is nothing; running out
/// of descriptors or memory passes when connections close, so wait a moment and go on.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
        return;
    }
    tracing::error!("accept: {e}; neuer Versuch in 100 ms / retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
