//! Audit (O1) and counters (O2): one `tracing` event for every allow, deny and throttle, on
//! the target [`TARGET`]; per handler and reason counts of the same decisions; and the request
//! id that ties an event to a response.

use crate::policy::PolicySpec;
use axum::extract::MatchedPath;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The `tracing` target of every audit event: allow, deny, throttle, and the failures of the
/// stores the decisions depend on. Route it to the audit log.
pub const TARGET: &str = "secure_api::audit";

/// The `tracing` target of configuration warnings and errors (an ephemeral key, a key that
/// cannot sign).
pub const CONFIG_TARGET: &str = "secure_api::config";

/// The request id header, named in every audit event. The hardening layers take it from
/// the client when it is a short token, make one up otherwise, and echo it.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id worth writing into the audit log: at most 64 of `[A-Za-z0-9._-]`. Anything
/// else is the client's text, which has no place in our logs.
pub(crate) fn is_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(byte))
}

/// A connection the server closed before any handler saw its request: a head too slow, too
/// large or malformed (`serve`). At debug level, since a flood of them is the attack and must
/// not flood the log as well.
#[cfg(feature = "serve")]
pub(crate) fn connection_refused(client: IpAddr, reason: &'static str) {
    tracing::debug!(target: TARGET, outcome = "deny", reason, client_ip = %client);
}

/// What an audit event says about one request the guard decides, and the counters each
/// decision is added to.
#[derive(Clone, Copy)]
pub(crate) struct Audit<'a> {
    pub(crate) spec: &'a PolicySpec,
    pub(crate) parts: &'a Parts,
    pub(crate) client: IpAddr,
    pub(crate) subject: Option<&'a str>,
    /// The id of the API key presented (never the key).
    pub(crate) api_key: Option<&'a str>,
    pub(crate) counters: &'a Counters,
}

impl Audit<'_> {
    fn route(&self) -> &str {
        self.parts
            .extensions
            .get::<MatchedPath>()
            .map_or("", MatchedPath::as_str)
    }

    fn request_id(&self) -> &str {
        self.parts
            .headers
            .get(&REQUEST_ID)
            .filter(|id| is_request_id(id))
            .and_then(|id| id.to_str().ok())
            .unwrap_or("-")
    }

    pub(crate) fn allow(&self) {
        self.counters.count(self.spec.handler, "allow", "");
        tracing::info!(
            target: TARGET,
            outcome = "allow",
            handler = self.spec.handler,
            method = %self.parts.method,
            route = self.route(),
            subject = self.subject.unwrap_or("-"),
            api_key = self.api_key.unwrap_or("-"),
            client_ip = %self.client,
            request_id = self.request_id(),
        );
    }

    pub(crate) fn deny(&self, reason: &'static str) {
        self.event("deny", reason);
    }

    pub(crate) fn throttle(&self, reason: &'static str) {
        self.event("throttle", reason);
    }

    pub(crate) fn event(&self, outcome: &'static str, reason: &'static str) {
        self.counters.count(self.spec.handler, outcome, reason);
        tracing::warn!(
            target: TARGET,
            outcome,
            reason,
            handler = self.spec.handler,
            method = %self.parts.method,
            route = self.route(),
            subject = self.subject.unwrap_or("-"),
            api_key = self.api_key.unwrap_or("-"),
            client_ip = %self.client,
            request_id = self.request_id(),
        );
    }
}

/// How many requests each handler allowed, denied and throttled, by reason (O2). The keys are
/// names in code, so no client can make them collide.
///
/// Each thread counts in a shard of its own, summed when read: every request is counted, and
/// a shared count (or a shared map's lock) would be a cache line the cores pass back and forth
/// on every request.
#[derive(Debug, Default)]
pub(crate) struct Counters([Shard; SHARDS]);

/// More shards than the cores of most machines: threads beyond them share.
const SHARDS: usize = 16;

type CounterKey = (&'static str, &'static str, &'static str);

/// One thread's counts, alone on its cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(Mutex<HashMap<CounterKey, u64, foldhash::fast::RandomState>>);

impl Shard {
    fn counts(&self) -> MutexGuard<'_, HashMap<CounterKey, u64, foldhash::fast::RandomState>> {
        // Nothing that can panic runs under the lock; the counts stay good if it did.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// This thread's shard.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|index| *index)
}

impl Counters {
    fn count(&self, handler: &'static str, outcome: &'static str, reason: &'static str) {
        *self.0[shard_index()]
            .counts()
            .entry((handler, outcome, reason))
            .or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> Vec<Counter> {
        let mut totals = BTreeMap::<CounterKey, u64>::new();
        for shard in &self.0 {
            for (key, count) in shard.counts().iter() {
                *totals.entry(*key).or_default() += count;
            }
        }
        totals
            .into_iter()
            .map(|((handler, outcome, reason), count)| Counter {
                handler,
                outcome,
                reason,
                count,
            })
            .collect()
    }
}

/// One counter: requests of `handler` with this outcome and reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Counter {
    /// The handler's function name.
    pub handler: &'static str,
    /// `allow`, `deny` or `throttle`.
    pub outcome: &'static str,
    /// Why (`missing_token`, `rate_limit`, …); empty for `allow`.
    pub reason: &'static str,
    /// How many so far.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_are_summed() {
        let counters = Counters::default();
        std::thread::scope(|scope| {
            for _ in 0..SHARDS + 3 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        counters.count("create", "allow", "");
                    }
                    counters.count("create", "deny", "missing_role");
                });
            }
        });
        counters.count("list", "allow", "");
        let counts: Vec<_> = counters
            .snapshot()
            .into_iter()
            .map(|counter| {
                (
                    counter.handler,
                    counter.outcome,
                    counter.reason,
                    counter.count,
                )
            })
            .collect();
        let threads = (SHARDS + 3) as u64;
        assert_eq!(
            counts,
            [
                ("create", "allow", "", 1000 * threads),
                ("create", "deny", "missing_role", threads),
                ("list", "allow", "", 1),
            ]
        );
    }
}
