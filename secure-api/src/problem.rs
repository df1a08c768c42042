//! RFC 9457 problem details: the one shape of every error secure-api answers with.

use crate::limit::RateDecision;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;

/// An `application/problem+json` response (RFC 9457).
///
/// Its text never carries internals: what went wrong in detail goes to the audit log, the
/// client gets a stable, generic explanation. Handlers may return it too.
#[derive(Debug, Clone)]
pub struct Problem(Box<Fields>);

#[derive(Debug, Clone)]
struct Fields {
    status: StatusCode,
    detail: Cow<'static, str>,
    errors: Vec<FieldError>,
    headers: HeaderMap,
}

/// One invalid input field, as listed in a 422 problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON pointer (RFC 6901) into the request input, e.g. `#/email` or `#/items/0/name`.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

const WWW_AUTHENTICATE_MISSING: &str = "Bearer";
const WWW_AUTHENTICATE_INVALID: &str = "Bearer error=\"invalid_token\"";
const WWW_AUTHENTICATE_MALFORMED: &str = "Bearer error=\"invalid_request\"";
const WWW_AUTHENTICATE_INSUFFICIENT: &str = "Bearer error=\"insufficient_scope\"";
// API keys have no registered scheme: the challenge names the header, as most APIs' do.
const WWW_AUTHENTICATE_API_KEY: &str = "ApiKey header=\"X-API-Key\"";
const WWW_AUTHENTICATE_API_KEY_INVALID: &str = "ApiKey header=\"X-API-Key\", error=\"invalid_key\"";

impl Problem {
    /// A problem with this status and a client-facing explanation.
    pub fn new(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self(Box::new(Fields {
            status,
            detail: detail.into(),
            errors: Vec::new(),
            headers: HeaderMap::new(),
        }))
    }

