//! The verifier against `jsonwebtoken::decode`, on one generated corpus: every single
//! mutation of a valid token's header, claims, encoding, structure and signature, then random
//! combinations of several. The verifier must never accept a token jsonwebtoken refuses, and
//! may refuse one it accepts only for a rule documented as stricter (the `jwt` module's
//! "Stricter than jsonwebtoken") that the token is seen to break.
//!
//! `DIFFERENTIAL_SEED` and `DIFFERENTIAL_TOKENS` change the random part.

use super::*;
mod corpus;
use crate::secret::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "notes-api";
const CLIENT: &str = "client-1";
const LEEWAY: u64 = 10;
const SECRET: &str = "differential-test-secret-that-is-long-enough";

/// One way the verifier is configured, with what jsonwebtoken is given for the same.
struct Setup {
    verifier: Verifier,
    decoding: DecodingKey,
    validation: Validation,
    encoding: EncodingKey,
    algorithm: Algorithm,
    /// Bound by `client_id` instead of `aud`.
    by_client: bool,
}

impl Setup {
    fn new(key: Key, decoding: DecodingKey, encoding: EncodingKey, by_client: bool) -> Self {
        crate::jwt::install_crypto_provider();
        let algorithm = key.algorithm();
        let (audience, claims) = match by_client {
            false => (Some(AUDIENCE.to_owned()), ClaimProfile::standard()),
            true => (None, ClaimProfile::standard().bind_client_ids([CLIENT])),
        };
        let verifier = Verifier::new(VerifierSettings {
            issuer: ISSUER.into(),
            audience,
            claims,
            keys: vec![key],
            #[cfg(feature = "jwks")]
            remote: None,
            leeway: Duration::from_secs(LEEWAY),
            extra_token_types: Vec::new(),
            cache_capacity: 0,
        })
        .expect("configuration");
        // jsonwebtoken is given the rules the verifier was built with, not a second copy.
        let validation = verifier.rules.validation(algorithm);
        Self {
            verifier,
            decoding,
            validation,
            encoding,
            algorithm,
            by_client,
        }
    }

    fn hs256(by_client: bool) -> Self {
        let key = Key::hmac(Algorithm::HS256, Secret::from_env_value(SECRET.into())).expect("key");
        let decoding = DecodingKey::from_secret(SECRET.as_bytes());
        Self::new(
            key,
            decoding,
            EncodingKey::from_secret(SECRET.as_bytes()),
            by_client,
        )
    }

    fn eddsa() -> Self {
        use p256::pkcs8::EncodePrivateKey as _;
        let private = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let public = private.verifying_key().to_bytes();
        let key = Key::verifying(
            Algorithm::EdDSA,
            crate::jwt::public_key::PublicKey::ed25519(&public).expect("key"),
            None,
        );
        let decoding = DecodingKey::from_ed_components(&base64(public)).expect("key");
        let der = private.to_pkcs8_der().expect("der");
        Self::new(
            key,
            decoding,
            EncodingKey::from_ed_der(der.as_bytes()),
            false,
        )
    }

    /// Judges one token both ways, at one second of the clock (retried if it ticked), and
    /// records the outcome; `Err` describes a disagreement no rule explains.
    fn judge(&self, token: &str, tally: &mut Tally) -> Result<(), String> {
        let (ours, theirs) = loop {
            let before = crate::time::now();
            let ours = self.verifier.verify(token);
            let theirs =
                jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &self.validation);
            if crate::time::now() == before {
                break (ours, theirs);
            }
        };
        match (ours, theirs) {
            (Ok(identity), Ok(data)) => {
                tally.both_accept += 1;
                let exp = match &data.claims["exp"] {
                    Value::Number(exp) => {
                        exp.as_u64().or(exp.as_f64().map(|exp| exp.round() as u64))
                    }
                    _ => None,
                };
                match (data.claims.get("sub"), exp) {
                    (Some(Value::String(sub)), Some(exp))
                        if sub == identity.subject() && exp == identity.expires_at() =>
                    {
                        Ok(())
                    }
                    _ => Err(format!(
                        "both accept, but read it differently: {identity:?}"
                    )),
                }
            }
            (Err(_), Err(_)) => {
                tally.both_refuse += 1;
                Ok(())
            }
            (Ok(_), Err(error)) => Err(format!("accepted, but jsonwebtoken refuses it: {error}")),
            (Err(rejection), Ok(_)) => {
                let rules = stricter_rules(token, self.by_client);
                match rules.contains(&rejection) {
                    true => {
                        *tally.stricter.entry(rejection.as_str()).or_default() += 1;
                        Ok(())
                    }
                    false => Err(format!(
                        "refused as {rejection:?}, which jsonwebtoken accepts, and no stricter \
                         rule applies (those that do: {rules:?})"
                    )),
                }
            }
        }
    }
}

#[derive(Default, Debug)]
struct Tally {
    both_accept: usize,
    both_refuse: usize,
    stricter: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn total(&self) -> usize {
        self.both_accept + self.both_refuse + self.stricter.values().sum::<usize>()
    }
}

