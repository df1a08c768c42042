#[doc(hidden)]
#[allow(non_camel_case_types)]
pub struct __secure_policy_health;
impl ::secure_api::__private::Policy for __secure_policy_health {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::public(
            "health",
        )
        .rate(60, 60, ::secure_api::__private::RateKey::Ip);
    fn describe(description: &mut ::secure_api::__private::Description) {
        use ::secure_api::__private::{DescribeAnswer as _, DescribeNothing as _};
        (&::secure_api::__private::Probe::<&'static str>::new())
            .describe_answer(description);
    }
}
pub async fn health(
    _: ::secure_api::__private::Guard<__secure_policy_health>,
) -> &'static str {
    "ok"
}
