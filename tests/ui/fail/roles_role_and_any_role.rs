// Two spellings of the role requirement: neither is taken over the other.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin, editor, viewer }

#[secure(role = "admin", any_role("editor", "viewer"), rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
