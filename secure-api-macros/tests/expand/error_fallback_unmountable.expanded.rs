::core::compile_error! {
    "`Json<NewUser>` reads the request body, so it must be the handler's last argument; move it after `State<Db>`"
}
#[doc(hidden)]
#[allow(non_camel_case_types)]
pub struct __secure_policy_create_user;
impl ::secure_api::__private::Policy for __secure_policy_create_user {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::bearer(
        "create_user",
    );
}
/// A signature axum cannot call (the body is read before the last argument): the function is
/// kept under another name, so that its body is still checked, and a stand-in with the
/// guard takes its name, so that the router that mounts it reports nothing more.
#[allow(unreachable_code)]
pub async fn create_user<T: Tenant>(
    _: ::secure_api::__private::Guard<__secure_policy_create_user>,
) -> impl IntoResponse {
    __secure_unmountable_create_user::<T>(::core::unreachable!(), ::core::unreachable!())
        .await
}
#[allow(dead_code, non_snake_case, clippy::too_many_arguments)]
async fn __secure_unmountable_create_user<T: Tenant>(
    Json(user): Json<NewUser>,
    State(db): State<Db>,
) -> impl IntoResponse {
    db.insert::<T>(user).await
}
