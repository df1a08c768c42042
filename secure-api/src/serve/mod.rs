//! Serving a router over HTTP/1.1 with a bound on what each connection may cost.
//!
//! ```no_run
//! # async fn run(app: axum::Router) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! secure_api::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! `axum::serve` waits for a request head as long as the client likes and keeps idle
//! connections forever, so a few hundred connections that send a header a byte at a time, or
//! nothing at all, take every file descriptor and the service with them; the request timeout
//! of `Hardening` starts only once the head is read. [`Server`] bounds the time before a
//! request and the number of connections, and hands every request its client address
//! (axum's `ConnectInfo<SocketAddr>`), which the guard needs:
//!
//! | setting | default | bounds |
//! |---|---|---|
//! | [`idle_timeout`](Server::idle_timeout) | 5 s | the wait for the first byte of a request, on a new connection and between requests |
//! | [`header_read_timeout`](Server::header_read_timeout) | 10 s | from that first byte to the end of the head |
//! | [`max_connections`](Server::max_connections) | 1024 | connections open at once; more wait in the kernel's backlog |
//! | [`max_header_bytes`](Server::max_header_bytes) | 32 KiB | request line and headers (431 above) |
//! | [`max_headers`](Server::max_headers) | 100 | header fields (431 above) |
//! | [`grace_period`](Server::grace_period) | 10 s | the drain after [`with_graceful_shutdown`](Server::with_graceful_shutdown)'s signal |
//!
//! The body and the handler are the application's time: `Hardening`'s timeout (10 s) bounds
//! them. A client that stops reading a response is not timed out.
//!
//! **Over the cap**, the server stops accepting: new connections complete their handshake
//! in the kernel and wait in the listen backlog, their requests already sent, and are served
//! as soon as a connection closes, which the timeouts above make soon. Accepting and closing
//! them instead would turn a busy server into one that refuses honest clients, spend work on
//! every excess connection, and open a file for each. `TcpListener::bind` (Tokio's as std's)
//! asks for a backlog of 128; `tokio::net::TcpSocket::listen(1024)` holds a larger burst (up
//! to the kernel's `net.core.somaxconn`). Beyond the backlog the kernel drops handshakes or
//! answers them with SYN cookies: a client retries, or is let in with its first bytes.
//!
//! **HTTP/1.1 only.** Over plain TCP, HTTP/2 would be prior-knowledge `h2c`, which browsers
//! do not speak and proxies rarely send to a backend, and hyper's HTTP/2 server has no header
//! timeout to match the one here. The TLS, and the HTTP/2, of a public endpoint belong to the
//! proxy or load balancer in front, which usually speaks HTTP/1.1 to its backends. WebSocket
//! upgrades work.
//!
//! **Malformed requests** are answered by hyper itself, before any of this crate's code
//! runs, with a bare status line and no body: 400 for a bad request line or header (an
//! invalid `Content-Length` or `Transfer-Encoding` included), 414 for a request target over
//! 65534 bytes, 431 above the header limits, and then the
//! connection is closed. hyper 1.12 has no hook to shape these: `Server::on_error` in
//! `hyper/src/proto/h1/role.rs` picks the status and `Conn::on_parse_error` in
//! `hyper/src/proto/h1/conn.rs` writes it, so they cannot be RFC 9457 problems. They carry
//! nothing of the request, and a client that sends one is broken or probing.
//!
//! Failures to accept a connection (`EMFILE` when the process runs out of files) never end
//! the server: each is logged on [`CONFIG_TARGET`] (`secure_api::config`) and the server
//! retries after a pause that doubles up to a second.

use crate::audit::CONFIG_TARGET;
use axum::Router;
use std::future::{Future, IntoFuture, Pending};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinError, JoinSet};

mod conn;

/// Serves `router` on `listener` with the default limits of [`Server`], until the process
/// ends. The client address reaches the guard without `into_make_service_with_connect_info`.
///
/// Never fails today; the `io::Result` is `axum::serve`'s, so that `?` stays where it was.
pub async fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    Server::new(listener, router).await
}

