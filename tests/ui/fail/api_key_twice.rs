// `api_key` (keys only) and `bearer_or_api_key` (either) are two answers to one question.
use axum::{Router, routing::get};
use secure_api::secure;

#[secure(api_key, bearer_or_api_key, rate = "60/1m")]
async fn export() -> &'static str {
    "rows"
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/export", get(export));
}
