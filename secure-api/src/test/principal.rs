//! Tokens for tests: [`principal!`](super::principal) checks each role and scope against the
//! crate's `roles!` and `scopes!`; a [`TestPrincipal`] signs its tokens, and the tokens the
//! guard must refuse.

use crate::Security;
use crate::jwt::{Algorithm, SigningKey};
use crate::tokens::Principal;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use std::time::Duration;

/// How long the tokens of a [`TestPrincipal`] live: longer than any test.
const TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// Past the largest leeway a `Security` accepts (30 s).
const LONG_AGO: u64 = 60 * 60;

// `principal!("alice", roles = ["admin"], scopes = ["notes:read"])`, documented where it is
// re-exported: `secure_api::test::principal`.
#[macro_export]
#[doc(hidden)]
// `crate::` on purpose: the checkers are at the root of the crate that calls the macro.
#[allow(clippy::crate_in_macro_def)]
macro_rules! __secure_test_principal {
    // Names are `tt`, not `literal`: a literal fragment passed on would match only the
    // checker's catch-all arm, never the arm of its own name.
    ($subject:expr $(, roles = [$($role:tt),* $(,)?])? $(, scopes = [$($scope:tt),* $(,)?])? $(,)?) => {
        $crate::test::TestPrincipal::__checked(
            $subject,
            &[$($(crate::__secure_role!($role).name),*)?],
            &[$($(crate::__secure_scope!($scope).name),*)?],
        )
    };
    ($subject:expr, scopes = [$($scope:tt),* $(,)?], roles = [$($role:tt),* $(,)?] $(,)?) => {
        $crate::__secure_test_principal!($subject, roles = [$($role),*], scopes = [$($scope),*])
    };
}

/// A user for tests, made by [`principal!`](crate::test::principal): the roles and scopes its
/// tokens carry were checked against the crate's declarations when the test compiled.
///
/// Its [`token`](Self::token) is valid for 15 minutes. The other tokens are refused by the
/// guard with 401 `invalid_token`, each for the reason its name says (`Security::verify`
/// answers the [`TokenRejection`](crate::jwt::TokenRejection) in parentheses). A token that
/// lacks a role is no special token: it is the token of a principal without that role
/// (`principal!("bob")`), answered 403.
///
/// Every method that signs needs a `Security` that issues tokens (an HMAC secret or a private
/// key, and an audience), and panics, saying so, with one that does not.
#[derive(Debug, Clone)]
pub struct TestPrincipal {
    principal: Principal,
}

impl From<Principal> for TestPrincipal {
    /// Any principal, its names unchecked: for roles or scopes no declaration has, e.g. to
    /// show that they grant nothing.
    fn from(principal: Principal) -> Self {
        Self { principal }
    }
}

impl TestPrincipal {
    /// What `principal!` expands to, after the names were checked.
    #[doc(hidden)]
    pub fn __checked(subject: impl Into<String>, roles: &[&str], scopes: &[&str]) -> Self {
        Self {
            principal: Principal::new(subject, &["pwd"])
                .with_roles(roles)
                .with_scopes(scopes),
        }
    }

    /// Authenticated by these methods (RFC 8176) just now, instead of a password alone:
    /// `&["pwd", "otp"]` passes `#[secure(mfa)]`.
    pub fn with_amr(mut self, methods: &[&str]) -> Self {
        self.principal.amr = methods.iter().map(|method| (*method).to_owned()).collect();
        self.principal.auth_time = now();
        self
    }

    /// Who its tokens name, with their roles, scopes and authentication methods.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// A new API key of `security` owned by this principal (its subject), with its roles and
    /// scopes — checked against the declarations like its tokens' — for handlers marked
    /// `api_key` or `bearer_or_api_key`. Revoke it with `security.api_keys().revoke(id)`
    /// (the id is the key's second `_`-separated part) to test a revoked key.
    pub async fn api_key(&self, security: &Security) -> String {
        let roles: Vec<&str> = self.principal.roles.iter().map(String::as_str).collect();
        let scopes: Vec<&str> = self.principal.scopes.iter().map(String::as_str).collect();
        let new = crate::apikey::NewApiKey::new(self.principal.subject.as_str(), "test key")
            .with_roles(&roles)
            .with_scopes(&scopes);
        match security.api_keys().create(new).await {
            Ok(created) => created.key.expose().to_owned(),
            Err(error) => panic!("expected the test's API key store to make a key: {error}"),
        }
    }

    /// A valid access token, signed by `security`.
    pub fn token(&self, security: &Security) -> String {
        self.signed(security, |_| {})
    }

