use super::*;
use std::time::Instant;

/// Light parameters: the tests are about behaviour, not cost.
fn login(limits: LoginLimits) -> Login {
    Login::with_passwords(Passwords::with_params(1024, 1, 1).expect("params"), limits)
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

const ATTACKER: &str = "198.51.100.66";
const OWNER: &str = "192.0.2.1";

async fn attempt(login: &Login, user: &str, password: &str, from: &str, hash: &str) -> u16 {
    match login
        .attempt(user, password, ip(from), Some((hash.to_owned(), ())))
        .await
    {
        Ok(_) => 200,
        Err(problem) => problem.status().as_u16(),
    }
}

#[tokio::test]
async fn unknown_and_known_accounts_cost_one_verification_and_answer_alike() {
    let login = login(LoginLimits::default());
    let hash = login.hash_password("right").await.expect("hash");
    let client = ip(OWNER);
    let before = login.passwords().verifications();
    let wrong = login
        .attempt("alice", "wrong", client, Some((hash, 1)))
        .await
        .expect_err("wrong password");
    assert_eq!(login.passwords().verifications(), before + 1);
    let unknown = login
        .attempt::<u32>("mallory", "wrong", client, None)
        .await
        .expect_err("unknown account");
    assert_eq!(login.passwords().verifications(), before + 2);
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(wrong.detail(), unknown.detail());
}

/// The lock-out is the attacker's own: the owner, from elsewhere, still signs in.
#[tokio::test]
async fn failures_lock_the_account_from_that_address_only() {
    let limits = LoginLimits {
        per_account_and_address: 3,
        ..LoginLimits::default()
    };
    let login = login(limits);
    let hash = login.hash_password("right").await.expect("hash");
    assert_eq!(
        attempt(&login, "admin", "wrong", ATTACKER, &hash).await,
        401
    );
    assert_eq!(
        attempt(&login, "admin", "wrong", ATTACKER, &hash).await,
        401
    );
    // Success clears the pair's failures...
    assert_eq!(
        attempt(&login, "admin", "right", ATTACKER, &hash).await,
        200
    );
    for _ in 0..3 {
        assert_eq!(
            attempt(&login, "Admin ", "wrong", ATTACKER, &hash).await,
            401
        );
    }
    // ...and once locked, even the right password from there waits, unverified.
    let before = login.passwords().verifications();
    assert_eq!(
        attempt(&login, "admin", "right", ATTACKER, &hash).await,
        429
    );
    assert_eq!(login.passwords().verifications(), before);
    assert_eq!(attempt(&login, "admin", "right", OWNER, &hash).await, 200);
}

#[tokio::test]
async fn an_address_failing_over_many_accounts_is_locked() {
    let limits = LoginLimits {
        per_address: 4,
        ..LoginLimits::default()
    };
    let login = login(limits);
    let hash = login.hash_password("right").await.expect("hash");
    for n in 0..4 {
        let user = format!("user{n}");
        assert_eq!(attempt(&login, &user, "wrong", ATTACKER, &hash).await, 401);
    }
    assert_eq!(
        attempt(&login, "fresh", "right", ATTACKER, &hash).await,
        429
    );
    assert_eq!(attempt(&login, "fresh", "right", OWNER, &hash).await, 200);
}

/// Failures from many addresses slow the account down; they never lock its owner out.
#[tokio::test]
async fn an_account_under_attack_slows_down_and_its_owner_still_gets_in() {
    let limits = LoginLimits {
        slow_down_after: 3,
        max_delay: Duration::from_millis(300),
        ..LoginLimits::default()
    };
    let login = login(limits);
    let hash = login.hash_password("right").await.expect("hash");
    for n in 0..8u8 {
        let from = format!("203.0.113.{n}");
        attempt(&login, "admin", "wrong", &from, &hash).await;
    }
    let started = Instant::now();
    assert_eq!(attempt(&login, "admin", "right", OWNER, &hash).await, 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    // Another account is not slowed.
    let started = Instant::now();
    assert_eq!(attempt(&login, "alice", "right", OWNER, &hash).await, 200);
    assert!(started.elapsed() < Duration::from_millis(300));
}

/// Two instances sharing one store share every count, as with Redis.
#[tokio::test]
async fn instances_sharing_a_store_share_the_lock_out() {
    let limits = LoginLimits {
        per_account_and_address: 2,
        ..LoginLimits::default()
    };
    let store: Arc<dyn RateLimitStore> = Arc::new(Arc::new(MemoryStore::new()));
    let first = login(limits).with_store(Arc::clone(&store));
    let second = login(limits).with_store(store);
    let hash = first.hash_password("right").await.expect("hash");
    assert_eq!(
        attempt(&first, "admin", "wrong", ATTACKER, &hash).await,
        401
    );
    assert_eq!(
        attempt(&second, "admin", "wrong", ATTACKER, &hash).await,
        401
    );
    assert_eq!(
        attempt(&first, "admin", "right", ATTACKER, &hash).await,
        429
    );
    assert_eq!(
        attempt(&second, "admin", "right", ATTACKER, &hash).await,
        429
    );
}

/// Hashing runs on the blocking pool under a bound: past it, 503 with `Retry-After` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_hashing_bound_an_attempt_is_503() {
    let login = Arc::new(
        Login::with_passwords(
            Passwords::with_params(64 * 1024, 4, 1).expect("params"),
            LoginLimits::default(),
        )
        .with_concurrent_hashes(1),
    );
    let slow = tokio::spawn({
        let login = Arc::clone(&login);
        async move { login.hash_password("a long one").await }
    });
    // Let the first take the only permit.
    while login.hashing.available_permits() > 0 {
        tokio::task::yield_now().await;
    }
    let busy = login
        .attempt::<()>("alice", "pw", ip(OWNER), None)
        .await
        .expect_err("busy");
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(slow.await.expect("task").is_ok());
    assert_eq!(login.hashing.available_permits(), 1);
}

struct Unreachable;

impl RateLimitStore for Unreachable {
    fn check<'a>(
        &'a self,
        _: &'a crate::limit::Bucket,
        _: &'a Subject,
    ) -> crate::store::BoxFuture<'a, Result<crate::limit::RateDecision, StoreUnavailable>> {
        Box::pin(std::future::ready(Err(StoreUnavailable("down".into()))))
    }
}

#[tokio::test]
async fn an_unreachable_store_denies_with_503() {
    let login = login(LoginLimits::default()).with_store(Arc::new(Unreachable));
    let hash = login.hash_password("right").await.expect("hash");
    assert_eq!(attempt(&login, "admin", "right", OWNER, &hash).await, 503);
}
