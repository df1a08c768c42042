//! One connection: hyper's HTTP/1.1 state machine, and beside it a watchdog that learns from
//! the socket and from the service whether the connection is idle, reading a head or busy,
//! and closes it when the phase outlasts its limit.
//!
//! hyper's own `header_read_timeout` is off: it starts when hyper begins to wait for a head
//! (`State::idle` in `hyper/src/proto/h1/conn.rs` re-arms it after every response), so it
//! would bound the idle wait and the head together, and an idle limit longer than the header
//! limit could not be had.

use super::Limits;
use crate::audit;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http_body::{Frame, SizeHint};
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower_service::Service;

/// Serves one accepted connection until it ends, the watchdog closes it, or the server is
/// shutting down (`closed` changes). `slot` is its place under the connection cap, given back
/// when the socket closes (an upgraded connection keeps it).
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut closed: watch::Receiver<()>,
    slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
        _slot: slot,
    });
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // What `into_make_service_with_connect_info` would add: the guard reads it.
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = activity.busy();
            let answer = router.clone().call(request);
            async move {
                let Ok(response) = answer.await;
                Ok::<_, Infallible>(response.map(|body| Answer { body, _busy: busy }))
            }
        })
    };
    let mut http = http1::Builder::new();
    http.header_read_timeout(None)
        .max_header_size(limits.max_header_bytes);
    if let Some(headers) = limits.max_headers {
        http.max_headers(headers);
    }
    let mut connection = pin!(http.serve_connection(io, service).with_upgrades());
    let mut closing = false;
    loop {
        // Once closing, hyper ends the connection after the current answer; a head still
        // keeps its deadline, since hyper waits for a first request even then.
        let deadline = activity
            .deadline(&limits)
            .filter(|(_, phase)| !closing || *phase == Expiry::Head);
        tokio::select! {
            biased;
            ended = connection.as_mut() => {
                if let Err(error) = ended {
                    refused(peer, &error);
                }
                return;
            }
            () = activity.changed.notified() => {}
            _ = closed.changed(), if !closing => {
                closing = true;
                if activity.idle_and_never_served() {
                    return;
                }
                connection.as_mut().graceful_shutdown();
            }
            () = sleep_until(deadline.map(|(at, _)| at)) => {
                match activity.deadline(&limits) {
                    Some((at, Expiry::Head)) if at <= Instant::now() => {
                        audit::connection_refused(peer.ip(), "header_timeout");
                        return;
                    }
                    Some((at, Expiry::Idle)) if at <= Instant::now() => {
                        if activity.idle_and_never_served() {
                            return;
                        }
                        // hyper closes an idle connection at once, and one still flushing an
                        // answer once it is flushed.
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ => {}
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The errors hyper answered itself (400, 414, 431) go to the audit log, where an operator
/// looks for requests that never reached a handler.
fn refused(peer: SocketAddr, error: &hyper::Error) {
    let reason = if error.is_parse_too_large() {
        "request_head_too_large"
    } else if error.is_parse() {
        "malformed_request"
    } else {
        return; // the client went away: not a decision of ours
    };
    audit::connection_refused(peer.ip(), reason);
}

/// Which limit a phase runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Idle,
    Head,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in flight and no byte of the next one, since then.
    Idle(Instant),
    /// The first byte of a head arrived then.
    Head(Instant),
    /// A request is with the application, or its answer with hyper.
    Busy,
}

struct State {
    phase: Phase,
    served: bool,
}

/// The phase of one connection, shared by its socket, its service and its watchdog (all
/// polled by the one task, so the lock is never contended).
struct Activity {
    state: Mutex<State>,
    /// Whether the phase is `Idle`: a read takes the lock only for the first byte of a head.
    idle: AtomicBool,
    /// Woken when a deadline may have moved earlier.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(State {
                phase: Phase::Idle(Instant::now()),
                served: false,
            }),
            idle: AtomicBool::new(true),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) {
        if !self.idle.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut state = self.state();
        if let Phase::Idle(_) = state.phase {
            state.phase = Phase::Head(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    fn busy(self: &Arc<Self>) -> Busy {
        let mut state = self.state();
        state.phase = Phase::Busy;
        state.served = true;
        self.idle.store(false, Ordering::Release);
        Busy(Arc::clone(self))
    }

    fn deadline(&self, limits: &Limits) -> Option<(Instant, Expiry)> {
        let (since, limit, expiry) = match self.state().phase {
            Phase::Idle(since) => (since, limits.idle_timeout, Expiry::Idle),
            Phase::Head(since) => (since, limits.header_read_timeout, Expiry::Head),
            Phase::Busy => return None,
        };
        // A limit too large to add is no limit.
        Some((since.checked_add(limit)?, expiry))
    }

    /// Dropping such a connection loses nothing, where hyper's graceful shutdown would keep
    /// waiting for a first request.
    fn idle_and_never_served(&self) -> bool {
        let state = self.state();
        matches!(state.phase, Phase::Idle(_)) && !state.served
    }
}

/// Held while a request is in flight; its drop starts the idle wait.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.phase = Phase::Idle(Instant::now());
        self.0.idle.store(true, Ordering::Release);
        drop(state);
        self.0.changed.notify_one();
    }
}

/// The router's answer, keeping the connection busy until hyper has taken its last frame:
/// a long download is not idle.
struct Answer {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the activity when bytes arrive, and holding the connection's slot.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
