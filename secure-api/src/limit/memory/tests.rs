use super::*;
use crate::policy::{Rate, RateKey};
use std::net::IpAddr;

fn bucket(max: u32, window: Duration) -> Bucket {
    Bucket {
        name: "test",
        rate: Rate {
            max,
            window,
            key: RateKey::Ip,
        },
    }
}

fn address(n: u32) -> Subject {
    Subject::ip(IpAddr::from(n.to_be_bytes()))
}

/// "3/300ms": three at once, then one every 100 ms.
#[test]
fn burst_then_refill() {
    let store = MemoryStore::new();
    let bucket = bucket(3, Duration::from_millis(300));
    let subject = Subject::Global;
    let remaining: Vec<u32> = (0..3)
        .map(|_| store.check_now(&bucket, &subject))
        .map(|decision| {
            assert!(decision.allowed);
            decision.remaining
        })
        .collect();
    assert_eq!(remaining, [2, 1, 0]);
    let denied = store.check_now(&bucket, &subject);
    assert!(!denied.allowed);
    assert!(denied.retry_after <= Duration::from_millis(100));
    std::thread::sleep(Duration::from_millis(110));
    assert!(store.check_now(&bucket, &subject).allowed);
    assert!(!store.check_now(&bucket, &subject).allowed);
}

#[test]
fn sweep_forgets_idle_keys() {
    let store = MemoryStore::new();
    let bucket = bucket(5, Duration::from_millis(50));
    for n in 0..1000u32 {
        store.check_now(&bucket, &address(n));
    }
    assert_eq!(store.len(), 1000);
    std::thread::sleep(Duration::from_millis(60));
    store.sweep();
    assert_eq!(store.len(), 0);
}

/// Past the cap, held subjects keep their budgets and new ones share one.
#[test]
fn past_the_cap_new_subjects_share_the_overflow_budget() {
    let store = MemoryStore::new().with_max_keys(100);
    let bucket = bucket(2, Duration::from_secs(60));
    for n in 0..100u32 {
        assert!(store.check_now(&bucket, &address(n)).allowed);
    }
    // A flood of new subjects: two get through between them, then none.
    let admitted = (1000..1100u32)
        .filter(|n| store.check_now(&bucket, &address(*n)).allowed)
        .count();
    assert_eq!(admitted, 2);
    assert!(store.len() <= 101, "{}", store.len());
    // Every subject held before keeps its own second request.
    assert!(
        (0..100u32).all(|n| store.check_now(&bucket, &address(n)).allowed),
        "held subjects lost their budget"
    );
}

/// Reaching the cap starts a sweep: idle keys make room, and new subjects have budgets
/// of their own again.
#[test]
fn reaching_the_cap_sweeps_idle_keys_away() {
    let store =
        Arc::new(MemoryStore::with_sweep_interval(Duration::from_millis(50)).with_max_keys(50));
    let bucket = bucket(5, Duration::from_millis(50));
    for n in 0..50u32 {
        let decision = now_or_never(store.check(&bucket, &address(n)));
        assert!(decision.is_ok_and(|decision| decision.allowed));
    }
    std::thread::sleep(Duration::from_millis(60));
    // Full: this check finds the store full and sweeps (no runtime here: at once).
    let _ = now_or_never(store.check(&bucket, &address(1000)));
    assert!(store.len() <= 1, "{}", store.len());
    let decision = store.check_now(&bucket, &address(2000));
    assert_eq!(decision.remaining, 4, "a budget of its own");
}

fn now_or_never<T>(future: BoxFuture<'_, T>) -> T {
    let mut future = future;
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the in-memory store waited"),
    }
}

#[test]
fn failures_count_in_a_window_and_clear() {
    let store = MemoryStore::new();
    let counter = FailureCounter {
        name: "login_account",
        key: "alice",
        window: Duration::from_millis(80),
    };
    assert_eq!(store.failures_now(&counter).count, 0);
    assert_eq!(store.add_failure_now(&counter).count, 1);
    let second = store.add_failure_now(&counter);
    assert_eq!(second.count, 2);
    assert!(second.resets_in <= Duration::from_millis(80));
    assert_eq!(store.failures_now(&counter).count, 2);
    store.clear_failures_now(&counter);
    assert_eq!(store.failures_now(&counter).count, 0);
    store.add_failure_now(&counter);
    std::thread::sleep(Duration::from_millis(90));
    assert_eq!(store.failures_now(&counter).count, 0);
    assert_eq!(store.add_failure_now(&counter).count, 1, "a new window");
}

#[test]
fn past_the_cap_new_failure_counts_share_one() {
    let store = MemoryStore::new().with_max_keys(10);
    let counter = |key| FailureCounter {
        name: "login_address",
        key,
        window: Duration::from_secs(60),
    };
    let keys: Vec<String> = (0..30).map(|n| format!("address-{n}")).collect();
    for key in &keys {
        store.add_failure_now(&counter(key));
    }
    // The first ten have their own count; the twenty after share the overflow count,
    // which every new key then reads.
    assert_eq!(store.failures_now(&counter(&keys[0])).count, 1);
    assert_eq!(store.failures_now(&counter("never-seen")).count, 20);
    assert!(store.len() <= 11);
}

#[test]
fn a_one_time_value_is_accepted_once() {
    let store = MemoryStore::new();
    let once = OneTime {
        name: "totp",
        key: "bob",
        ttl: Duration::from_secs(90),
    };
    assert_eq!(store.spend_once_now(&once, 7).ok(), Some(true));
    assert_eq!(store.spend_once_now(&once, 7).ok(), Some(false));
    assert_eq!(store.spend_once_now(&once, 6).ok(), Some(false));
    assert_eq!(store.spend_once_now(&once, 8).ok(), Some(true));
    let full = MemoryStore::new().with_max_keys(0);
    assert!(
        full.spend_once_now(&once, 1).is_err(),
        "fails closed when full"
    );
}

/// Each thread keeps the limiters it used last: two stores never share one, and more buckets
/// than a thread keeps at hand still count apart.
#[test]
fn recent_limiters_are_per_store_and_bucket() {
    let (first, second) = (MemoryStore::new(), MemoryStore::new());
    let limit = bucket(2, Duration::from_secs(60));
    for _ in 0..2 {
        assert!(first.check_now(&limit, &Subject::Global).allowed);
    }
    assert!(!first.check_now(&limit, &Subject::Global).allowed);
    assert!(second.check_now(&limit, &Subject::Global).allowed);

    const NAMES: [&str; 12] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    let store = MemoryStore::new();
    let buckets = NAMES.map(|name| Bucket { name, ..limit });
    for round in 0..3 {
        for bucket in &buckets {
            let allowed = store.check_now(bucket, &Subject::Global).allowed;
            assert_eq!(allowed, round < 2, "{} in round {round}", bucket.name);
        }
    }
    // A name that is equal but not the same string is the same bucket.
    let same = Bucket {
        name: String::from("a").leak(),
        ..limit
    };
    assert!(!store.check_now(&same, &Subject::Global).allowed);
}