    /// Expired an hour ago (`Expired`).
    pub fn expired_token(&self, security: &Security) -> String {
        self.signed(security, |claims| {
            let issued = now() - LONG_AGO - TOKEN_TTL.as_secs();
            claims["iat"] = json!(issued);
            claims["nbf"] = json!(issued);
            claims["exp"] = json!(now() - LONG_AGO);
        })
    }

    /// For another API (`WrongAudience`).
    pub fn wrong_audience_token(&self, security: &Security) -> String {
        let audience = format!("{}-elsewhere", security.audience().unwrap_or("api"));
        self.signed(security, |claims| claims["aud"] = json!(audience))
    }

    /// From another issuer, signed with the right key (`WrongIssuer`).
    pub fn wrong_issuer_token(&self, security: &Security) -> String {
        let issuer = format!("{}/elsewhere", security.issuer());
        self.signed(security, |claims| claims["iss"] = json!(issuer))
    }

    /// Naming the signing key's algorithm and `kid`, signed by another key made up for it
    /// (`BadSignature`). The key must be HMAC, ECDSA or EdDSA: RSA keys take too long to make.
    pub fn wrong_key_token(&self, security: &Security) -> String {
        let (claims, key) = self.claims(security);
        let impostor = key.impersonated_by(another_key(key.algorithm()));
        impostor.sign(&claims).unwrap_or_else(|error| {
            panic!("expected to sign with a key made up for the test: {error}")
        })
    }

    /// A valid token whose payload was then changed to name another subject, under the
    /// original signature (`BadSignature`).
    pub fn tampered_token(&self, security: &Security) -> String {
        let token = self.token(security);
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Value = URL_SAFE_NO_PAD
            .decode(parts[1])
            .ok()
            .and_then(|payload| serde_json::from_slice(&payload).ok())
            .unwrap_or_else(|| panic!("expected a compact JWT with a JSON payload: {token}"));
        claims["sub"] = json!(format!("not-{}", self.principal.subject));
        format!("{}.{}.{}", parts[0], encode(&claims), parts[2])
    }

    /// `alg: none` and no signature: a token anyone can write (`Malformed`, since `none` is
    /// not an algorithm a key can have).
    pub fn none_alg_token(&self, security: &Security) -> String {
        let (claims, _) = self.claims(security);
        let header = json!({ "alg": "none", "typ": crate::jwt::ACCESS_TOKEN_TYPE });
        format!("{}.{}.", encode(&header), encode(&claims))
    }

    /// The token of this principal, its claims changed by `alter` before they are signed.
    fn signed(&self, security: &Security, alter: impl FnOnce(&mut Value)) -> String {
        let (mut claims, key) = self.claims(security);
        alter(&mut claims);
        key.sign(&claims)
            .unwrap_or_else(|error| panic!("expected the test's key to sign: {error}"))
    }

    fn claims<'a>(&self, security: &'a Security) -> (Value, &'a SigningKey) {
        let issuer = &security.parts().issuer;
        issuer
            .access_claims(&self.principal, TOKEN_TTL)
            .unwrap_or_else(|error| {
                panic!(
                    "expected a Security that issues tokens, such as secure_api::test::security(): \
                     {error}"
                )
            })
    }
}

fn now() -> u64 {
    crate::time::now()
}

fn encode(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// A key of `algorithm` that no `Security` has.
fn another_key(algorithm: Algorithm) -> EncodingKey {
    use p256::pkcs8::EncodePrivateKey as _;
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(&rand::random::<[u8; 64]>())
        }
        Algorithm::EdDSA => {
            let key = ed25519_dalek::SigningKey::from_bytes(&rand::random());
            EncodingKey::from_ed_der(&pkcs8(key.to_pkcs8_der()))
        }
        // Random bytes are a key unless they are zero or past the curve's order: retry then.
        Algorithm::ES256 => loop {
            if let Ok(key) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break EncodingKey::from_ec_der(&pkcs8(key.to_pkcs8_der()));
            }
        },
        Algorithm::ES384 => loop {
            if let Ok(key) = p384::SecretKey::from_slice(&rand::random::<[u8; 48]>()) {
                break EncodingKey::from_ec_der(&pkcs8(key.to_pkcs8_der()));
            }
        },
        rsa => panic!(
            "expected an HMAC, ECDSA or EdDSA key to make up another of; for {rsa:?}, sign a \
             token with an RSA key of your own"
        ),
    }
}

/// A made-up private key as PKCS#8 DER, which jsonwebtoken's ECDSA and EdDSA signers read.
fn pkcs8(document: p256::pkcs8::Result<p256::pkcs8::SecretDocument>) -> Vec<u8> {
    document
        .unwrap_or_else(|error| panic!("expected a made-up key to encode as PKCS#8: {error}"))
        .as_bytes()
        .to_vec()
}
