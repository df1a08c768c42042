//! The layers every API wants around its routes: secure response headers, strict CORS, a body
//! limit, a timeout, panics turned into problems, request ids — and every error answered as a
//! problem, whoever produced it.
//!
//! ```
//! # use secure_api::{Hardening, Security};
//! let router: axum::Router<Security> = axum::Router::new();
//! let app = Hardening::new().apply(router); // or Hardening::new().cors_origins([..])?.apply(router)
//! ```

use crate::audit::{self, REQUEST_ID, is_request_id};
use crate::error::ConfigError;
use crate::limit::ReportRateLimitLayer;
use crate::problem::Problem;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

/// Hardening settings: `Hardening::new().apply(router)` wraps a router in the defaults.
#[derive(Debug, Clone)]
pub struct Hardening {
    cors_origins: Vec<HeaderValue>,
    body_limit: usize,
    timeout: Duration,
    hsts: bool,
}

impl Default for Hardening {
    fn default() -> Self {
        Self::new()
    }
}

impl Hardening {
    /// No cross-origin access, 64 KiB bodies, 10 s per request, no HSTS.
    pub fn new() -> Self {
        Self {
            cors_origins: Vec::new(),
            body_limit: 64 * 1024,
            timeout: Duration::from_secs(10),
            hsts: false,
        }
    }

    /// Origins allowed to call the API from a browser, e.g. `https://app.example.com`.
    /// `*` is refused: credentials (the `Authorization` header) must never be sent to any site.
    pub fn cors_origins<'a>(
        mut self,
        origins: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ConfigError> {
        for origin in origins {
            let invalid = |reason: &str| ConfigError::Invalid {
                name: "CORS origin".into(),
                reason: format!("`{origin}` {reason}"),
            };
            if origin.trim() == "*" {
                return Err(invalid(
                    "would let every site call the API with the user's credentials; list origins",
                ));
            }
            let scheme_ok = origin.starts_with("https://") || origin.starts_with("http://");
            if !scheme_ok || origin.ends_with('/') {
                return Err(invalid(
                    "is not an origin such as `https://app.example.com`",
                ));
            }
            self.cors_origins
                .push(HeaderValue::from_str(origin).map_err(|_| invalid("is not a header value"))?);
        }
        Ok(self)
    }

    /// The largest request body accepted (413 above it).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The longest a request may take (408 after it).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `Strict-Transport-Security`; turn it on when the application serves TLS itself.
    pub fn hsts(mut self) -> Self {
        self.hsts = true;
        self
    }

    /// Wraps `router` in the layers.
    pub fn apply<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.cors_origins.clone()))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static("ratelimit"),
                HeaderName::from_static("ratelimit-policy"),
                REQUEST_ID,
            ])
            .max_age(Duration::from_secs(600));
        router
            .layer(CatchPanicLayer::custom(panicked))
            .layer(DefaultBodyLimit::max(self.body_limit))
            .layer(cors)
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                self.timeout,
            ))
            .layer(ReportRateLimitLayer)
            .layer(middleware::from_fn_with_state(self.hsts, secure_response))
            .layer(middleware::from_fn(request_id))
    }
}

/// A panic in a handler: 500 with nothing in it. The payload is not logged, since it can hold
/// anything the code had at hand.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!(target: audit::TARGET, outcome = "error", reason = "handler_panicked");
    Problem::internal().into_response()
}

/// Security headers on every response, `no-store` where credentials were involved, and every
/// error turned into a problem — an axum rejection or a layer's bare status would otherwise
/// answer in plain text, and could carry internals.
async fn secure_response(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let credentials = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let mut problem = Problem::for_status(status).into_response();
        for (name, value) in response.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                problem.headers_mut().append(name, value.clone());
            }
        }
        response = problem;
    }
    let headers = response.headers_mut();
    headers.remove(header::SERVER);
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if credentials || status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Keeps a client's request id when it is a short token, else makes one; echoes it.
async fn request_id(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|value| is_request_id(value))
        .cloned();
    let id = given.unwrap_or_else(|| {
        HeaderValue::from_str(&format!("{:032x}", rand::random::<u128>()))
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
    });
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_refuses_wildcards_and_non_origins() {
        assert!(Hardening::new().cors_origins(["*"]).is_err());
        assert!(Hardening::new().cors_origins(["app.example.com"]).is_err());
        assert!(
            Hardening::new()
                .cors_origins(["https://app.example.com/"])
                .is_err()
        );
        assert!(
            Hardening::new()
                .cors_origins(["https://app.example.com"])
                .is_ok()
        );
    }
}
