//! Keys an identity provider publishes: a JWK Set at a URL, or the one its OpenID discovery
//! document names. They are fetched over HTTPS (plain HTTP only on loopback), kept in memory,
//! refreshed in the background before the document's `max-age` runs out, fetched again when
//! a token names a key the set does not have (at most once per interval, one fetch at a time
//! however many requests ask), and kept when a refresh fails, for a bounded time.
//!
//! Until a set has been fetched, and once it is older than the staleness bound, there are no
//! keys: the guard answers 503 and never accepts a token it cannot verify.

use super::fetch::{HttpClient, allowed_url, get, http_client};
use super::jwk::{KeySetReading, read_key_set};
use super::key::Key;
use crate::audit;
use crate::error::ConfigError;
use arc_swap::ArcSwapOption;
use jsonwebtoken::Algorithm;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use url::Url;

/// Where the keys come from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// A JWK Set URL (`SECURE_API_JWKS_URL`).
    JwksUrl(Url),
    /// An OpenID provider's issuer (`SECURE_API_OIDC_ISSUER`): its discovery document names
    /// the key set, and must name this issuer.
    Discovery(String),
}

impl KeySource {
    /// Checks the URL: HTTPS, or HTTP on a loopback address.
    pub(crate) fn jwks_url(url: &str) -> Result<Self, ConfigError> {
        Ok(Self::JwksUrl(allowed_url(url).map_err(|reason| {
            ConfigError::invalid("JWKS URL", reason)
        })?))
    }

    pub(crate) fn discovery(issuer: &str) -> Result<Self, ConfigError> {
        allowed_url(issuer).map_err(|reason| ConfigError::invalid("OpenID issuer", reason))?;
        Ok(Self::Discovery(issuer.to_owned()))
    }

    fn describe(&self) -> String {
        match self {
            Self::JwksUrl(url) => url.to_string(),
            Self::Discovery(issuer) => format!("{issuer} (discovery)"),
        }
    }
}

/// When keys are fetched again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshPolicy {
    /// Refresh no sooner than this after a fetch, whatever `max-age` says.
    pub(crate) min_refresh: Duration,
    /// Refresh no later than this after a fetch, whatever `max-age` says; also the interval
    /// when the document sends no `max-age`.
    pub(crate) max_refresh: Duration,
    /// A token naming an unknown `kid` causes a fetch at most once per this interval.
    pub(crate) unknown_kid_interval: Duration,
    /// Keys are kept this long after the last successful fetch while refreshes fail.
    pub(crate) max_stale: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            min_refresh: Duration::from_secs(60),
            max_refresh: Duration::from_secs(60 * 60),
            unknown_kid_interval: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// What `SecurityBuilder` configures: where the keys are, which algorithms they may be for,
/// and when to fetch them again.
pub(crate) struct RemoteSettings {
    pub(crate) source: KeySource,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) policy: RefreshPolicy,
}

/// Keys fetched from a provider. Shared by the verifier and its background refresher.
pub(crate) struct RemoteKeys {
    source: KeySource,
    algorithms: Vec<Algorithm>,
    policy: RefreshPolicy,
    client: HttpClient,
    current: ArcSwapOption<Vec<Key>>,
    /// Advanced on every fetched set, even one with the same `kid`s (a provider may replace
    /// a key under its old `kid`): cached verifications from before are void.
    generation: AtomicU64,
    /// Until when (Unix milliseconds) the set in force may be used: its fetch plus
    /// `max_stale`; 0 before the first fetch. Read on every request, so a plain integer.
    usable_until: AtomicU64,
    /// One fetch at a time; holds when the last one started.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    refresher_started: AtomicBool,
}

impl RemoteKeys {
    pub(super) fn new(settings: RemoteSettings) -> Result<Self, ConfigError> {
        let RemoteSettings {
            source,
            algorithms,
            policy,
        } = settings;
        if algorithms.is_empty() {
            return Err(ConfigError::invalid(
                "algorithms",
                "name the algorithms the provider signs with, e.g. RS256",
            ));
        }
        Ok(Self {
            source,
            algorithms,
            policy,
            client: http_client()?,
            current: ArcSwapOption::empty(),
            generation: AtomicU64::new(0),
            usable_until: AtomicU64::new(0),
            fetching: tokio::sync::Mutex::new(None),
            refresher_started: AtomicBool::new(false),
        })
    }

    /// Where the keys come from, and how many are in force.
    pub(super) fn describe(&self) -> String {
        let keys = self.current().map_or(0, |keys| keys.len());
        format!("{keys} key(s) from {}", self.source.describe())
    }

    /// The keys in force, unless none were fetched yet or they went stale.
    pub(super) fn current(&self) -> Option<Arc<Vec<Key>>> {
        if !self.usable_at(crate::time::now_millis()) {
            return None;
        }
        self.current.load_full()
    }

