// Scope lists hold string literals only.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::scopes! { "users:read", "users:write" }

#[secure(any_scope("users:read", users_write), rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
