//! The tokens the guard has verified before, so that a token presented again is not verified
//! again until it expires.

use super::identity::{Identity, TokenRejection};
use std::sync::Arc;

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
pub(super) struct VerifiedTokens {
    /// Only verified tokens are keys: no client can make them collide.
    entries: dashmap::DashMap<Box<str>, Arc<Identity>, foldhash::fast::RandomState>,
    capacity: usize,
    leeway: u64,
}

impl VerifiedTokens {
    pub(super) fn new(capacity: usize, leeway_secs: u64) -> Self {
        Self {
            entries: dashmap::DashMap::default(),
            capacity,
            leeway: leeway_secs,
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
        let identity = Arc::clone(&*self.entries.get(token)?);
        if identity.expires_at().saturating_add(self.leeway) < now {
            self.entries.remove(token);
            return Some(Err(TokenRejection::Expired));
        }
        Some(Ok(identity))
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
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}
