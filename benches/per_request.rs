//! What one request costs each server of the throughput comparison in process, without the
//! network (BENCHMARKS.md §2): allocations and bytes allocated, counted by a counting global
//! allocator, and the time per request. Allocation counts do not depend on the machine's
//! load, so they show a change in the request path where the throughput rounds cannot.
//!
//! ```text
//! SECURE_API_JWT_SECRET_FILE=<file of 32+ random bytes> cargo bench --bench per_request
//! MODE=secure REQUESTS=1000 ...                       # one server, e.g. under valgrind
//! ```
//!
//! Each server (`bare`, `secure`, `secure-uncached`, `handwired`, see `servers/mod.rs`) answers
//! the throughput script's request — `POST /notes` with a JSON body and an admin's HS256 token,
//! from a client address as `serve` would give it — first ten times unmeasured (the limiter's
//! clock, the token cache), then `REQUESTS` times (10,000 by default) in a loop that does
//! nothing else. Each answer must be 201. The loop is the function `measured_requests`, so that
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_requests*'`
//! counts the instructions of the requests alone. Run without the secret file (as
//! `cargo bench` does), it says how to run it and exits.

#![allow(missing_docs)]

#[allow(dead_code)] // the fleet servers and the plain token are the throughput script's
mod servers;
#[allow(dead_code)] // only its poll of a future that never waits is needed here
mod support;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use secure_api::Secret;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::time::Instant;
use tower_service::Service;

secure_api::roles! { admin }

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const BODY: &str = r#"{"text":"a note of a reasonable length, sent to be validated"}"#;

fn request(token: &str) -> Request<Body> {
    let mut request = Request::post("/notes")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(BODY))
        .expect("a request");
    let client: SocketAddr = "127.0.0.1:40000".parse().expect("an address");
    request.extensions_mut().insert(ConnectInfo(client));
    request
}

/// Answers each request and reads each answer's body; the statuses are checked afterwards.
/// Every store here is in memory, so nothing waits.
#[inline(never)]
fn measured_requests(router: &Router, requests: Vec<Request<Body>>) -> Vec<StatusCode> {
    support::now_or_never(async {
        let mut statuses = Vec::with_capacity(requests.len());
        for request in requests {
            let mut service = router.clone();
            poll_fn(|context| Service::<Request<Body>>::poll_ready(&mut service, context))
                .await
                .expect("the router is always ready");
            let response = service.call(request).await.expect("infallible");
            statuses.push(response.status());
            axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("the answer's body");
        }
        statuses
    })
}

fn main() {
    let Ok(secret_file) = std::env::var(servers::SECRET_FILE) else {
        println!(
            "per_request counts what a request costs each server in process; set {} to a file \
             of at least 32 random bytes to run it (BENCHMARKS.md §2)",
            servers::SECRET_FILE
        );
        return;
    };
    let secret_bytes = std::fs::read(&secret_file).expect("read the secret file");
    let token = servers::token_for(&secret_bytes, "user-4242");
    let count: usize = std::env::var("REQUESTS")
        .ok()
        .map(|count| count.parse().expect("REQUESTS: a number"))
        .unwrap_or(10_000);
    let only = std::env::var("MODE").ok();
    // Built inside a runtime: the token cache and the limiter start their sweeps on it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _entered = runtime.enter();
    let secret = || Secret::from_file(&secret_file).expect("secret file");

    println!("| server | allocations / request | bytes / request | µs / request |");
    println!("|---|---:|---:|---:|");
    for mode in ["bare", "secure", "secure-uncached", "handwired"] {
        if only.as_deref().is_some_and(|only| only != mode) {
            continue;
        }
        let router = match mode {
            "bare" => servers::bare(),
            "secure" => servers::secured(secret(), 4096),
            "secure-uncached" => servers::secured(secret(), 0),
            _ => servers::handwired(&secret_bytes),
        };
        let warm_up = (0..10).map(|_| request(&token)).collect();
        assert!(
            measured_requests(&router, warm_up)
                .iter()
                .all(|status| *status == StatusCode::CREATED),
            "{mode}: a warm-up request was refused"
        );

        let requests = (0..count).map(|_| request(&token)).collect();
        let region = Region::new(GLOBAL);
        let started = Instant::now();
        let statuses = measured_requests(&router, requests);
        let elapsed = started.elapsed();
        let stats = region.change();
        // The statuses' vector is the loop's own allocation, not a request's.
        let allocations = stats.allocations.saturating_sub(1) as f64 / count as f64;
        let bytes = stats
            .bytes_allocated
            .saturating_sub(count * size_of::<StatusCode>()) as f64
            / count as f64;
        assert!(
            statuses.iter().all(|status| *status == StatusCode::CREATED),
            "{mode}: a request was refused"
        );
        println!(
            "| {mode} | {allocations:.2} | {bytes:.0} | {:.2} |",
            elapsed.as_secs_f64() * 1e6 / count as f64
        );
    }
}
