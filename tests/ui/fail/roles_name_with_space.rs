// A role name with a space can never match a role in a token.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin, editor }

#[secure(role = "admin editor", rate = "100/15m")]
async fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
