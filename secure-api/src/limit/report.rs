//! The `RateLimit` fields of a response (draft-ietf-httpapi-ratelimit-headers-10): the guard
//! leaves its decision in the request, and a layer around every `#[secure]` route writes the
//! fields when the response passes back.
//!
//! The layer is a plain tower `Layer` rather than axum's `from_fn`: that one boxes a future
//! and clones a boxed service on every request, which the throughput profile showed as a
//! quarter of a microsecond (BENCHMARKS.md §2).

use super::{RateDecision, whole_seconds};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

impl RateDecision {
    /// Writes `RateLimit-Policy`, `RateLimit` and, for a denial, `Retry-After`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let name = self.rate.key.as_str();
        let window = self.rate.window.as_secs().max(1);
        let reset = whole_seconds(self.reset);
        let fields = [
            (
                RATELIMIT_POLICY,
                field(name, ("q", self.rate.max.into()), ("w", window)),
            ),
            (
                RATELIMIT,
                field(name, ("r", self.remaining.into()), ("t", reset)),
            ),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                headers.insert(name, value);
            }
        }
        if !self.allowed {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(whole_seconds(self.retry_after)),
            );
        }
    }
}

/// `"name";a=1;b=2`, built without the formatting machinery (it runs on every response).
fn field(name: &str, first: (&str, u64), second: (&str, u64)) -> Option<HeaderValue> {
    let mut value = String::with_capacity(name.len() + 32);
    value.push('"');
    value.push_str(name);
    value.push('"');
    for (key, number) in [first, second] {
        value.push(';');
        value.push_str(key);
        value.push('=');
        value.push_str(itoa::Buffer::new().format(number));
    }
    HeaderValue::try_from(value).ok()
}

/// Where the guard leaves the decision of an admitted request for the response's
/// `RateLimit` fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateLimitReport(Arc<OnceLock<RateDecision>>);

impl RateLimitReport {
    pub(crate) fn set(&self, decision: RateDecision) {
        // The first decision stands: a request is limited once.
        let _ = self.0.set(decision);
    }

    /// Writes the fields into a response that has none of its own (a 429 carries its own).
    fn write(&self, headers: &mut HeaderMap) {
        if let Some(decision) = self.0.get()
            && !headers.contains_key(RATELIMIT)
        {
            decision.write_headers(headers);
        }
    }
}

/// Gives each request the place where its guard leaves the rate-limit decision, and writes
/// `RateLimit` / `RateLimit-Policy` into the response from it. The router wraps every
/// `#[secure]` route in it, `Hardening` the whole application; the outermost one serves.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReportRateLimitLayer;

impl<S> tower_layer::Layer<S> for ReportRateLimitLayer {
    type Service = ReportRateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReportRateLimit { inner }
    }
}

/// [`ReportRateLimitLayer`] around a service.
#[derive(Debug, Clone)]
pub(crate) struct ReportRateLimit<S> {
    inner: S,
}

impl<S> tower_service::Service<Request> for ReportRateLimit<S>
where
    S: tower_service::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Reported<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let report = match request.extensions().get::<RateLimitReport>() {
            // An outer layer reports.
            Some(_) => None,
            None => {
                let report = RateLimitReport::default();
                request.extensions_mut().insert(report.clone());
                Some(report)
            }
        };
        Reported {
            answer: self.inner.call(request),
            report,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's answer, with the `RateLimit` fields written into it.
    pub(crate) struct Reported<F> {
        #[pin]
        answer: F,
        report: Option<RateLimitReport>,
    }
}

impl<F, E> Future for Reported<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.answer.poll(cx))?;
        if let Some(report) = this.report.take() {
            report.write(response.headers_mut());
        }
        Poll::Ready(Ok(response))
    }
}
