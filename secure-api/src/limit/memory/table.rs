//! The tables under the in-memory store: each bucket's limiter, governor's state per hashed
//! subject counted in the store's total, and the hasher that takes a hash as it is.

use super::super::Bucket;
use dashmap::DashMap;
use dashmap::mapref::one::Ref;
use governor::clock::DefaultClock;
use governor::middleware::{NoOpMiddleware, StateInformationMiddleware};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How many limiters each thread keeps at hand (see [`Limiters::with`]).
const RECENT_LIMITERS: usize = 8;

/// One store's limiters, one per bucket. Buckets are named by code (a handler's policy),
/// never by a client.
pub(super) struct Limiters {
    map: DashMap<Bucket, Arc<BucketLimiter>, foldhash::fast::RandomState>,
    /// Tells this store's limiters from another's among each thread's recent ones.
    store: u64,
    /// The store's count of held entries, which every limiter's table adds to.
    held: Arc<AtomicUsize>,
    /// Made with the store: the first clock of a process calibrates the CPU's counter against
    /// the system clock (millions of instructions), which would otherwise fall on the first
    /// request of the first handler.
    clock: DefaultClock,
}

pub(super) struct BucketLimiter {
    pub(super) limiter: RateLimiter<u64, KeyTable, DefaultClock, StateInformationMiddleware>,
    /// The limiter's own table, shared with it, to tell a held key from a new one.
    pub(super) table: KeyTable,
}

impl Limiters {
    pub(super) fn new(held: Arc<AtomicUsize>) -> Self {
        static STORES: AtomicU64 = AtomicU64::new(0);
        Self {
            map: DashMap::default(),
            store: STORES.fetch_add(1, Ordering::Relaxed),
            held,
            clock: DefaultClock::default(),
        }
    }

    /// Runs `check` with the bucket's limiter, made on first use. Every core asks for the same few limiters on every request, and
    /// both a map's lock and an `Arc`'s count are cache lines they would pass back and
    /// forth; so each thread keeps the limiters it used last, and finds them again without
    /// writing to anything shared.
    pub(super) fn with<T>(&self, bucket: &Bucket, check: impl Fn(&BucketLimiter) -> T) -> T {
        thread_local! {
            /// At most [`RECENT_LIMITERS`], by store and bucket. A store that is dropped is let
            /// go once newer limiters have taken its places.
            static RECENT: RefCell<Vec<(u64, Bucket, Arc<BucketLimiter>)>> =
                const { RefCell::new(Vec::new()) };
        }
        let recent = RECENT.with_borrow(|recent| {
            recent
                .iter()
                .find(|(store, recent, _)| *store == self.store && same_bucket(recent, bucket))
                .map(|(_, _, limiter)| check(limiter))
        });
        if let Some(checked) = recent {
            return checked;
        }
        let limiter = Arc::clone(&self.get_or_make(bucket));
        let checked = check(&limiter);
        RECENT.with_borrow_mut(|recent| {
            if recent.len() == RECENT_LIMITERS {
                recent.remove(0);
            }
            recent.push((self.store, *bucket, limiter));
        });
        checked
    }

    fn get_or_make(&self, bucket: &Bucket) -> Ref<'_, Bucket, Arc<BucketLimiter>> {
        if let Some(limiter) = self.map.get(bucket) {
            return limiter;
        }
        self.map
            .entry(*bucket)
            .or_insert_with(|| {
                let table = KeyTable {
                    map: Arc::new(DashMap::with_hasher(PreHashed)),
                    held: Arc::clone(&self.held),
                };
                Arc::new(BucketLimiter {
                    limiter: RateLimiter::<_, _, _, NoOpMiddleware<_>>::new(
                        quota(bucket),
                        table.clone(),
                        self.clock.clone(),
                    )
                    .with_middleware::<StateInformationMiddleware>(),
                    table,
                })
            })
            .downgrade()
    }

    /// Every limiter, for a sweep.
    pub(super) fn all(&self) -> Vec<Arc<BucketLimiter>> {
        self.map
            .iter()
            .map(|limiter| Arc::clone(&limiter))
            .collect()
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The same bucket: a name is mostly the same `&'static str`, and compared byte by byte
/// only when it is not.
fn same_bucket(left: &Bucket, right: &Bucket) -> bool {
    left.rate == right.rate && (std::ptr::eq(left.name, right.name) || left.name == right.name)
}

fn quota(bucket: &Bucket) -> Quota {
    let rate = bucket.rate;
    let max = NonZeroU32::new(rate.max).unwrap_or(NonZeroU32::MIN);
    let period = rate.refill_interval().max(Duration::from_nanos(1));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(max))
        .allow_burst(max)
}

/// One bucket's keys: governor's state (the theoretical arrival time, 0 for none) per hashed
/// subject, counted in the store's `held`.
#[derive(Clone)]
pub(super) struct KeyTable {
    pub(super) map: Arc<DashMap<u64, AtomicU64, PreHashed>>,
    pub(super) held: Arc<AtomicUsize>,
}

impl StateStore for KeyTable {
    type Key = u64;

    fn measure_and_replace<T, F, E>(&self, key: &u64, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if let Some(state) = self.map.get(key) {
            return measure_and_replace(&state, f);
        }
        let state = self.map.entry(*key).or_insert_with(|| {
            self.held.fetch_add(1, Ordering::Relaxed);
            AtomicU64::new(0)
        });
        measure_and_replace(&state, f)
    }
}

/// governor's own compare-and-swap loop (`InMemoryState`, not public), over our table.
fn measure_and_replace<T, E>(
    state: &AtomicU64,
    f: impl Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
) -> Result<T, E> {
    let mut previous = state.load(Ordering::Acquire);
    loop {
        let (result, next) = f(NonZeroU64::new(previous).map(|tat| Nanos::from(tat.get())))?;
        match state.compare_exchange_weak(
            previous,
            next.into(),
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Ok(result),
            Err(current) => previous = current,
        }
    }
}

impl ShrinkableKeyedStateStore<u64> for KeyTable {
    fn retain_recent(&self, drop_below: Nanos) {
        let drop_below = u64::from(drop_below);
        self.map.retain(|_, state| {
            let keep = state.load(Ordering::Relaxed) > drop_below;
            if !keep {
                self.held.fetch_sub(1, Ordering::Relaxed);
            }
            keep
        });
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The tables' keys are hashes already (keyed per process): used as they are.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PreHashed;

impl BuildHasher for PreHashed {
    type Hasher = PreHashedKey;

    fn build_hasher(&self) -> PreHashedKey {
        PreHashedKey(0)
    }
}

#[derive(Debug)]
pub(super) struct PreHashedKey(u64);

impl Hasher for PreHashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys reach this hasher; fold anything else in rather than drop it.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}
