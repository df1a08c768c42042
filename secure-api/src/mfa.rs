//! A second factor: TOTP (RFC 6238) enrolment and verification, each code accepted once.
//!
//! After a successful verification, issue tokens whose `amr` names the factor
//! (`Principal::new(user, &["pwd", "otp"])`); handlers marked `#[secure(mfa)]` accept only
//! those.

use crate::limit::{MemoryStore, OneTime, RateLimitStore, opaque_key};
use crate::store::StoreUnavailable;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use totp_rs::{Algorithm, Secret, TOTP};

pub use crate::policy::SECOND_FACTORS;

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;

/// What a user needs to set up an authenticator app.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TotpEnrolment {
    /// The shared secret, base32: store it (encrypted) with the account.
    pub secret: String,
    /// `otpauth://totp/…` for a QR code.
    pub otpauth_uri: String,
}

/// A TOTP secret could not be used.
#[derive(Debug, thiserror::Error)]
#[error("TOTP: {0}")]
pub struct TotpError(String);

/// TOTP with SHA-1, 6 digits and 30-second steps (what authenticator apps expect), a window
/// of one step either side, and replay protection: a code — and any code of an earlier step —
/// is accepted once per account.
///
/// The last step accepted per account is kept in a [`RateLimitStore`]: its own memory by
/// default, the one of [`Security::limit_store`](crate::Security::limit_store) with
/// [`Totp::with_store`], so that a code spent on one instance is spent on all.
pub struct Totp {
    issuer: String,
    store: Arc<dyn RateLimitStore>,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Totp")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// How long a spent step is remembered: past the window of one step either side, a code of
/// it or of an earlier step cannot be valid anyway.
const SPENT_FOR: Duration = Duration::from_secs(4 * STEP_SECS);

impl Totp {
    /// TOTP for an application named `issuer` (shown in the authenticator app).
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            store: Arc::new(Arc::new(MemoryStore::new())),
        }
    }

    /// Keeps the spent steps in `store`: pass
    /// [`Security::limit_store`](crate::Security::limit_store).
    pub fn with_store(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.store = store;
        self
    }

    fn totp(&self, secret: Vec<u8>, account: &str) -> Result<TOTP, TotpError> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            1,
            STEP_SECS,
            secret,
            Some(self.issuer.clone()),
            account.to_owned(),
        )
        .map_err(|error| TotpError(error.to_string()))
    }

    /// A new random 160-bit secret for `account`.
    pub fn enrol(&self, account: &str) -> Result<TotpEnrolment, TotpError> {
        let secret: [u8; 20] = rand::random();
        let totp = self.totp(secret.to_vec(), account)?;
        Ok(TotpEnrolment {
            secret: totp.get_secret_base32(),
            otpauth_uri: totp.get_url(),
        })
    }

    /// Whether `code` is valid now for `account`'s base32 `secret`; a valid code is spent.
    /// A store that cannot be asked is an error: deny.
    pub async fn verify(
        &self,
        account: &str,
        secret: &str,
        code: &str,
    ) -> Result<bool, StoreUnavailable> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.verify_at(account, secret, code, now).await
    }

    /// [`Totp::verify`] at a given time (seconds since the epoch).
    pub async fn verify_at(
        &self,
        account: &str,
        secret: &str,
        code: &str,
        time: u64,
    ) -> Result<bool, StoreUnavailable> {
        let Ok(bytes) = Secret::Encoded(secret.to_owned()).to_bytes() else {
            return Ok(false);
        };
        let Ok(totp) = self.totp(bytes, account) else {
            return Ok(false);
        };
        let current = time / STEP_SECS;
        // Every step of the window is computed, so that the time taken says nothing of which
        // one matched.
        let matched = [current.saturating_sub(1), current, current + 1]
            .into_iter()
            .fold(None, |matched, step| {
                let code_of_step = totp.generate(step * STEP_SECS);
                match constant_time_eq(code_of_step.as_bytes(), code.as_bytes()) {
                    true => Some(step),
                    false => matched,
                }
            });
        let Some(step) = matched else {
            return Ok(false);
        };
        let key = opaque_key(account);
        let once = OneTime {
            name: "totp",
            key: &key,
            ttl: SPENT_FOR,
        };
        self.store.spend_once(&once, step).await
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The code an authenticator app shows for `secret` at `time`; for tests and tools.
pub fn code_at(secret: &str, time: u64) -> Option<String> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().ok()?;
    let totp = TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        bytes,
        None,
        String::new(),
    )
    .ok()?;
    Some(totp.generate(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the 6-digit code is its tail.
        let secret = Secret::Raw(b"12345678901234567890".to_vec()).to_encoded();
        let Secret::Encoded(secret) = secret else {
            panic!("encoded")
        };
        assert_eq!(code_at(&secret, 59).as_deref(), Some("287082"));
    }

    #[tokio::test]
    async fn enrolment_gives_a_uri_and_a_working_secret() {
        let totp = Totp::new("secure-api");
        let enrolment = totp.enrol("alice@example.org").expect("enrol");
        assert!(
            enrolment
                .otpauth_uri
                .starts_with("otpauth://totp/secure-api:alice")
        );
        assert!(enrolment.otpauth_uri.contains(&enrolment.secret));
        let now = 1_800_000_000;
        let code = code_at(&enrolment.secret, now).expect("code");
        assert_eq!(
            totp.verify_at("alice@example.org", &enrolment.secret, &code, now)
                .await
                .ok(),
            Some(true)
        );
    }

    #[tokio::test]
    async fn a_window_of_one_step_and_no_replay() {
        let totp = Totp::new("secure-api");
        let secret = totp.enrol("bob").expect("enrol").secret;
        let now = 1_800_000_000;
        let verify = |code: String, time: u64| {
            let (totp, secret) = (&totp, &secret);
            async move { totp.verify_at("bob", secret, &code, time).await.ok() }
        };
        let code = |time| code_at(&secret, time).expect("code");
        assert_eq!(verify(code(now - 60), now).await, Some(false), "too old");
        assert_eq!(verify(code(now - 30), now).await, Some(true));
        assert_eq!(verify(code(now - 30), now).await, Some(false), "replayed");
        assert_eq!(verify(code(now), now).await, Some(true));
        assert_eq!(verify(code(now), now + 10).await, Some(false), "replayed");
        assert_eq!(verify("000000x".into(), now).await, Some(false));
    }

    /// Two instances sharing a store (as with Redis) accept a code once between them.
    #[tokio::test]
    async fn a_code_is_spent_for_every_instance_sharing_the_store() {
        let store: Arc<dyn RateLimitStore> = Arc::new(Arc::new(MemoryStore::new()));
        let first = Totp::new("secure-api").with_store(Arc::clone(&store));
        let second = Totp::new("secure-api").with_store(store);
        let secret = first.enrol("carol").expect("enrol").secret;
        let now = 1_800_000_000;
        let code = code_at(&secret, now).expect("code");
        assert_eq!(
            first.verify_at("carol", &secret, &code, now).await.ok(),
            Some(true)
        );
        assert_eq!(
            second.verify_at("carol", &secret, &code, now).await.ok(),
            Some(false)
        );
    }
}