/// A server with chosen limits; `.await` it to serve. See the [module](mod@crate::serve) for what
/// each limit is for.
///
/// ```no_run
/// # use std::time::Duration;
/// # async fn run(
/// #     app: axum::Router,
/// #     stop: impl Future<Output = ()> + Send + 'static,
/// # ) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// secure_api::Server::new(listener, app)
///     .header_read_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(75)) // above the load balancer's 60 s
///     .max_connections(4096)
///     .with_graceful_shutdown(stop) // say, `async { tokio::signal::ctrl_c().await.ok(); }`
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a server does nothing until it is awaited"]
pub struct Server<S = Pending<()>> {
    listener: TcpListener,
    router: Router,
    limits: Limits,
    signal: S,
}

/// What one connection may cost; read by each connection's task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    idle_timeout: Duration,
    header_read_timeout: Duration,
    max_connections: usize,
    max_header_bytes: usize,
    /// `None` keeps hyper's 100, which it keeps on the stack; any value moves them to the heap.
    max_headers: Option<usize>,
    grace_period: Duration,
}

impl Server {
    /// A server for `router` on `listener`, with the defaults of the [module](mod@crate::serve).
    pub fn new(listener: TcpListener, router: Router) -> Self {
        Self {
            listener,
            router,
            limits: Limits {
                idle_timeout: Duration::from_secs(5),
                header_read_timeout: Duration::from_secs(10),
                max_connections: 1024,
                max_header_bytes: 32 * 1024,
                max_headers: None,
                grace_period: Duration::from_secs(10),
            },
            signal: std::future::pending(),
        }
    }
}

impl<S> Server<S> {
    /// How long a connection may wait for the first byte of a request — after it is accepted,
    /// and after each response — before it is closed. Default 5 s: a browser sends its next
    /// request within that or opens a new connection cheaply, and each idle connection holds
    /// one of [`max_connections`](Self::max_connections). Behind a load balancer that reuses
    /// connections, set it above the balancer's idle timeout (60 s for AWS ALB), or the
    /// balancer will now and then send a request on a connection closing under it.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// How long a request head may take from its first byte to its blank line; then the
    /// connection is closed without an answer. Default 10 s, for clients on slow links: an
    /// honest head is one packet. A head sent a byte at a time is cut here, whatever its pace.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How many connections may be open at once (at least 1). Default 1024. Over it, new
    /// connections wait in the kernel's backlog until one closes (see the
    /// [module](mod@crate::serve)). Keep it below the process's open-file limit (`ulimit -n`,
    /// 1024 by default under systemd) less the files the application opens itself.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// The largest request head, request line and headers together, in bytes; a larger one is
    /// answered 431 and the connection closed. Default 32 KiB: room for a bearer token with
    /// a few hundred groups and cookies, while 1024 connections hold at most 32 MiB of heads.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_header_bytes = bytes;
        self
    }

    /// The most header fields in a request; more are answered 431. Default 100 (hyper's).
    pub fn max_headers(mut self, headers: usize) -> Self {
        self.limits.max_headers = Some(headers);
        self
    }

    /// How long connections may take to finish after the shutdown signal before they are
    /// dropped. Default 10 s: the request timeout of `Hardening`, and under the 30 s that
    /// Kubernetes and systemd wait before they kill the process.
    pub fn grace_period(mut self, period: Duration) -> Self {
        self.limits.grace_period = period;
        self
    }

    /// Serves until `signal` completes, then stops accepting, closes idle connections, lets
    /// the others finish their request (up to the [`grace_period`](Self::grace_period)) and
    /// returns.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> Server<F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Server {
            listener: self.listener,
            router: self.router,
            limits: self.limits,
            signal,
        }
    }
}

impl<S> std::fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<S> IntoFuture for Server<S>
where
    S: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<S> Server<S>
