//! The tables under the in-memory store: governor's state per hashed subject, counted in
//! the store's total, and the hasher that takes a hash as it is.

use dashmap::DashMap;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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
