//! Denials this instance remembers: once Redis has answered a client "no, retry in 9 s", the
//! client's further requests in that bucket are answered here until then, without a round
//! trip. A client that ignores `Retry-After` costs the fleet's Redis nothing.
//!
//! This loses no exactness. Only an admitted request moves a GCRA budget, and other instances
//! can only admit more, so nothing frees the budget sooner than Redis said. The wait is
//! counted from when the request was sent, before Redis decided, so the memory never
//! outlasts Redis's own answer. Admitted decisions are never remembered: each is Redis's.

use crate::limit::{Bucket, RateDecision, Subject};
use crate::policy::Rate;
use dashmap::DashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Instant;

/// How many denials are remembered at most. Past it, a new denial is not remembered (its
/// client's next request asks Redis, as without the memory) until expired ones are swept.
const MAX_REMEMBERED: usize = 100_000;

/// Denials by bucket and subject: a 64-bit hash of the two under this process's random SipHash
/// key, so that an entry is 8 bytes of key whatever the subject, and a request answered here
/// never builds its Redis key.
pub(super) struct Denials {
    until: DashMap<u64, Denial>,
    hasher: RandomState,
}

#[derive(Clone, Copy)]
struct Denial {
    /// No request is admitted before.
    retry_at: Instant,
    /// The budget is whole again.
    reset_at: Instant,
}

impl Denials {
    pub(super) fn new() -> Self {
        Self {
            until: DashMap::new(),
            hasher: RandomState::new(),
        }
    }

    /// Where the denial of `subject` in `bucket` is remembered.
    pub(super) fn slot(&self, bucket: &Bucket, subject: &Subject) -> u64 {
        self.hasher.hash_one((bucket, subject))
    }

    /// The denial Redis would give at `now`, if it gave one for `slot` that still holds.
    pub(super) fn remembered(&self, slot: u64, rate: Rate, now: Instant) -> Option<RateDecision> {
        let denial = *self.until.get(&slot)?;
        if denial.retry_at <= now {
            self.until
                .remove_if(&slot, |_, denial| denial.retry_at <= now);
            return None;
        }
        Some(RateDecision {
            allowed: false,
            rate,
            remaining: 0,
            retry_after: denial.retry_at - now,
            reset: denial.reset_at.saturating_duration_since(now),
        })
    }

    /// Remembers `decision`, made by Redis for a request sent at `sent`, if it is a denial.
    pub(super) fn remember(&self, slot: u64, decision: &RateDecision, sent: Instant) {
        if decision.allowed || decision.retry_after.is_zero() {
            return;
        }
        if self.until.len() >= MAX_REMEMBERED {
            self.sweep(sent);
            if self.until.len() >= MAX_REMEMBERED {
                return;
            }
        }
        self.until.insert(
            slot,
            Denial {
                retry_at: sent + decision.retry_after,
                reset_at: sent + decision.reset.max(decision.retry_after),
            },
        );
    }

    /// Forgets the denials that have run out.
    fn sweep(&self, now: Instant) {
        self.until.retain(|_, denial| denial.retry_at > now);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RateKey;
    use std::time::Duration;

    const RATE: Rate = Rate {
        max: 10,
        window: Duration::from_secs(60),
        key: RateKey::User,
    };
    const BUCKET: Bucket = Bucket {
        name: "reports",
        rate: RATE,
    };

    fn denial(retry_after: Duration) -> RateDecision {
        RateDecision {
            allowed: false,
            rate: RATE,
            remaining: 0,
            retry_after,
            reset: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_denial_is_answered_locally_until_its_retry_time() {
        let denials = Denials::new();
        let slot = denials.slot(&BUCKET, &Subject::User("eve".into()));
        let sent = Instant::now();
        denials.remember(slot, &denial(Duration::from_secs(9)), sent);
        let local = denials
            .remembered(slot, RATE, sent + Duration::from_secs(4))
            .expect("still denied");
        assert!(!local.allowed);
        assert_eq!(local.remaining, 0);
        assert_eq!(local.retry_after, Duration::from_secs(5));
        assert_eq!(local.reset, Duration::from_secs(56));
        assert!(
            denials
                .remembered(slot, RATE, sent + Duration::from_secs(9))
                .is_none(),
            "at the retry time Redis decides again"
        );
        assert_eq!(denials.len(), 0, "a denial that ran out is forgotten");
    }

    #[test]
    fn admissions_and_other_subjects_are_not_remembered() {
        let denials = Denials::new();
        let eve = denials.slot(&BUCKET, &Subject::User("eve".into()));
        let bob = denials.slot(&BUCKET, &Subject::User("bob".into()));
        let other_bucket = Bucket {
            name: "another",
            ..BUCKET
        };
        assert_ne!(eve, bob);
        assert_ne!(
            eve,
            denials.slot(&other_bucket, &Subject::User("eve".into()))
        );
        let sent = Instant::now();
        let admitted = RateDecision {
            allowed: true,
            remaining: 3,
            retry_after: Duration::ZERO,
            ..denial(Duration::ZERO)
        };
        denials.remember(eve, &admitted, sent);
        assert!(denials.remembered(eve, RATE, sent).is_none());
        denials.remember(eve, &denial(Duration::from_secs(1)), sent);
        assert!(denials.remembered(eve, RATE, sent).is_some());
        assert!(denials.remembered(bob, RATE, sent).is_none());
    }

    #[test]
    fn the_memory_is_bounded() {
        let denials = Denials::new();
        let sent = Instant::now();
        for slot in 0..MAX_REMEMBERED as u64 + 10 {
            denials.remember(slot, &denial(Duration::from_secs(30)), sent);
        }
        assert_eq!(
            denials.len(),
            MAX_REMEMBERED,
            "past the cap, denials are not kept"
        );
        // Once they have run out, a sweep makes room.
        let later = sent + Duration::from_secs(31);
        denials.remember(u64::MAX, &denial(Duration::from_secs(30)), later);
        assert_eq!(denials.len(), 1);
    }
}
