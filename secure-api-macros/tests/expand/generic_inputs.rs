/// A generic handler: an input that names `T` is judged in a function with the handler's
/// bounds; the others in the constant. The payload `T` is proven where the handler is mounted.
#[secure(role = "admin", rate = "100/15m", validate)]
pub async fn import<T, const N: usize>(
    State(db): State<Db>,
    Extension(batch): Extension<Batch<T, N>>,
    Json(items): Json<Vec<T>>,
) -> StatusCode
where
    T: Item,
{
    db.import(batch, items).await
}
