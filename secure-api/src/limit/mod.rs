//! Budgets: the store trait that holds every budget and one-time state of the guard, the
//! login and the second factor; its in-memory implementation; the decision that feeds the
//! `RateLimit` headers; and the limits the guard applies besides each handler's own.

use crate::policy::Rate;
use crate::store::{BoxFuture, StoreUnavailable};

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

mod memory;
mod report;

pub use memory::{DEFAULT_MAX_KEYS, MemoryStore};
#[cfg(feature = "harden")]
pub(crate) use report::ReportRateLimitLayer;
pub(crate) use report::{Reporting, report};

/// Where budgets and one-time state live: in this process ([`MemoryStore`]) or shared by
/// every instance of an API (`store::RedisStore`), so that a limit holds across the fleet.
///
/// It holds three kinds of state, each decided atomically by the store:
/// - rate budgets ([`check`](Self::check)): the handlers' limits and the failed-credential
///   budget of each client address;
/// - failure counts ([`failures`](Self::failures), [`add_failure`](Self::add_failure),
///   [`clear_failures`](Self::clear_failures)): login lock-outs and slow-downs;
/// - one-time values ([`spend_once`](Self::spend_once)): a TOTP step is accepted once.
///
/// The methods after `check` have default implementations that answer
/// [`StoreUnavailable`], so a store written for rate limits alone fails closed when asked for
/// the rest.
pub trait RateLimitStore: Send + Sync + 'static {
    /// Takes one request from `subject`'s budget in `bucket`, atomically, and says whether it
    /// was admitted.
    fn check<'a>(
        &'a self,
        bucket: &'a Bucket,
        subject: &'a Subject,
    ) -> BoxFuture<'a, Result<RateDecision, StoreUnavailable>>;

    /// The failures counted so far under `counter`, without counting one.
    fn failures<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<Failures, StoreUnavailable>> {
        let _ = counter;
        Box::pin(std::future::ready(Err(not_kept("failure counts"))))
    }

    /// Counts one failure under `counter` and answers the count including it. The first
    /// failure starts the window; the count is forgotten when the window has passed.
    fn add_failure<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<Failures, StoreUnavailable>> {
        let _ = counter;
        Box::pin(std::future::ready(Err(not_kept("failure counts"))))
    }

    /// Forgets the failures counted under `counter` (a successful login).
    fn clear_failures<'a>(
        &'a self,
        counter: &'a FailureCounter<'a>,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        let _ = counter;
        Box::pin(std::future::ready(Err(not_kept("failure counts"))))
    }

    /// Records `value` under `once` if it is greater than the value recorded there, and says
    /// whether it was: a value, and every value below it, is accepted once until `once.ttl`
    /// has passed since the last acceptance.
    fn spend_once<'a>(
        &'a self,
        once: &'a OneTime<'a>,
        value: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        let _ = (once, value);
        Box::pin(std::future::ready(Err(not_kept("one-time values"))))
    }
}

/// A key for text a client chose (a username): a short digest, so that keys stay small and
/// a shared store holds no names.
#[cfg(any(feature = "login", feature = "mfa"))]
pub(crate) fn opaque_key(text: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn not_kept(what: &str) -> StoreUnavailable {
    StoreUnavailable(format!("this rate-limit store does not keep {what}"))
}

/// A count of failures remembered for a window that starts with the first failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCounter<'a> {
    /// Keeps different counts apart (`login_account`, `login_address`, …).
    pub name: &'static str,
    /// Whose failures. Callers hash anything a client chose (a username) before it is a key.
    pub key: &'a str,
    /// How long the failures are remembered after the first one.
    pub window: Duration,
}

/// What a [`FailureCounter`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Failures in the current window.
    pub count: u32,
    /// When the window ends and the count is forgotten (zero when there is none).
    pub resets_in: Duration,
}

/// A value that may be used once per key (a TOTP step per account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneTime<'a> {
    /// Keeps different kinds of value apart (`totp`).
    pub name: &'static str,
    /// Whose value.
    pub key: &'a str,
    /// How long the last accepted value is remembered.
    pub ttl: Duration,
}

/// One limit: a name that keeps different handlers' counts apart, and its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucket {
    /// Unique per handler (the policy's type name) or per built-in limit.
    pub name: &'static str,
    /// The limit.
    pub rate: Rate,
}

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A client address: an IPv4 address, or the /64 network of an IPv6 address.
    Ip(IpAddr),
    /// The authenticated subject (`sub` claim, or an API key's owner).
    User(Box<str>),
    /// An API key, by its id.
    ApiKey(Box<str>),
    /// Everyone at once.
    Global,
}

impl Subject {
    /// The subject for a client address; IPv6 clients are counted by their /64 network,
    /// since one host usually holds a whole /64 and could otherwise rotate addresses.
    pub fn ip(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self::Ip(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Ip(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    Self::Ip(IpAddr::V6(network.into()))
                }
            },
        }
    }
}

/// The outcome of one rate-limit check, with what the `RateLimit` fields report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request is admitted.
    pub allowed: bool,
    /// The rate that was applied.
    pub rate: Rate,
    /// Requests left right now, after this one.
    pub remaining: u32,
    /// When the next request will be admitted, for a denied one.
    pub retry_after: Duration,
    /// When the budget will be whole again.
    pub reset: Duration,
}

/// Seconds rounded up and at least 1, so that a client never retries too early: what every
/// `Retry-After` and `RateLimit` field says.
pub(crate) fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// The limits the guard applies besides each handler's own, and where every limit is counted.
pub(crate) struct Limits {
    pub(crate) store: Arc<dyn RateLimitStore>,
    /// `store` again when it is the in-memory one: its decisions are taken at once, without
    /// the boxed future of the trait.
    pub(crate) in_memory: Option<Arc<MemoryStore>>,
    /// The limit of authenticated handlers that declare none.
    pub(crate) default_rate: Rate,
    /// Failed authentications allowed per client address.
    pub(crate) failed_auth_rate: Rate,
}

impl Limits {
    /// Takes one request from `subject`'s budget in `bucket`.
    pub(crate) async fn check(
        &self,
        bucket: &Bucket,
        subject: &Subject,
    ) -> Result<RateDecision, StoreUnavailable> {
        match &self.in_memory {
            Some(memory) => Ok(memory.decide(bucket, subject)),
            None => self.store.check(bucket, subject).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RateKey;
    use axum::http::{HeaderMap, header};
    use std::net::Ipv6Addr;

    #[test]
    fn ipv6_is_keyed_by_its_64_network() {
        let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: Ipv6Addr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(Subject::ip(a.into()), Subject::ip(b.into()));
        assert_ne!(Subject::ip(a.into()), Subject::ip(c.into()));
        let mapped: Ipv6Addr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            Subject::ip(mapped.into()),
            Subject::Ip("192.0.2.7".parse().expect("ip"))
        );
    }

    #[test]
    fn headers_follow_the_draft() {
        let mut headers = HeaderMap::new();
        RateDecision {
            allowed: false,
            rate: Rate {
                max: 100,
                window: Duration::from_secs(900),
                key: RateKey::User,
            },
            remaining: 0,
            retry_after: Duration::from_millis(8_200),
            reset: Duration::from_secs(900),
        }
        .write_headers(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"user\";q=100;w=900");
        assert_eq!(headers["ratelimit"], "\"user\";r=0;t=900");
        assert_eq!(headers[header::RETRY_AFTER], "9");
    }
}
