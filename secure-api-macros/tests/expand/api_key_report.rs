// A machine client's route: an API key with a scope, counted per key by default.
#[secure(api_key, scope = "reports:read", rate = "1000/1h")]
async fn usage_report(Query(range): Query<Range>) -> Json<Report> {
    Json(Report::for_range(range))
}
