// A misspelt scope would never match a token: only declared scopes are accepted, and the
// nearest one is suggested.
use axum::{Router, routing::get};
use secure_api::{Security, secure};

secure_api::scopes! { "notes:read", "notes:write" }

#[secure(scope = "notes:raed", rate = "100/15m")]
async fn list_notes() -> &'static str {
    "notes"
}

fn main() {
    let _app: Router<Security> = Router::new().route("/notes", get(list_notes));
}
