//! Password logins: argon2id hashes computed off the async executor, one answer and one hash
//! verification whether the account exists or not, and failures throttled so that they cost
//! the one who makes them — not the account's owner elsewhere, not the neighbours behind a
//! shared address.
//!
//! Failures are counted in the store of [`Security`](crate::Security) when the login is
//! built with [`Login::with_store`]: with Redis, every count holds across the fleet.

mod passwords;

pub use passwords::{PasswordCheck, PasswordError, Passwords};

use crate::audit;
use crate::limit::{
    FailureCounter, Failures, MemoryStore, RateLimitStore, Subject, opaque_key, whole_seconds,
};
use crate::problem::Problem;
use crate::store::StoreUnavailable;
use axum::http::{HeaderValue, StatusCode, header};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How failed logins are throttled. Every count lives for `window` after its first failure.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures for one account from one client address before that pair is locked (429)
    /// for the rest of the window. The account stays open from everywhere else.
    pub per_account_and_address: u32,
    /// Failures from one client address, over all accounts, before the address is locked.
    pub per_address: u32,
    /// Failures for one account from all addresses together after which every attempt on it
    /// is held back before its password is checked: 100 ms, doubling with each further
    /// failure, up to `max_delay`. A slow-down, not a lock: whoever causes it, the owner
    /// still gets in.
    pub slow_down_after: u32,
    /// The longest an attempt is held back.
    pub max_delay: Duration,
    /// How long failures are remembered.
    pub window: Duration,
}

impl Default for LoginLimits {
    /// 5 failures per account and address, 20 per address, slow-down after 10 failures of
    /// an account (at most 2 s), in 15 minutes.
    fn default() -> Self {
        Self {
            per_account_and_address: 5,
            per_address: 20,
            slow_down_after: 10,
            max_delay: Duration::from_secs(2),
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Password login: verification, the same answer for every failure, and throttling.
///
/// ```
/// # async fn demo() {
/// use secure_api::login::{Login, LoginLimits};
/// let login = Login::new(LoginLimits::default());
/// let stored = login.hash_password("correct horse").await.unwrap();
/// let client = "192.0.2.1".parse().unwrap();
/// let account = Some((stored, "user-42"));
/// let outcome = login.attempt("alice", "correct horse", client, account).await.unwrap();
/// assert_eq!(outcome.account, "user-42");
/// # }
/// ```
pub struct Login {
    passwords: Arc<Passwords>,
    limits: LoginLimits,
    store: Arc<dyn RateLimitStore>,
    /// Hashes computed at once, each on the blocking pool: a login flood takes these and no
    /// more, and the executor keeps serving everything else.
    hashing: Arc<Semaphore>,
}

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn<A> {
    /// What the caller passed for the account.
    pub account: A,
    /// A new hash to store when the stored one used outdated parameters.
    pub rehashed: Option<String>,
}

impl Login {
    /// A login helper with OWASP's argon2id parameters and failures counted in memory.
    pub fn new(limits: LoginLimits) -> Self {
        Self::with_passwords(Passwords::new(), limits)
    }

    /// A login helper with the given hashing parameters.
    pub fn with_passwords(passwords: Passwords, limits: LoginLimits) -> Self {
        // One core is left to everything else: a login flood must not starve the API.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            passwords: Arc::new(passwords),
            limits,
            store: Arc::new(Arc::new(MemoryStore::new())),
            hashing: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
        }
    }

    /// Counts failures in `store`: pass [`Security::limit_store`](crate::Security::limit_store)
    /// so that, with Redis, lock-outs hold across every instance.
    pub fn with_store(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.store = store;
        self
    }

    /// At most `hashes` passwords hashed or verified at once (default: one per core but one,
    /// at least one); an attempt that finds them all busy is answered 503 with `Retry-After`.
    pub fn with_concurrent_hashes(mut self, hashes: usize) -> Self {
        self.hashing = Arc::new(Semaphore::new(hashes.max(1)));
        self
    }

    /// The password hasher, for tools that hash outside a request.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Hashes a password for a new account, off the executor and within the same bound as
    /// logins (503 when it is reached).
    pub async fn hash_password(&self, password: &str) -> Result<String, Problem> {
        let password = password.to_owned();
        self.off_executor(move |passwords| passwords.hash(&password))
            .await?
            .map_err(|error| {
                tracing::error!(target: audit::TARGET, %error, "password hashing failed");
                Problem::internal()
            })
    }

    /// Checks `password` for `username`, whose stored PHC hash and account the caller looked
    /// up (`None` when no such account exists).
    ///
    /// Every failure — unknown account, wrong password — gets the same 401 problem, after
    /// exactly one hash verification. A locked account-and-address pair or a locked address
    /// gets 429 with `Retry-After`, before any verification. Success clears the pair's
    /// failures. A store that cannot be asked denies with 503.
    pub async fn attempt<A>(
        &self,
        username: &str,
        password: &str,
        client: IpAddr,
        stored: Option<(String, A)>,
    ) -> Result<LoggedIn<A>, Problem> {
        let keys = Keys::new(username, client);
        let counters = keys.counters(self.limits.window);
        let [pair, address, account_counter] = &counters;
        let (pair_failures, address_failures, account_failures) = tokio::try_join!(
            self.store.failures(pair),
            self.store.failures(address),
            self.store.failures(account_counter),
        )
        .map_err(|error| store_unavailable(&error, client))?;
        for (failures, max) in [
            (pair_failures, self.limits.per_account_and_address),
            (address_failures, self.limits.per_address),
        ] {
            if failures.count >= max {
                tracing::warn!(
                    target: audit::TARGET,
                    outcome = "throttle",
                    reason = "login_failures",
                    client_ip = %client,
                );
                return Err(locked(failures.resets_in));
            }
        }
        if let Some(delay) = self.slow_down(account_failures) {
            tokio::time::sleep(delay).await;
        }

        let (hash, account) = match stored {
            Some((hash, account)) => (hash, Some(account)),
            None => (self.passwords.decoy.clone(), None),
        };
        let password = password.to_owned();
        let check = self
            .off_executor(move |passwords| passwords.verify(&password, &hash))
            .await?;
        match (check, account) {
            (PasswordCheck::Valid { rehashed }, Some(account)) => {
                self.store
                    .clear_failures(pair)
                    .await
                    .map_err(|error| store_unavailable(&error, client))?;
                tracing::info!(
                    target: audit::TARGET,
                    outcome = "allow",
                    reason = "login",
                    client_ip = %client,
                );
                Ok(LoggedIn { account, rehashed })
            }
            _ => {
                tokio::try_join!(
                    self.store.add_failure(pair),
                    self.store.add_failure(address),
                    self.store.add_failure(account_counter),
                )
                .map_err(|error| store_unavailable(&error, client))?;
                tracing::warn!(
                    target: audit::TARGET,
                    outcome = "deny",
                    reason = "invalid_credentials",
                    client_ip = %client,
                );
                Err(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "The username or password is incorrect.",
                ))
            }
        }
    }

    /// How long an attempt on an account with `failures` is held back.
    fn slow_down(&self, failures: Failures) -> Option<Duration> {
        let over = failures.count.checked_sub(self.limits.slow_down_after)?;
        let delay = Duration::from_millis(100).saturating_mul(1 << over.min(16));
        Some(delay.min(self.limits.max_delay))
    }

    /// Runs `work` on the blocking pool under a hashing permit; 503 when none is free.
    async fn off_executor<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Passwords) -> T + Send + 'static,
    ) -> Result<T, Problem> {
        let Ok(permit) = Arc::clone(&self.hashing).try_acquire_owned() else {
            tracing::warn!(
                target: audit::TARGET,
                outcome = "throttle",
                reason = "password_hashing_busy",
            );
            let mut problem = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many sign-ins are being checked right now; retry after the number of \
                 seconds in Retry-After.",
            );
            problem.set_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(problem);
        };
        let passwords = Arc::clone(&self.passwords);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&passwords)
        })
        .await
        .map_err(|_| {
            tracing::error!(target: audit::TARGET, "password hashing panicked");
            Problem::internal()
        })
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("passwords", &self.passwords)
            .field("limits", &self.limits)
            .field("free_hashing_permits", &self.hashing.available_permits())
            .finish_non_exhaustive()
    }
}

