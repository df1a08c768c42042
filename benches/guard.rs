//! Per-request cost of the `#[secure]` guard against the bare `jsonwebtoken::decode` of the
//! same token (BENCHMARKS.md §1).
//!
//! ```text
//! cargo bench --bench guard
//! ```
//!
//! For each algorithm (HS256, ES256, EdDSA) — and for ES256 once more with the key fetched
//! from a JWK Set URL (`ES256-jwks`), which must cost the same — it measures:
//!
//! - `bare_typed`: `jsonwebtoken::decode` into a typed claims struct with the same
//!   `Validation` (issuer, audience, `exp`/`nbf`, leeway, required claims) — what a
//!   hand-written middleware does, and the baseline of the target;
//! - `bare_map`: the same into a `serde_json::Map`, which is what the guard keeps (every
//!   claim is available to the handler through `AuthUser::claims`);
//! - `guard_uncached`: `Guard<P>::from_request_parts` for `#[secure(role = "admin", rate =
//!   …)]` on a request with the bearer token and the client address, i.e. everything the
//!   guard does before the handler: client address, header and `typ` checks, verification,
//!   the identity, the revocation lookup, the in-memory rate limiter, the role check, the
//!   audit events and counters (no tracing subscriber, as in a benchmark of the hand-written
//!   middleware) and the request extensions — with the cache of verified tokens turned off,
//!   so that every iteration verifies the token, as the first request with a token does;
//! - `guard`: the same in the default configuration, where a token seen before is not
//!   verified again (only its `exp` is checked): every later request of a session.
//!
//! The guard's futures never wait (in-memory stores), so they are polled once with a no-op
//! waker instead of going through an async runtime.
//!
//! The group `contention` runs the cached HS256 guard on one thread, then on two threads at
//! once (each its own request), and reports each thread's time per request: what the second
//! core costs the first. `same_token` is one busy client on both cores (its rate-limit state
//! is shared by nature); `own_token` is a different user on each core, who share nothing but
//! the handler's limiter and the caches' maps. On a machine with two free cores the two-thread
//! time equals the one-thread time when nothing is written by both.

#![allow(missing_docs)]

mod support;

use axum::extract::FromRequestParts;
use axum::http::header;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use secure_api::guard::Guard;
use secure_api::jwt::Key;
use secure_api::{Security, secure};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};
use support::{AUDIENCE, HmacKey, ISSUER, now_or_never, request_parts};

secure_api::roles! { admin }

// A rate far above what one core can ask for, so that the limiter is measured but never
// refuses.
#[allow(dead_code)] // only its policy is used
#[secure(role = "admin", rate = "1000000000/1s")]
async fn handler() {}

type AdminGuard = Guard<__secure_policy_handler>;

/// What a hand-written middleware deserializes.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct BareClaims {
    sub: String,
    iss: String,
    aud: String,
    exp: u64,
    nbf: u64,
    jti: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scope: String,
}

/// One algorithm's configuration and a token for it.
struct Case {
    name: &'static str,
    algorithm: Algorithm,
    /// The default configuration: a token seen before is not verified again.
    security: Security,
    /// Without the cache of verified tokens: every request verifies its token, as the first
    /// request with a new token does.
    uncached: Security,
    decoding: DecodingKey,
    token: String,
}

/// Claims as `Security::issue` writes them (with a `jti`, so the revocation lookup runs).
fn token_claims() -> Value {
    let now = support::now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-4242",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "Zb1v4Qm0hYc2m7nQeXk0xA",
        "roles": ["admin"],
        "scope": "notes:read notes:write",
        "amr": ["pwd"],
        "auth_time": now,
    })
}

fn security(key: Key, verified_token_cache: usize) -> Security {
    Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(key)
        .verified_token_cache(verified_token_cache)
        .build()
        .expect("configuration")
}

/// The default configuration and one without the cache of verified tokens.
fn securities(key: impl Fn() -> Key) -> (Security, Security) {
    (security(key(), 4096), security(key(), 0))
}

fn cases() -> Vec<Case> {
    let claims = token_claims();

    let hmac = HmacKey::generate();
    let (security, uncached) = securities(|| hmac.key());
    let hs256 = Case {
        name: "HS256",
        algorithm: Algorithm::HS256,
        security,
        uncached,
        decoding: DecodingKey::from_secret(&hmac.bytes),
        token: support::sign(&claims, Algorithm::HS256, &hmac.encoding()),
    };

    let ec = p256::SecretKey::random(&mut rand08::thread_rng());
    let ec_private = ec.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let ec_public = ec
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let (security, uncached) =
        securities(|| Key::public_pem(Algorithm::ES256, ec_public.as_bytes()).expect("key"));
    let es256 = Case {
        name: "ES256",
        algorithm: Algorithm::ES256,
        security,
        uncached,
        decoding: DecodingKey::from_ec_pem(ec_public.as_bytes()).expect("key"),
        token: support::sign(
            &claims,
            Algorithm::ES256,
            &EncodingKey::from_ec_pem(ec_private.as_bytes()).expect("key"),
        ),
    };

    let ed = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let ed_private = ed.to_pkcs8_pem(LineEnding::LF).expect("pem");
    let ed_public = ed
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let (security, uncached) =
        securities(|| Key::public_pem(Algorithm::EdDSA, ed_public.as_bytes()).expect("key"));
    let eddsa = Case {
        name: "EdDSA",
        algorithm: Algorithm::EdDSA,
        security,
        uncached,
        decoding: DecodingKey::from_ed_pem(ed_public.as_bytes()).expect("key"),
        token: support::sign(
            &claims,
            Algorithm::EdDSA,
            &EncodingKey::from_ed_pem(ed_private.as_bytes()).expect("key"),
        ),
    };
    let es256_jwks = jwks_case(&ec_private, &claims);
    vec![hs256, es256, es256_jwks, eddsa]
}

