//! `RedisStore` on a real Redis Cluster — three masters, three replicas, started by the test
//! on loopback: every operation works with its keys spread over the slots, a limit is exact
//! across instances, and a master killed under load fails closed until its replica has taken
//! over, then the store follows it without a restart.

use crate::common::{self, HmacKey};
use crate::redis_server::{RedisCluster, per_user};
use secure_api::limit::{FailureCounter, OneTime, RateDecision, RateLimitStore, Subject};
use secure_api::store::RedisStore;
use secure_api::tokens::{RefreshRecord, Spend, TokenStore};
use secure_api::{Principal, Security};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn record(family: &str, token: &str, subject: &str) -> RefreshRecord {
    RefreshRecord {
        hash: format!("{family}.{token}"),
        family: family.into(),
        principal: Principal::new(subject, &["pwd"]),
        expires_at: now() + 60,
    }
}

/// The keys under `prefix` on each running master.
fn keys_by_master(cluster: &RedisCluster, prefix: &str) -> Vec<Vec<String>> {
    let pattern = format!("{prefix}*");
    cluster
        .masters()
        .into_iter()
        .map(|port| cluster.query(port, &["KEYS", &pattern]))
        .collect()
}

#[tokio::test]
async fn every_operation_works_on_a_cluster_with_keys_over_the_slots() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let (a, b) = (cluster.store("ops:"), cluster.store("ops:"));

    // Budgets of twenty subjects, shared by both instances.
    let budget = per_user("ops", 2, Duration::from_secs(3600));
    for n in 0..20 {
        let subject = Subject::User(format!("user-{n}").into());
        let first = a.check(&budget, &subject).await.expect("check");
        let second = b.check(&budget, &subject).await.expect("check");
        let third = a.check(&budget, &subject).await.expect("check");
        assert_eq!((first.remaining, second.remaining), (1, 0));
        assert!(first.allowed && second.allowed && !third.allowed);
        assert!(third.retry_after > Duration::from_secs(1700));
    }

    // Failure counts and one-time values.
    let counter = FailureCounter {
        name: "login_account",
        key: "c0ffee",
        window: Duration::from_secs(60),
    };
    assert_eq!(a.add_failure(&counter).await.expect("add").count, 1);
    assert_eq!(b.add_failure(&counter).await.expect("add").count, 2);
    assert_eq!(a.failures(&counter).await.expect("peek").count, 2);
    b.clear_failures(&counter).await.expect("clear");
    assert_eq!(a.failures(&counter).await.expect("peek").count, 0);
    b.add_failure(&counter).await.expect("add");
    let once = OneTime {
        name: "totp",
        key: "account-1",
        ttl: Duration::from_secs(90),
    };
    assert!(a.spend_once(&once, 5).await.expect("spend"));
    assert!(!b.spend_once(&once, 5).await.expect("spend"));

    // The token store: a spend, a reuse that revokes the family, a logout, revoked tokens.
    let family = "0123456789abcdef0123456789abcdef";
    let (r1, r2) = (record(family, "h1", "alice"), record(family, "h2", "alice"));
    a.insert(r1.clone()).await.expect("insert");
    b.insert(r2.clone()).await.expect("insert");
    assert_eq!(
        a.spend(&r1.hash, now()).await.expect("spend"),
        Spend::Fresh(r1.clone())
    );
    assert_eq!(
        b.spend(&r1.hash, now()).await.expect("spend"),
        Spend::Reused {
            family: family.into(),
            subject: "alice".into()
        }
    );
    assert_eq!(
        a.spend(&r2.hash, now()).await.expect("spend"),
        Spend::Invalid
    );
    let other = "fedcba9876543210fedcba9876543210";
    let r3 = record(other, "h3", "bob");
    a.insert(r3.clone()).await.expect("insert");
    assert_eq!(
        b.family_of(&r3.hash, "bob").await.expect("family"),
        Some(other.into())
    );
    assert_eq!(
        b.family_of(&r3.hash, "mallory").await.expect("family"),
        None
    );
    b.revoke_family(other).await.expect("revoke");
    assert_eq!(
        a.spend(&r3.hash, now()).await.expect("spend"),
        Spend::Invalid
    );
    assert_eq!(
        a.spend("no-family", now()).await.expect("spend"),
        Spend::Invalid
    );
    let mut misfiled = record(family, "h4", "alice");
    misfiled.family = other.into();
    assert!(
        a.insert(misfiled).await.is_err(),
        "a record filed under another family than its key names is refused"
    );
    a.revoke_access("jti-1", now() + 60).await.expect("revoke");
    assert!(b.is_revoked("jti-1", now()).await.expect("is revoked"));
    assert!(!b.is_revoked("jti-2", now()).await.expect("is revoked"));

    // The whole refresh lifecycle through two instances of an API.
    let key = HmacKey::generate();
    let security = |store: &RedisStore| {
        Security::builder()
            .issuer(common::ISSUER)
            .audience(common::AUDIENCE)
            .key(key.key())
            .redis(store.clone())
            .build()
            .expect("configuration")
    };
    let (one, two) = (security(&a), security(&b));
    let pair = one
        .issue(&Principal::new("carol", &["pwd"]))
        .await
        .expect("issue");
    let rotated = two.refresh(&pair.refresh_token).await.expect("refresh");
    assert!(one.refresh(&pair.refresh_token).await.is_err(), "reuse");
    assert!(
        two.refresh(&rotated.refresh_token).await.is_err(),
        "family revoked"
    );

    // Keys live on more than one master, and every one of them expires on its own.
    let by_master = keys_by_master(&cluster, "ops:");
    let holding = by_master.iter().filter(|keys| !keys.is_empty()).count();
    assert!(holding >= 2, "keys on {holding} master(s): {by_master:?}");
    for (port, keys) in cluster.masters().into_iter().zip(&by_master) {
        for key in keys {
            let ttl: i64 = cluster.query(port, &["PTTL", key]);
            assert!(ttl > 0, "{key} has no expiry");
        }
    }
}

