// A misspelt argument must not be ignored: `rol` would leave the route open to any user.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(rol = "admin", rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