/// ES256 with the key fetched from a JWK Set served on loopback: the set is fetched by the
/// first request (on a runtime), after which the guard verifies without waiting, as above.
fn jwks_case(ec_private: &str, claims: &Value) -> Case {
    let encoding = EncodingKey::from_ec_pem(ec_private.as_bytes()).expect("key");
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("jwk");
    let document = json!({ "keys": [jwk] });
    let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime"),
    ));
    let url = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let keys = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || async move { axum::Json(document) }),
        );
        tokio::spawn(async move { axum::serve(listener, keys).await });
        format!("http://{address}/jwks")
    });
    let fetched = |cache: usize| {
        runtime.block_on(async {
            Security::builder()
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .jwks_url(&url)
                .key_algorithms([Algorithm::ES256])
                .verified_token_cache(cache)
                .build()
                .expect("configuration")
        })
    };
    let token = support::sign(claims, Algorithm::ES256, &encoding);
    let (security, uncached) = (fetched(4096), fetched(0));
    for security in [&security, &uncached] {
        let mut parts = request_parts("/notes", header::AUTHORIZATION, format!("Bearer {token}"));
        runtime
            .block_on(AdminGuard::from_request_parts(&mut parts, security))
            .expect("the key set is fetched and admits the token");
    }
    Case {
        name: "ES256-jwks",
        algorithm: Algorithm::ES256,
        security,
        uncached,
        decoding: DecodingKey::from_jwk(&jwk).expect("key"),
        token,
    }
}

/// The validation a careful hand-written middleware sets up: the guard's own settings.
fn bare_validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 10;
    validation.validate_nbf = true;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

fn guard(c: &mut Criterion) {
    for case in cases() {
        let validation = bare_validation(case.algorithm);
        // Every path must accept the token, or the benchmark would time a rejection.
        jsonwebtoken::decode::<BareClaims>(&case.token, &case.decoding, &validation)
            .expect("bare decode accepts the token");
        let mut parts = request_parts(
            "/notes",
            header::AUTHORIZATION,
            format!("Bearer {}", case.token),
        );
        now_or_never(AdminGuard::from_request_parts(&mut parts, &case.security))
            .expect("the guard admits the token");
        now_or_never(AdminGuard::from_request_parts(&mut parts, &case.uncached))
            .expect("the guard admits the token");

        let mut group = c.benchmark_group(case.name);
        group.bench_function(BenchmarkId::new("bare_typed", case.name), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BareClaims>(
                    black_box(&case.token),
                    &case.decoding,
                    &validation,
                )
                .expect("valid")
            })
        });
        group.bench_function(BenchmarkId::new("bare_map", case.name), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Map<String, Value>>(
                    black_box(&case.token),
                    &case.decoding,
                    &validation,
                )
                .expect("valid")
            })
        });
        group.bench_function(BenchmarkId::new("guard_uncached", case.name), |b| {
            b.iter(|| {
                now_or_never(AdminGuard::from_request_parts(
                    black_box(&mut parts),
                    &case.uncached,
                ))
                .expect("admitted")
            })
        });
        group.bench_function(BenchmarkId::new("guard", case.name), |b| {
            b.iter(|| {
                now_or_never(AdminGuard::from_request_parts(
                    black_box(&mut parts),
                    &case.security,
                ))
                .expect("admitted")
            })
        });
        group.finish();
    }
}

/// One guard request after another on each of `threads` threads, each with its own request
/// for `tokens[thread]`: the slowest thread's time.
fn guard_on_threads(security: &Security, tokens: &[String], iterations: u64) -> Duration {
    let start = Barrier::new(tokens.len());
    std::thread::scope(|scope| {
        let threads: Vec<_> = tokens
            .iter()
            .map(|token| {
                let start = &start;
                scope.spawn(move || {
                    let mut parts =
                        request_parts("/notes", header::AUTHORIZATION, format!("Bearer {token}"));
                    start.wait();
                    let begun = Instant::now();
                    for _ in 0..iterations {
                        now_or_never(AdminGuard::from_request_parts(
                            black_box(&mut parts),
                            security,
                        ))
                        .expect("admitted");
                    }
                    begun.elapsed()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a guard thread"))
            .max()
            .unwrap_or_default()
    })
}

fn contention(c: &mut Criterion) {
    let hmac = HmacKey::generate();
    let security = security(hmac.key(), 4096);
    let token = |subject: &str| {
        let mut claims = token_claims();
        claims["sub"] = subject.into();
        support::sign(&claims, Algorithm::HS256, &hmac.encoding())
    };
    let (alice, bob) = (token("alice"), token("bob"));
    let mut group = c.benchmark_group("contention");
    let cases = [
        ("one_thread", vec![alice.clone()]),
        ("same_token", vec![alice.clone(), alice.clone()]),
        ("own_token", vec![alice, bob]),
    ];
    for (name, tokens) in cases {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| guard_on_threads(&security, &tokens, iterations))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion_config();
    targets = guard, contention
}
criterion_main!(benches);
