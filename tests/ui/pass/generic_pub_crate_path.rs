// The signature is kept as written: generics, where-clauses, visibility, attributes and doc
// comments; `crate = ".."` names the runtime through another path, in `#[secure]` and in
// `roles!` alike.
use axum::{Json, Router, routing::get};
use secure_api::Security;

api::security::roles! { crate = "crate::api::security"; librarian }

mod api {
    pub use secure_api as security;
}

pub trait Catalog: Default + serde::Serialize + Send + 'static {}

#[derive(Default, serde::Serialize)]
pub struct Books {
    titles: Vec<String>,
}

impl Catalog for Books {}

/// Lists a catalog.
#[secure_api::secure(role = "librarian", rate = "100/15m", crate = "::secure_api")]
#[allow(clippy::unused_async)]
pub async fn catalog<C>() -> Json<C>
where
    C: Catalog,
{
    Json(C::default())
}

#[api::security::secure(public, rate = "60/1m", crate = "api::security")]
pub(crate) async fn version() -> &'static str {
    "1"
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: Router = Router::new()
        .route("/books", get(catalog::<Books>))
        .route("/version", get(version))
        .with_state(security);
}
