// Roles are required but the crate declares none with `secure_api::roles!`.
use axum::{Router, routing::get};
use secure_api::{Security, secure};

#[secure(role = "admin", rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<Security> = Router::new().route("/users", get(list_users));
}
