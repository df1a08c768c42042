// A key-only handler's scope is checked against `scopes!` like a token's.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::scopes! { "reports:read" }

#[secure(api_key, scope = "reports:raed", rate = "1000/1h")]
async fn export() -> &'static str {
    "rows"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/export", get(export));
}