#[tokio::test]
async fn a_limit_is_exact_across_two_instances_on_a_cluster() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let (a, b) = (cluster.store("exact:"), cluster.store("exact:"));
    let budget = per_user("exact", 30, Duration::from_secs(60));
    let subject = Subject::User("dave".into());
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let subject = subject.clone();
            tokio::spawn(async move { store.check(&budget, &subject).await.expect("check") })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.expect("task").allowed);
    }
    assert_eq!(allowed, 30);
}

/// One check of the failover loop: when it ended (since the loop began), how long it took,
/// and what it answered.
type Outcome = (Duration, Duration, Result<RateDecision, String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_fails_closed_then_the_store_follows_the_new_master() {
    let Some(mut cluster) = RedisCluster::start() else {
        return;
    };
    // The default timeout (500 ms), as in production.
    let store = cluster
        .store("failover:")
        .with_timeout(Duration::from_millis(500));
    // A budget the loop cannot exhaust, nor refill in the test's time (one every 8.6 s): a
    // write lost in the failover would show as `remaining` going back up.
    let budget = per_user("failover", 10_000, Duration::from_secs(86_400));
    let subject = Subject::Global;
    let first = store
        .check(&budget, &subject)
        .await
        .expect("the cluster answers");
    assert!(first.allowed);
    let key = keys_by_master(&cluster, "failover:")
        .into_iter()
        .flatten()
        .next()
        .expect("the bucket's key");
    let (master, replica) = cluster.owner_of(&key);
    let replica = replica.expect("the master has a replica");

    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let began = Instant::now();
    let checks = {
        let (store, outcomes, running) = (store.clone(), outcomes.clone(), running.clone());
        tokio::spawn(async move {
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let outcome = store.check(&budget, &subject).await;
                let outcome = outcome.map_err(|error| error.to_string());
                let took = started.elapsed();
                let at = began.elapsed();
                outcomes.lock().expect("outcomes").push((at, took, outcome));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.kill(master.port);
    let killed = began.elapsed();

    // Recovered: after an error, ten answers in a row.
    let deadline = Instant::now() + Duration::from_secs(15);
    let recovered = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let outcomes = outcomes.lock().expect("outcomes");
        let after: Vec<&Outcome> = outcomes.iter().filter(|(at, ..)| *at > killed).collect();
        let failed = after.iter().rposition(|(.., outcome)| outcome.is_err());
        if let Some(failed) = failed
            && after.len() - failed > 10
        {
            break Some(after[failed + 1].0 - killed);
        }
        if Instant::now() > deadline {
            break None;
        }
    };
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    checks.await.expect("the loop");
    // The loop has ended: the outcomes are all there is.
    let outcomes = std::mem::take(&mut *outcomes.lock().expect("outcomes"));

    let errors: Vec<&String> = outcomes
        .iter()
        .filter_map(|(.., o)| o.as_ref().err())
        .collect();
    assert!(!errors.is_empty(), "the outage was not noticed");
    assert!(
        errors.iter().all(|error| !error.contains("failover:")),
        "an error names a key: {errors:?}"
    );
    let recovered = recovered.unwrap_or_else(|| {
        panic!(
            "no recovery within 15 s of the kill; {} errors",
            errors.len()
        )
    });
    // Fail closed: every answer is a decision on the one budget, which never grows back.
    let mut remaining = first.remaining;
    for (at, took, outcome) in outcomes.iter() {
        assert!(
            *took < Duration::from_millis(1500),
            "a call at {at:?} took {took:?}"
        );
        if let Ok(decision) = outcome {
            assert!(decision.allowed, "the budget is far from spent");
            assert!(
                decision.remaining < remaining,
                "at {at:?}: {} remaining after {remaining}: a request was admitted twice",
                decision.remaining
            );
            remaining = decision.remaining;
        }
    }
    assert!(
        outcomes.iter().all(|(at, _, o)| *at > killed || o.is_ok()),
        "errors before the kill"
    );
    let mut kinds = errors.clone();
    kinds.sort();
    kinds.dedup();
    eprintln!(
        "failover: {} checks, {} refused while the slot had no master ({kinds:?}), recovered \
         {recovered:?} after the kill",
        outcomes.len(),
        errors.len()
    );
    // The replica serves the slot now.
    let deadline = Instant::now() + Duration::from_secs(5);
    while cluster.owner_of(&key).0.port != replica.port {
        assert!(Instant::now() < deadline, "the replica was not promoted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
