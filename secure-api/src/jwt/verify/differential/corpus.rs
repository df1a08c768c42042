//! The differential test's corpus: a valid token's drafts, each changed by one mutation, then
//! by several at random.

use super::{AUDIENCE, CLAIM_NAMES, CLIENT, HEADER_NAMES, ISSUER, LEEWAY, SECRET, base64};
use crate::jwt::MAX_TOKEN_BYTES;
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// The valid token, each mutation alone, then `random` drafts of two to four mutations each.
pub(super) fn drafts(algorithm: Algorithm, random: usize, seed: u64) -> Vec<Draft> {
    let now = crate::time::now();
    let mutations = mutations(now);
    let mut drafts = vec![Draft::valid(algorithm, now)];
    for mutation in &mutations {
        let mut draft = Draft::valid(algorithm, now);
        draft.apply(mutation);
        drafts.push(draft);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..random {
        let mut draft = Draft::valid(algorithm, now);
        for _ in 0..rng.random_range(2..=4) {
            draft.apply(&mutations[rng.random_range(0..mutations.len())]);
        }
        drafts.push(draft);
    }
    drafts
}

/// A token before it is encoded: header and claims as members of raw JSON text (so a member
/// may appear twice and hold anything), and how it is then encoded, assembled and signed.
#[derive(Clone)]
pub(super) struct Draft {
    header: Vec<(String, String)>,
    claims: Vec<(String, String)>,
    header_text: Option<String>,
    claims_text: Option<String>,
    header_encoding: Encoding,
    claims_encoding: Encoding,
    signature: Signature,
    shape: Shape,
}

#[derive(Clone, Copy, Debug)]
enum Encoding {
    Plain,
    Padded,
    StandardAlphabet,
    TrailingBits,
    Space,
    Empty,
}

#[derive(Clone, Copy, Debug)]
enum Signature {
    Valid,
    FlippedBit(usize),
    Truncated,
    Empty,
    OtherSecret,
    OtherAlgorithm,
    Padded,
    InvalidCharacter,
    OfAnotherMessage,
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    ThreeParts,
    TwoParts,
    FourParts,
    TrailingDot,
    LeadingDot,
}

#[derive(Clone, Debug)]
enum Mutation {
    SetHeader(&'static str, String),
    RemoveHeader(&'static str),
    DuplicateHeader(&'static str, String),
    HeaderText(String),
    SetClaim(&'static str, String),
    RemoveClaim(&'static str),
    DuplicateClaim(&'static str, String),
    ClaimsText(String),
    HeaderEncoding(Encoding),
    ClaimsEncoding(Encoding),
    Signature(Signature),
    Shape(Shape),
}

fn set(members: &mut Vec<(String, String)>, name: &str, value: &str) {
    members.retain(|(held, _)| held != name);
    members.push((name.to_owned(), value.to_owned()));
}

impl Draft {
    fn valid(algorithm: Algorithm, now: u64) -> Self {
        let quoted = |text: &str| Value::from(text).to_string();
        Self {
            header: vec![
                ("alg".into(), quoted(&format!("{algorithm:?}"))),
                ("typ".into(), quoted("at+jwt")),
            ],
            claims: vec![
                ("iss".into(), quoted(ISSUER)),
                ("aud".into(), quoted(AUDIENCE)),
                ("client_id".into(), quoted(CLIENT)),
                ("sub".into(), quoted("user-1")),
                ("iat".into(), now.to_string()),
                ("nbf".into(), now.to_string()),
                ("exp".into(), (now + 600).to_string()),
                ("jti".into(), quoted("j-1")),
                ("roles".into(), r#"["admin"]"#.into()),
                ("scope".into(), quoted("notes:read notes:write")),
                ("amr".into(), r#"["pwd"]"#.into()),
                ("auth_time".into(), now.to_string()),
            ],
            header_text: None,
            claims_text: None,
            header_encoding: Encoding::Plain,
            claims_encoding: Encoding::Plain,
            signature: Signature::Valid,
            shape: Shape::ThreeParts,
        }
    }

    fn apply(&mut self, mutation: &Mutation) {
        match mutation {
            Mutation::SetHeader(name, value) => set(&mut self.header, name, value),
            Mutation::RemoveHeader(name) => self.header.retain(|(held, _)| held != name),
            Mutation::DuplicateHeader(name, value) => {
                self.header.push(((*name).to_owned(), value.clone()))
            }
            Mutation::HeaderText(text) => self.header_text = Some(text.clone()),
            Mutation::SetClaim(name, value) => set(&mut self.claims, name, value),
            Mutation::RemoveClaim(name) => self.claims.retain(|(held, _)| held != name),
            Mutation::DuplicateClaim(name, value) => {
                self.claims.push(((*name).to_owned(), value.clone()))
            }
            Mutation::ClaimsText(text) => self.claims_text = Some(text.clone()),
            Mutation::HeaderEncoding(encoding) => self.header_encoding = *encoding,
            Mutation::ClaimsEncoding(encoding) => self.claims_encoding = *encoding,
            Mutation::Signature(signature) => self.signature = *signature,
            Mutation::Shape(shape) => self.shape = *shape,
        }
    }

    pub(super) fn token(&self, key: &EncodingKey, algorithm: Algorithm) -> String {
        let render = |members: &[(String, String)]| {
            let members: Vec<String> = members
                .iter()
                .map(|(name, value)| format!("{}:{value}", Value::from(name.as_str())))
                .collect();
            format!("{{{}}}", members.join(","))
        };
        let header = self
            .header_text
            .clone()
            .unwrap_or_else(|| render(&self.header));
        let claims = self
            .claims_text
            .clone()
            .unwrap_or_else(|| render(&self.claims));
        let signed = format!(
            "{}.{}",
            encode(&header, self.header_encoding),
            encode(&claims, self.claims_encoding)
        );
        let sign = |message: &str, key: &EncodingKey, algorithm| {
            jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).expect("signed")
        };
        let valid = sign(&signed, key, algorithm);
        let signature = match self.signature {
            Signature::Valid => valid,
            Signature::FlippedBit(bit) => {
                use base64::Engine as _;
                let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let mut bytes = engine.decode(&valid).expect("base64");
                let at = bit % (bytes.len() * 8);
                bytes[at / 8] ^= 1 << (at % 8);
                engine.encode(bytes)
            }
            Signature::Truncated => valid[..valid.len() - 4].to_owned(),
            Signature::Empty => String::new(),
            Signature::OtherSecret => sign(
                &signed,
                &EncodingKey::from_secret(b"another-secret-of-the-same-length-or-so!!!"),
                Algorithm::HS256,
            ),
            Signature::OtherAlgorithm => sign(
                &signed,
                &EncodingKey::from_secret(SECRET.as_bytes()),
                Algorithm::HS384,
            ),
            Signature::Padded => format!("{valid}="),
            Signature::InvalidCharacter => format!("{}*", &valid[..valid.len() - 1]),
            Signature::OfAnotherMessage => sign(&format!("{signed}x"), key, algorithm),
        };
        match self.shape {
            Shape::ThreeParts => format!("{signed}.{signature}"),
            Shape::TwoParts => signed,
            Shape::FourParts => format!("{signed}.{signature}.{signature}"),
            Shape::TrailingDot => format!("{signed}.{signature}."),
            Shape::LeadingDot => format!(".{signed}.{signature}"),
        }
    }
}

fn encode(text: &str, encoding: Encoding) -> String {
    use base64::Engine as _;
    let plain = base64(text);
    match encoding {
        Encoding::Plain => plain,
        Encoding::Padded => base64::engine::general_purpose::URL_SAFE.encode(text),
        Encoding::StandardAlphabet => base64::engine::general_purpose::STANDARD_NO_PAD.encode(text),
        // The last character's unused low bits set: the same bytes to a lax decoder.
        Encoding::TrailingBits if !plain.len().is_multiple_of(4) => {
            let (head, last) = plain.split_at(plain.len() - 1);
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let index = alphabet
                .iter()
                .position(|&c| c == last.as_bytes()[0])
                .expect("base64url");
            format!("{head}{}", alphabet[index | 1] as char)
        }
        Encoding::TrailingBits => plain,
        Encoding::Space => format!("{} {}", &plain[..2], &plain[2..]),
        Encoding::Empty => String::new(),
    }
}

/// JSON values of every type, and the near-misses of the expected ones.
fn values(now: u64) -> Vec<String> {
    // One JSON value per word: none holds a space.
    let mut values: Vec<String> = r#"null true false 0 -1 1.5 -0.0 1e3 1e400 18446744073709551615
        18446744073709551616 1e19 "" "x" "a\/b" "\u0000" "\ud800" "\ud83d\ude00" "\x" [] ["x"]
        ["x",1] [["x"]] [null] {} {"a":1} "admin" ["admin"] "notes:read"
        ["notes:read","notes:write"]"#
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    // Nested arrays either side of serde_json's recursion limit (an object holds them).
    for depth in [126, 127, 128] {
        values.push(format!("{}1{}", "[".repeat(depth), "]".repeat(depth)));
    }
    let quoted = |text: &str| Value::from(text).to_string();
    values.extend([
        quoted(ISSUER),
        format!("[{}]", quoted(ISSUER)),
        format!("[{},\"other\"]", quoted(ISSUER)),
        quoted(&format!("{ISSUER}/")),
        quoted(AUDIENCE),
        format!("[{}]", quoted(AUDIENCE)),
        format!("[\"other\",{}]", quoted(AUDIENCE)),
        quoted(CLIENT),
        quoted("user-1"),
    ]);
    values.extend(times(now));
    values
}

/// NumericDates around every boundary: now, and now ± the leeway, ± a second, as integers
/// and as fractions either side of rounding.
fn times(now: u64) -> Vec<String> {
    let mut times = vec!["0".to_owned(), format!("\"{now}\"")];
    for base in [now - LEEWAY, now, now + LEEWAY, now + 600] {
        for delta in [-1_i64, 0, 1] {
            let at = base.saturating_add_signed(delta);
            times.push(at.to_string());
            times.push(format!("{at}.4"));
            times.push(format!("{at}.5"));
            times.push(format!("{at}.6"));
            times.push(format!("{at}e0"));
        }
    }
    times
}

/// Every mutation on its own.
fn mutations(now: u64) -> Vec<Mutation> {
    let values = values(now);
    let mut all = Vec::new();
    let header_values = r#""HS256" "HS384" "none" "None" "RS256" "hs256" "EdDSA" "at+jwt"
        "AT+JWT" "application/at+jwt" "JWT" "application/jwt" ["exp"] {"kty":"oct","k":"c2VjcmV0"}
        {"kty":"EC"} ["MIIB"] "DEF" "A256GCM""#
        .split_whitespace()
        .map(str::to_owned)
        .chain(values.iter().cloned());
    for value in header_values {
        for name in HEADER_NAMES.iter().chain(&["extra"]) {
            all.push(Mutation::SetHeader(name, value.clone()));
        }
    }
    for name in ["alg", "typ"] {
        all.push(Mutation::RemoveHeader(name));
        for value in ["\"HS256\"", "\"none\"", "\"at+jwt\"", "\"JWT\""] {
            all.push(Mutation::DuplicateHeader(name, value.into()));
        }
    }
    for name in ["kid", "extra", "cty"] {
        all.push(Mutation::DuplicateHeader(name, "\"k\"".into()));
    }
    for text in [
        "[\"HS256\",null,\"at+jwt\"]",
        "\"x\"",
        "null",
        "7",
        "{",
        "",
        r#"{"alg":"HS256","typ":"at+jwt"} x"#,
        r#"  {"alg":"HS256","typ":"at+jwt"}"#,
        "\u{feff}{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
        r#"{"alg":"HS256","typ":"at+jwt",}"#,
    ] {
        all.push(Mutation::HeaderText(text.into()));
    }
    for name in CLAIM_NAMES
        .iter()
        .chain(&["client_id", "iat", "acr", "extra"])
    {
        for value in &values {
            all.push(Mutation::SetClaim(name, value.clone()));
        }
        all.push(Mutation::RemoveClaim(name));
        all.push(Mutation::DuplicateClaim(name, "null".into()));
        all.push(Mutation::DuplicateClaim(name, "\"user-1\"".into()));
    }
    let large = format!("\"{}\"", "x".repeat(MAX_TOKEN_BYTES));
    all.push(Mutation::SetClaim("extra", large));
    let valid_claims = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","client_id":"{CLIENT}","sub":"user-1","exp":{}}}"#,
        now + 600
    );
    for text in [
        format!(r#"["{ISSUER}","{AUDIENCE}","user-1",{}]"#, now + 600),
        format!(r#"[{},{now},"user-1","{ISSUER}","{AUDIENCE}"]"#, now + 600),
        "null".into(),
        "\"x\"".into(),
        "{".into(),
        String::new(),
        format!("{valid_claims} x"),
        format!("  {valid_claims}\n"),
        format!("\u{feff}{valid_claims}"),
        valid_claims,
    ] {
        all.push(Mutation::ClaimsText(text));
    }
    for encoding in [
        Encoding::Padded,
        Encoding::StandardAlphabet,
        Encoding::TrailingBits,
        Encoding::Space,
        Encoding::Empty,
    ] {
        all.push(Mutation::HeaderEncoding(encoding));
        all.push(Mutation::ClaimsEncoding(encoding));
    }
    for signature in [
        Signature::FlippedBit(0),
        Signature::FlippedBit(7),
        Signature::FlippedBit(100),
        Signature::FlippedBit(255),
        Signature::Truncated,
        Signature::Empty,
        Signature::OtherSecret,
        Signature::OtherAlgorithm,
        Signature::Padded,
        Signature::InvalidCharacter,
        Signature::OfAnotherMessage,
    ] {
        all.push(Mutation::Signature(signature));
    }
    for shape in [
        Shape::TwoParts,
        Shape::FourParts,
        Shape::TrailingDot,
        Shape::LeadingDot,
    ] {
        all.push(Mutation::Shape(shape));
    }
    all
}
