//! Password logins: argon2id hashes, one answer and one hash verification whether the account
//! exists or not, and failed attempts throttled per account and per client address.

use crate::audit;
use crate::problem::Problem;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::http::StatusCode;
use dashmap::DashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// argon2id password hashing with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane).
pub struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified in place of a missing account's hash so that an
    /// unknown user costs exactly what a known one does.
    decoy: String,
    verifications: AtomicU64,
}

/// A password could not be hashed (parameters out of range, or the PHC string is corrupt).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// The outcome of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password matches. `rehashed` holds a new PHC string when the stored one used other
    /// parameters than the current ones: store it in place of the old.
    Valid {
        /// The password hashed with the current parameters, when the stored hash is outdated.
        rehashed: Option<String>,
    },
    /// The password does not match (or the stored hash is unreadable).
    Invalid,
}

impl Passwords {
    /// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    pub fn new() -> Self {
        Self::with_params(19 * 1024, 2, 1).unwrap_or_else(|_| unreachable!("valid parameters"))
    }

    /// argon2id with `memory_kib`, `iterations` and `parallelism`.
    pub fn with_params(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, PasswordError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|error| PasswordError(error.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy_password: [u8; 32] = rand::random();
        let salt = SaltString::generate(&mut OsRng);
        let decoy = argon2
            .hash_password(&decoy_password, &salt)
            .map_err(|error| PasswordError(error.to_string()))?
            .to_string();
        Ok(Self {
            argon2,
            decoy,
            verifications: AtomicU64::new(0),
        })
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| PasswordError(error.to_string()))
    }

    /// Checks `password` against a stored PHC string.
    pub fn verify(&self, password: &str, stored: &str) -> PasswordCheck {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let Ok(parsed) = PasswordHash::new(stored) else {
            return PasswordCheck::Invalid;
        };
        // Verify with the parameters the hash was made with; compare them to ours after.
        if Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return PasswordCheck::Invalid;
        }
        let current = self.argon2.params();
        let outdated = parsed.algorithm.as_str() != "argon2id"
            || Params::try_from(&parsed).map_or(true, |params| {
                (params.m_cost(), params.t_cost(), params.p_cost())
                    != (current.m_cost(), current.t_cost(), current.p_cost())
            });
        PasswordCheck::Valid {
            rehashed: outdated.then(|| self.hash(password).ok()).flatten(),
        }
    }

    /// How many passwords this instance has verified: what proves that a login for an
    /// unknown account does the same work as one for a known account.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", self.argon2.params())
            .finish_non_exhaustive()
    }
}

/// Failed logins allowed per account and per client address in a window.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures per account before it is locked for the rest of the window.
    pub per_account: u32,
    /// Failures per client address before it is locked for the rest of the window.
    pub per_address: u32,
    /// The window.
    pub window: Duration,
}

impl Default for LoginLimits {
    /// 5 failures per account and 20 per address in 15 minutes.
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 20,
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
/// let stored = login.passwords().hash("correct horse").unwrap();
/// let client = "192.0.2.1".parse().unwrap();
/// let account = Some((stored.as_str(), "user-42"));
/// let outcome = login.attempt("alice", "correct horse", client, account).unwrap();
/// assert_eq!(outcome.account, "user-42");
/// # }
/// ```
#[derive(Debug)]
pub struct Login {
    passwords: Passwords,
    limits: LoginLimits,
    failures: DashMap<ThrottleKey, Failures>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
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
    /// A login helper with OWASP's argon2id parameters.
    pub fn new(limits: LoginLimits) -> Self {
        Self::with_passwords(Passwords::new(), limits)
    }

    /// A login helper with the given hashing parameters.
    pub fn with_passwords(passwords: Passwords, limits: LoginLimits) -> Self {
        Self {
            passwords,
            limits,
            failures: DashMap::new(),
        }
    }

