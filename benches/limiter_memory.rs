//! Memory of the in-memory rate limiter (BENCHMARKS.md §4): 1,000,000 distinct keys through
//! `MemoryStore`, bytes per live key, and the footprint once the window has passed and the
//! retention sweep has run.
//!
//! ```text
//! cargo bench --bench limiter_memory            # 1,000,000 keys
//! KEYS=100000 cargo bench --bench limiter_memory
//! ```
//!
//! Bytes are counted by a counting global allocator (`stats_alloc`): what the program asked
//! for and did not give back, exactly, without the allocator's own bookkeeping. The
//! process's resident size (`/proc/self/statm`) is printed beside it for reference; it also
//! counts freed memory that glibc keeps for reuse, so it does not go down the same way.

#![allow(missing_docs)]

use secure_api::limit::{Bucket, MemoryStore, RateLimitStore, Subject};
use secure_api::policy::{Rate, RateKey};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes currently allocated by the whole process.
fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    // stats_alloc already books a realloc's growth or shrinkage in these two.
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

fn resident_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map_or(-1, |pages| pages * 4096)
}

fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory store waited"),
    }
}

fn check(store: &Arc<MemoryStore>, bucket: &Bucket, subject: &Subject) {
    let decision = now_or_never(store.check(bucket, subject)).expect("in-memory store");
    assert!(decision.allowed, "a fresh key is always admitted");
}

/// Footprints are the store's own bytes: live bytes less those live before it was made.
struct Outcome {
    empty: i64,
    full: i64,
    swept: i64,
    resident_full: i64,
    resident_swept: i64,
    fill: Duration,
    sweep: Duration,
    len_full: usize,
    len_swept: usize,
}

/// Fills a store with `keys` subjects made by `subject`, then lets the window pass and sweeps.
fn measure(keys: u32, window: Duration, subject: impl Fn(u32) -> Subject) -> Outcome {
    let bucket = Bucket {
        name: "bench::limiter_memory",
        rate: Rate {
            max: 10,
            window,
            key: RateKey::Ip,
        },
    };
    let before = live_bytes();
    // Sweeps only when told to, so that the numbers are taken at known moments: reaching the
    // cap would start a sweep, so the cap is one more than the keys.
    let store = Arc::new(
        MemoryStore::with_sweep_interval(Duration::from_secs(3600))
            .with_max_keys(keys as usize + 1),
    );
    // The empty limiter: its bucket exists and holds no key.
    check(&store, &bucket, &Subject::Global);
    std::thread::sleep(window + Duration::from_millis(50));
    store.sweep();
    assert_eq!(store.len(), 0);
    let empty = live_bytes() - before;

    let start = Instant::now();
    for n in 0..keys {
        check(&store, &bucket, &subject(n));
    }
    let fill = start.elapsed();
    let len_full = store.len();
    let full = live_bytes() - before;
    let resident_full = resident_bytes();

    std::thread::sleep(window + Duration::from_millis(100));
    let start = Instant::now();
    store.sweep();
    let sweep = start.elapsed();
    let len_swept = store.len();
    let swept = live_bytes() - before;
    let resident_swept = resident_bytes();
    drop(store);
    Outcome {
        empty,
        full,
        swept,
        resident_full,
        resident_swept,
        fill,
        sweep,
        len_full,
        len_swept,
    }
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo bench -- --list` asks every bench binary for its benchmarks
    }
    let keys: u32 = std::env::var("KEYS")
        .ok()
        .and_then(|keys| keys.parse().ok())
        .unwrap_or(1_000_000);
    let window = Duration::from_secs(2);
    println!("limiter memory: {keys} distinct keys, rate 10/{window:?}, counting allocator");
    println!(
        "| keys | bytes per live key | store after fill | empty store | store after sweep | after sweep vs empty | keys left | fill | sweep | RSS after fill | RSS after sweep |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    type MakeSubject = Box<dyn Fn(u32) -> Subject>;
    let kinds: [(&str, MakeSubject); 2] = [
        (
            "IPv4 addresses",
            Box::new(|n| Subject::ip(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))),
        ),
        (
            "user subjects (`user-<n>`)",
            Box::new(|n| Subject::User(format!("user-{n:07}").into())),
        ),
    ];
    for (name, subject) in kinds {
        let outcome = measure(keys, window, subject);
        let per_key = (outcome.full - outcome.empty) as f64 / outcome.len_full.max(1) as f64;
        let left = outcome.swept - outcome.empty;
        println!(
            "| {name} | {per_key:.1} | {:.1} MiB | {} B | {} B | {:+} B ({:+.1} %) | {} | {:.2?} | {:.2?} | {:.1} MiB | {:.1} MiB |",
            outcome.full as f64 / 1048576.0,
            outcome.empty,
            outcome.swept,
            left,
            100.0 * left as f64 / outcome.empty.max(1) as f64,
            outcome.len_swept,
            outcome.fill,
            outcome.sweep,
            outcome.resident_full as f64 / 1048576.0,
            outcome.resident_swept as f64 / 1048576.0,
        );
        assert_eq!(outcome.len_full, keys as usize);
        // The issue's budget: 1,000,000 live keys in 64 MiB.
        let budget = 64 * 1048576 * i64::from(keys) / 1_000_000;
        assert!(
            outcome.full <= budget,
            "{name}: {} bytes for {keys} keys, over the budget of {budget}",
            outcome.full
        );
    }
}
