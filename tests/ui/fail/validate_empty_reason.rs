// Opting out of validation needs a reason that a reviewer can read.
use axum::{Json, Router, routing::post};
use secure_api::secure;

secure_api::roles! { uploader }

#[secure(role = "uploader", rate = "10/1m", skip_validation = "")]
async fn upload(Json(blob): Json<serde_json::Value>) -> String {
    blob.to_string()
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/uploads", post(upload));
}
