//! Several instances sharing one real `redis-server`: limits hold for the fleet, a refresh
//! token spent on one instance is spent on all, and an outage fails closed then recovers.
//!
//! The tests start `redis-server` themselves on a free loopback port. Without it they say so
//! loudly and pass, unless `TESTS_REQUIRE_REDIS=1` (as CI sets), which makes a missing
//! Redis a failure.

use crate::common::{self, Answer, HmacKey, client, serve};
use crate::redis_server::RedisServer;
use axum::Router;
use secure_api::routing::{SecureRouter, get};
use secure_api::store::RedisStore;
use secure_api::{AuthUser, Principal, Security, secure};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[secure(rate = "100/15m")]
async fn limited(user: AuthUser) -> String {
    user.subject().to_owned()
}

#[secure(api_key, rate = "30/1h")]
async fn export(user: AuthUser) -> String {
    user.api_key_id().unwrap_or_default().to_owned()
}

#[secure(public, rate = "1000/1m")]
async fn fail_closed() -> &'static str {
    "ok"
}

#[secure(
    public,
    rate = "1000/1m",
    limit_fail_open = "a status probe must answer during a Redis outage"
)]
async fn fail_open() -> &'static str {
    "ok"
}

/// One instance of the API: its own `Security`, its own connection to the shared Redis.
async fn instance(key: &HmacKey, redis: &RedisServer) -> (SocketAddr, Security) {
    let security = Security::builder()
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .key(key.key())
        .redis(
            RedisStore::new(&redis.url())
                .expect("redis url")
                .with_prefix("test:"),
        )
        .build()
        .expect("configuration");
    let router: Router = SecureRouter::new()
        .route("/limited", get(limited))
        .route("/export", get(export))
        .route("/fail-closed", get(fail_closed))
        .route("/fail-open", get(fail_open))
        .with_state(security.clone());
    (serve(router).await, security)
}

#[tokio::test]
async fn two_instances_hold_one_limit() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let key = HmacKey::generate();
    let (a, _) = instance(&key, &redis).await;
    let (b, _) = instance(&key, &redis).await;
    let token = common::sign(
        &common::claims("alice", &[], ""),
        jsonwebtoken::Algorithm::HS256,
        &key.encoding(),
        None,
    );
    let http = client();
    let requests = (0..150).map(|n| {
        let address = if n % 2 == 0 { a } else { b };
        http.get(format!("http://{address}/limited"))
            .bearer_auth(&token)
    });
    assert_eq!(common::admitted_and_throttled(requests).await, (100, 50));
    let answer = Answer::from(
        http.get(format!("http://{a}/limited"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    answer.assert_problem(429);
    assert_eq!(answer.header("ratelimit-policy"), "\"user\";q=100;w=900");
    assert!(
        (1..=9).contains(
            &answer
                .header("retry-after")
                .parse::<u64>()
                .expect("seconds")
        )
    );
}

#[tokio::test]
async fn a_refresh_token_spent_on_one_instance_is_spent_on_all() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let key = HmacKey::generate();
    let (_, a) = instance(&key, &redis).await;
    let (_, b) = instance(&key, &redis).await;
    let pair = a
        .issue(&Principal::new("alice", &["pwd"]))
        .await
        .expect("issue");
    let rotated = a.refresh(&pair.refresh_token).await.expect("refresh on A");
    // The old token again, on B: a reuse, which revokes the family for everyone.
    assert!(b.refresh(&pair.refresh_token).await.is_err());
    assert!(a.refresh(&rotated.refresh_token).await.is_err());
    assert!(b.refresh(&rotated.refresh_token).await.is_err());
    // A fresh login starts a new family that works anywhere.
    let fresh = b
        .issue(&Principal::new("alice", &["pwd"]))
        .await
        .expect("issue");
    assert!(a.refresh(&fresh.refresh_token).await.is_ok());
}

#[tokio::test]
async fn a_redis_outage_fails_closed_and_the_service_recovers() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let key = HmacKey::generate();
    let (address, _) = instance(&key, &redis).await;
    let http = client();
    let get = |path: &str| {
        let request = http.get(format!("http://{address}{path}"));
        async move { Answer::from(request.send().await.expect("request")).await }
    };
    assert_eq!(get("/fail-closed").await.status, 200);

    let port = redis.stop();
    let started = Instant::now();
    let down = get("/fail-closed").await;
    down.assert_problem(503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the store timeout"
    );
    // The explicit opt-in lets the probe through; authentication would still fail closed.
    assert_eq!(get("/fail-open").await.status, 200);

    let _redis = RedisServer::start_on(port).expect("restart redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = get("/fail-closed").await.status;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An API key made on one instance works on the other, its budget is one for the fleet, and
/// revoking it on either refuses it on both at once.
#[tokio::test]
async fn api_keys_their_budgets_and_revocations_hold_for_the_fleet() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let key = HmacKey::generate();
    let (a, security_a) = instance(&key, &redis).await;
    let (b, security_b) = instance(&key, &redis).await;
    let created = security_a
        .api_keys()
        .create(secure_api::apikey::NewApiKey::new(
            "svc-export",
            "fleet test",
        ))
        .await
        .expect("created on instance a");
    let http = client();
    let requests = (0..100).map(|n| {
        let address = if n % 2 == 0 { a } else { b };
        http.get(format!("http://{address}/export"))
            .header("x-api-key", created.key.expose())
    });
    assert_eq!(common::admitted_and_throttled(requests).await, (30, 70));

    assert!(
        security_b
            .api_keys()
            .revoke(&created.info.id)
            .await
            .expect("revoked on instance b")
    );
    let refused = Answer::from(
        http.get(format!("http://{a}/export"))
            .header("x-api-key", created.key.expose())
            .send()
            .await
            .expect("request"),
    )
    .await;
    refused.assert_problem(401);
    assert_eq!(refused.body["detail"], "The API key has been revoked.");
}
