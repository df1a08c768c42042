//! JWK Sets (RFC 7517 §5) read into verification [`Key`]s: each key is taken on its own terms,
//! and one bad key never takes the set down.
//!
//! The reader trusts nothing but the public numbers of a key: `x5u` is never followed, `x5c`
//! never read, and a key that carries any private member, or is symmetric, is refused — a
//! JWK Set is published, so a secret in it is a leaked secret, and an HMAC key taken from it
//! would let whoever can serve the document sign tokens.

use super::key::Key;
use super::public_key::{Curve, PublicKey};
use crate::error::ConfigError;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A larger document is refused unread: real key sets are a few KiB. It is also the most a
/// provider's document (key set or discovery) may hold when it is fetched.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// A set with more keys is refused: providers publish two or three (the current key, the next
/// and the previous).
pub(crate) const MAX_KEYS: usize = 100;

/// The members of a private (or symmetric) JWK: RFC 7518 §6.2.2 (EC), §6.3.2 (RSA), §6.4
/// (`k`), RFC 8037 §2 (OKP `d`).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The usable keys of a JWK Set, and the others with the reason each was skipped.
pub(crate) struct KeySetReading {
    /// The keys to verify with, each with its `kid` and an algorithm among those configured.
    pub(crate) keys: Vec<Key>,
    /// The keys that cannot be used: those refused on their own in document order, then those
    /// refused for their `kid`.
    pub(crate) skipped: Vec<SkippedKey>,
}

/// A key of the set that was not taken, and why. Neither field holds key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkippedKey {
    /// The key's `kid`, if it has a string one.
    pub(crate) kid: Option<String>,
    /// Why it cannot be used.
    pub(crate) reason: String,
}

impl std::fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kid {
            Some(kid) => write!(f, "kid `{}`: {}", shown(kid), self.reason),
            None => write!(f, "a key without kid: {}", self.reason),
        }
    }
}

/// Reads the keys of a JWK Set that can verify one of `algorithms` (the algorithms the
/// deployment accepts, e.g. `[RS256]` or `[ES256, EdDSA]`).
///
/// `Err` only when the document is not a JWK Set: more than [`MAX_DOCUMENT_BYTES`], not JSON,
/// no `keys` array, more than [`MAX_KEYS`] keys. Otherwise each key is read on its own and
/// skipped, with its reason, when:
///
/// - it holds private material (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) or is symmetric
///   (`kty: "oct"`, `k`);
/// - its `use` is present and not `sig`, or its `key_ops` are present without `verify`;
/// - its `kty` is not RSA, EC or OKP, its `crv` is not its type's (P-256 and P-384 for EC,
///   Ed25519 for OKP), its `alg` contradicts `kty`/`crv` or is not one of `algorithms`, or,
///   without `alg`, not exactly one of `algorithms` fits its `kty`/`crv` (none: unusable;
///   several: ambiguous);
/// - its numbers are not base64url, or the key fails the key policy (see [`Key`]);
/// - among the keys usable so far, its `kid` is shared by another key (all of them are
///   skipped: a token naming that `kid` could be checked against either), or it has no `kid`
///   while there are several (a token could not select it).
///
/// Keys keep their `kid`.
pub(crate) fn read_key_set(
    document: &[u8],
    algorithms: &[Algorithm],
) -> Result<KeySetReading, String> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "the document has {} bytes; a JWK Set is read only up to {MAX_DOCUMENT_BYTES}",
            document.len()
        ));
    }
    let set: Value =
        serde_json::from_slice(document).map_err(|error| format!("not JSON ({error})"))?;
    let Some(Value::Array(entries)) = set.get("keys") else {
        return Err("not a JWK Set: no `keys` array".to_owned());
    };
    if entries.len() > MAX_KEYS {
        return Err(format!(
            "the set has {} keys; at most {MAX_KEYS} are read",
            entries.len()
        ));
    }
    let mut usable = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        match read_key(entry, algorithms) {
            Ok(key) => usable.push(key),
            Err(reason) => skipped.push(SkippedKey {
                kid: entry.get("kid").and_then(Value::as_str).map(str::to_owned),
                reason,
            }),
        }
    }
    let mut sharing: HashMap<String, usize> = HashMap::new();
    for kid in usable.iter().filter_map(Key::kid) {
        *sharing.entry(kid.to_owned()).or_default() += 1;
    }
    let several = usable.len() > 1;
    let mut keys = Vec::new();
    for key in usable {
        let kid = key.kid().map(str::to_owned);
        let reason = match &kid {
            None if several => {
                Some("no kid, among several usable keys: a token could not select it".to_owned())
            }
            Some(shared) if sharing.get(shared).is_some_and(|count| *count > 1) => Some(format!(
                "{} usable keys share this kid: a token naming it would be ambiguous",
                sharing[shared]
            )),
            _ => None,
        };
        match reason {
            Some(reason) => skipped.push(SkippedKey { kid, reason }),
            None => keys.push(key),
        }
    }
    Ok(KeySetReading { keys, skipped })
}

