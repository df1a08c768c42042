//! `RedisStore`'s failure counts and one-time values against a real `redis-server`, shared by
//! two stores built separately — two connection pools, as two instances of an API have: the
//! semantics of the in-memory store (`limit/memory.rs`), held for the whole fleet. And the
//! denials an instance remembers, so that a throttled client costs Redis nothing.

use crate::redis_server::{RedisServer, per_user};
use secure_api::limit::{FailureCounter, OneTime, RateLimitStore, Subject};
use secure_api::store::RedisStore;
use std::time::Duration;

/// Two instances' stores on one Redis, under one prefix.
fn fleet(redis: &RedisServer, prefix: &str) -> (RedisStore, RedisStore) {
    (redis.store(prefix), redis.store(prefix))
}

/// The rate-limit scripts Redis has run so far (`INFO commandstats`).
fn scripts_run(redis: &RedisServer) -> u64 {
    let info: String = redis.query(&["INFO", "commandstats"]);
    info.lines()
        .filter(|line| line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:"))
        .filter_map(|line| {
            line.split_once("calls=")?
                .1
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// Once Redis has denied a client, the instance answers the client's further requests in that
/// bucket itself until the retry time: the same 429, no round trip. Another instance, which
/// has not seen the denial, asks Redis (and is denied too); after the retry time Redis
/// decides again.
#[tokio::test]
async fn a_denial_is_answered_by_the_instance_until_its_retry_time() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = fleet(&redis, "denials:");
    let bucket = per_user("reports", 2, Duration::from_millis(800));
    let eve = Subject::User("eve".into());
    for _ in 0..2 {
        assert!(a.check(&bucket, &eve).await.expect("check").allowed);
    }
    let denied = a.check(&bucket, &eve).await.expect("check");
    assert!(!denied.allowed);
    let before = scripts_run(&redis);
    for _ in 0..20 {
        let again = a.check(&bucket, &eve).await.expect("check");
        assert!(!again.allowed);
        assert_eq!(again.remaining, 0);
        assert!(again.retry_after > Duration::ZERO && again.retry_after <= denied.retry_after);
    }
    assert_eq!(scripts_run(&redis), before, "answered without a round trip");

    let other = Subject::User("bob".into());
    assert!(
        a.check(&bucket, &other).await.expect("check").allowed,
        "bob is not eve"
    );
    assert!(!b.check(&bucket, &eve).await.expect("check").allowed);
    assert_eq!(
        scripts_run(&redis),
        before + 2,
        "bob and the other instance asked Redis"
    );

    tokio::time::sleep(denied.retry_after + Duration::from_millis(50)).await;
    assert!(
        a.check(&bucket, &eve).await.expect("check").allowed,
        "at the retry time Redis decides, and admits"
    );
}

/// Decisions that arrive together go to Redis together: far fewer scripts than decisions,
/// and each as exact as alone. Two requests of one client in one batch are decided in turn,
/// so each client is admitted exactly its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_share_scripts_and_admit_exactly_the_limit() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let store = redis.store("batches:");
    let bucket = per_user("notes", 50, Duration::from_secs(60));
    const CLIENTS: usize = 4;
    const REQUESTS: usize = 400;
    let before = scripts_run(&redis);
    let checks: Vec<_> = (0..REQUESTS)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let client = n % CLIENTS;
                let subject = Subject::User(format!("client-{client}").into());
                (client, store.check(&bucket, &subject).await.expect("check"))
            })
        })
        .collect();
    let mut admitted = [0; CLIENTS];
    for check in checks {
        let (client, decision) = check.await.expect("the check's task");
        admitted[client] += usize::from(decision.allowed);
    }
    assert_eq!(admitted, [50; CLIENTS], "exactly the limit, per client");
    let scripts = scripts_run(&redis) - before;
    assert!(
        scripts < (REQUESTS / 4) as u64,
        "{REQUESTS} decisions took {scripts} scripts"
    );
}

