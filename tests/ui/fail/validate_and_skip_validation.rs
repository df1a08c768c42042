// `validate` and `skip_validation` contradict each other.
use axum::{Json, Router, routing::post};
use secure_api::secure;

secure_api::roles! { uploader }

#[secure(
    role = "uploader",
    rate = "10/1m",
    validate,
    skip_validation = "opaque blob"
)]
async fn upload(Json(blob): Json<serde_json::Value>) -> String {
    blob.to_string()
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/uploads", post(upload));
}
