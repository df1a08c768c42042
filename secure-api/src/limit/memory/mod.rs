//! The in-memory store: governor's GCRA over a compact table of hashed keys, failure counts
//! and one-time values — every table bounded by one cap.
//!
//! A subject is held as a 64-bit hash under a key chosen at random per process, not as the
//! subject itself: 16 bytes per key in the table, whatever the subject, and no client can
//! aim two subjects at one slot. The cap counts the entries of every table together. When
//! it is reached a sweep is started, and until room is made a new subject is counted in its
//! bucket's *overflow* budget, shared by every subject that arrived over the cap: a flood of
//! new addresses gets one budget's worth through between them, while every subject already
//! held keeps its own budget.

use super::{Bucket, FailureCounter, Failures, OneTime, RateDecision, RateLimitStore, Subject};
use crate::store::{BoxFuture, StoreUnavailable};
use dashmap::DashMap;
use governor::clock::Clock;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use table::{BucketLimiter, Limiters, PreHashed};

/// The entries a [`MemoryStore`] holds at most by default, over all its tables: 1,000,000
/// (≈ 32 MiB; `BENCHMARKS.md` has the measurement).
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

/// The key of every bucket's overflow budget; subject keys are odd.
const OVERFLOW: u64 = 0;

/// `last_sweep_ms` before the first sweep.
const NEVER: u64 = u64::MAX;

/// The in-memory store, the embedded default for a single instance.
///
/// governor never forgets a key by itself; every `sweep_interval` the store drops the keys
/// whose budget is whole again, the counts and one-time values whose time has passed, and
/// gives the memory back. Past [`DEFAULT_MAX_KEYS`] (or [`with_max_keys`](Self::with_max_keys))
/// new subjects share an overflow budget per bucket, new failure counts share one count per
/// counter name, and a new one-time value is refused (fail closed) until a sweep makes room.
pub struct MemoryStore {
    limiters: Limiters,
    counts: DashMap<u64, Counted, PreHashed>,
    once: DashMap<u64, Counted, PreHashed>,
    /// Entries held over every table: the limiters' keys, the counts and the one-time values.
    held: Arc<AtomicUsize>,
    max_keys: usize,
    /// Keyed per process, so that no client can choose subjects that share a slot.
    hasher: RandomState,
    sweep_interval: Duration,
    created: Instant,
    last_sweep_ms: AtomicU64,
}

/// A failure count or a one-time value, and when it is forgotten (ms since the store began).
#[derive(Debug, Clone, Copy, Default)]
struct Counted {
    value: u64,
    until_ms: u64,
}

impl MemoryStore {
    /// A store that sweeps every 60 seconds and holds at most [`DEFAULT_MAX_KEYS`] entries.
    pub fn new() -> Self {
        Self::with_sweep_interval(Duration::from_secs(60))
    }

    /// A store that sweeps every `interval`.
    pub fn with_sweep_interval(interval: Duration) -> Self {
        let held = Arc::new(AtomicUsize::new(0));
        Self {
            limiters: Limiters::new(Arc::clone(&held)),
            counts: DashMap::with_hasher(PreHashed),
            once: DashMap::with_hasher(PreHashed),
            held,
            max_keys: DEFAULT_MAX_KEYS,
            hasher: RandomState::new(),
            sweep_interval: interval,
            created: Instant::now(),
            last_sweep_ms: AtomicU64::new(NEVER),
        }
    }

    /// Holds at most `max` entries over all tables (see the type's documentation for what
    /// happens past it).
    pub fn with_max_keys(mut self, max: usize) -> Self {
        self.max_keys = max;
        self
    }