impl Key {
    /// The keys of a JWK Set (RFC 7517 §5) that can verify one of `algorithms` — an identity
    /// provider's `jwks_uri` document kept in a file, or what another service's
    /// [`Security::jwks`](crate::Security::jwks) publishes. Add each with
    /// [`SecurityBuilder::key`](crate::SecurityBuilder::key).
    ///
    /// One unusable key does not take the set down: it is skipped and logged (its `kid` and
    /// why) — a private or symmetric key, an `enc` key, a key whose `kty`, `crv` or `alg`
    /// contradict each other or `algorithms`, a key that fails the key policy (see [`Key`]), a
    /// `kid` shared by several keys, a key without `kid` among several. `x5u` is never
    /// followed and `x5c` never read. An error names why the document is not a JWK Set (not
    /// JSON, no `keys` array, over 256 KiB or 100 keys), or why no key was usable.
    ///
    /// ```no_run
    /// use secure_api::Security;
    /// use secure_api::jwt::{Algorithm, Key};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let document = std::fs::read("/etc/api/identity-provider-jwks.json")?;
    /// let security = Key::from_jwk_set(&document, &[Algorithm::RS256])?
    ///     .into_iter()
    ///     .fold(Security::builder(), |builder, key| builder.key(key))
    ///     .issuer("https://login.example.com")
    ///     .audience("notes-api")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_jwk_set(
        document: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Vec<Self>, ConfigError> {
        let invalid = |reason: String| ConfigError::invalid("JWK Set", reason);
        let reading = read_key_set(document, algorithms).map_err(invalid)?;
        for skipped in &reading.skipped {
            tracing::warn!(
                target: crate::audit::CONFIG_TARGET,
                kid = skipped.kid.as_deref().unwrap_or("-"),
                reason = skipped.reason,
                "a key of the JWK Set is skipped"
            );
        }
        if reading.keys.is_empty() {
            let reasons: Vec<String> = reading.skipped.iter().map(ToString::to_string).collect();
            return Err(invalid(if reasons.is_empty() {
                "the set holds no key".to_owned()
            } else {
                format!("no key is usable: {}", reasons.join("; "))
            }));
        }
        Ok(reading.keys)
    }
}

/// What a JWK's `kty` and `crv` say it is.
#[derive(Clone, Copy)]
enum Kind {
    Rsa,
    Ec(Curve),
    Ed25519,
}