    /// Whether a key set is usable at `now` (Unix milliseconds).
    pub(super) fn usable_at(&self, now: u64) -> bool {
        now < self.usable_until.load(Ordering::Acquire)
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Fetches the set again because a token named a key it lacks, or because there is none
    /// yet — unless a fetch already ran within the interval. Concurrent callers wait for the
    /// one fetch in flight and do not start another.
    pub(super) async fn refetch(self: &Arc<Self>) {
        self.start_refresher();
        let seen = self.generation();
        let mut last_started = self.fetching.lock().await;
        if self.generation() != seen {
            return; // another caller's fetch finished while this one waited
        }
        if last_started.is_some_and(|at| at.elapsed() < self.policy.unknown_kid_interval) {
            return;
        }
        *last_started = Some(Instant::now());
        let _ = self.fetch_and_install().await;
    }

    /// Starts the background refresh once, on the runtime of the first request.
    pub(super) fn start_refresher(self: &Arc<Self>) {
        if self.refresher_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refresher_started.store(false, Ordering::Release);
            return;
        };
        runtime.spawn(refresh_forever(Arc::downgrade(self)));
    }

    /// One fetch; on success the new set is installed. Returns when to refresh next.
    async fn fetch_and_install(&self) -> Result<Duration, ()> {
        match self.fetch().await {
            Ok((reading, max_age)) => {
                self.install(reading);
                let next = max_age
                    .map(|age| age.mul_f64(0.8))
                    .unwrap_or(self.policy.max_refresh)
                    .clamp(self.policy.min_refresh, self.policy.max_refresh);
                Ok(next)
            }
            Err(reason) => {
                let usable_for_secs = self
                    .usable_until
                    .load(Ordering::Acquire)
                    .saturating_sub(crate::time::now_millis())
                    / 1000;
                tracing::error!(
                    target: audit::TARGET,
                    source = %self.source.describe(),
                    %reason,
                    keys_usable_for_secs = usable_for_secs,
                    "key set fetch failed"
                );
                Err(())
            }
        }
    }

    async fn fetch(&self) -> Result<(KeySetReading, Option<Duration>), String> {
        let jwks_url = match &self.source {
            KeySource::JwksUrl(url) => url.clone(),
            KeySource::Discovery(issuer) => self.discover(issuer).await?,
        };
        let (body, max_age) = get(&self.client, &jwks_url).await?;
        let reading = read_key_set(&body, &self.algorithms)?;
        tracing::info!(
            target: audit::TARGET,
            source = %self.source.describe(),
            keys = reading.keys.len(),
            skipped = reading.skipped.len(),
            max_age_secs = max_age.map(|age| age.as_secs()),
            "key set fetched"
        );
        for skipped in &reading.skipped {
            tracing::warn!(
                target: audit::TARGET,
                kid = skipped.kid.as_deref().unwrap_or("-"),
                reason = %skipped.reason,
                "key skipped"
            );
        }
        Ok((reading, max_age))
    }

    /// The `jwks_uri` of the issuer's discovery document, which must name this issuer.
    async fn discover(&self, issuer: &str) -> Result<Url, String> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let url = allowed_url(&url)?;
        let (body, _) = get(&self.client, &url).await?;
        let discovery: Discovery = serde_json::from_slice(&body)
            .map_err(|_| "the discovery document has no `issuer` and `jwks_uri`".to_owned())?;
        if discovery.issuer != issuer {
            return Err(format!(
                "the discovery document names the issuer `{}`, not `{issuer}`",
                discovery.issuer
            ));
        }
        allowed_url(&discovery.jwks_uri)
    }

    /// Installs a fetched set, which voids cached verifications; a change of `kid`s is an
    /// audit event.
    fn install(&self, reading: KeySetReading) {
        let kids = |keys: &[Key]| -> BTreeSet<String> {
            keys.iter()
                .map(|key| key.kid().unwrap_or("-").to_owned())
                .collect()
        };
        let before = self.current.load().as_deref().map(|keys| kids(keys));
        let after = kids(&reading.keys);
        self.current.store(Some(Arc::new(reading.keys)));
        let max_stale = u64::try_from(self.policy.max_stale.as_millis()).unwrap_or(u64::MAX);
        self.usable_until.store(
            crate::time::now_millis().saturating_add(max_stale),
            Ordering::Release,
        );
        self.generation.fetch_add(1, Ordering::AcqRel);
        if before.as_ref() != Some(&after) {
            let before = before.unwrap_or_default();
            tracing::warn!(
                target: audit::TARGET,
                added = ?after.difference(&before).collect::<Vec<_>>(),
                removed = ?before.difference(&after).collect::<Vec<_>>(),
                "key set changed"
            );
        }
    }
}

/// Refreshes the set on schedule until the keys are dropped with their `Security`. After a
/// failure it tries again sooner — after the shorter of `min_refresh` and 10 s, then twice as
/// long each time, up to `max_refresh` — while the keys it has stay in use.
async fn refresh_forever(keys: Weak<RemoteKeys>) {
    let mut failures = 0u32;
    loop {
        let Some(remote) = keys.upgrade() else { return };
        let wait = {
            let mut last_started = remote.fetching.lock().await;
            *last_started = Some(Instant::now());
            match remote.fetch_and_install().await {
                Ok(next) => {
                    failures = 0;
                    next
                }
                Err(()) => {
                    let policy = remote.policy;
                    let first = policy.min_refresh.min(Duration::from_secs(10));
                    failures = failures.saturating_add(1);
                    first
                        .saturating_mul(2u32.saturating_pow(failures - 1))
                        .min(policy.max_refresh)
                }
            }
        };
        drop(remote);
        tokio::time::sleep(wait).await;
    }
}