/// A rate key that holds something other than a time (another program wrote it) fails its
/// own client's decisions closed, and not the others' that shared the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_key_fails_its_own_decisions_not_its_batch() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let store = redis.store("broken:");
    let bucket = per_user("notes", 1_000, Duration::from_secs(60));
    let subject = |n: usize| Subject::User(format!("client-{n}").into());
    assert!(
        store
            .check(&bucket, &subject(0))
            .await
            .expect("check")
            .allowed
    );
    let keys: Vec<String> = redis.query(&["KEYS", "broken:*"]);
    let [key] = keys.as_slice() else {
        panic!("one rate key: {keys:?}")
    };
    let _: i64 = redis.query(&["DEL", key]);
    let _: i64 = redis.query(&["HSET", key, "not", "a time"]);

    let checks: Vec<_> = (0..200)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { (n % 4, store.check(&bucket, &subject(n % 4)).await) })
        })
        .collect();
    for check in checks {
        match check.await.expect("the check's task") {
            (0, decision) => assert!(decision.is_err(), "{decision:?}"),
            (_, decision) => assert!(decision.expect("check").allowed),
        }
    }
}

/// A store can outlive the runtime it was first used on: a store in a `static`, used by one
/// `#[tokio::test]` after another. The connection died with that runtime, so the next
/// runtime's first call may be refused as unavailable (never admitted) while it is remade;
/// then the budgets carry on.
#[test]
fn a_store_keeps_deciding_after_its_first_runtime_has_ended() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let store = redis.store("runtimes:");
    let bucket = per_user("reports", 3, Duration::from_secs(60));
    let ada = Subject::User("ada".into());
    let checks = |count: usize| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut allowed = Vec::new();
            let mut unavailable = 0;
            while allowed.len() < count {
                match store.check(&bucket, &ada).await {
                    Ok(decision) => allowed.push(decision.allowed),
                    Err(_) if unavailable == 0 => unavailable += 1,
                    Err(error) => panic!("unavailable again: {error}"),
                }
            }
            allowed
        })
    };
    assert_eq!(checks(2), [true, true]);
    assert_eq!(
        checks(2),
        [true, false],
        "the first runtime's budget is spent"
    );
}

#[tokio::test]
async fn failure_counts_are_fleet_wide_and_forgotten_with_their_window() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = fleet(&redis, "failures:");
    let counter = FailureCounter {
        name: "login_account",
        key: "9f86d081884c7d65",
        window: Duration::from_millis(400),
    };
    assert_eq!(a.failures(&counter).await.expect("peek").count, 0);
    assert_eq!(a.add_failure(&counter).await.expect("add").count, 1);
    let second = b
        .add_failure(&counter)
        .await
        .expect("add on the other instance");
    assert_eq!(second.count, 2);
    assert!(
        second.resets_in > Duration::ZERO && second.resets_in <= Duration::from_millis(400),
        "{second:?}"
    );
    let peek = a.failures(&counter).await.expect("peek");
    assert_eq!(peek.count, 2, "a peek counts nothing");
    assert!(peek.resets_in <= second.resets_in);

    // Another name or key is another count.
    let other = FailureCounter {
        name: "login_address",
        ..counter
    };
    assert_eq!(b.failures(&other).await.expect("peek").count, 0);

    b.clear_failures(&counter).await.expect("clear");
    assert_eq!(a.failures(&counter).await.expect("peek").count, 0);

    // The first failure starts the window; the count is forgotten when it has passed, and
    // the next failure starts a new one.
    a.add_failure(&counter).await.expect("add");
    b.add_failure(&counter).await.expect("add");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let forgotten = b.failures(&counter).await.expect("peek");
    assert_eq!((forgotten.count, forgotten.resets_in), (0, Duration::ZERO));
    let fresh = a.add_failure(&counter).await.expect("add");
    assert_eq!(fresh.count, 1, "a new window");
    assert!(fresh.resets_in > Duration::from_millis(300), "{fresh:?}");
}