fn base64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The documented rules by which the verifier is stricter than jsonwebtoken, that `token`
/// breaks: read here from the token itself, independently of the verifier.
fn stricter_rules(token: &str, by_client: bool) -> Vec<TokenRejection> {
    use TokenRejection::*;
    let mut rules = Vec::new();
    if token.len() > MAX_TOKEN_BYTES {
        rules.push(TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims)) =
        (parts.next().and_then(object), parts.next().and_then(object))
    else {
        return rules;
    };
    let (header, header_names) = header;
    let (claims, claim_names) = claims;
    // Members read for their type, given twice (jsonwebtoken keeps the last of some).
    let twice = |names: &[String], read: &[&str]| {
        read.iter()
            .any(|name| names.iter().filter(|held| held == name).count() > 1)
    };
    if twice(&header_names, HEADER_NAMES) || twice(&claim_names, CLAIM_NAMES) {
        rules.push(Malformed);
    }
    if header.contains_key("crit") {
        rules.push(CriticalHeader);
    }
    if matches!(header.get("kid"), Some(Value::String(_))) {
        rules.push(UnknownKey);
    }
    let typ = header
        .get("typ")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    if !typ.eq_ignore_ascii_case(crate::jwt::ACCESS_TOKEN_TYPE) {
        rules.push(WrongType);
    }
    if matches!(claims.get("iss"), Some(Value::Array(_))) {
        rules.push(WrongIssuer);
    }
    let strings = |value: &Value| {
        value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string))
    };
    let unset_or = |name: &str, allowed: &dyn Fn(&Value) -> bool| {
        claims
            .get(name)
            .is_none_or(|value| value.is_null() || allowed(value))
    };
    let well_typed = claims.get("sub") != Some(&Value::from(""))
        && unset_or("roles", &strings)
        && unset_or("scope", &|value| value.is_string() || strings(value))
        && unset_or("amr", &strings)
        && unset_or("auth_time", &|value| value.is_u64())
        && unset_or("jti", &Value::is_string);
    if !well_typed {
        rules.push(BadClaims);
    }
    if by_client {
        match claims.get("client_id") {
            Some(Value::String(client)) if client == CLIENT => {}
            None | Some(Value::Null | Value::String(_)) => rules.push(WrongAudience),
            Some(_) => rules.push(BadClaims),
        }
    }
    rules
}

/// A part decoded as jsonwebtoken decodes it, as a JSON object, with its member names in
/// order (duplicates included).
fn object(part: &str) -> Option<(Map<String, Value>, Vec<String>)> {
    use base64::Engine as _;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    let map = serde_json::from_slice(&json).ok()?;
    let names: Names = serde_json::from_slice(&json).ok()?;
    Some((map, names.0))
}

struct Names(Vec<String>);

impl<'de> serde::Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamesVisitor;
        impl<'de> serde::de::Visitor<'de> for NamesVisitor {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Names, A::Error> {
                let mut names = Vec::new();
                while let Some((name, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    names.push(name);
                }
                Ok(Names(names))
            }
        }
        deserializer.deserialize_map(NamesVisitor)
    }
}

/// The header members the verifier reads (for their type, at least).
const HEADER_NAMES: &[&str] = &[
    "alg", "kid", "typ", "crit", "cty", "jku", "x5u", "x5t", "x5t#S256", "enc", "zip", "url",
    "nonce", "x5c", "jwk",
];

/// The claims the verifier reads.
const CLAIM_NAMES: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "roles",
    "scope",
    "amr",
    "auth_time",
    "jti",
];

/// Judges the corpus: the valid token, each mutation alone, then `random` drafts of two to
/// four mutations each.
fn run(setup: &Setup, random: usize, seed: u64) -> Tally {
    let drafts = corpus::drafts(setup.algorithm, random, seed);
    let mut tally = Tally::default();
    let mut disagreements = Vec::new();
    for draft in &drafts {
        let token = draft.token(&setup.encoding, setup.algorithm);
        if let Err(why) = setup.judge(&token, &mut tally) {
            disagreements.push(format!("{why}\n  token: {token}"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} tokens (seed {seed}):\n{}",
        disagreements.len(),
        drafts.len(),
        disagreements[..disagreements.len().min(10)].join("\n")
    );
    assert_eq!(tally.total(), drafts.len());
    tally
}

fn seed() -> u64 {
    std::env::var("DIFFERENTIAL_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x5ec0_7e57)
}

fn random_tokens(default: usize) -> usize {
    std::env::var("DIFFERENTIAL_TOKENS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(default)
}

#[test]
fn hs256_agrees_with_jsonwebtoken() {
    let tally = run(&Setup::hs256(false), random_tokens(50_000), seed());
    eprintln!("HS256, bound by aud: {tally:?}");
    // The corpus reaches both sides of every check, and every documented rule.
    assert!(tally.both_accept > 1_000, "{tally:?}");
    assert!(tally.both_refuse > 10_000, "{tally:?}");
    for rule in [
        "token_too_large",
        "token_malformed",
        "critical_header",
        "unknown_key",
        "wrong_token_type",
        "wrong_issuer",
        "bad_claims",
    ] {
        assert!(
            tally.stricter.contains_key(rule),
            "{rule} never applied: {tally:?}"
        );
    }
}

#[test]
fn hs256_bound_by_client_id_agrees_with_jsonwebtoken() {
    let tally = run(&Setup::hs256(true), random_tokens(5_000), seed() + 1);
    eprintln!("HS256, bound by client_id: {tally:?}");
    assert!(tally.both_accept > 200, "{tally:?}");
    assert!(tally.stricter.contains_key("wrong_audience"), "{tally:?}");
}

#[test]
fn eddsa_agrees_with_jsonwebtoken() {
    let tally = run(&Setup::eddsa(), random_tokens(200), seed() + 2);
    eprintln!("EdDSA: {tally:?}");
    assert!(tally.both_accept > 50, "{tally:?}");
}
