//! What checking an API key costs against checking a bearer JWT (HS256), in one run
//! (BENCHMARKS.md §6).
//!
//! ```text
//! cargo bench --bench api_key -- --measurement-time 3
//! ```
//!
//! - `api_key_verify`: `security.api_keys().verify(key)` on the in-memory store — format and
//!   checksum, SHA-256 of the key, the lookup by id, the constant-time comparison, revocation
//!   and expiry (the last-use time is written once a minute, so almost never here);
//! - `bearer_verify`: `security.verify(token)`, the public way to check a token: signature
//!   and claims every time (it does not go through the cache of verified tokens, which only
//!   the guard uses);
//! - `guard_bearer_cached`: the whole guard of `#[secure(rate = …)]` on a request with the
//!   token, in the default configuration: a token seen before is not verified again;
//! - `guard_bearer_fresh`: the same with the cache turned off, so that the token is verified
//!   as a fresh one is (as `guard_uncached` in `benches/guard.rs`);
//! - `guard_api_key`: the whole guard of `#[secure(api_key, rate = …)]` on a request with the
//!   key in `X-API-Key` — the bearer guard's counterpart, same limiter, same counters.
//!
//! The guard does more than check a credential (client address, rate limiter, audit
//! counters, request extensions): its two figures bound what a bearer token costs a request,
//! they are not the verification alone. The futures never wait (in-memory stores), so they are
//! polled once with a no-op waker.

#![allow(missing_docs)]

mod support;

use axum::extract::FromRequestParts;
use axum::http::header;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::Algorithm;
use secure_api::apikey::NewApiKey;
use secure_api::guard::Guard;
use secure_api::{Security, secure};
use serde_json::json;
use std::hint::black_box;
use support::{AUDIENCE, HmacKey, ISSUER, now_or_never, request_parts};

// A rate far above what one core can ask for, so that the limiter is measured but never
// refuses.
#[allow(dead_code)] // only its policy is used
#[secure(rate = "1000000000/1s")]
async fn handler() {}

type AuthenticatedGuard = Guard<__secure_policy_handler>;

#[allow(dead_code)] // only its policy is used
#[secure(api_key, rate = "1000000000/1s")]
async fn machine_handler() {}

type ApiKeyGuard = Guard<__secure_policy_machine_handler>;

fn security(hmac: &HmacKey, verified_token_cache: usize) -> Security {
    Security::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(hmac.key())
        .verified_token_cache(verified_token_cache)
        .build()
        .expect("configuration")
}

/// Claims as `Security::issue` writes them (with a `jti`, so the revocation lookup runs).
fn token(hmac: &HmacKey) -> String {
    let now = support::now();
    let claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "svc-reports",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "Zb1v4Qm0hYc2m7nQeXk0xA",
        "scope": "reports:read",
    });
    support::sign(&claims, Algorithm::HS256, &hmac.encoding())
}

fn api_key(c: &mut Criterion) {
    let hmac = HmacKey::generate();
    let (security, fresh) = (security(&hmac, 4096), security(&hmac, 0));
    let created = now_or_never(
        security
            .api_keys()
            .create(NewApiKey::new("svc-reports", "bench").with_scopes(&["reports:read"])),
    )
    .expect("a key");
    let key = created.key.expose();
    let token = token(&hmac);
    let mut parts = request_parts("/reports", header::AUTHORIZATION, format!("Bearer {token}"));
    let mut key_parts = request_parts(
        "/reports",
        header::HeaderName::from_static("x-api-key"),
        key.to_owned(),
    );

    // Every path must accept its credential, or the benchmark would time a rejection.
    now_or_never(security.api_keys().verify(key)).expect("the key verifies");
    security.verify(&token).expect("the token verifies");
    now_or_never(AuthenticatedGuard::from_request_parts(
        &mut parts, &security,
    ))
    .expect("the guard admits the token");
    now_or_never(AuthenticatedGuard::from_request_parts(&mut parts, &fresh))
        .expect("the guard admits the token");
    now_or_never(ApiKeyGuard::from_request_parts(&mut key_parts, &security))
        .expect("the guard admits the key");

    let mut group = c.benchmark_group("credential");
    group.bench_function("api_key_verify", |b| {
        b.iter(|| now_or_never(security.api_keys().verify(black_box(key))).expect("verified"))
    });
    group.bench_function("bearer_verify", |b| {
        b.iter(|| security.verify(black_box(&token)).expect("verified"))
    });
    group.bench_function("guard_bearer_cached", |b| {
        b.iter(|| {
            now_or_never(AuthenticatedGuard::from_request_parts(
                black_box(&mut parts),
                &security,
            ))
            .expect("admitted")
        })
    });
    group.bench_function("guard_bearer_fresh", |b| {
        b.iter(|| {
            now_or_never(AuthenticatedGuard::from_request_parts(
                black_box(&mut parts),
                &fresh,
            ))
            .expect("admitted")
        })
    });
    group.bench_function("guard_api_key", |b| {
        b.iter(|| {
            now_or_never(ApiKeyGuard::from_request_parts(
                black_box(&mut key_parts),
                &security,
            ))
            .expect("admitted")
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion_config();
    targets = api_key
}
criterion_main!(benches);
