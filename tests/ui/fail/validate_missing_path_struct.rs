// A struct-typed path carries client data too (a `Path<u64>` alone would not need this).
use axum::extract::Path;
use axum::{Router, routing::get};
use secure_api::secure;

secure_api::roles! { user }

#[derive(serde::Deserialize)]
struct FileRef {
    bucket: String,
    name: String,
}

#[secure(role = "user", rate = "100/15m")]
async fn download(Path(file): Path<FileRef>) -> String {
    format!("{}/{}", file.bucket, file.name)
}

fn main() {
    let _app: Router<secure_api::Security> = Router::new().route("/files/{bucket}/{name}", get(download));
}
