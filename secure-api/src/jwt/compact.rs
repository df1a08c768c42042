//! A compact JWT read once: its three parts found in one scan, its header and claims each
//! decoded and parsed in one pass, borrowing from one buffer.
//!
//! `jsonwebtoken::decode` parses the header twice (through a catch-all map) and the claims
//! twice (once for its checks, once for the caller), and the guard's profile showed that
//! parsing, not the signature, was most of a fresh token's cost. So the verifier reads the
//! parts here, checks the signature with jsonwebtoken's own primitive, and checks the claims
//! itself ([`Rules::check`](super::rules::Rules::check)). It accepts no token jsonwebtoken
//! would refuse: the header's members have the types of jsonwebtoken's `Header`, the claims
//! are judged as its `Validation` judges them, and `verify/differential/` feeds both the
//! same generated corpus.

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The three parts of a compact JWS, `header.payload.signature`.
pub(super) struct Compact<'t> {
    /// `header.payload`: what the signature signs.
    pub(super) signed: &'t str,
    header: &'t str,
    pub(super) payload: &'t str,
    pub(super) signature: &'t str,
}

impl<'t> Compact<'t> {
    /// `None` unless the token has exactly three parts.
    pub(super) fn split(token: &'t str) -> Option<Self> {
        let (header, rest) = token.split_once('.')?;
        let (payload, signature) = rest.split_once('.')?;
        if signature.contains('.') {
            return None;
        }
        Some(Self {
            signed: &token[..header.len() + 1 + payload.len()],
            header,
            payload,
            signature,
        })
    }

    /// Decodes the header into `json`, an empty buffer, and reads it.
    pub(super) fn header<'j>(&self, json: &'j mut Vec<u8>) -> Option<Header<'j>> {
        decode(self.header, json)?;
        object(json)
    }

    /// Decodes the payload after what `json` holds, and reads the claims from it.
    pub(super) fn claims<'j>(&self, json: &'j mut Vec<u8>) -> Option<Claims<'j>> {
        let start = json.len();
        decode(self.payload, json)?;
        object(&json[start..])
    }
}

/// base64url without padding, the engine jsonwebtoken decodes with (trailing bits refused).
fn decode(part: &str, into: &mut Vec<u8>) -> Option<()> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode_vec(part, into)
        .ok()
}

/// A JSON object (`Others` makes serde refuse anything else).
fn object<'j, T: Deserialize<'j>>(json: &'j [u8]) -> Option<T> {
    serde_json::from_slice(json).ok()
}

/// The protected header: what selects the key and the token type, and every member
/// jsonwebtoken's `Header` gives a type to, read with that type so that a header it refuses
/// is refused here too. `jku`, `x5u`, `jwk` and `x5c` are never used: a token is verified with
/// our keys only, never with one it points to or carries (RFC 8725 §3.10).
#[derive(Deserialize)]
#[allow(dead_code)] // the members read only for their type
pub(super) struct Header<'a> {
    pub(super) alg: Algorithm,
    #[serde(borrow, default)]
    pub(super) kid: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) typ: Option<Text<'a>>,
    /// Whether `crit` is present at all (any value, even `null`): it names extensions the
    /// token may not be processed without (RFC 7515 §4.1.11), and none is understood here.
    #[serde(default, deserialize_with = "present")]
    pub(super) crit: bool,
    #[serde(borrow, default)]
    cty: Option<Text<'a>>,
    #[serde(borrow, default)]
    jku: Option<Text<'a>>,
    #[serde(borrow, default)]
    x5u: Option<Text<'a>>,
    #[serde(borrow, default)]
    x5t: Option<Text<'a>>,
    #[serde(borrow, default, rename = "x5t#S256")]
    x5t_s256: Option<Text<'a>>,
    #[serde(borrow, default)]
    enc: Option<Text<'a>>,
    #[serde(borrow, default)]
    zip: Option<Text<'a>>,
    #[serde(borrow, default)]
    url: Option<Text<'a>>,
    #[serde(borrow, default)]
    nonce: Option<Text<'a>>,
    #[serde(borrow, default)]
    x5c: Option<Vec<Text<'a>>>,
    #[serde(default)]
    jwk: Option<jsonwebtoken::jwk::Jwk>,
    #[serde(flatten)]
    _others: Others,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// A JSON string, borrowed from the token unless it holds escapes.
pub(super) struct Text<'a>(Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// The claims the verifier checks and an identity is made of, each read as whatever JSON it
/// holds, so that a claim of the wrong type is told apart from a malformed token; every other
/// claim is skipped without being copied. A name given twice among these is refused (serde),
/// as jsonwebtoken refuses it for the claims it checks.
#[derive(Deserialize)]
pub(super) struct Claims<'a> {
    #[serde(borrow, default)]
    pub(super) iss: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) sub: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) aud: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) exp: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) nbf: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) roles: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) scope: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) amr: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) auth_time: Claim<'a>,
    #[serde(borrow, default)]
    pub(super) jti: Claim<'a>,
    #[serde(flatten)]
    _others: Others,
}

