// An API key never shows a second factor: `mfa` on a handler that takes keys would admit
// nobody by key, so it does not compile.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(bearer_or_api_key, mfa, rate = "10/1m")]
async fn rotate_secrets() -> &'static str {
    "rotated"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/rotate", get(rotate_secrets));
}
