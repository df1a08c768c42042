//! What every token's claims must say — issuer, audience, times within the clock's leeway —
//! judged as jsonwebtoken's `Validation` judges them, on claims read once.

use super::compact::{Claim, Claims};
use super::identity::TokenRejection;
use std::time::Duration;

/// The claims every token must carry, fixed when `Security` is built.
pub(super) struct Rules {
    pub(super) issuer: String,
    /// `None` when the claim profile binds tokens by `client_id` instead.
    pub(super) audience: Option<String>,
    pub(super) leeway: Duration,
}

impl Rules {
    /// Checks the claims of a token whose signature verified, in the order jsonwebtoken's
    /// [`validation`](Rules::validation) checks them, and returns its `exp`:
    ///
    /// 1. `exp`, `iss`, `sub` and (when an audience is configured) `aud` are required, with a
    ///    type jsonwebtoken reads them as; `nbf`, when present, must be a NumericDate too;
    /// 2. `exp` at least `now` minus the leeway, `nbf` at most `now` plus the leeway;
    /// 3. `iss` is the issuer — one string, where jsonwebtoken also accepts an array holding
    ///    it (RFC 8725 §3.8 wants exactly one issuer);
    /// 4. `aud` is the audience, or an array holding it.
    ///
    /// Without an audience the claim profile binds tokens by `client_id`, which it checks
    /// after this (`ClaimProfile::check` allows nothing else).
    pub(super) fn check(&self, claims: &Claims<'_>, now: u64) -> Result<u64, TokenRejection> {
        let names = |claim: &Claim<'_>| matches!(claim, Claim::Text(_) | Claim::Texts(_));
        let exp = claims.exp.numeric_date();
        let nbf = match claims.nbf {
            Claim::Absent => Some(None),
            ref nbf => nbf.numeric_date().map(Some),
        };
        let (Some(exp), Some(nbf), true, Some(_), true) = (
            exp,
            nbf,
            names(&claims.iss),
            claims.sub.text(),
            self.audience.is_none() || names(&claims.aud),
        ) else {
            return Err(TokenRejection::BadClaims);
        };
        let leeway = self.leeway.as_secs();
        if exp < now.saturating_sub(leeway) {
            return Err(TokenRejection::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(TokenRejection::NotYetValid);
        }
        if claims.iss.text() != Some(&self.issuer) {
            return Err(TokenRejection::WrongIssuer);
        }
        if let Some(audience) = &self.audience {
            let named = match &claims.aud {
                Claim::Text(aud) => aud == audience,
                Claim::Texts(auds) => auds.iter().any(|aud| aud == audience),
                _ => false,
            };
            if !named {
                return Err(TokenRejection::WrongAudience);
            }
        }
        Ok(exp)
    }

    /// The same rules as jsonwebtoken's `Validation` for a key of `algorithm`: what
    /// [`check`](Self::check) is held to by the differential test. Every field is set on
    /// purpose, since jsonwebtoken's own defaults are not ours (60 s leeway, `nbf` unchecked).
    #[cfg(test)]
    pub(super) fn validation(
        &self,
        algorithm: jsonwebtoken::Algorithm,
    ) -> jsonwebtoken::Validation {
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.leeway = self.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        match &self.audience {
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
}
