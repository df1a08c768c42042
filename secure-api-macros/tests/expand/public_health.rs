#[secure(public, rate = "60/1m")]
pub async fn health() -> &'static str {
    "ok"
}
