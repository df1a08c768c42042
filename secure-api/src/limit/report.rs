//! The `RateLimit` fields of a response (draft-ietf-httpapi-ratelimit-headers-10): the guard
//! leaves its decision in a task-local slot, and the future around every `#[secure]` handler
//! (or around the whole application, under `Hardening`) writes the fields when the response
//! passes back.
//!
//! Nothing here allocates per request, and no future is boxed: axum's `from_fn` boxed a future
//! and cloned a boxed service on every request, and a layer per route made axum box one more;
//! the throughput profile showed each (BENCHMARKS.md §2).

use super::{RateDecision, whole_seconds};
use crate::policy::Rate;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::task::futures::TaskLocalFuture;

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

impl RateDecision {
    /// Writes `RateLimit-Policy`, `RateLimit` and, for a denial, `Retry-After`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let name = self.rate.key.as_str();
        let reset = whole_seconds(self.reset);
        let fields = [
            (RATELIMIT_POLICY, policy_field(self.rate)),
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

/// `RateLimit-Policy`: `"name";q=max;w=window`. A route answers with the same one every time,
/// so each thread keeps the last it wrote and hands out copies of it (a reference count).
fn policy_field(rate: Rate) -> Option<HeaderValue> {
    thread_local! {
        static LAST: RefCell<Option<(Rate, HeaderValue)>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((written, value)) if *written == rate => Some(value.clone()),
        _ => {
            let window = rate.window.as_secs().max(1);
            let value = field(rate.key.as_str(), ("q", rate.max.into()), ("w", window))?;
            *last = Some((rate, value.clone()));
            Some(value)
        }
    })
}

/// `"name";a=1;b=2`, written on the stack (it runs on every response): the header value is
/// its one allocation.
fn field(name: &str, first: (&str, u64), second: (&str, u64)) -> Option<HeaderValue> {
    // The quotes, two keys, two u64s (20 digits at most) and their separators take at most 51
    // bytes besides the name, which is one of `RateKey::as_str`'s few.
    let mut value = [0u8; 96];
    let mut length = 0;
    let mut push = |bytes: &[u8]| {
        let end = length + bytes.len();
        value.get_mut(length..end)?.copy_from_slice(bytes);
        length = end;
        Some(())
    };
    push(b"\"")?;
    push(name.as_bytes())?;
    push(b"\"")?;
    for (key, number) in [first, second] {
        push(b";")?;
        push(key.as_bytes())?;
        push(b"=")?;
        push(itoa::Buffer::new().format(number).as_bytes())?;
    }
    HeaderValue::from_bytes(&value[..length]).ok()
}

tokio::task_local! {
    /// Where the guard of the request being answered leaves its decision. A task-local
    /// rather than a request extension: it lives inside the reporting future, so it costs a
    /// request no allocation.
    static DECISION: Cell<Option<RateDecision>>;
}

/// Leaves an admitted request's decision for its response's `RateLimit` fields. The first
/// decision stands: a request is limited once. A guarded handler mounted on a plain axum
/// router has no reporting future around it, and its responses go without the fields.
pub(crate) fn report(decision: RateDecision) {
    let _ = DECISION.try_with(|slot| {
        let first = slot.take().unwrap_or(decision);
        slot.set(Some(first));
    });
}

/// Gives each request a place where its guard leaves the rate-limit decision, and writes
/// `RateLimit` / `RateLimit-Policy` into the response from it. `Hardening` wraps the whole
/// application in it, so that an answer made outside the route (a timeout, a panic) carries
/// the fields too.
#[cfg(feature = "harden")]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReportRateLimitLayer;

#[cfg(feature = "harden")]
impl<S> tower_layer::Layer<S> for ReportRateLimitLayer {
    type Service = ReportRateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReportRateLimit { inner }
    }
}

/// [`ReportRateLimitLayer`] around a service.
#[cfg(feature = "harden")]
#[derive(Debug, Clone)]
pub(crate) struct ReportRateLimit<S> {
    inner: S,
}

#[cfg(feature = "harden")]
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

    fn call(&mut self, request: Request) -> Self::Future {
        Reported::new(self.inner.call(request))
    }
}

/// A `#[secure]` handler whose responses carry the `RateLimit` fields, as
/// [`SecureRouter`](crate::routing::SecureRouter) mounts it. Wrapping the handler rather than
/// layering its route spares axum a second boxed future and a second service clone per
/// request.
#[derive(Debug, Clone)]
pub(crate) struct Reporting<H>(pub(crate) H);

impl<H, T, S> Handler<T, S> for Reporting<H>
where
    H: Handler<T, S>,
{
    type Future = Reported<H::Future>;

    fn call(self, request: Request, state: S) -> Self::Future {
        Reported::new(self.0.call(request, state))
    }
}

/// What a reporting future can write the fields into: a handler's response, or a service's.
pub(crate) trait Answer {
    fn headers(&mut self) -> Option<&mut HeaderMap>;
}

