// A bare literal does not say what it is.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure("admin", rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
