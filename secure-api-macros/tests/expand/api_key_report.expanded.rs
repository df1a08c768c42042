#[doc(hidden)]
#[allow(non_camel_case_types)]
struct __secure_policy_usage_report;
impl ::secure_api::__private::Policy for __secure_policy_usage_report {
    const SPEC: ::secure_api::__private::PolicySpec = ::secure_api::__private::PolicySpec::api_key(
            "usage_report",
        )
        .all_scopes(&[crate::__secure_scope!("reports:read")])
        .rate(1000, 3600, ::secure_api::__private::RateKey::Key);
    fn describe(description: &mut ::secure_api::__private::Description) {
        use ::secure_api::__private::{
            DescribeAnswer as _, DescribeInput as _, DescribeNothing as _,
        };
        (&::secure_api::__private::Probe::<Query<Range>>::new())
            .describe_input(description);
        (&::secure_api::__private::Probe::<Json<Report>>::new())
            .describe_answer(description);
    }
}
const _: () = {
    ::secure_api::__private::admit::<Query<Range>>();
};
async fn usage_report(
    _: ::secure_api::__private::Guard<__secure_policy_usage_report>,
    Query(range): Query<Range>,
) -> Json<Report> {
    Json(Report::for_range(range))
}
