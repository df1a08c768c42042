//! `secure_api::serve` against the clients that took `axum::serve` down: heads sent a byte at
//! a time, connections that say nothing, more connections than the cap, malformed heads; and
//! the client address it hands the guard. Raw TCP, so that the test, not a client library,
//! decides what goes on the wire and when.

use crate::common::{Answer, client};
use axum::Router;
use axum::routing::get;
use secure_api::routing::SecureRouter;
use secure_api::{ClientIp, Server, secure};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn app() -> Router {
    Router::new().route("/", get(|| async { "ok" }))
}

/// A server on a runtime and thread of its own, so that the attacking clients on the test's
/// runtime cannot slow it down except through the sockets. Stops when dropped.
struct Served {
    address: SocketAddr,
    _stop: oneshot::Sender<()>,
}

fn start(app: Router, limits: impl FnOnce(Server) -> Server + Send + 'static) -> Served {
    let (stop, stopped) = oneshot::channel::<()>();
    let (bound, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            // A backlog of 1024: with the 128 of `TcpListener::bind`, the kernel would not
            // queue all of a burst of clients, and one that sends nothing would stay unknown
            // to the server until it gave up.
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(([127, 0, 0, 1], 0).into())
                .expect("bind loopback");
            let listener = socket.listen(1024).expect("listen");
            let _ = bound.send(listener.local_addr().expect("local address"));
            limits(Server::new(listener, app))
                .grace_period(Duration::from_millis(100))
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server");
        });
    });
    Served {
        address: address.recv().expect("the server's address"),
        _stop: stop,
    }
}

/// Reads one response (a head and its `content-length` body); `None` if the connection
/// closes first.
async fn response(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse::<usize>().expect("length"));
            if body.len() >= length {
                return Some(text);
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
}

/// A request on a new connection: its status line and how long it took, connect included.
async fn request(address: SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(GET).await.expect("send");
    let answer = response(&mut stream).await.expect("an answer");
    let status = answer.lines().next().unwrap_or_default().to_owned();
    (status, started.elapsed())
}

/// Waits until the server closes `stream` (EOF or reset) and says when; `None` if it sent
/// bytes instead, or kept it open past `patience`.
async fn closed(stream: &mut TcpStream, patience: Duration) -> Option<Instant> {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(patience, stream.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => Some(Instant::now()),
        Ok(Ok(_)) | Err(_) => None,
    }
}

/// A slowloris: a head that never ends, a byte every 100 ms. Returns how long after its
/// first byte the server closed it; `None` if it answered or never closed.
async fn trickle(address: SocketAddr, patience: Duration) -> Option<Duration> {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
        .iter()
        .chain([b'a'; 200].iter());
    let first = Instant::now();
    let mut buf = [0u8; 64];
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            return Some(first.elapsed());
        }
        tokio::select! {
            read = stream.read(&mut buf) => return match read {
                Ok(0) | Err(_) => Some(first.elapsed()),
                Ok(_) => None,
            },
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if first.elapsed() > patience {
            return None;
        }
    }
    None
}

