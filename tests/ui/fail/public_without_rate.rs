// A public handler is only protected by its rate limit, which must be stated.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(public)]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
