//! `TestClient`: a router called in process, as a server would call it, each client with a
//! client address of its own.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::header::{self, AsHeaderName, HeaderName, HeaderValue};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use tower_service::Service;

/// 198.18.0.0/15, set aside for benchmarks (RFC 2544): no real client has these addresses.
const FIRST_ADDRESS: u32 = u32::from_be_bytes([198, 18, 0, 0]);
const ADDRESSES: u32 = 1 << 17;
/// Shared by every test of the process, so that no two clients share a per-address budget.
static NEXT_ADDRESS: AtomicU32 = AtomicU32::new(1);
/// The source port of every test request; budgets are per address, never per port.
const PORT: u16 = 49152;

fn fresh_address() -> IpAddr {
    let offset = NEXT_ADDRESS.fetch_add(1, Ordering::Relaxed) % ADDRESSES;
    IpAddr::V4(Ipv4Addr::from(FIRST_ADDRESS + offset))
}

/// Calls a router in process — no socket, no port — as `secure_api::serve` would: every
/// request carries the client address (`ConnectInfo<SocketAddr>`) the guard needs.
///
/// Each client gets an address of its own, from 198.18.0.0/15, so per-address budgets (rate
/// limits keyed by address, the failed-credential budget) are never shared between two
/// clients, even on one `Security`. A clone is the same client, with the same address.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use secure_api::routing::{SecureRouter, get};
/// use secure_api::test::{TestClient, security};
///
/// #[secure_api::secure(public, rate = "2/1m")]
/// async fn health() -> &'static str { "ok" }
///
/// let app = SecureRouter::new().route("/health", get(health)).with_state(security());
/// let (client, neighbour) = (TestClient::new(app.clone()), TestClient::new(app));
/// for _ in 0..2 {
///     assert_eq!(client.get("/health").send().await.text(), "ok");
/// }
/// let throttled = client.get("/health").send().await;
/// assert_eq!(throttled.status(), 429);
/// assert!(throttled.header("retry-after").is_some());
/// assert_eq!(neighbour.get("/health").send().await.status(), 200);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TestClient {
    router: Router,
    peer: Option<SocketAddr>,
}

impl TestClient {
    /// A client of `router` (a router with its state, e.g. `SecureRouter::with_state`), with a
    /// fresh address.
    pub fn new(router: Router) -> Self {
        Self {
            router,
            peer: Some(SocketAddr::new(fresh_address(), PORT)),
        }
    }

    /// The same client at `address`: a trusted proxy, say, or two clients that must share a
    /// budget.
    pub fn from(mut self, address: impl Into<IpAddr>) -> Self {
        self.peer = Some(SocketAddr::new(address.into(), PORT));
        self
    }

    /// Sends requests without a client address, as `axum::serve(listener, router)` does:
    /// to test a router with axum's `MockConnectInfo` layer, or that a server set up so
    /// answers 500 "server misconfigured".
    pub fn without_client_address(mut self) -> Self {
        self.peer = None;
        self
    }

    /// The address requests come from; `None` after
    /// [`without_client_address`](Self::without_client_address).
    pub fn address(&self) -> Option<IpAddr> {
        self.peer.map(|peer| peer.ip())
    }

    /// A request with any method; `path` may carry a query (`/search?q=rust`).
    pub fn request(&self, method: Method, path: &str) -> TestRequest {
        TestRequest {
            router: self.router.clone(),
            peer: self.peer,
            method,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Body::empty(),
        }
    }

