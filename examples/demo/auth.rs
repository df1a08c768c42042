//! Accounts and sessions: sign-up, password login, refresh-token rotation, logout, the
//! caller's profile, a second factor (TOTP) with a route that requires it, and the public keys
//! other services verify the demo's tokens with.
//!
//! The subject of the demo's tokens is the user id; roles are read from the database at
//! each login and step-up, so a role taken away holds from the next session on.

use crate::db::{self, create_user};
use crate::state::Demo;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secure_api::mfa::TotpEnrolment;
use secure_api::routing::{SecureRouter, get, post};
use secure_api::{AuthUser, ClientIp, Principal, Problem, TokenPair, secure};
use serde::{Deserialize, Serialize};

/// The routes of this module.
pub(crate) fn routes() -> SecureRouter<Demo> {
    SecureRouter::new()
        .route("/signup", post(signup))
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/me/security", get(security_settings))
        .route("/mfa/enrol", post(mfa_enrol))
        .route("/mfa/verify", post(mfa_verify))
        .route("/.well-known/jwks.json", get(jwks))
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Signup {
    #[garde(length(chars, min = 3, max = 32), pattern(r"^[a-z0-9_.-]+$"))]
    username: String,
    #[garde(length(chars, min = 12, max = 128))]
    password: String,
    #[garde(email, length(max = 254))]
    email: String,
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[garde(length(chars, min = 3, max = 32))]
    username: String,
    // An upper bound keeps a megabyte "password" from costing a megabyte of hashing.
    #[garde(length(chars, min = 1, max = 128))]
    password: String,
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    // A refresh token is base64url: the pattern keeps the byte and the character counts
    // (garde's and JSON Schema's) the same.
    #[garde(length(min = 43, max = 64), pattern(r"^[A-Za-z0-9_-]+$"))]
    refresh_token: String,
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogoutRequest {
    // garde checks an `Option` when it is `Some`; written on the field rather than in
    // `inner(..)`, the bounds reach the OpenAPI schema too.
    #[garde(length(min = 43, max = 64), pattern(r"^[A-Za-z0-9_-]+$"))]
    refresh_token: Option<String>,
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct OneTimeCode {
    #[garde(length(min = 6, max = 6), pattern(r"^[0-9]{6}$"))]
    code: String,
}

/// The caller's account.
#[derive(Serialize, schemars::JsonSchema)]
struct Profile {
    id: i64,
    username: String,
    email: String,
    roles: Vec<String>,
}

/// The subject of the demo's tokens is the user id.
pub(crate) fn user_id(user: &AuthUser) -> Result<i64, Problem> {
    user.subject().parse().map_err(|_| Problem::invalid_token())
}

fn no_account() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "The account no longer exists.")
}

/// The public keys of the demo's tokens (RFC 7517), for other services to verify them with
/// (`Key::from_jwk_set`): the key of `SECURE_API_JWT_PRIVATE_KEY_FILE`. Empty while the demo
/// signs with an HMAC secret, which is never published.
#[secure(public, rate = "60/1m")]
async fn jwks(State(demo): State<Demo>) -> Json<serde_json::Value> {
    Json(demo.security.jwks())
}

/// A new account.
#[derive(Serialize, schemars::JsonSchema)]
struct CreatedAccount {
    id: i64,
}

/// New accounts are plain users; the e-mail address is sealed before it is stored.
#[secure(public, rate = "10/1h", validate, problems(409))]
async fn signup(
    State(demo): State<Demo>,
    Json(signup): Json<Signup>,
) -> Result<(StatusCode, Json<CreatedAccount>), Problem> {
    let hash = demo.login.hash_password(&signup.password).await?;
    let id = create_user(&demo, &signup.username, &hash, "user", &signup.email).await?;
    Ok((StatusCode::CREATED, Json(CreatedAccount { id })))
}

/// Password login; one answer for every failure, failures throttled per account and address.
#[secure(public, rate = "30/15m", validate, problems(401))]
async fn login(
    State(demo): State<Demo>,
    ClientIp(client): ClientIp,
    Json(credentials): Json<Credentials>,
) -> Result<Json<TokenPair>, Problem> {
    let stored: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, password_hash, roles FROM users WHERE username = ?")
            .bind(&credentials.username)
            .fetch_optional(&demo.db)
            .await
            .map_err(db::error)?;
    let logged_in = demo
        .login
        .attempt(
            &credentials.username,
            &credentials.password,
            client,
            stored.map(|(id, hash, roles)| (hash, (id, roles))),
        )
        .await?;
    let (id, roles) = logged_in.account;
    if let Some(rehashed) = &logged_in.rehashed {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(rehashed)
            .bind(id)
            .execute(&demo.db)
            .await
            .map_err(db::error)?;
    }
    let roles: Vec<&str> = roles.split_whitespace().collect();
    let principal = Principal::new(id.to_string(), &["pwd"]).with_roles(&roles);
    Ok(Json(demo.security.issue(&principal).await?))
}

/// Spends a refresh token for a new pair; a spent one revokes its whole family.
#[secure(public, rate = "60/15m", validate, problems(401))]
async fn refresh(
    State(demo): State<Demo>,
    Json(request): Json<RefreshRequest>,
) -> Result<Json<TokenPair>, Problem> {
    Ok(Json(demo.security.refresh(&request.refresh_token).await?))
}

/// Revokes this access token at once and, when the body names it (`{"refresh_token": ..}`,
/// or `{}`), the refresh token's family.
#[secure(rate = "30/1m", validate)]
async fn logout(
    State(demo): State<Demo>,
    user: AuthUser,
    Json(request): Json<LogoutRequest>,
) -> Result<StatusCode, Problem> {
    demo.security
        .logout(&user, request.refresh_token.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller, with the e-mail address unsealed.
#[secure(role = "user", rate = "120/1m", problems(404))]
async fn me(State(demo): State<Demo>, user: AuthUser) -> Result<Json<Profile>, Problem> {
    let id = user_id(&user)?;
    let (username, sealed, roles): (String, String, String) =
        sqlx::query_as("SELECT username, email_sealed, roles FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&demo.db)
            .await
            .map_err(db::error)?
            .ok_or_else(no_account)?;
    let email = demo
        .sealer
        .open(&sealed, username.as_bytes())
        .ok()
        .and_then(|email| String::from_utf8(email).ok())
        .ok_or_else(Problem::internal)?;
    Ok(Json(Profile {
        id,
        username,
        email,
        roles: roles.split_whitespace().map(str::to_owned).collect(),
    }))
}

/// What a sealed TOTP secret is bound to: its row and its purpose.
fn totp_aad(id: i64) -> String {
    format!("totp:{id}")
}

/// A new TOTP secret for the caller's authenticator app (and an `otpauth://` URI for a QR
/// code); it replaces any earlier one and is stored sealed.
#[secure(rate = "5/1h", problems(404))]
async fn mfa_enrol(
    State(demo): State<Demo>,
    user: AuthUser,
) -> Result<Json<TotpEnrolment>, Problem> {
    let id = user_id(&user)?;
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(&demo.db)
        .await
        .map_err(db::error)?
        .ok_or_else(no_account)?;
    let enrolment = demo
        .totp
        .enrol(&username)
        .map_err(|_| Problem::internal())?;
    let sealed = demo
        .sealer
        .seal(enrolment.secret.as_bytes(), totp_aad(id).as_bytes())
        .map_err(|_| Problem::internal())?;
    sqlx::query("UPDATE users SET totp_sealed = ? WHERE id = ?")
        .bind(sealed)
        .bind(id)
        .execute(&demo.db)
        .await
        .map_err(db::error)?;
    Ok(Json(enrolment))
}

/// Step-up: a valid code earns tokens that carry the second factor (`amr: ["pwd", "otp"]`).
/// Each code is accepted once.
#[secure(rate = "10/15m", validate, problems(404))]
async fn mfa_verify(
    State(demo): State<Demo>,
    user: AuthUser,
    Json(request): Json<OneTimeCode>,
) -> Result<Json<TokenPair>, Problem> {
    let id = user_id(&user)?;
    let (roles, sealed): (String, Option<String>) =
        sqlx::query_as("SELECT roles, totp_sealed FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&demo.db)
            .await
            .map_err(db::error)?
            .ok_or_else(no_account)?;
    let secret = sealed
        .and_then(|sealed| demo.sealer.open(&sealed, totp_aad(id).as_bytes()).ok())
        .and_then(|secret| String::from_utf8(secret).ok());
    let valid = match secret {
        Some(secret) => demo
            .totp
            .verify(user.subject(), &secret, &request.code)
            .await
            .map_err(|error| {
                tracing::error!(target: "demo", %error, "spent one-time codes cannot be checked");
                Problem::unavailable()
            })?,
        None => false,
    };
    if !valid {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "The one-time code is not valid.",
        ));
    }
    let roles: Vec<&str> = roles.split_whitespace().collect();
    let principal = Principal::new(user.subject(), &["pwd", "otp"]).with_roles(&roles);
    Ok(Json(demo.security.issue(&principal).await?))
}

/// The caller's sign-in settings: only for a session that showed a second factor in the
/// last 15 minutes.
#[secure(mfa = "15m", rate = "10/1m", problems(404))]
async fn security_settings(
    State(demo): State<Demo>,
    user: AuthUser,
) -> Result<Json<SecuritySettings>, Problem> {
    let id = user_id(&user)?;
    let totp: bool = sqlx::query_scalar("SELECT totp_sealed IS NOT NULL FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(&demo.db)
        .await
        .map_err(db::error)?
        .ok_or_else(no_account)?;
    Ok(Json(SecuritySettings { id, totp }))
}

/// The caller's sign-in settings.
#[derive(Serialize, schemars::JsonSchema)]
struct SecuritySettings {
    id: i64,
    /// Whether an authenticator app is enrolled.
    totp: bool,
}
