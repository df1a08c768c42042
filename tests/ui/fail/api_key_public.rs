// A public handler admits callers without credentials; an API key cannot be required too.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(public, api_key, rate = "60/1m")]
async fn export() -> &'static str {
    "rows"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/export", get(export));
}
