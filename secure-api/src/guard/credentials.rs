//! Where credentials are read from a request: `Authorization: Bearer <token>` (RFC 6750
//! §2.1) and `X-API-Key: <key>`, and where an API key must never be — the URL.

use super::Failure;
use crate::apikey::{self, ApiKeys};
use crate::policy::Auth;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

/// The credentials of a request, as far as the handler accepts them.
pub(super) enum Credential<'a> {
    Missing,
    /// Present but unreadable; counted as a failed authentication.
    Unusable(Failure),
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// Reads the credentials `auth` accepts; the others are not looked at. A token and a key
/// together are unusable: the request would be decided by whichever is checked first.
pub(super) fn read(parts: &Parts, auth: Auth) -> Credential<'_> {
    let bearer = match auth.accepts_bearer() {
        true => bearer_token(parts),
        false => Bearer::Missing,
    };
    let key = match auth.accepts_api_key() {
        true => api_key(parts),
        false => Key::Missing,
    };
    match (bearer, key) {
        (Bearer::Missing, Key::Missing) => Credential::Missing,
        (Bearer::Token(token), Key::Missing) => Credential::Bearer(token),
        (Bearer::Unusable, Key::Missing) => Credential::Unusable(Failure::Malformed),
        (Bearer::Missing, Key::Value(key)) => Credential::ApiKey(key),
        _ => Credential::Unusable(Failure::Unusable),
    }
}

/// The query parameter names under which clients put API keys when they do.
const KEY_PARAMETERS: &[&str] = &["api_key", "apikey", "x_api_key", "api_token"];

/// Whether the URL holds an API key: a query parameter named like one, or a query value or
/// path segment that starts like one of this application's keys.
pub(super) fn api_key_in_url(parts: &Parts, api_keys: &ApiKeys) -> bool {
    let in_path = parts
        .uri
        .path()
        .split('/')
        .any(|segment| api_keys.looks_like_key(segment));
    let in_query = parts.uri.query().is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes()).any(|(name, value)| {
            let name = name.to_ascii_lowercase().replace('-', "_");
            KEY_PARAMETERS.contains(&name.as_str()) || api_keys.looks_like_key(&value)
        })
    });
    in_path || in_query
}

enum Key<'a> {
    Missing,
    /// Sent twice, not text, empty or with white space inside.
    Unusable,
    Value(&'a str),
}

/// Reads the one `X-API-Key` header.
fn api_key(parts: &Parts) -> Key<'_> {
    let mut values = parts.headers.get_all(apikey::HEADER).iter();
    let (first, second) = (values.next(), values.next());
    let Some(value) = first else {
        return Key::Missing;
    };
    if second.is_some() {
        return Key::Unusable;
    }
    match value.to_str().map(str::trim) {
        Ok(key) if !key.is_empty() && !key.contains(char::is_whitespace) => Key::Value(key),
        _ => Key::Unusable,
    }
}

pub(super) enum Bearer<'a> {
    Missing,
    /// An `Authorization: Bearer` header that holds no usable token.
    Unusable,
    Token(&'a str),
}

/// Reads `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive).
/// Another scheme counts as no bearer token, and so does a value that is not visible ASCII;
/// two `Authorization` headers are unusable.
pub(super) fn bearer_token(parts: &Parts) -> Bearer<'_> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match parts.headers.contains_key(header::AUTHORIZATION) {
            true => Bearer::Unusable,
            false => Bearer::Missing,
        };
    };
    let bytes = value.as_bytes();
    let Some(space) = bytes.iter().position(|byte| *byte == b' ') else {
        return scheme_only(value);
    };
    if !bytes[..space].eq_ignore_ascii_case(b"bearer") {
        return Bearer::Missing;
    }
    // A header value holds no control character but tab, so trimming ASCII white space
    // trims spaces and tabs.
    let token = bytes[space + 1..].trim_ascii();
    // Every byte of the ~250 is looked at in one pass the compiler vectorises, rather than in
    // a check that stops at the first odd one: almost every token has none.
    let graphic = token
        .iter()
        .fold(true, |graphic, byte| graphic & byte.is_ascii_graphic());
    let token = match std::str::from_utf8(token) {
        Ok(token) if graphic && !token.is_empty() => return Bearer::Token(token),
        Ok(token) => token,
        Err(_) => return Bearer::Missing,
    };
    if !token
        .bytes()
        .all(|byte| matches!(byte, b'\t' | b' '..=b'~'))
    {
        Bearer::Missing
    } else if token.is_empty() || token.contains(' ') {
        Bearer::Unusable
    } else {
        // A tab inside is a token that will not verify.
        Bearer::Token(token)
    }
}

