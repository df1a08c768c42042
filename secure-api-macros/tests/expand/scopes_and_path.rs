/// Reads one report; the caller needs either scope.
#[secure(any_scope("reports:read", "reports:admin"), rate = "10/s", rate_key = "global", validate)]
pub(crate) async fn report<T>(
    user: AuthUser,
    Path(id): Path<u64>,
    Query(range): Query<DateRange>,
) -> Json<Report<T>>
where
    T: Default,
{
    Json(Report::for_user(user.subject(), id, range))
}
