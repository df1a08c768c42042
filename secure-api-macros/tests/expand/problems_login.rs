/// Signs a user in; a wrong password is the handler's own 401, so it says so.
#[secure(public, rate = "30/15m", validate, problems(401))]
async fn login(State(accounts): State<Accounts>, Json(form): Json<LoginForm>) -> Result<Json<TokenPair>, Problem> {
    accounts.sign_in(&form).await
}
