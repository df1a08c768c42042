#[doc(hidden)]
#[allow(non_camel_case_types)]
pub(crate) struct __secure_policy_report;
impl ::secure_api::__private::Policy for __secure_policy_report {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::bearer(
            "report",
        )
        .any_scope(
            &[
                crate::__secure_scope!("reports:read"),
                crate::__secure_scope!("reports:admin"),
            ],
        )
        .rate(10, 1, ::secure_api::__private::RateKey::Global)
        .validated();
    fn describe(description: &mut ::secure_api::__private::Description) {
        use ::secure_api::__private::{DescribeInput as _, DescribeNothing as _};
        (&::secure_api::__private::Probe::<AuthUser>::new()).describe_input(description);
        (&::secure_api::__private::Probe::<Path<u64>>::new())
            .describe_input(description);
        (&::secure_api::__private::Probe::<Query<DateRange>>::new())
            .describe_input(description);
    }
}
const _: () = {
    ::secure_api::__private::admit::<AuthUser>();
    ::secure_api::__private::admit::<Path<u64>>();
};
/// Reads one report; the caller needs either scope.
pub(crate) async fn report<T>(
    _: ::secure_api::__private::Guard<__secure_policy_report>,
    user: AuthUser,
    ::secure_api::__private::Parsed(
        Path(id),
    ): ::secure_api::__private::Parsed<Path<u64>>,
    ::secure_api::__private::Valid(
        Query(range),
    ): ::secure_api::__private::Valid<
        Query<DateRange>,
        { ::secure_api::__private::validatable::<DateRange>() },
    >,
) -> Json<Report<T>>
where
    T: Default,
{
    Json(Report::for_user(user.subject(), id, range))
}