/// How many attacking connections this process can afford: each costs two descriptors
/// (client and server side), and the other tests of the suite run at the same time.
fn affordable_connections() -> usize {
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    (soft_limit / 8).clamp(60, 600)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_and_idle_connections_are_closed_while_others_are_served() {
    let header = Duration::from_millis(1000);
    let idle = Duration::from_millis(1500);
    let served = start(app(), move |server| {
        server.header_read_timeout(header).idle_timeout(idle)
    });
    let address = served.address;
    let total = affordable_connections();
    let (slow, quiet) = (total * 2 / 3, total / 6);
    let patience = Duration::from_secs(6);

    let slow: Vec<_> = (0..slow)
        .map(|_| tokio::spawn(trickle(address, patience)))
        .collect();
    // Connections that say nothing, and connections kept alive after one answer.
    let quiet: Vec<_> = (0..quiet * 2)
        .map(|n| {
            tokio::spawn(async move {
                // Taken before the server can start its idle timer (at the connection, or
                // after its answer), so that a client task that runs late on a loaded
                // machine cannot make the server look early.
                let since = Instant::now();
                let mut stream = TcpStream::connect(address).await.expect("connect");
                if n % 2 == 1 {
                    stream.write_all(GET).await.expect("send");
                    response(&mut stream).await.expect("an answer");
                }
                closed(&mut stream, patience)
                    .await
                    .map(|at| at.duration_since(since))
            })
        })
        .collect();

    // Meanwhile an honest client, a new connection every 20 ms, until the attack is over.
    let mut latencies = Vec::new();
    let honest_until = Instant::now() + header + idle;
    while Instant::now() < honest_until {
        let (status, took) = request(address).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        latencies.push(took);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut slow_closed = Vec::new();
    for task in slow {
        slow_closed.push(
            task.await
                .expect("slow client")
                .expect("closed, unanswered"),
        );
    }
    let mut quiet_closed = Vec::new();
    for task in quiet {
        quiet_closed.push(task.await.expect("quiet client").expect("closed"));
    }
    latencies.sort();
    slow_closed.sort();
    quiet_closed.sort();
    eprintln!(
        "{} slow heads closed after {:?}..{:?}; {} quiet connections closed after {:?}..{:?}; \
         {} honest requests meanwhile: median {:?}, p99 {:?}, max {:?}",
        slow_closed.len(),
        slow_closed[0],
        slow_closed[slow_closed.len() - 1],
        quiet_closed.len(),
        quiet_closed[0],
        quiet_closed[quiet_closed.len() - 1],
        latencies.len(),
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        latencies[latencies.len() - 1],
    );
    // Closed by the header limit, counted from the first byte, and not much later; a byte
    // every 100 ms did not stretch it.
    assert!(slow_closed[0] >= header, "{:?}", slow_closed[0]);
    assert!(slow_closed[slow_closed.len() - 1] < header + Duration::from_millis(900));
    assert!(quiet_closed[0] >= idle - Duration::from_millis(20));
    assert!(quiet_closed[quiet_closed.len() - 1] < idle + Duration::from_millis(900));
    assert!(latencies.len() >= 40, "{} requests", latencies.len());
    assert!(percentile(&latencies, 50) < Duration::from_millis(50));
    assert!(latencies[latencies.len() - 1] < Duration::from_millis(500));
}

#[tokio::test]
async fn over_the_cap_a_connection_waits_and_is_served_once_one_closes() {
    let served = start(app(), |server| {
        server
            .max_connections(8)
            .idle_timeout(Duration::from_secs(30))
    });
    let address = served.address;
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(GET).await.expect("send");
        response(&mut stream).await.expect("an answer");
        held.push(stream);
    }

    // The ninth connects (the kernel completes the handshake) and sends; nobody answers yet.
    let waiting = tokio::spawn(async move {
        let (status, _) = request(address).await;
        (status, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!waiting.is_finished(), "served over the cap");

    held.truncate(6);
    let freed = Instant::now();
    let (status, answered) = waiting.await.expect("waiting client");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let waited = answered.duration_since(freed);
    assert!(waited < Duration::from_millis(500), "{waited:?}");
    for _ in 0..20 {
        let (status, took) = request(address).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(took < Duration::from_millis(500), "{took:?}");
    }
    eprintln!("over the cap: answered {waited:?} after two connections closed");
}

#[tokio::test]
async fn idle_connections_are_closed_but_a_request_that_has_begun_is_not() {
    let idle = Duration::from_millis(400);
    let served = start(app(), move |server| {
        server
            .idle_timeout(idle)
            .header_read_timeout(Duration::from_secs(3))
    });
    let address = served.address;
    let patience = Duration::from_secs(3);

    let silent = tokio::spawn(async move {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let since = Instant::now();
        closed(&mut stream, patience).await.map(|at| at - since)
    });
    let kept_alive = tokio::spawn(async move {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(GET).await.expect("send");
        response(&mut stream).await.expect("first answer");
        // Within the idle limit the connection is reused.
        tokio::time::sleep(idle / 2).await;
        stream.write_all(GET).await.expect("send again");
        response(&mut stream).await.expect("second answer");
        let since = Instant::now();
        closed(&mut stream, patience).await.map(|at| at - since)
    });
    // A head that starts before the idle limit and ends well after it: the header limit
    // governs from its first byte.
    let slow_but_honest = tokio::spawn(async move {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        tokio::time::sleep(idle * 3 / 4).await;
        for chunk in GET.chunks(4) {
            stream.write_all(chunk).await.expect("send");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        response(&mut stream).await
    });

    let silent = silent.await.expect("silent client").expect("closed");
    let kept_alive = kept_alive
        .await
        .expect("kept-alive client")
        .expect("closed");
    for closed_after in [silent, kept_alive] {
        assert!(
            closed_after >= idle - Duration::from_millis(20),
            "{closed_after:?}"
        );
        assert!(
            closed_after < idle + Duration::from_millis(600),
            "{closed_after:?}"
        );
    }
    let answer = slow_but_honest
        .await
        .expect("slow client")
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

#[secure(public, rate = "2/1m")]
async fn whoami(ClientIp(ip): ClientIp) -> String {
    ip.to_string()
}

#[tokio::test]
async fn the_guard_sees_the_client_address_without_connect_info_plumbing() {
    let app: Router = SecureRouter::new()
        .route("/whoami", secure_api::routing::get(whoami))
        .with_state(secure_api::test::security());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(secure_api::serve(listener, app));
    let url = format!("http://{address}/whoami");
    let http = client();
    for _ in 0..2 {
        let answer = http.get(&url).send().await.expect("request");
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.expect("body"), "127.0.0.1");
    }
    // The per-address budget of two is spent.
    let third = Answer::from(http.get(&url).send().await.expect("request")).await;
    third.assert_problem(429);
}

#[tokio::test]
async fn malformed_heads_get_hyper_s_bare_status_and_the_connection_closes() {
    let served = start(app(), |server| {
        server.max_header_bytes(128 * 1024).max_headers(20)
    });
    let many_headers: String = (0..21).map(|n| format!("X-{n}: y\r\n")).collect();
    let cases = [
        (
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(),
            "400 Bad Request",
        ),
        (b"G\x01T / HTTP/1.1\r\n\r\n".to_vec(), "400 Bad Request"),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
            "400 Bad Request",
        ),
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            "414 URI Too Long",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n",
                "a".repeat(130 * 1024)
            )
            .into_bytes(),
            "431 Request Header Fields Too Large",
        ),
        (
            format!("GET / HTTP/1.1\r\n{many_headers}\r\n").into_bytes(),
            "431 Request Header Fields Too Large",
        ),
    ];
    for (request, status) in cases {
        let mut stream = TcpStream::connect(served.address).await.expect("connect");
        // The server may answer and close before it has read all of a large head.
        let _ = stream.write_all(&request).await;
        let answer = response(&mut stream).await.expect("an answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
        // What hyper writes, not a problem: no content type, no body (see `secure_api::serve`).
        assert!(head.contains("content-length: 0"), "{head}");
        assert!(!head.contains("content-type"), "{head}");
        assert!(body.is_empty());
        assert!(closed(&mut stream, Duration::from_secs(2)).await.is_some());
    }
}

#[tokio::test]
async fn shutdown_lets_a_request_finish_closes_idle_connections_and_stops_accepting() {
    let app = Router::new().route(
        "/",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "done"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::new(listener, app)
            .idle_timeout(Duration::from_secs(30))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let mut idle = TcpStream::connect(address).await.expect("connect");
    let in_flight = tokio::spawn(request(address));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop.send(());

    assert!(closed(&mut idle, Duration::from_secs(1)).await.is_some());
    let (status, _) = in_flight.await.expect("in-flight client");
    assert_eq!(status, "HTTP/1.1 200 OK");
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server returned")
        .expect("server task")
        .expect("no error");
    assert!(TcpStream::connect(address).await.is_err());
}
