// Scope requirements in all three spellings, with the verified identity handed to the handler
// as `AuthUser` or as the application's own claims type.
use axum::{Router, routing::get};
use secure_api::{AuthUser, Claims, Security, secure};

secure_api::roles! { admin, auditor, ops, "on-call" }
secure_api::scopes! { "reports:read", "billing:read", "billing:admin", "audit:read", "audit:export" }

#[derive(serde::Deserialize)]
struct TenantClaims {
    tenant: String,
}

#[secure(scope = "reports:read")]
async fn reports(user: AuthUser) -> String {
    format!("reports of {}", user.subject())
}

#[secure(any_scope("billing:read", "billing:admin"), rate = "30/1m")]
async fn invoices(Claims(claims): Claims<TenantClaims>) -> String {
    claims.tenant
}

#[secure(
    all_scopes("audit:read", "audit:export"),
    any_role("auditor", "admin"),
    rate = "5/1h"
)]
async fn audit_export(user: AuthUser, Claims(claims): Claims<TenantClaims>) -> String {
    format!("{} exports {}", user.subject(), claims.tenant)
}

#[secure(all_roles("ops", "on-call"), rate = "10/1m", rate_key = "global")]
async fn page_on_call(user: Option<AuthUser>) -> &'static str {
    match user {
        Some(_) => "paged",
        None => "unreachable",
    }
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: Router = Router::new()
        .route("/reports", get(reports))
        .route("/invoices", get(invoices))
        .route("/audit/export", get(audit_export))
        .route("/page", get(page_on_call))
        .with_state(security);
}
