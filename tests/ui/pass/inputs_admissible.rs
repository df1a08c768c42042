// The admissible set: inputs with no client payload, scalar paths (also as a `Result` the
// handler answers itself) (the standard ones and a
// type that declares itself one), an extractor of the user's own admitted by a deliberate
// `impl SecureInput`, `Valid` written by hand, `Option<Json<T>>` validated when present, and
// a generic handler whose bounds make its input admissible.
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, MatchedPath, NestedPath, Path, State};
use axum::http::request::Parts;
use axum::http::{Method, Version};
use axum::{Extension, Json};
use secure_api::routing::{SecureRouter, get, post};
use secure_api::{AuthUser, Claims, ClientIp, Security, Valid, secure};
use std::net::SocketAddr;

secure_api::roles! { admin }

#[derive(serde::Deserialize, garde::Validate)]
struct NewUser {
    #[garde(length(min = 1, max = 64))]
    name: String,
}

#[derive(serde::Deserialize)]
struct Tenant(u32);

impl secure_api::input::PathParam for Tenant {}

/// The deployment's region, from the server's configuration.
struct Region(&'static str);

impl<S: Send + Sync> FromRequestParts<S> for Region {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Region("eu"))
    }
}

impl secure_api::SecureInput for Region {}

#[secure(role = "admin", rate = "100/15m")]
#[allow(clippy::too_many_arguments)]
async fn context(
    State(_security): State<Security>,
    Extension(_flag): Extension<bool>,
    ConnectInfo(_peer): ConnectInfo<SocketAddr>,
    _method: Method,
    _version: Version,
    _route: Option<MatchedPath>,
    _nested: NestedPath,
    user: AuthUser,
    _ip: ClientIp,
    Claims(_claims): Claims<serde_json::Value>,
    Region(region): Region,
) -> String {
    format!("{} in {region}", user.subject())
}

#[secure(role = "admin", rate = "100/15m")]
async fn scalar_paths(Path((Tenant(tenant), id)): Path<(Tenant, u64)>) -> String {
    format!("{tenant}/{id}")
}

#[secure(role = "admin", rate = "100/15m")]
async fn own_rejection(id: Result<Path<u64>, PathRejection>) -> String {
    id.map_or_else(|_| "no id".to_owned(), |Path(id)| id.to_string())
}

#[secure(role = "admin", rate = "100/15m")]
async fn by_hand(Valid(Json(user)): Valid<Json<NewUser>>) -> String {
    user.name
}

#[secure(role = "admin", rate = "100/15m", validate)]
async fn optional(user: Option<Json<NewUser>>) -> String {
    user.map(|Json(user)| user.name).unwrap_or_default()
}

#[secure(role = "admin", rate = "100/15m", validate)]
async fn generic<T>(Path(id): Path<u64>, Json(_item): Json<T>) -> String
where
    T: garde::Validate<Context = ()> + serde::de::DeserializeOwned + Send + 'static,
{
    id.to_string()
}

#[secure(role = "admin", rate = "100/15m")]
async fn generic_path<T: secure_api::input::PathParam + serde::de::DeserializeOwned + Send + 'static>(
    Path(_id): Path<T>,
) {
}

fn main() {
    let _app: axum::Router = SecureRouter::new()
        .route("/context", get(context))
        .route("/{tenant}/{id}", get(scalar_paths))
        .route("/by-hand", post(by_hand))
        .route("/own/{id}", get(own_rejection))
        .route("/optional", post(optional))
        .route("/generic/{id}", post(generic::<NewUser>))
        .route("/generic-path/{id}", get(generic_path::<u32>))
        .with_state(
            Security::builder()
                .issuer("https://issuer.example")
                .audience("api")
                .ephemeral_key()
                .build()
                .expect("a valid configuration"),
        );
}
