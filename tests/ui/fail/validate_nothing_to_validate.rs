// `validate` on a handler with no input to validate is a sign of a misunderstanding.
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { admin }

#[secure(role = "admin", rate = "100/15m", validate)]
async fn stats() -> &'static str {
    "{}"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/stats", get(stats));
}