    /// The password hasher, to hash passwords at signup.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Checks `password` for `username`, whose stored PHC hash and account the caller looked
    /// up (`None` when no such account exists).
    ///
    /// Every failure — unknown account, wrong password — gets the same 401 problem, after
    /// exactly one hash verification. A locked account or address gets 429 with
    /// `Retry-After`, before any verification. Success clears the account's failures.
    pub fn attempt<A>(
        &self,
        username: &str,
        password: &str,
        client: IpAddr,
        stored: Option<(&str, A)>,
    ) -> Result<LoggedIn<A>, Problem> {
        let account_key = ThrottleKey::Account(username.trim().to_lowercase());
        let address_key = ThrottleKey::Address(client);
        for (key, max) in [
            (&account_key, self.limits.per_account),
            (&address_key, self.limits.per_address),
        ] {
            if let Some(retry_after) = self.locked_for(key, max) {
                tracing::warn!(
                    target: audit::TARGET,
                    outcome = "throttle",
                    reason = "login_failures",
                    client_ip = %client,
                );
                return Err(locked(retry_after));
            }
        }
        let (hash, account) = match stored {
            Some((hash, account)) => (hash, Some(account)),
            None => (self.passwords.decoy.as_str(), None),
        };
        let check = self.passwords.verify(password, hash);
        match (check, account) {
            (PasswordCheck::Valid { rehashed }, Some(account)) => {
                self.failures.remove(&account_key);
                tracing::info!(
                    target: audit::TARGET,
                    outcome = "allow",
                    reason = "login",
                    client_ip = %client,
                );
                Ok(LoggedIn { account, rehashed })
            }
            _ => {
                self.count_failure(account_key);
                self.count_failure(address_key);
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

    fn locked_for(&self, key: &ThrottleKey, max: u32) -> Option<Duration> {
        let failures = *self.failures.get(key)?;
        let elapsed = failures.since.elapsed();
        if elapsed >= self.limits.window {
            self.failures.remove(key);
            return None;
        }
        (failures.count >= max).then(|| self.limits.window - elapsed)
    }

    fn count_failure(&self, key: ThrottleKey) {
        let window = self.limits.window;
        self.failures
            .entry(key)
            .and_modify(|failures| {
                if failures.since.elapsed() >= window {
                    *failures = Failures {
                        count: 0,
                        since: Instant::now(),
                    };
                }
                failures.count += 1;
            })
            .or_insert(Failures {
                count: 1,
                since: Instant::now(),
            });
        // A flood of distinct usernames must not grow the map without bound.
        if self.failures.len() > 100_000 {
            self.failures
                .retain(|_, failures| failures.since.elapsed() < window);
        }
    }
}

fn locked(retry_after: Duration) -> Problem {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut problem = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed sign-in attempts; retry after the number of seconds in Retry-After.",
    );
    problem.set_header(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(seconds.max(1)),
    );
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Light parameters: the tests are about behaviour, not cost.
    fn login(limits: LoginLimits) -> Login {
        Login::with_passwords(Passwords::with_params(1024, 1, 1).expect("params"), limits)
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_and_verify() {
        let passwords = Passwords::new();
        let hash = passwords.hash("hunter2").expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            passwords.verify("hunter2", &hash),
            PasswordCheck::Valid { rehashed: None }
        );
        assert_eq!(passwords.verify("hunter3", &hash), PasswordCheck::Invalid);
        assert_eq!(
            passwords.verify("hunter2", "not a phc string"),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn outdated_parameters_are_rehashed_on_login() {
        let old = Passwords::with_params(1024, 1, 1).expect("params");
        let hash = old.hash("hunter2").expect("hash");
        let current = Passwords::with_params(2048, 2, 1).expect("params");
        let PasswordCheck::Valid {
            rehashed: Some(rehashed),
        } = current.verify("hunter2", &hash)
        else {
            panic!("expected a rehash");
        };
        assert!(rehashed.contains("m=2048,t=2,p=1"), "{rehashed}");
    }

    #[test]
    fn unknown_and_known_accounts_cost_one_verification_and_answer_alike() {
        let login = login(LoginLimits::default());
        let hash = login.passwords().hash("right").expect("hash");
        let client: IpAddr = "192.0.2.1".parse().expect("ip");
        let before = login.passwords().verifications();
        let wrong = login
            .attempt("alice", "wrong", client, Some((hash.as_str(), 1)))
            .expect_err("wrong password");
        assert_eq!(login.passwords().verifications(), before + 1);
        let unknown = login
            .attempt::<u32>("mallory", "wrong", client, None)
            .expect_err("unknown account");
        assert_eq!(login.passwords().verifications(), before + 2);
        assert_eq!(wrong.status(), unknown.status());
        assert_eq!(wrong.detail(), unknown.detail());
    }

    #[test]
    fn an_account_locks_after_its_failures_and_success_resets_it() {
        let limits = LoginLimits {
            per_account: 3,
            per_address: 100,
            window: Duration::from_secs(60),
        };
        let login = login(limits);
        let hash = login.passwords().hash("right").expect("hash");
        let client: IpAddr = "192.0.2.1".parse().expect("ip");
        let attempt = |password: &str| {
            login
                .attempt("Alice", password, client, Some((hash.as_str(), ())))
                .map(|_| ())
                .map_err(|problem| problem.status().as_u16())
        };
        assert_eq!(attempt("wrong"), Err(401));
        assert_eq!(attempt("wrong"), Err(401));
        assert_eq!(attempt("right"), Ok(()));
        for _ in 0..3 {
            assert_eq!(attempt("wrong"), Err(401));
        }
        // Locked: even the right password waits, and nothing is verified.
        let before = login.passwords().verifications();
        assert_eq!(attempt("right"), Err(429));
        assert_eq!(login.passwords().verifications(), before);
    }
}
