//! JSON Web Tokens: the keys tokens are verified with, where an identity provider puts roles
//! and scopes ([`ClaimProfile`]), what a verified token proves, and why a token is refused.
//!
//! The algorithm of each [`Key`] is fixed by configuration and never read from a token; the
//! token's `kid` only selects among the configured keys (RFC 8725 §3.1).
//!
//! # How a token is read
//!
//! Each part is read once: the header and the claims are decoded and parsed in one pass each,
//! the signature is checked by `jsonwebtoken`'s own primitive (`jsonwebtoken::crypto::verify`)
//! before any claim is parsed, and the claims are judged as `jsonwebtoken::Validation` judges
//! them (required `exp`, `iss`, `sub` and `aud`; `exp` and `nbf` within the leeway, a
//! fractional NumericDate rounded; `aud` a string or an array holding the audience). A test
//! feeds the verifier and `jsonwebtoken::decode` the same generated corpus of tens of thousands
//! of tokens and fails on any token the verifier accepts and `jsonwebtoken` refuses.
//!
//! # Stricter than `jsonwebtoken`
//!
//! A token `jsonwebtoken::decode` accepts is refused ([`TokenRejection`]) when:
//!
//! - it is longer than [`MAX_TOKEN_BYTES`] (`TooLarge`);
//! - its header has `crit` (`CriticalHeader`), or a `typ` other than an accepted access-token
//!   type, [`ACCESS_TOKEN_TYPE`] by default (`WrongType`), or a `kid` no configured key has
//!   (`UnknownKey`);
//! - a header member with a meaning, or one of the claims below, is given twice
//!   (`Malformed`; RFC 7519 §4 lets a parser refuse duplicates);
//! - `iss` is an array, even one holding the issuer (`WrongIssuer`; RFC 8725 §3.8);
//! - `sub` is empty, `roles` or `amr` is not an array of strings, `scope` neither a string nor
//!   an array of strings, `auth_time` not a non-negative integer, or `jti` not a string
//!   (`BadClaims`; `null` counts as absent);
//! - tokens are bound by `client_id` ([`ClaimProfile::bind_client_ids`]) and it is not one of
//!   the given ones (`WrongAudience`, or `BadClaims` when it is not a string).

mod cache;
mod claim_path;
mod claims;
mod compact;
#[cfg(feature = "jwks")]
mod fetch;
mod identity;
mod jwk;
mod key;
#[cfg(feature = "pem")]
mod pem;
mod public_key;
#[cfg(feature = "jwks")]
mod remote;
mod rules;
mod verify;

pub use claims::ClaimProfile;
pub use identity::{Identity, TokenRejection};
pub use jsonwebtoken::Algorithm;
pub use key::Key;
pub use verify::{DEFAULT_LEEWAY, MAX_LEEWAY, MAX_TOKEN_BYTES};

pub(crate) use cache::DEFAULT_CAPACITY as DEFAULT_VERIFIED_TOKENS;
pub(crate) use claim_path::ClaimPath;
pub(crate) use key::SigningKey;
#[cfg(feature = "jwks")]
pub(crate) use remote::{KeySource, RefreshPolicy, RemoteSettings};
pub(crate) use verify::{Verifier, VerifierSettings};

/// The `typ` header of the access tokens this crate issues and, by default, the only one it
/// accepts (RFC 9068 §2.1, RFC 8725 §3.11): an ID token or any other JWT signed with the same
/// key cannot pass for an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// jsonwebtoken panics on first use when it was built with no crypto backend, or with two
/// through feature unification. secure-api always enables `rust_crypto` and installs it
/// explicitly, so neither case can be reached; if the application installed a provider
/// first, that one stays.
pub(crate) fn install_crypto_provider() {
    let _already_installed = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}