/// What a login's failures are counted under. The username is hashed: it is chosen by the
/// client, may be anything, and is nobody's business in a shared store.
struct Keys {
    account: String,
    address: String,
    pair: String,
}

impl Keys {
    fn new(username: &str, client: IpAddr) -> Self {
        let account = opaque_key(&username.trim().to_lowercase());
        // An IPv6 client is one /64, as for rate limits.
        let address = match Subject::ip(client) {
            Subject::Ip(network) => network.to_string(),
            _ => client.to_string(),
        };
        let pair = format!("{account}@{address}");
        Self {
            account,
            address,
            pair,
        }
    }

    /// The pair's, the address's and the account's counters.
    fn counters(&self, window: Duration) -> [FailureCounter<'_>; 3] {
        [
            ("login_account_address", &self.pair),
            ("login_address", &self.address),
            ("login_account", &self.account),
        ]
        .map(|(name, key)| FailureCounter { name, key, window })
    }
}

fn store_unavailable(error: &StoreUnavailable, client: IpAddr) -> Problem {
    tracing::error!(
        target: audit::TARGET,
        outcome = "deny",
        reason = "store_unavailable",
        client_ip = %client,
        %error,
        "login failures cannot be counted",
    );
    Problem::unavailable()
}

fn locked(retry_after: Duration) -> Problem {
    let mut problem = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed sign-in attempts; retry after the number of seconds in Retry-After.",
    );
    problem.set_header(
        header::RETRY_AFTER,
        HeaderValue::from(whole_seconds(retry_after)),
    );
    problem
}

#[cfg(test)]
mod tests;
