// `public` is a flag: `public = true` says so, once.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(public = true, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/health", get(health));
}
