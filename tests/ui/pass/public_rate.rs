// Public handlers state their own rate limit, per client IP or shared by everyone.
use axum::{Router, routing::get};
use secure_api::{Security, secure};

#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

#[secure(public, rate = "1000/1h", rate_key = "global")]
async fn status() -> &'static str {
    "up"
}

#[secure(public, rate = "10/s", rate_key = "ip")]
async fn ping() -> &'static str {
    "pong"
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: Router = Router::new()
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/ping", get(ping))
        .with_state(security);
}