fn scheme_only(value: &HeaderValue) -> Bearer<'static> {
    if value.as_bytes().eq_ignore_ascii_case(b"bearer") {
        Bearer::Unusable
    } else {
        Bearer::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(authorization: &[&str]) -> Parts {
        let mut request = Request::builder();
        for value in authorization {
            request = request.header(header::AUTHORIZATION, *value);
        }
        request.body(()).expect("request").into_parts().0
    }

    #[test]
    fn reads_bearer_tokens() {
        assert!(matches!(bearer_token(&parts(&[])), Bearer::Missing));
        assert!(matches!(
            bearer_token(&parts(&["Basic dXNlcjpwdw=="])),
            Bearer::Missing
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer"])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer  "])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer a b"])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer a", "Bearer b"])),
            Bearer::Unusable
        ));
        assert!(matches!(
            bearer_token(&parts(&["bEaReR abc.def.ghi"])),
            Bearer::Token("abc.def.ghi")
        ));
        assert!(matches!(
            bearer_token(&parts(&["Bearer \t abc.def.ghi \t"])),
            Bearer::Token("abc.def.ghi")
        ));
        // A tab inside is read as part of the token, which will not verify.
        assert!(matches!(
            bearer_token(&parts(&["Bearer abc\tdef"])),
            Bearer::Token("abc\tdef")
        ));
        let not_text = |bytes: &[u8]| {
            let mut parts = parts(&[]);
            let value = HeaderValue::from_bytes(bytes).expect("obs-text is a header value");
            parts.headers.insert(header::AUTHORIZATION, value);
            matches!(bearer_token(&parts), Bearer::Missing)
        };
        assert!(not_text(b"Bearer abc\xff.def"));
        assert!(not_text("Bearer abcé".as_bytes()));
        assert!(not_text(b"Bear\xe9r abc"));
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("request").into_parts().0
    }

    #[test]
    fn reads_the_credentials_the_handler_accepts() {
        let key = ("x-api-key", "sapi_key");
        let token = ("authorization", "Bearer abc.def.ghi");
        let read_as = |auth, headers: &[(&str, &str)]| -> String {
            match read(&request("/", headers), auth) {
                Credential::Missing => "missing".into(),
                Credential::Unusable(Failure::Malformed) => "malformed bearer".into(),
                Credential::Unusable(_) => "unusable".into(),
                Credential::Bearer(token) => format!("bearer {token}"),
                Credential::ApiKey(key) => format!("key {key}"),
            }
        };
        assert_eq!(read_as(Auth::ApiKey, &[key]), "key sapi_key");
        assert_eq!(read_as(Auth::ApiKey, &[token]), "missing");
        assert_eq!(read_as(Auth::Bearer, &[key]), "missing");
        assert_eq!(
            read_as(Auth::BearerOrApiKey, &[token]),
            "bearer abc.def.ghi"
        );
        assert_eq!(read_as(Auth::BearerOrApiKey, &[key, token]), "unusable");
        assert_eq!(read_as(Auth::ApiKey, &[key, key]), "unusable");
        assert_eq!(read_as(Auth::ApiKey, &[("x-api-key", "a b")]), "unusable");
        assert_eq!(
            read_as(Auth::BearerOrApiKey, &[("authorization", "Bearer")]),
            "malformed bearer"
        );
    }

    #[test]
    fn finds_keys_in_the_url() {
        let keys = ApiKeys::new(
            std::sync::Arc::new(crate::apikey::MemoryApiKeyStore::new()),
            apikey::DEFAULT_PREFIX,
        );
        let in_url = |uri: &str| api_key_in_url(&request(uri, &[]), &keys);
        assert!(in_url("/export?api_key=x"));
        assert!(in_url("/export?Api-Key=x"));
        assert!(in_url("/export?apikey="));
        assert!(in_url("/export?q=sapi_abc"));
        assert!(in_url("/export?q=sapi%5Fabc"));
        assert!(in_url("/keys/sapi_abc/export"));
        assert!(!in_url("/export?q=sapient&key=value"));
        assert!(!in_url("/export"));
    }
}