/// The members no field names, parsed all the same — a nesting past serde_json's recursion
/// limit or a number out of range is refused, as jsonwebtoken refuses it when it keeps them
/// (the header's catch-all map, the caller's claims) — and dropped. Without it they would be
/// skipped unread. Being flattened, it also makes serde read the object as a map, which
/// refuses an array of the members in order (a derived struct alone reads one).
#[derive(Deserialize)]
struct Others(#[allow(dead_code)] IgnoredAny);

/// One claim's JSON value, as much of it as any check looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) enum Claim<'a> {
    #[default]
    Absent,
    Null,
    Text(Cow<'a, str>),
    /// An array of strings only (possibly empty).
    Texts(Vec<Cow<'a, str>>),
    Unsigned(u64),
    Float(f64),
    /// A negative integer, a boolean, an object, or an array holding anything but strings.
    Other,
}

impl<'a> Claim<'a> {
    /// A string claim's text.
    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// Absent, or `null`: what an optional claim may be when it says nothing.
    pub(super) fn is_unset(&self) -> bool {
        matches!(self, Self::Absent | Self::Null)
    }

    /// A NumericDate as jsonwebtoken reads `exp` and `nbf`: an unsigned integer, or a finite
    /// non-negative number below `u64::MAX`, rounded.
    pub(super) fn numeric_date(&self) -> Option<u64> {
        match *self {
            Self::Unsigned(value) => Some(value),
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Self::Float(value) if value.is_finite() && value >= 0.0 && value < u64::MAX as f64 => {
                Some(value.round() as u64)
            }
            _ => None,
        }
    }

    /// The claim at a path of the full claim map (a claim profile's roles elsewhere than in
    /// `roles`), borrowed from it.
    pub(super) fn of(value: &'a serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Self::Null,
            Value::String(text) => Self::Text(Cow::Borrowed(text)),
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map(Cow::Borrowed))
                .collect::<Option<_>>()
                .map_or(Self::Other, Self::Texts),
            Value::Number(number) => match number.as_u64() {
                Some(value) => Self::Unsigned(value),
                None if number.is_f64() => number.as_f64().map_or(Self::Other, Self::Float),
                None => Self::Other,
            },
            Value::Bool(_) | Value::Object(_) => Self::Other,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Claim<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ClaimVisitor)
    }
}

struct ClaimVisitor;

impl<'de> Visitor<'de> for ClaimVisitor {
    type Value = Claim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Claim::Null)
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Claim::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Claim::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Claim::Unsigned(value))
    }

    /// serde_json reads only negative integers as `i64`.
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Claim::Float(value))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut texts = Vec::new();
        let mut only_texts = true;
        while let Some(item) = items.next_element::<Claim<'de>>()? {
            match item {
                Claim::Text(text) if only_texts => texts.push(text),
                _ => only_texts = false,
            }
        }
        Ok(match only_texts {
            true => Claim::Texts(texts),
            false => Claim::Other,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        while members.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Claim::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(json: &str) -> Claim<'_> {
        serde_json::from_str(json).expect("JSON")
    }

    #[test]
    fn three_parts_exactly() {
        let parts = Compact::split("h.p.s").expect("three parts");
        assert_eq!(
            (parts.signed, parts.header, parts.payload, parts.signature),
            ("h.p", "h", "p", "s")
        );
        assert!(Compact::split("..").is_some());
        for token in ["", "h", "h.p", "h.p.s.x", "h.p.s."] {
            assert!(Compact::split(token).is_none(), "{token}");
        }
    }

    #[test]
    fn claims_are_read_as_the_checks_see_them() {
        assert_eq!(claim("null"), Claim::Null);
        assert!(matches!(claim(r#""a""#), Claim::Text(Cow::Borrowed("a"))));
        assert!(matches!(claim(r#""a\/b""#), Claim::Text(Cow::Owned(text)) if text == "a/b"));
        assert_eq!(
            claim(r#"["a", "b"]"#),
            Claim::Texts(vec!["a".into(), "b".into()])
        );
        assert_eq!(claim("[]"), Claim::Texts(Vec::new()));
        for other in [r#"["a", 1]"#, r#"[["a"]]"#, "{}", "true", "-1"] {
            assert_eq!(claim(other), Claim::Other, "{other}");
        }
        assert_eq!(claim("7").numeric_date(), Some(7));
        assert_eq!(claim("7.5").numeric_date(), Some(8));
        assert_eq!(claim("-0.0").numeric_date(), Some(0));
        for refused in ["-1", "1e20", r#""7""#, "null", "[7]"] {
            assert_eq!(claim(refused).numeric_date(), None, "{refused}");
        }
    }

    #[test]
    fn only_objects_are_read() {
        let read = |json: &str| object::<Claims<'_>>(json.as_bytes()).is_some();
        assert!(read(r#" {"sub": "a"}"#));
        assert!(!read(r#"["i", "a"]"#));
        assert!(!read(r#"{"sub": "a", "sub": "b"}"#));
        assert!(!read(r#"{"sub": "a"} x"#));
    }
}