impl Answer for Response {
    fn headers(&mut self) -> Option<&mut HeaderMap> {
        Some(self.headers_mut())
    }
}

#[cfg(feature = "harden")]
impl<E> Answer for Result<Response, E> {
    fn headers(&mut self) -> Option<&mut HeaderMap> {
        self.as_mut().ok().map(Response::headers_mut)
    }
}

pin_project_lite::pin_project! {
    /// The inner answer, with the `RateLimit` fields written into it.
    #[project = Projected]
    pub(crate) enum Reported<F> {
        /// Holds the slot its guard fills.
        Reporting {
            #[pin]
            answer: TaskLocalFuture<Cell<Option<RateDecision>>, F>,
        },
        /// Within an outer reporting future, which writes the fields.
        Within {
            #[pin]
            answer: F,
        },
    }
}

impl<F: Future> Reported<F> {
    fn new(answer: F) -> Self {
        if DECISION.try_with(|_| ()).is_ok() {
            Self::Within { answer }
        } else {
            Self::Reporting {
                answer: DECISION.scope(Cell::new(None), answer),
            }
        }
    }
}

impl<F> Future for Reported<F>
where
    F: Future,
    F::Output: Answer,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project() {
            Projected::Within { answer } => answer.poll(cx),
            Projected::Reporting { mut answer } => {
                let mut output = ready!(answer.as_mut().poll(cx));
                let decision = answer.take_value().and_then(Cell::into_inner);
                // A response that has the fields already keeps them (a 429 carries its own).
                if let (Some(decision), Some(headers)) = (decision, output.headers())
                    && !headers.contains_key(RATELIMIT)
                {
                    decision.write_headers(headers);
                }
                Poll::Ready(output)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RateKey;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use std::time::Duration;

    fn decision(remaining: u32) -> RateDecision {
        RateDecision {
            allowed: true,
            rate: Rate {
                max: 10,
                window: Duration::from_secs(60),
                key: RateKey::User,
            },
            remaining,
            retry_after: Duration::ZERO,
            reset: Duration::from_secs(6),
        }
    }

    fn ratelimit(response: &Response) -> Option<&str> {
        response.headers().get(RATELIMIT)?.to_str().ok()
    }

    #[tokio::test]
    async fn the_first_decision_of_a_request_is_reported() {
        let response = Reported::new(async {
            report(decision(7));
            report(decision(3));
            Response::new(axum::body::Body::empty())
        })
        .await;
        assert_eq!(ratelimit(&response), Some(r#""user";r=7;t=6"#));
        assert_eq!(response.headers()[RATELIMIT_POLICY], r#""user";q=10;w=60"#);
    }

    #[tokio::test]
    async fn a_response_with_fields_of_its_own_keeps_them() {
        let response = Reported::new(async {
            report(decision(7));
            let mut response = Response::new(axum::body::Body::empty());
            response
                .headers_mut()
                .insert(RATELIMIT, HeaderValue::from_static(r#""user";r=0;t=9"#));
            response
        })
        .await;
        assert_eq!(ratelimit(&response), Some(r#""user";r=0;t=9"#));
        assert!(!response.headers().contains_key(RATELIMIT_POLICY));
    }

    #[tokio::test]
    async fn without_a_reporting_future_nothing_is_reported_and_nothing_fails() {
        report(decision(7));
        let response = Reported::new(async { Response::new(axum::body::Body::empty()) }).await;
        assert_eq!(ratelimit(&response), None);
    }

    /// As under `Hardening`: the handler's own reporting future leaves the decision to the
    /// outer one, so that an answer the handler never gave (here a timeout) carries it too.
    #[tokio::test]
    async fn an_outer_reporting_future_reports_what_an_inner_guard_decided() {
        let response = Reported::new(async {
            let handler = Reported::new(async {
                report(decision(5));
                std::future::pending::<Response>().await
            });
            match tokio::time::timeout(Duration::from_millis(1), handler).await {
                Ok(response) => response,
                Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
            }
        })
        .await;
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(ratelimit(&response), Some(r#""user";r=5;t=6"#));
    }

    #[test]
    fn each_rate_gets_its_own_policy() {
        let other = Rate {
            max: 500,
            window: Duration::from_secs(3600),
            key: RateKey::Ip,
        };
        for (rate, expected) in [
            (decision(1).rate, r#""user";q=10;w=60"#),
            (other, r#""ip";q=500;w=3600"#),
            (other, r#""ip";q=500;w=3600"#),
            (decision(1).rate, r#""user";q=10;w=60"#),
        ] {
            assert_eq!(policy_field(rate).expect("a field"), expected);
        }
    }

    #[test]
    fn a_field_too_long_for_its_buffer_is_left_out() {
        assert!(field(&"n".repeat(40), ("q", u64::MAX), ("w", u64::MAX)).is_some());
        assert!(field(&"n".repeat(60), ("q", u64::MAX), ("w", u64::MAX)).is_none());
    }
}