where
    S: Future<Output = ()> + Send + 'static,
{
    async fn run(self) -> io::Result<()> {
        let Self {
            listener,
            router,
            limits,
            signal,
        } = self;
        let mut signal = pin!(signal);
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        // Dropping the sender is what tells every connection to finish.
        let (closing, closed) = watch::channel(());
        let mut connections = JoinSet::new();
        let mut backoff = Backoff::default();
        let mut full_since: Option<Instant> = None;
        loop {
            // Reaped here rather than in a branch below, which a steady stream of
            // connections would starve while the finished tasks pile up.
            while let Some(ended) = connections.try_join_next() {
                report(ended);
            }
            let slot = match slots.clone().try_acquire_owned() {
                Ok(slot) => slot,
                Err(_) => {
                    warn_full(&mut full_since, limits.max_connections);
                    tokio::select! {
                        biased;
                        () = &mut signal => break,
                        slot = slots.clone().acquire_owned() => match slot {
                            Ok(slot) => slot,
                            Err(_) => break, // never closed
                        },
                    }
                }
            };
            let accepted = tokio::select! {
                biased;
                () = &mut signal => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff.reset();
                    let (router, closed) = (router.clone(), closed.clone());
                    connections.spawn(conn::serve(stream, peer, router, limits, closed, slot));
                }
                // The client gave up between its handshake and our accept: nothing to do.
                Err(error) if is_connection_error(&error) => {}
                Err(error) => {
                    let pause = backoff.next();
                    tracing::error!(
                        target: CONFIG_TARGET,
                        %error,
                        retry_in_ms = pause.as_millis() as u64,
                        "cannot accept connections; with `Too many open files`, raise the \
                         open-file limit (ulimit -n) above max_connections or lower it"
                    );
                    tokio::select! {
                        () = &mut signal => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
        // Refuse new connections at once rather than leave them in the backlog.
        drop(listener);
        drop(closing);
        let drain = async {
            while let Some(ended) = connections.join_next().await {
                report(ended);
            }
        };
        if tokio::time::timeout(limits.grace_period, drain)
            .await
            .is_err()
        {
            tracing::warn!(
                target: CONFIG_TARGET,
                open = connections.len(),
                "connections still open after the grace period are dropped"
            );
            connections.shutdown().await;
        }
        Ok(())
    }
}

/// Errors of one connection that ended before it was accepted, not of the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Once a minute at most: under a flood the cap is reached again and again.
fn warn_full(full_since: &mut Option<Instant>, max_connections: usize) {
    let now = Instant::now();
    if full_since.is_none_or(|since| now.duration_since(since) > Duration::from_secs(60)) {
        *full_since = Some(now);
        tracing::warn!(
            target: CONFIG_TARGET,
            max_connections,
            "the connection cap is reached; new connections wait in the backlog"
        );
    }
}

/// A connection task that panicked: a handler's panic, when `Hardening` does not catch it.
fn report(ended: Result<(), JoinError>) {
    if let Err(error) = ended
        && error.is_panic()
    {
        tracing::error!(target: CONFIG_TARGET, "a connection ended in a panic");
    }
}

/// The pause after a failed accept: short for a blip, up to a second while it lasts, so
/// that running out of files neither spins nor floods the log.
#[derive(Debug, Default)]
struct Backoff(Option<Duration>);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    fn next(&mut self) -> Duration {
        let pause = self
            .0
            .map_or(Self::FIRST, |last| (last * 2).min(Self::MOST));
        self.0 = Some(pause);
        pause
    }

    fn reset(&mut self) {
        self.0 = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_a_second_and_starts_over_after_an_accept() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u128> = (0..9).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next(), Backoff::FIRST);
    }

    #[test]
    fn only_the_clients_own_failures_are_not_the_listeners() {
        assert!(is_connection_error(&io::ErrorKind::ConnectionReset.into()));
        assert!(!is_connection_error(&io::Error::other(
            "too many open files"
        )));
    }
}