#[tokio::test]
async fn concurrent_failures_are_each_counted_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = fleet(&redis, "concurrent-failures:");
    let counter = FailureCounter {
        name: "login_address",
        key: "192.0.2.7",
        window: Duration::from_secs(60),
    };
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.add_failure(&counter).await.expect("add").count })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("task"));
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<u32>>(),
        "each count seen once"
    );
    assert_eq!(a.failures(&counter).await.expect("peek").count, 40);
}

#[tokio::test]
async fn a_one_time_value_is_accepted_once_by_the_whole_fleet() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = fleet(&redis, "once:");
    let once = OneTime {
        name: "totp",
        key: "account-42",
        ttl: Duration::from_secs(90),
    };
    // Twenty concurrent uses of one code, over two instances: exactly one passes.
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.spend_once(&once, 58_806_123).await.expect("spend") })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.expect("task"));
    }
    assert_eq!(accepted, 1);

    // A value below the last accepted one is spent too; a greater one is accepted once.
    assert!(!a.spend_once(&once, 58_806_122).await.expect("spend"));
    assert!(b.spend_once(&once, 58_806_124).await.expect("spend"));
    assert!(!a.spend_once(&once, 58_806_124).await.expect("spend"));

    // Every u64 compares exactly, past the 2^53 where Lua's numbers stop being exact.
    let big = OneTime {
        key: "account-big",
        ..once
    };
    assert!(a.spend_once(&big, u64::MAX - 1).await.expect("spend"));
    assert!(!b.spend_once(&big, u64::MAX - 2).await.expect("spend"));
    assert!(!b.spend_once(&big, u64::MAX - 1).await.expect("spend"));
    assert!(b.spend_once(&big, u64::MAX).await.expect("spend"));
    assert!(
        a.spend_once(
            &OneTime {
                key: "nine",
                ..once
            },
            9
        )
        .await
        .expect("spend")
    );
    assert!(
        b.spend_once(
            &OneTime {
                key: "nine",
                ..once
            },
            10
        )
        .await
        .expect("spend"),
        "10 > 9 though \"10\" < \"9\" as text"
    );

    // The value is remembered for `ttl` after the last acceptance, then forgotten.
    let short = OneTime {
        key: "account-short",
        ttl: Duration::from_millis(300),
        ..once
    };
    assert!(a.spend_once(&short, 7).await.expect("spend"));
    assert!(!b.spend_once(&short, 7).await.expect("spend"));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(b.spend_once(&short, 6).await.expect("forgotten, any value"));
}

/// Whatever the store writes for limits and tokens expires on its own: Redis memory stays
/// bounded. (API keys are the exception, kept until removed: see `api_key_stores`.)
#[tokio::test]
async fn every_key_expires_on_its_own() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, _) = fleet(&redis, "bounded:");
    let counter = FailureCounter {
        name: "login_account",
        key: "h",
        window: Duration::from_secs(60),
    };
    a.add_failure(&counter).await.expect("add");
    a.spend_once(
        &OneTime {
            name: "totp",
            key: "k",
            ttl: Duration::from_secs(60),
        },
        1,
    )
    .await
    .expect("spend");
    let client = ::redis::Client::open(redis.url()).expect("url");
    let mut connection = client.get_connection().expect("connect");
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("bounded:*")
        .query(&mut connection)
        .expect("keys");
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in keys {
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(&key)
            .query(&mut connection)
            .expect("pttl");
        assert!(ttl > 0, "{key} has no expiry");
    }
}

/// A certificate chain signed by a CA of the test's own, which no platform trusts, for
/// 127.0.0.1; the files in the returned directory, and the CA as PEM.
fn untrusted_chain() -> (tempfile::TempDir, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "secure-api redis test CA");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("parameters");
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("chain.pem"), cert.pem() + &ca.pem()).expect("chain");
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).expect("key");
    (dir, ca.pem())
}

