// Handlers are `async fn`; the error is on the `fn` keyword, and mounting the handler does not
// add a second one.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate = "100/15m")]
fn list_users() -> &'static str {
    "users"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/users", get(list_users));
}
