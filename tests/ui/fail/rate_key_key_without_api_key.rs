// `rate_key = "key"` counts per API key; a bearer-only handler has none to count by.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(rate = "100/1m", rate_key = "key")]
async fn profile() -> &'static str {
    "me"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/me", get(profile));
}
