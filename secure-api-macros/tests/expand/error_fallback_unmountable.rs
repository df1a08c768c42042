/// A signature axum cannot call (the body is read before the last argument): the function is
/// kept under another name, so that its body is still checked, and a stand-in with the
/// guard takes its name, so that the router that mounts it reports nothing more.
#[secure(role = "admin", rate = "100/15m", validate)]
pub async fn create_user<T: Tenant>(Json(user): Json<NewUser>, State(db): State<Db>) -> impl IntoResponse {
    db.insert::<T>(user).await
}
