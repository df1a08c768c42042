// Scopes travel as one space-separated claim: a scope name with a space can never match.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::scopes! { "reports:read", "reports:write" }

#[secure(scope = "reports:read reports:write", rate = "100/15m")]
async fn reports() -> &'static str {
    "reports"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/reports", get(reports));
}