impl Kind {
    fn fits(self, algorithm: Algorithm) -> bool {
        use Algorithm::{PS256, PS384, PS512, RS256, RS384, RS512};
        match self {
            Self::Rsa => matches!(algorithm, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            Self::Ec(Curve::P256) => algorithm == Algorithm::ES256,
            Self::Ec(Curve::P384) => algorithm == Algorithm::ES384,
            Self::Ed25519 => algorithm == Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rsa => f.write_str("an RSA key"),
            Self::Ec(curve) => write!(f, "an EC {} key", curve.name()),
            Self::Ed25519 => f.write_str("an OKP Ed25519 key"),
        }
    }
}

/// One JWK, or why it cannot be used.
fn read_key(entry: &Value, algorithms: &[Algorithm]) -> Result<Key, String> {
    let Value::Object(jwk) = entry else {
        return Err("not a JSON object".to_owned());
    };
    let kid = optional_string(jwk, "kid")?.map(str::to_owned);
    // A secret is refused before anything else is read of it.
    let kty = optional_string(jwk, "kty")?;
    if kty == Some("oct") {
        return Err("a symmetric (`oct`) key: secrets are never taken from a JWK Set".to_owned());
    }
    if let Some(member) = PRIVATE_MEMBERS
        .iter()
        .find(|member| jwk.contains_key(**member))
    {
        return Err(format!(
            "it holds private key material (`{member}`): a JWK Set publishes public keys only"
        ));
    }
    let kty = kty.ok_or("no `kty`")?;
    match optional_string(jwk, "use")? {
        None | Some("sig") => {}
        Some(other) => return Err(format!("its `use` is `{}`, not `sig`", shown(other))),
    }
    if let Some(operations) = jwk.get("key_ops")
        && !operations
            .as_array()
            .is_some_and(|operations| operations.iter().any(|op| op == "verify"))
    {
        return Err("its `key_ops` do not include `verify`".to_owned());
    }
    let kind = kind(kty, optional_string(jwk, "crv")?)?;
    let algorithm = algorithm(kind, optional_string(jwk, "alg")?, algorithms)?;
    let public = match kind {
        Kind::Rsa => PublicKey::rsa(&number(jwk, "n")?, &number(jwk, "e")?),
        Kind::Ec(curve) => {
            PublicKey::ec_coordinates(curve, &number(jwk, "x")?, &number(jwk, "y")?)?
        }
        Kind::Ed25519 => PublicKey::ed25519(&number(jwk, "x")?)?,
    };
    public.check(algorithm)?;
    Ok(Key::verifying(algorithm, public, kid))
}

fn kind(kty: &str, crv: Option<&str>) -> Result<Kind, String> {
    match (kty, crv) {
        ("RSA", None) => Ok(Kind::Rsa),
        ("RSA", Some(_)) => Err("an RSA key with a `crv`: kty and crv contradict".to_owned()),
        ("EC", Some("P-256")) => Ok(Kind::Ec(Curve::P256)),
        ("EC", Some("P-384")) => Ok(Kind::Ec(Curve::P384)),
        ("OKP", Some("Ed25519")) => Ok(Kind::Ed25519),
        ("EC" | "OKP", None) => Err(format!("an {kty} key without `crv`")),
        ("EC", Some(crv)) => Err(format!(
            "an EC key on `{}`; only P-256 (ES256) and P-384 (ES384) are supported",
            shown(crv)
        )),
        ("OKP", Some(crv)) => Err(format!(
            "an OKP key on `{}`; only Ed25519 (EdDSA) signs",
            shown(crv)
        )),
        (kty, _) => Err(format!("an unsupported `kty` `{}`", shown(kty))),
    }
}

/// The key's algorithm: its `alg`, which must fit it and be configured, or else the one
/// configured algorithm that fits it.
fn algorithm(kind: Kind, alg: Option<&str>, algorithms: &[Algorithm]) -> Result<Algorithm, String> {
    let configured = || {
        let names: Vec<String> = algorithms.iter().map(|alg| format!("{alg:?}")).collect();
        names.join(", ")
    };
    let Some(alg) = alg else {
        let fitting: Vec<Algorithm> = algorithms
            .iter()
            .copied()
            .filter(|algorithm| kind.fits(*algorithm))
            .collect();
        return match fitting[..] {
            [algorithm] => Ok(algorithm),
            [] => Err(format!(
                "no configured algorithm ({}) fits {kind}",
                configured()
            )),
            _ => Err(format!(
                "no `alg`, and several configured algorithms fit {kind} ({}): ambiguous",
                configured()
            )),
        };
    };
    let algorithm: Algorithm = alg
        .parse()
        .map_err(|_| format!("`alg` `{}` is not a JWS signature algorithm", shown(alg)))?;
    if !kind.fits(algorithm) {
        return Err(format!("`alg` {algorithm:?} contradicts {kind}"));
    }
    if !algorithms.contains(&algorithm) {
        return Err(format!(
            "`alg` {algorithm:?} is not a configured algorithm ({})",
            configured()
        ));
    }
    Ok(algorithm)
}

fn optional_string<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

/// A base64url number (RFC 7518 §2); padding is tolerated.
fn number(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const BASE64URL: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let value = optional_string(jwk, name)?.ok_or_else(|| format!("no `{name}`"))?;
    BASE64URL
        .decode(value)
        .map_err(|_| format!("`{name}` is not base64url"))
}

/// A name from the document, fit for a log line: short and printable, or not shown.
fn shown(name: &str) -> String {
    if name.len() <= 64 && name.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        name.to_owned()
    } else {
        "(unprintable)".to_owned()
    }
}

#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod tests;
