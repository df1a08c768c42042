//! What every token must carry — issuer, audience, the clock's leeway — and the key paired
//! with those checks, ready for jsonwebtoken. Configured and fetched keys alike join the set
//! through [`Rules::entry`].

use super::key::Key;
use jsonwebtoken::{Algorithm, Validation};
use std::time::Duration;

/// A key with the validation settings its tokens are checked with.
pub(super) struct KeyEntry {
    pub(super) key: Key,
    pub(super) validation: Validation,
}

/// The claims every token must carry; a key is paired with them when it joins the set.
#[derive(Clone)]
pub(super) struct Rules {
    pub(super) issuer: String,
    /// `None` when the claim profile binds tokens by `client_id` instead.
    pub(super) audience: Option<String>,
    pub(super) leeway: Duration,
}

impl Rules {
    pub(super) fn entry(&self, key: Key) -> KeyEntry {
        KeyEntry {
            validation: validation(
                key.algorithm(),
                &self.issuer,
                self.audience.as_deref(),
                self.leeway,
            ),
            key,
        }
    }
}

/// jsonwebtoken's own defaults are not ours (60 s leeway, `nbf` unchecked): every field is
/// set here on purpose. Without an audience, the claim profile binds tokens by `client_id`
/// (`ClaimProfile::check` allows nothing else), which it checks after decoding.
fn validation(
    algorithm: Algorithm,
    issuer: &str,
    audience: Option<&str>,
    leeway: Duration,
) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = leeway.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    match audience {
        Some(audience) => {
            validation.validate_aud = true;
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        }
        None => {
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        }
    }
    validation
}
