::core::compile_error! {
    "#[secure] applies to free functions; axum handlers take no `self`. Move the handler out of the `impl` block"
}
/// A method cannot take the guard before `self`: it is emitted as written, next to the error.
async fn list_users(&self) -> Json<Vec<User>> {
    Json(self.users())
}
