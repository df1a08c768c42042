#[secure(
    all_roles("uploader", "verified"),
    skip_validation = "the payload is opaque and streamed to object storage",
    crate = "::my_api::security"
)]
async fn upload(Json(blob): Json<serde_json::Value>) -> StatusCode {
    store(blob).await
}