/// `rediss://` speaks TLS and verifies the server's certificate against the platform's
/// roots: a server whose certificate chains to an unknown CA is refused, though a client
/// told to trust that CA talks to it; and `#insecure` is refused outright.
#[tokio::test]
async fn rediss_verifies_the_server_certificate() {
    let (dir, ca) = untrusted_chain();
    let Some(redis) =
        RedisServer::start_tls(&dir.path().join("chain.pem"), &dir.path().join("key.pem"))
    else {
        return;
    };
    // The store installs ring as rustls' provider; the trusting client below needs it too.
    let store = RedisStore::new(&redis.url()).expect("a rediss URL");
    let trusting = ::redis::Client::build_with_tls(
        redis.url(),
        ::redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca.into_bytes()),
        },
    )
    .expect("client");
    let mut connection = trusting
        .get_multiplexed_async_connection()
        .await
        .expect("TLS with the CA trusted");
    let pong: String = ::redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .expect("PING");
    assert_eq!(pong, "PONG");

    let once = OneTime {
        name: "totp",
        key: "k",
        ttl: Duration::from_secs(60),
    };
    let refused = store.spend_once(&once, 1).await;
    assert!(refused.is_err(), "an unknown CA was trusted: {refused:?}");

    let insecure = RedisStore::new(&format!("{}#insecure", redis.url()));
    let error = insecure.expect_err("#insecure is refused").to_string();
    assert!(error.contains("verification"), "{error}");
}

/// A login lock-out and a spent TOTP code hold on every instance: two `Login`s and two
/// `Totp`s, each on its own store of one Redis.
#[tokio::test]
async fn lock_outs_and_spent_codes_hold_for_the_fleet() {
    use secure_api::login::{Login, LoginLimits, Passwords};
    use secure_api::mfa::{Totp, code_at};
    use std::sync::Arc;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (first, second) = fleet(&redis, "fleet-login:");
    let (first, second): (Arc<dyn RateLimitStore>, Arc<dyn RateLimitStore>) =
        (Arc::new(first), Arc::new(second));
    let limits = LoginLimits {
        per_account_and_address: 3,
        ..LoginLimits::default()
    };
    let login = |store: &Arc<dyn RateLimitStore>| {
        let passwords = Passwords::with_params(1024, 1, 1).expect("params");
        Login::with_passwords(passwords, limits).with_store(Arc::clone(store))
    };
    let (one, two) = (login(&first), login(&second));
    let hash = one.hash_password("right").await.expect("hash");
    async fn attempt(login: &Login, hash: &str, password: &str) -> u16 {
        let attacker = "198.51.100.66".parse().expect("ip");
        let stored = Some((hash.to_owned(), ()));
        match login.attempt("admin", password, attacker, stored).await {
            Ok(_) => 200,
            Err(problem) => problem.status().as_u16(),
        }
    }
    // Three failures spread over two instances lock the pair on both.
    assert_eq!(attempt(&one, &hash, "a").await, 401);
    assert_eq!(attempt(&two, &hash, "b").await, 401);
    assert_eq!(attempt(&one, &hash, "c").await, 401);
    assert_eq!(attempt(&two, &hash, "right").await, 429);
    assert_eq!(attempt(&one, &hash, "right").await, 429);

    let totp =
        |store: &Arc<dyn RateLimitStore>| Totp::new("secure-api").with_store(Arc::clone(store));
    let (one, two) = (totp(&first), totp(&second));
    let secret = one.enrol("carol").expect("enrol").secret;
    let now = 1_800_000_000;
    let code = code_at(&secret, now).expect("code");
    assert_eq!(
        one.verify_at("carol", &secret, &code, now).await.ok(),
        Some(true)
    );
    assert_eq!(
        two.verify_at("carol", &secret, &code, now).await.ok(),
        Some(false)
    );
}
