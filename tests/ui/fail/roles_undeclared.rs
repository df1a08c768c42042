// A misspelt role would never match a token: only declared roles are accepted, and the
// nearest one is suggested.
use axum::{Router, routing::get};
use secure_api::{Security, secure};

secure_api::roles! { admin, editor }

#[secure(role = "admn", rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<Security> = Router::new().route("/users", get(list_users));
}
