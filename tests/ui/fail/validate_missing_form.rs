// A form body that reaches the handler without being validated; the extractor is written
// with its full path.
use axum::{Router, routing::post};
use secure_api::secure;

secure_api::roles! { user }

#[derive(serde::Deserialize)]
struct Comment {
    text: String,
}

#[secure(role = "user", rate = "100/15m")]
async fn comment(axum::Form(comment): axum::Form<Comment>) -> String {
    comment.text
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/comments", post(comment));
}