    /// A `GET` request.
    pub fn get(&self, path: &str) -> TestRequest {
        self.request(Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: &str) -> TestRequest {
        self.request(Method::POST, path)
    }

    /// A `PUT` request.
    pub fn put(&self, path: &str) -> TestRequest {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request.
    pub fn patch(&self, path: &str) -> TestRequest {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: &str) -> TestRequest {
        self.request(Method::DELETE, path)
    }
}

/// A request being built; [`send`](Self::send) it.
#[must_use = "a request does nothing until it is sent"]
pub struct TestRequest {
    router: Router,
    peer: Option<SocketAddr>,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Body,
}

impl TestRequest {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    /// `X-API-Key: <key>`, for handlers that take API keys.
    pub fn api_key(self, key: &str) -> Self {
        self.header(crate::apikey::HEADER, key)
    }

    /// Adds a header; a name given twice is sent twice.
    pub fn header<N, V>(mut self, name: N, value: V) -> Self
    where
        N: TryInto<HeaderName, Error: Debug>,
        V: TryInto<HeaderValue, Error: Debug>,
    {
        let name = name
            .try_into()
            .unwrap_or_else(|error| panic!("expected a header name: {error:?}"));
        let value = value
            .try_into()
            .unwrap_or_else(|error| panic!("expected a header value for {name}: {error:?}"));
        self.headers.append(name, value);
        self
    }

    /// `value` as a JSON body, with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value)
            .unwrap_or_else(|error| panic!("expected a value that serializes to JSON: {error}"));
        self.header(header::CONTENT_TYPE, "application/json")
            .body(body)
    }

    /// `value` as a form body, with `Content-Type: application/x-www-form-urlencoded`.
    pub fn form<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_urlencoded::to_string(value)
            .unwrap_or_else(|error| panic!("expected a value that serializes to a form: {error}"));
        self.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
    }

    /// The body as given, with no `Content-Type` unless set by [`header`](Self::header).
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// This request from `address`, whatever the client's own.
    pub fn from(mut self, address: impl Into<IpAddr>) -> Self {
        self.peer = Some(SocketAddr::new(address.into(), PORT));
        self
    }

    /// Calls the router and reads the whole response.
    pub async fn send(self) -> TestResponse {
        let Self {
            mut router,
            peer,
            method,
            path,
            headers,
            body,
        } = self;
        let sent = format!("{method} {path}");
        let mut request = Request::builder()
            .method(method)
            .uri(&path)
            .body(body)
            .unwrap_or_else(|error| panic!("expected a request path, not `{path}`: {error}"));
        *request.headers_mut() = headers;
        if let Some(peer) = peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        // A router is always ready and never fails: its errors are `Infallible`.
        std::future::poll_fn(|context| Service::<Request<Body>>::poll_ready(&mut router, context))
            .await
            .unwrap_or_else(|never| match never {});
        let response = router
            .call(request)
            .await
            .unwrap_or_else(|never| match never {});
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_else(|error| panic!("expected a readable body from {sent}: {error}"));
        TestResponse {
            sent,
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

/// A response, read whole. Its accessors panic with the body when it is not what they expect.
#[derive(Debug)]
pub struct TestResponse {
    /// The request, `GET /path`, for messages.
    sent: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    /// The status; it compares with a number (`response.status() == 200`).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Every header.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of a header, if the response has it.
    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        let value = self.headers.get(name)?;
        Some(value.to_str().unwrap_or_else(|_| {
            panic!("expected visible ASCII in the headers of {self:?}, found {value:?}")
        }))
    }

    /// The body's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body)
            .unwrap_or_else(|_| panic!("expected a UTF-8 body from {}: {self:?}", self.sent))
    }

    /// The body as JSON, read into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "expected a JSON body from {} ({error}), found {}: {}",
                self.sent,
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as an RFC 9457 problem: `application/problem+json` whose `status` is the
    /// response's. Read its members as `problem["detail"]`.
    pub fn problem(&self) -> serde_json::Value {
        let problem = (self.header(header::CONTENT_TYPE) == Some("application/problem+json"))
            .then(|| serde_json::from_slice::<serde_json::Value>(&self.body).ok())
            .flatten()
            .filter(|problem| problem["status"] == self.status.as_u16());
        problem.unwrap_or_else(|| {
            panic!(
                "expected an application/problem+json answer from {}, found {} {:?}: {}",
                self.sent,
                self.status,
                self.header(header::CONTENT_TYPE),
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}
