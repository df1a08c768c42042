//! The three servers of the throughput comparison (BENCHMARKS.md §2), one per mode, all with
//! the same handler: `POST /notes` with a JSON body `{"text": …}`, answered with JSON.
//!
//! - `bare`: the handler on a plain axum router, no protection at all;
//! - `secure`: `#[secure(role = "admin", rate = …, validate)]` on a `SecureRouter`;
//! - `secure-uncached`: the same with the cache of verified tokens turned off, so that every
//!   request verifies its token (the cost of the first request with a new token);
//! - `handwired`: what a user writes today for the same protections: a JWT-verifying
//!   middleware on jsonwebtoken (issuer, audience, `exp`/`nbf`, leeway, the role),
//!   `tower_governor` keyed by the token's subject, and `axum_valid::Garde<Json<_>>`.
//!
//! Rates are set far above what the load can reach, so that no request is refused and the
//! limiters are measured, not their 429s.
//!
//! Two more modes serve the fleet comparison (BENCHMARKS.md §7, `benches/fleet.sh`): the same
//! handler limited to 600 requests a minute per user, its budgets in memory (`fleet-memory`)
//! or in the Redis of `SECURE_API_REDIS_URL` (`fleet-redis`), under a load where some users
//! stay within their limit and others are throttled. Its floor, `floor-memory` and
//! `floor-redis`, serves the route with no library: one `INCR` per admitted request (or a
//! count in memory), the least a store with one round trip per admitted decision can cost.
//!
//! ```text
//! throughput_server token                 # prints an access token for the load tool
//! throughput_server tokens N              # prints N tokens, for users user-0 … user-N-1
//! throughput_server bare|secure|secure-uncached|handwired|fleet-memory|fleet-redis|floor-memory|floor-redis 127.0.0.1:PORT
//! ```
//!
//! The HS256 secret comes from `SECURE_API_JWT_SECRET_FILE`, as for `Security::from_env`.
//! `benches/throughput.sh` builds and drives it; run without a mode (as `cargo bench` does)
//! it prints how to use it and exits.

#![allow(missing_docs)]

mod servers;

use secure_api::Secret;
use servers::{SECRET_FILE, bare, fleet, floor, handwired, secured, token, token_for};
use std::net::SocketAddr;
use std::time::Duration;

secure_api::roles! { admin }

// ---- driver ----------------------------------------------------------------------------

fn secret_bytes() -> Vec<u8> {
    let path = std::env::var(SECRET_FILE).unwrap_or_else(|_| {
        eprintln!("set {SECRET_FILE} to a file holding at least 32 random bytes");
        std::process::exit(2)
    });
    std::fs::read(path).expect("read the secret file")
}

/// The Redis of the `*-redis` modes, which `benches/fleet.sh` starts.
fn redis_url() -> String {
    std::env::var("SECURE_API_REDIS_URL").expect("SECURE_API_REDIS_URL")
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| arg != "--bench")
        .collect();
    let (mode, address) = match args.as_slice() {
        [mode] if mode == "token" => {
            println!("{}", token(&secret_bytes()));
            return;
        }
        [mode, count] if mode == "tokens" => {
            let secret = secret_bytes();
            let count: usize = count.parse().expect("a number of tokens");
            for user in 0..count {
                println!("{}", token_for(&secret, &format!("user-{user}")));
            }
            return;
        }
        [mode, address] => (mode.as_str(), address.as_str()),
        _ => {
            println!(
                "throughput_server is driven by benches/throughput.sh (see BENCHMARKS.md); \
                 nothing to do without a mode"
            );
            return;
        }
    };
    let address: SocketAddr = address.parse().expect("a socket address");
    assert!(
        address.ip().is_loopback(),
        "the benchmark serves on loopback only"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let router = match mode {
        "bare" => bare(),
        "secure" | "secure-uncached" => {
            secret_bytes(); // the same checks and message as the other modes
            let path = std::env::var(SECRET_FILE).unwrap_or_default();
            let cache = if mode == "secure" { 4096 } else { 0 };
            secured(Secret::from_file(path).expect("secret file"), cache)
        }
        "handwired" => handwired(&secret_bytes()),
        "fleet-memory" | "fleet-redis" => {
            secret_bytes();
            let path = std::env::var(SECRET_FILE).unwrap_or_default();
            let redis = (mode == "fleet-redis").then(|| {
                secure_api::store::RedisStore::from_urls(&redis_url()).expect("a Redis URL")
            });
            fleet(Secret::from_file(path).expect("secret file"), redis)
        }
        "floor-memory" => runtime.block_on(floor(None)),
        "floor-redis" => runtime.block_on(floor(Some(&redis_url()))),
        other => panic!(
            "unknown mode `{other}`: bare, secure, secure-uncached, handwired, fleet-memory, \
             fleet-redis, floor-memory or floor-redis"
        ),
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
        eprintln!("{mode} listening on {address}");
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        );
        // Stops by itself: the script kills it, and it never outlives ten minutes.
        let _ = tokio::time::timeout(Duration::from_secs(600), server).await;
    });
}
