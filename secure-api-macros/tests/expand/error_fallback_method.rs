/// A method cannot take the guard before `self`: it is emitted as written, next to the error.
#[secure(role = "admin")]
async fn list_users(&self) -> Json<Vec<User>> {
    Json(self.users())
}
