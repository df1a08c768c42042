#[secure(role = "admin", rate = "100/15m", validate)]
async fn create_user(State(db): State<Db>, Json(body): Json<NewUser>) -> impl IntoResponse {
    db.insert(body).await
}
