/// A mistake in the arguments: the handler keeps its guard, with a placeholder policy, on the
/// runtime `crate = "..."` names, and its inputs are not wrapped.
#[secure(rol = "admin", validate, crate = "::my_api::security")]
pub async fn create_user(Json(body): Json<NewUser>) -> StatusCode {
    StatusCode::CREATED
}
