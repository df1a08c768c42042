// A public handler admits callers without a token, so it has no role to check.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(public, role = "admin", rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