    /// 401 for a request that carried no bearer token.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "This resource requires a bearer token in the Authorization header.",
        )
        .with_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE_MISSING)
    }

    /// 401 for a token that was presented and rejected, whatever the reason: the answer is the
    /// same for an expired, forged or malformed token, so that it teaches an attacker nothing.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The bearer token is not valid for this API.",
        )
        .with_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE_INVALID)
    }

    /// 400 for an `Authorization: Bearer` header that holds no usable token (empty, with
    /// spaces, or sent twice): RFC 6750 §3.1 `invalid_request`.
    pub fn invalid_request() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The Authorization header is malformed: send one `Authorization: Bearer <token>`.",
        )
        .with_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE_MALFORMED)
    }

    /// 401 for a request to a handler that takes API keys, with no credentials: the
    /// challenges name what it accepts (`ApiKey`, and `Bearer` if tokens are accepted too).
    pub fn missing_credentials(accepts_bearer: bool) -> Self {
        let detail = match accepts_bearer {
            true => {
                "This resource requires a bearer token in the Authorization header or an API \
                 key in the X-API-Key header."
            }
            false => "This resource requires an API key in the X-API-Key header.",
        };
        let mut problem = Self::new(StatusCode::UNAUTHORIZED, detail);
        if accepts_bearer {
            problem.append_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE_MISSING);
        }
        problem.append_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE_API_KEY);
        problem
    }

    /// 401 for an API key that was presented and refused. `detail` says more than "not
    /// valid" only to a caller who holds the real key (revoked, expired).
    pub fn invalid_api_key(detail: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
            .with_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE_API_KEY_INVALID)
    }

    /// 400 for an API key in the URL, where access logs, proxies and browser histories keep
    /// it: refused, whether or not the key is valid.
    pub fn api_key_in_url() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "API keys are not accepted in the URL, where logs keep them: send the key in the \
             X-API-Key header, and replace this one, since it has been exposed.",
        )
    }

    /// 400 for credentials that cannot be read: several `X-API-Key` headers, a value that is
    /// not text, or a bearer token and an API key together.
    pub fn unusable_credentials() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The credentials are malformed: send one bearer token or one API key.",
        )
    }

    /// 403 for a valid API key that lacks a required role or scope.
    pub fn api_key_not_permitted() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "The API key does not grant access to this resource.",
        )
    }

    /// 403 for a valid token that lacks a required role or scope.
    pub fn insufficient_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "The bearer token does not grant access to this resource.",
        )
        .with_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE_INSUFFICIENT)
    }

    /// 401 asking for a step-up: the token is valid but shows no second factor, or an old
    /// one (RFC 9470 `insufficient_user_authentication`).
    pub fn step_up_required(max_age: Option<std::time::Duration>) -> Self {
        let mut challenge = String::from(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A second authentication factor is required\"",
        );
        if let Some(max_age) = max_age {
            challenge.push_str(&format!(", max_age={}", max_age.as_secs()));
        }
        let mut problem = Self::new(
            StatusCode::UNAUTHORIZED,
            "This resource requires a recent second authentication factor; sign in again with one.",
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            problem.set_header(header::WWW_AUTHENTICATE, value);
        }
        problem
    }

    /// 429 with `Retry-After` and the IETF `RateLimit` / `RateLimit-Policy` fields.
    pub fn too_many_requests(decision: &RateDecision) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests; retry after the number of seconds in Retry-After.",
        );
        decision.write_headers(&mut problem.0.headers);
        problem
    }

    /// 422 listing each invalid field.
    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request input failed validation; see `errors`.",
        );
        problem.0.errors = errors;
        problem
    }

    /// 400 for input that could not be parsed at all.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 413 for a body over the configured limit.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than this API accepts.",
        )
    }

    /// 415 for a body of the wrong media type.
    pub fn unsupported_media_type(expected: &'static str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("The request body must be sent as `{expected}`."),
        )
    }

    /// 404 for a path no route serves (and, in applications, for an object the caller may
    /// not know exists).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "No resource exists at this path.")
    }

    /// 405 for a method the route does not serve; the `Allow` header lists those it does.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "This resource does not support this method; see the Allow header.",
        )
    }

    /// The problem for a bare error status that some other part (an axum rejection, a
    /// tower layer) produced without a body of ours.
    #[cfg(feature = "harden")]
    pub(crate) fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => Self::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(),
            StatusCode::REQUEST_TIMEOUT => {
                Self::new(status, "The request took too long and was abandoned.")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::new(status, "The request body has an unsupported media type.")
            }
            status if status.is_server_error() => Self::internal(),
            status => Self::new(status, "The request could not be processed."),
        }
    }

    /// 500 with nothing in it but an apology: the details are in the server's log.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server could not handle this request.",
        )
    }

    /// 500 for a server set up so that no request can be checked — today, one that hands
    /// the guard no client address. The detail is exactly "server misconfigured": the
    /// operator finds the fix in the log, the client learns nothing more.
    pub fn misconfigured() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server misconfigured")
    }

    /// 503 for a dependency of the security checks that cannot be reached; the request is
    /// denied rather than let through unchecked.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service cannot check this request right now; try again later.",
        )
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.0.headers.insert(name, HeaderValue::from_static(value));
        self
    }

    fn append_header(&mut self, name: HeaderName, value: &'static str) {
        self.0.headers.append(name, HeaderValue::from_static(value));
    }

    /// Sets a response header.
    pub fn set_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.0.headers.insert(name, value);
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The client-facing explanation.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The invalid fields of a 422 problem.
    pub fn errors(&self) -> &[FieldError] {
        &self.0.errors
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.status, self.0.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let Fields {
            status,
            detail,
            errors,
            headers,
        } = *self.0;
        let body = Body {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: &detail,
            errors: &errors,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            // A struct of strings always serializes; this arm only keeps the type honest.
            Err(_) => b"{\"type\":\"about:blank\",\"status\":500}".to_vec(),
        };
        let mut response = (status, body).into_response();
        let response_headers = response.headers_mut();
        response_headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        // Problems about credentials must never be served from a cache.
        response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response_headers.extend(headers);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_rfc_9457() {
        let response = Problem::unprocessable(vec![FieldError {
            pointer: "#/email".into(),
            detail: "not a valid email address".into(),
        }])
        .into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["title"], "Unprocessable Entity");
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["pointer"], "#/email");
    }
}
