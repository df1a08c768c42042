//! argon2id password hashes: hashing, verification with the hash's own parameters, and the
//! rehash when they are outdated.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};

/// argon2id password hashing with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane).
pub struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified in place of a missing account's hash so that an
    /// unknown user costs exactly what a known one does.
    pub(super) decoy: String,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
