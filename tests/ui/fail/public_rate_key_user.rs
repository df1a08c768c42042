// A public handler has no authenticated user to count requests by.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(public, rate = "60/1m", rate_key = "user")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
