//! The tokens the guard has verified before, so that a token presented again is not verified
//! again until it expires.

use super::identity::{Identity, TokenRejection};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many verified tokens the guard remembers unless configured otherwise.
pub(crate) const DEFAULT_CAPACITY: usize = 4096;

/// Tokens that verified, by their text. A client presents the same access token on every
/// request of a session, and nothing that verification looked at can have changed since (the
/// issuer, audience and accepted types are fixed when `Security` is built, and the cache is
/// emptied when a fetched key set changes), except the time: so a token seen before is not verified again, only its `exp` is checked (Envoy's
/// `jwt_authn` keeps the same kind of cache). Signature, base64 and JSON were most of the
/// guard's cost in its profile.
///
/// Only tokens that verified are kept, at most `capacity`, none past its `exp`; a token that
/// failed is verified again each time (and counted against its client). Revocation is not
/// cached: the guard looks the `jti` up on every request.
///
/// A client that sends many requests at once has them answered on every core, and the map's
/// lock and the identity's reference count are cache lines the cores would pass back and
/// forth. So a thread that finds the same token twice in a row keeps its own copy of the
/// identity ([`Recent`]) and finds it there without writing to anything shared.
pub(super) struct VerifiedTokens {
    /// Only verified tokens are keys: no client can make them collide.
    entries: dashmap::DashMap<Box<str>, Arc<Identity>, foldhash::fast::RandomState>,
    capacity: usize,
    leeway: u64,
    /// Tells this cache's tokens from another's in each thread's [`Recent`].
    cache: u64,
    /// Moves whenever the entries are forgotten: a thread's copy from before is stale.
    epoch: AtomicU64,
}

/// The token a thread looked up last and, once it looked the same one up twice in a row, its
/// own copy of that token's identity.
struct Recent {
    /// The last token looked up (its length and last bytes, which are signature): a second
    /// look-up of it in a row makes the copy, so that a thread serving many clients in turn
    /// does not copy an identity on each request.
    last: (usize, u64),
    copy: Option<ThreadCopy>,
}

struct ThreadCopy {
    cache: u64,
    epoch: u64,
    token: Box<str>,
    identity: Arc<Identity>,
}

thread_local! {
    static RECENT: RefCell<Recent> = const { RefCell::new(Recent { last: (0, 0), copy: None }) };
}

impl VerifiedTokens {
    pub(super) fn new(capacity: usize, leeway_secs: u64) -> Self {
        Self {
            entries: dashmap::DashMap::default(),
            capacity,
            leeway: leeway_secs,
            cache: {
                static CACHES: AtomicU64 = AtomicU64::new(0);
                CACHES.fetch_add(1, Ordering::Relaxed)
            },
            epoch: AtomicU64::new(0),
        }
    }

    /// The identity of a token verified before, or `Expired` once its `exp` (with the
    /// leeway, as jsonwebtoken judges it) has passed.
    pub(super) fn get(
        &self,
        token: &str,
        now: u64,
    ) -> Option<Result<Arc<Identity>, TokenRejection>> {
        if self.capacity == 0 {
            // Turned off: not even the token's hash is worth computing.
            return None;
        }
        // Read before the entries: a copy made from entries about to be forgotten then carries
        // the epoch that `clear` moves past.
        let epoch = self.epoch.load(Ordering::Acquire);
        let identity = match self.recent(token, epoch) {
            (Some(copy), _) => copy,
            (None, true) => self.keep_copy(token, epoch, &**self.entries.get(token)?),
            (None, false) => Arc::clone(&*self.entries.get(token)?),
        };
        if identity.expires_at().saturating_add(self.leeway) < now {
            self.entries.remove(token);
            return Some(Err(TokenRejection::Expired));
        }
        Some(Ok(identity))
    }

    /// This thread's copy of the token's identity, if it has one from this cache and epoch;
    /// and whether the token is the one this thread looked up last.
    fn recent(&self, token: &str, epoch: u64) -> (Option<Arc<Identity>>, bool) {
        let tail = token.as_bytes().rchunks(8).next().unwrap_or_default();
        let fingerprint = (
            token.len(),
            tail.iter()
                .fold(0, |last, byte| last << 8 | u64::from(*byte)),
        );
        RECENT.with_borrow_mut(|recent| {
            let repeated = std::mem::replace(&mut recent.last, fingerprint) == fingerprint;
            let copy = recent.copy.as_ref().filter(|copy| {
                copy.cache == self.cache && copy.epoch == epoch && *copy.token == *token
            });
            (copy.map(|copy| Arc::clone(&copy.identity)), repeated)
        })
    }

    /// Gives this thread its own copy of a token's identity.
    fn keep_copy(&self, token: &str, epoch: u64, shared: &Identity) -> Arc<Identity> {
        let own = Arc::new(shared.clone());
        RECENT.with_borrow_mut(|recent| {
            recent.copy = Some(ThreadCopy {
                cache: self.cache,
                epoch,
                token: token.into(),
                identity: Arc::clone(&own),
            });
        });
        own
    }

    pub(super) fn insert(&self, token: &str, identity: &Arc<Identity>, now: u64) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            let leeway = self.leeway;
            self.entries
                .retain(|_, identity| identity.expires_at().saturating_add(leeway) >= now);
            if self.entries.len() >= self.capacity {
                // All still valid: start over rather than track recency on every hit.
                self.entries.clear();
            }
        }
        self.entries.insert(token.into(), Arc::clone(identity));
    }

    /// Forgets every verified token: the keys they were verified with changed.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(super) fn clear(&self) {
        self.entries.clear();
        // After the entries: a thread that reads the new epoch finds them forgotten.
        self.epoch.fetch_add(1, Ordering::Release);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}
