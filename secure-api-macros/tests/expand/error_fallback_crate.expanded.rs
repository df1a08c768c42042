::core::compile_error! {
    "unknown argument `rol` in #[secure]; did you mean `role`? valid arguments are `public`, `api_key`, `bearer_or_api_key`, `role`, `any_role`, `all_roles`, `scope`, `any_scope`, `all_scopes`, `rate`, `rate_key`, `validate`, `skip_validation`, `mfa`, `limit_fail_open`, `problems`, `crate`"
}
#[doc(hidden)]
#[allow(non_camel_case_types)]
pub struct __secure_policy_create_user;
impl ::my_api::security::__private::Policy for __secure_policy_create_user {
    const SPEC: ::my_api::security::__private::PolicySpec = ::my_api::security::__private::PolicySpec::bearer(
        "create_user",
    );
}
/// A mistake in the arguments: the handler keeps its guard, with a placeholder policy, on the
/// runtime `crate = "..."` names, and its inputs are not wrapped.
pub async fn create_user(
    _: ::my_api::security::__private::Guard<__secure_policy_create_user>,
    Json(body): Json<NewUser>,
) -> StatusCode {
    StatusCode::CREATED
}
