//! Abuse from the outside, over real HTTP: a login flood does not stall the rest of the API,
//! an attacker's failures lock out nobody but the attacker, and the in-memory budgets stay
//! within their cap under a flood of new clients.

use crate::common::{Answer, HmacKey, client, serve};
use axum::Json;
use axum::extract::State;
use secure_api::login::{Login, LoginLimits, Passwords};
use secure_api::routing::{SecureRouter, get, post};
use secure_api::{ClientIp, Problem, Security, TrustedProxies, secure};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
struct App {
    security: Security,
    login: Arc<Login>,
    /// The one account: `admin`, whose password is `right`.
    hash: Arc<str>,
}

impl axum::extract::FromRef<App> for Security {
    fn from_ref(app: &App) -> Security {
        app.security.clone()
    }
}

#[derive(serde::Deserialize, garde::Validate)]
struct Credentials {
    #[garde(length(min = 1, max = 64))]
    username: String,
    #[garde(length(min = 1, max = 128))]
    password: String,
}

#[secure(public, rate = "100000/1m")]
async fn health() -> &'static str {
    "ok"
}

#[secure(public, rate = "100000/1m", validate)]
async fn sign_in(
    State(app): State<App>,
    ClientIp(client): ClientIp,
    Json(given): Json<Credentials>,
) -> Result<&'static str, Problem> {
    let stored = (given.username == "admin").then(|| (app.hash.to_string(), ()));
    app.login
        .attempt(&given.username, &given.password, client, stored)
        .await?;
    Ok("signed in")
}

/// Serves the app; `X-Forwarded-For` from loopback is believed, so that a test can speak
/// from several client addresses.
async fn start(passwords: Passwords, limits: LoginLimits) -> SocketAddr {
    let key = HmacKey::generate();
    let security = Security::builder()
        .issuer(crate::common::ISSUER)
        .audience(crate::common::AUDIENCE)
        .key(key.key())
        .trusted_proxies(TrustedProxies::parse("127.0.0.1").expect("proxies"))
        .build()
        .expect("configuration");
    let login = Login::with_passwords(passwords, limits).with_store(security.limit_store());
    let hash = login.hash_password("right").await.expect("hash").into();
    let app = App {
        security,
        login: Arc::new(login),
        hash,
    };
    let router = SecureRouter::new()
        .route("/health", get(health))
        .route("/login", post(sign_in))
        .with_state(app);
    serve(router).await
}

async fn sign_in_as(
    http: &reqwest::Client,
    address: SocketAddr,
    from: &str,
    username: &str,
    password: &str,
) -> Answer {
    let response = http
        .post(format!("http://{address}/login"))
        .header("x-forwarded-for", from)
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("request");
    Answer::from(response).await
}

/// Five failures from one address lock `admin` there — and nowhere else.
#[tokio::test]
async fn an_attacker_cannot_lock_the_administrator_out() {
    let light = Passwords::with_params(1024, 1, 1).expect("params");
    let address = start(light, LoginLimits::default()).await;
    let http = client();
    for _ in 0..5 {
        sign_in_as(&http, address, "198.51.100.66", "admin", "guess")
            .await
            .assert_problem(401);
    }
    let locked = sign_in_as(&http, address, "198.51.100.66", "admin", "right").await;
    locked.assert_problem(429);
    assert!(
        locked
            .header("retry-after")
            .parse::<u64>()
            .expect("seconds")
            > 0
    );
    // The owner, from their own address, signs in.
    let owner = sign_in_as(&http, address, "192.0.2.10", "admin", "right").await;
    assert_eq!(owner.status, 200, "{}", owner.body);
    // A port on the forwarded address changes nothing: it is the same client.
    sign_in_as(&http, address, "198.51.100.66:5555", "admin", "right")
        .await
        .assert_problem(429);
}

/// argon2 runs on the blocking pool, at most one hash per core: under a flood of logins
/// `/health` keeps answering quickly, and the logins over the bound get 503 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_keeps_answering_during_a_login_flood() {
    let address = start(Passwords::new(), LoginLimits::default()).await;
    let http = client();
    let flood_until = Instant::now() + Duration::from_secs(3);
    let mut flooders = Vec::new();
    for n in 0..32u32 {
        let http = http.clone();
        flooders.push(tokio::spawn(async move {
            let (mut answered, mut busy) = (0u32, 0u32);
            while Instant::now() < flood_until {
                // Every flooder has its own address and account, so no lock-out stops it.
                let from = format!("10.{}.{}.1", n / 250, n % 250);
                let answer = sign_in_as(&http, address, &from, &format!("user{n}"), "x").await;
                match answer.status {
                    401 => answered += 1,
                    503 => {
                        assert_eq!(answer.header("retry-after"), "1");
                        busy += 1;
                    }
                    429 => {}
                    status => panic!("unexpected {status}: {}", answer.body),
                }
            }
            (answered, busy)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    while Instant::now() + Duration::from_millis(200) < flood_until {
        let started = Instant::now();
        let answer = http
            .get(format!("http://{address}/health"))
            .send()
            .await
            .expect("health");
        assert_eq!(answer.status(), 200);
        slowest = slowest.max(started.elapsed());
        probes += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut answered, mut busy) = (0, 0);
    for flooder in flooders {
        let (a, b) = flooder.await.expect("flooder");
        answered += a;
        busy += b;
    }
    eprintln!(
        "login flood: {answered} logins checked, {busy} answered 503; /health: {probes} probes, slowest {slowest:?}"
    );
    assert!(answered > 0, "no login was checked at all");
    assert!(busy > 0, "the hashing bound was never reached");
    // Were the hashes on the executor, a probe would wait behind the hashes in flight on its
    // worker thread (≈ 0.2 s each here, 32 logins in flight); the bound is loose for a busy
    // CI machine.
    assert!(probes >= 10, "{probes}");
    assert!(
        slowest < Duration::from_millis(750),
        "/health took {slowest:?} during the flood"
    );
}
