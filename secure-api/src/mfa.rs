//! A second factor: TOTP (RFC 6238) enrolment and verification, each code accepted once.
//!
//! After a successful verification, issue tokens whose `amr` names the factor
//! (`Principal::new(user, &["pwd", "otp"])`); handlers marked `#[secure(mfa)]` accept only
//! those.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use totp_rs::{Algorithm, Secret, TOTP};

pub use crate::policy::SECOND_FACTORS;

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;

/// What a user needs to set up an authenticator app.
#[derive(Debug, Clone, serde::Serialize)]
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
#[derive(Debug)]
pub struct Totp {
    issuer: String,
    /// The last step accepted per account. In memory: several instances need a shared store.
    last_step: Mutex<HashMap<String, u64>>,
}

impl Totp {
    /// TOTP for an application named `issuer` (shown in the authenticator app).
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            last_step: Mutex::new(HashMap::new()),
        }
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
    pub fn verify(&self, account: &str, secret: &str, code: &str) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.verify_at(account, secret, code, now)
    }

    /// [`Totp::verify`] at a given time (seconds since the epoch).
    pub fn verify_at(&self, account: &str, secret: &str, code: &str, time: u64) -> bool {
        let Ok(bytes) = Secret::Encoded(secret.to_owned()).to_bytes() else {
            return false;
        };
        let Ok(totp) = self.totp(bytes, account) else {
            return false;
        };
        let mut last_step = self
            .last_step
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let spent = last_step.get(account).copied();
        let current = time / STEP_SECS;
        for step in [current.saturating_sub(1), current, current + 1] {
            if spent.is_some_and(|spent| step <= spent) {
                continue;
            }
            if constant_time_eq(totp.generate(step * STEP_SECS).as_bytes(), code.as_bytes()) {
                last_step.insert(account.to_owned(), step);
                return true;
            }
        }
        false
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

    #[test]
    fn enrolment_gives_a_uri_and_a_working_secret() {
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
        assert!(totp.verify_at("alice@example.org", &enrolment.secret, &code, now));
    }

    #[test]
    fn a_window_of_one_step_and_no_replay() {
        let totp = Totp::new("secure-api");
        let secret = totp.enrol("bob").expect("enrol").secret;
        let now = 1_800_000_000;
        let previous = code_at(&secret, now - 30).expect("code");
        let current = code_at(&secret, now).expect("code");
        let too_old = code_at(&secret, now - 60).expect("code");
        assert!(!totp.verify_at("bob", &secret, &too_old, now));
        assert!(totp.verify_at("bob", &secret, &previous, now));
        assert!(!totp.verify_at("bob", &secret, &previous, now), "replayed");
        assert!(totp.verify_at("bob", &secret, &current, now));
        assert!(
            !totp.verify_at("bob", &secret, &current, now + 10),
            "replayed"
        );
        assert!(!totp.verify_at("bob", &secret, "000000x", now));
    }
}
