//! Rate limiting: the store trait, its in-memory implementation on governor, the decision
//! that feeds the `RateLimit` headers, and the limits the guard applies besides each
//! handler's own.

use crate::policy::Rate;
use crate::store::{BoxFuture, StoreUnavailable};

use axum::http::{HeaderMap, HeaderValue, header};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where rate-limit state lives: in this process ([`MemoryStore`]) or shared by several
/// instances.
pub trait RateLimitStore: Send + Sync + 'static {
    /// Takes one request from `subject`'s budget in `bucket`, atomically, and says whether it
    /// was admitted.
    fn check<'a>(
        &'a self,
        bucket: &'a Bucket,
        subject: &'a Subject,
    ) -> BoxFuture<'a, Result<RateDecision, StoreUnavailable>>;
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
    /// The authenticated subject (`sub` claim).
    User(Box<str>),
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

impl RateDecision {
    /// Writes `RateLimit-Policy`, `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10) and,
    /// for a denial, `Retry-After`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let name = self.rate.key.as_str();
        let policy = format!(
            "\"{name}\";q={};w={}",
            self.rate.max,
            self.rate.window.as_secs().max(1)
        );
        let current = format!(
            "\"{name}\";r={};t={}",
            self.remaining,
            whole_seconds(self.reset)
        );
        for (field, value) in [("ratelimit-policy", policy), ("ratelimit", current)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(field, value);
            }
        }
        if !self.allowed {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(whole_seconds(self.retry_after)),
            );
        }
    }
}

/// Seconds rounded up and at least 1, so that a client never retries too early.
fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

type KeyedLimiter =
    RateLimiter<Subject, DashMapStateStore<Subject>, DefaultClock, StateInformationMiddleware>;

/// The in-memory store: one governor keyed limiter per bucket, the embedded default for a
/// single instance.
///
/// governor never forgets a key by itself; every `sweep_interval` the store drops the keys
/// whose budget is whole again (they hold no information) and gives the memory back, so a
/// flood of distinct clients cannot grow it without bound.
pub struct MemoryStore {
    limiters: dashmap::DashMap<Bucket, Arc<KeyedLimiter>>,
    sweep_interval: Duration,
    created: Instant,
    last_sweep_ms: AtomicU64,
}

impl MemoryStore {
    /// A store that sweeps idle keys every 60 seconds.
    pub fn new() -> Self {
        Self::with_sweep_interval(Duration::from_secs(60))
    }

    /// A store that sweeps idle keys every `interval`.
    pub fn with_sweep_interval(interval: Duration) -> Self {
        Self {
            limiters: dashmap::DashMap::new(),
            sweep_interval: interval,
            created: Instant::now(),
            last_sweep_ms: AtomicU64::new(0),
        }
    }

    /// The number of keys held, over all buckets.
    pub fn len(&self) -> usize {
        self.limiters.iter().map(|limiter| limiter.len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every key whose budget is whole again and releases the memory it held.
    pub fn sweep(&self) {
        let limiters: Vec<Arc<KeyedLimiter>> = self
            .limiters
            .iter()
            .map(|limiter| Arc::clone(&limiter))
            .collect();
        for limiter in limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn limiter(&self, bucket: &Bucket) -> Arc<KeyedLimiter> {
        if let Some(limiter) = self.limiters.get(bucket) {
            return Arc::clone(&limiter);
        }
        let limiter = self
            .limiters
            .entry(*bucket)
            .or_insert_with(|| Arc::new(keyed_limiter(bucket.rate)));
        Arc::clone(&limiter)
    }

    /// Claims the next sweep if it is due; only one caller wins the claim.
    fn sweep_is_due(&self) -> bool {
        let now = self.created.elapsed().as_millis() as u64;
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        now.saturating_sub(last) >= self.sweep_interval.as_millis() as u64
            && self
                .last_sweep_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    fn check_now(&self, bucket: &Bucket, subject: &Subject) -> RateDecision {
        let limiter = self.limiter(bucket);
        let rate = bucket.rate;
        match limiter.check_key(subject) {
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
            .field("sweep_interval", &self.sweep_interval)
            .finish()
    }
}

fn keyed_limiter(rate: Rate) -> KeyedLimiter {
    let max = NonZeroU32::new(rate.max).unwrap_or(NonZeroU32::MIN);
    let period = rate.refill_interval().max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(max))
        .allow_burst(max);
    RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>()
}

impl RateLimitStore for Arc<MemoryStore> {
    fn check<'a>(
        &'a self,
        bucket: &'a Bucket,
        subject: &'a Subject,
    ) -> BoxFuture<'a, Result<RateDecision, StoreUnavailable>> {
        let decision = self.check_now(bucket, subject);
        if self.sweep_is_due() {
            let store = Arc::clone(self);
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn_blocking(move || store.sweep());
                }
                Err(_) => store.sweep(),
            }
        }
        Box::pin(std::future::ready(Ok(decision)))
    }
}

/// The limits the guard applies besides each handler's own, where every limit is counted,
/// and the clients whose failed authentications used up their budget.
pub(crate) struct Limits {
    pub(crate) store: Arc<dyn RateLimitStore>,
    /// The limit of authenticated handlers that declare none.
    pub(crate) default_rate: Rate,
    /// Failed authentications allowed per client address.
    pub(crate) failed_auth_rate: Rate,
    /// Clients whose failed authentications used up their budget, until when.
    blocked: dashmap::DashMap<Subject, Instant>,
}

impl Limits {
    pub(crate) fn new(
        store: Arc<dyn RateLimitStore>,
        default_rate: Rate,
        failed_auth_rate: Rate,
    ) -> Self {
        Self {
            store,
            default_rate,
            failed_auth_rate,
            blocked: dashmap::DashMap::new(),
        }
    }

    /// Whether `client` used up its failed-authentication budget and must still wait.
    pub(crate) fn is_blocked(&self, client: &Subject) -> bool {
        let Some(until) = self.blocked.get(client).map(|until| *until) else {
            return false;
        };
        if until > Instant::now() {
            return true;
        }
        self.blocked
            .remove_if(client, |_, until| *until <= Instant::now());
        false
    }

    /// Answers `client` 429 without looking at its token for `duration`.
    pub(crate) fn block(&self, client: &Subject, duration: Duration) {
        self.blocked
            .insert(client.clone(), Instant::now() + duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RateKey;
    use std::net::Ipv6Addr;

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

    /// "3/300ms": three at once, then one every 100 ms.
    #[test]
    fn burst_then_refill() {
        let store = Arc::new(MemoryStore::new());
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
        let store = Arc::new(MemoryStore::new());
        let bucket = bucket(5, Duration::from_millis(50));
        for n in 0..1000u32 {
            store.check_now(&bucket, &Subject::ip(IpAddr::from(n.to_be_bytes())));
        }
        assert_eq!(store.len(), 1000);
        std::thread::sleep(Duration::from_millis(60));
        store.sweep();
        assert_eq!(store.len(), 0);
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
