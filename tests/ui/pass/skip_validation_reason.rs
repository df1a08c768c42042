// Opting out of validation, with the reason written down for the reviewer.
use axum::{Json, Router, body::Bytes, routing::post};
use secure_api::{Security, secure};

secure_api::roles! { uploader }

#[secure(
    role = "uploader",
    rate = "10/1m",
    skip_validation = "arbitrary JSON is stored as-is and never interpreted"
)]
async fn store_document(Json(document): Json<serde_json::Value>) -> String {
    document.to_string()
}

#[secure(
    role = "uploader",
    rate = "10/1m",
    skip_validation = "the bytes are stored as they came, under a name the server chooses"
)]
async fn upload(body: Bytes) -> String {
    body.len().to_string()
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: Router = Router::new()
        .route("/documents", post(store_document))
        .route("/uploads", post(upload))
        .with_state(security);
}