    /// The entries held, over all tables.
    pub fn len(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every key whose budget is whole again and every count or one-time value whose
    /// time has passed, and releases the memory they held.
    pub fn sweep(&self) {
        for bucket in self.limiters.all() {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
        let now = self.now_ms();
        for table in [&self.counts, &self.once] {
            table.retain(|_, counted| {
                let keep = counted.until_ms > now;
                if !keep {
                    self.held.fetch_sub(1, Ordering::Relaxed);
                }
                keep
            });
            table.shrink_to_fit();
        }
    }

    fn is_full(&self) -> bool {
        self.held.load(Ordering::Relaxed) >= self.max_keys
    }

    fn now_ms(&self) -> u64 {
        self.created.elapsed().as_millis() as u64
    }

    /// A subject's slot: odd, so that it never meets [`OVERFLOW`].
    fn key_of(&self, value: impl Hash) -> u64 {
        self.hasher.hash_one(value) | 1
    }

    /// Claims the next sweep if it is due; only one caller wins the claim. A full store
    /// sweeps at once, then at most once a second.
    fn sweep_is_due(&self) -> bool {
        let now = self.now_ms();
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        let interval = self.sweep_interval.as_millis() as u64;
        let due = match (self.is_full(), last) {
            (true, NEVER) => true,
            (true, _) => now.saturating_sub(last) >= interval.min(1_000),
            (false, NEVER) => now >= interval,
            (false, _) => now.saturating_sub(last) >= interval,
        };
        due && self
            .last_sweep_ms
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// [`RateLimitStore::check`], decided at once.
    pub(crate) fn decide(self: &Arc<Self>, bucket: &Bucket, subject: &Subject) -> RateDecision {
        let decision = self.check_now(bucket, subject);
        self.maybe_sweep();
        decision
    }

    fn check_now(&self, bucket: &Bucket, subject: &Subject) -> RateDecision {
        self.limiters.with(bucket, |bucket_limiter| {
            self.check_with(bucket_limiter, bucket, subject)
        })
    }

    fn check_with(
        &self,
        bucket_limiter: &BucketLimiter,
        bucket: &Bucket,
        subject: &Subject,
    ) -> RateDecision {
        let mut key = self.key_of(subject);
        if self.is_full() && !bucket_limiter.table.map.contains_key(&key) {
            key = OVERFLOW;
        }
        let limiter = &bucket_limiter.limiter;
        let rate = bucket.rate;
        match limiter.check_key(&key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                RateDecision {
                    allowed: true,
                    rate,
                    remaining,
                    retry_after: Duration::ZERO,
                    reset: rate.refill_interval() * rate.max.saturating_sub(remaining),
                }
            }
            Err(not_until) => {
                let retry_after = not_until.wait_time_from(limiter.clock().now());
                RateDecision {
                    allowed: false,
                    rate,
                    remaining: 0,
                    retry_after,
                    reset: retry_after + rate.refill_interval() * rate.max.saturating_sub(1),
                }
            }
        }
    }

    fn failures_now(&self, counter: &FailureCounter<'_>) -> Failures {
        let key = self.key_of((counter.name, counter.key));
        let now = self.now_ms();
        let counted = [key, self.overflow_of(counter.name)]
            .into_iter()
            .find_map(|key| self.counts.get(&key).map(|counted| *counted));
        match counted {
            Some(counted) if counted.until_ms > now => failures(counted, now),
            _ => failures(Counted::default(), now),
        }
    }

    fn add_failure_now(&self, counter: &FailureCounter<'_>) -> Failures {
        let mut key = self.key_of((counter.name, counter.key));
        if self.is_full() && !self.counts.contains_key(&key) {
            key = self.overflow_of(counter.name);
        }
        let now = self.now_ms();
        let mut entry = self.held_entry(&self.counts, key);
        if entry.until_ms <= now {
            *entry = Counted {
                value: 0,
                until_ms: now + counter.window.as_millis() as u64,
            };
        }
        entry.value += 1;
        failures(*entry, now)
    }

    fn clear_failures_now(&self, counter: &FailureCounter<'_>) {
        let key = self.key_of((counter.name, counter.key));
        if self.counts.remove(&key).is_some() {
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn spend_once_now(&self, once: &OneTime<'_>, value: u64) -> Result<bool, StoreUnavailable> {
        let key = self.key_of((once.name, once.key));
        if self.is_full() && !self.once.contains_key(&key) {
            return Err(StoreUnavailable(format!(
                "the in-memory store holds its maximum of {} entries",
                self.max_keys
            )));
        }
        let now = self.now_ms();
        let mut entry = self.held_entry(&self.once, key);
        let spent = entry.until_ms > now && value <= entry.value;
        if !spent {
            *entry = Counted {
                value,
                until_ms: now + once.ttl.as_millis() as u64,
            };
        }
        Ok(!spent)
    }

    /// The entry of `key` in a table of counts or one-time values, counted in `held` when it
    /// is new.
    fn held_entry<'t>(
        &self,
        table: &'t DashMap<u64, Counted, PreHashed>,
        key: u64,
    ) -> dashmap::mapref::one::RefMut<'t, u64, Counted> {
        table.entry(key).or_insert_with(|| {
            self.held.fetch_add(1, Ordering::Relaxed);
            Counted::default()
        })
    }

    /// The count that failures of `name` share past the cap; even, so that it never meets a
    /// subject's own.
    fn overflow_of(&self, name: &str) -> u64 {
        self.hasher.hash_one(name) & !1
    }

    /// Starts the sweep when it is due: on the blocking pool when a runtime runs.
    fn maybe_sweep(self: &Arc<Self>) {
        if !self.sweep_is_due() {
            return;
        }
        let store = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || store.sweep());
            }
            Err(_) => store.sweep(),
        }
    }
}

fn failures(counted: Counted, now_ms: u64) -> Failures {
    Failures {
        count: u32::try_from(counted.value).unwrap_or(u32::MAX),
        resets_in: Duration::from_millis(counted.until_ms.saturating_sub(now_ms)),
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("buckets", &self.limiters.len())
            .field("held", &self.len())
            .field("max_keys", &self.max_keys)
            .field("sweep_interval", &self.sweep_interval)
            .finish()
    }
}

impl RateLimitStore for Arc<MemoryStore> {
    fn check<'a>(
        &'a self,
        bucket: &'a Bucket,
        subject: &'a Subject,
    ) -> BoxFuture<'a, Result<RateDecision, StoreUnavailable>> {
        Box::pin(std::future::ready(Ok(self.decide(bucket, subject))))
    }

    fn failures<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<Failures, StoreUnavailable>> {
        Box::pin(std::future::ready(Ok(self.failures_now(counter))))
    }

    fn add_failure<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<Failures, StoreUnavailable>> {
        let failures = self.add_failure_now(counter);
        self.maybe_sweep();
        Box::pin(std::future::ready(Ok(failures)))
    }

    fn clear_failures<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        self.clear_failures_now(counter);
        Box::pin(std::future::ready(Ok(())))
    }

    fn spend_once<'a>(
        &'a self,
        once: &'a OneTime<'a>,
        value: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        let spent = self.spend_once_now(once, value);
        self.maybe_sweep();
        Box::pin(std::future::ready(spent))
    }
}

mod table;
#[cfg(test)]
mod tests;
