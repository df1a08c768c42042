// Raw bodies and the raw request carry client input that nothing checks: one error each,
// on the type. (Each handler opts out with `skip_validation` to take them.)
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Uri};
use axum::{Router, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { admin }

#[secure(role = "admin", rate = "10/1m")]
async fn text(body: String) -> String {
    body
}

#[secure(role = "admin", rate = "10/1m")]
async fn bytes(body: Bytes) -> String {
    body.len().to_string()
}

#[secure(role = "admin", rate = "10/1m")]
async fn stream(_body: Body) {}

#[secure(role = "admin", rate = "10/1m")]
async fn request(_request: Request) {}

#[secure(role = "admin", rate = "10/1m")]
async fn headers(headers: HeaderMap, uri: Uri) -> String {
    format!("{}{uri}", headers.len())
}

fn main() {
    let _app: Router<Security> = Router::new()
        .route("/text", post(text))
        .route("/bytes", post(bytes))
        .route("/stream", post(stream))
        .route("/request", post(request))
        .route("/headers", post(headers));
}
