// A hierarchy of roles: `admin > editor > viewer` grants an admin everything a viewer is
// granted. Names may be string literals, for roles such as `ops:admin` that are not
// identifiers; the same name may appear in several chains.
use axum::{Router, routing::get};
use secure_api::routing::GuardedHandler;
use secure_api::{Security, secure};
use secure_api::policy::PolicySpec;

secure_api::roles! {
    admin > editor > viewer,
    "ops:admin" > "ops:on-call",
    "ops:admin" > viewer,
    auditor,
}

#[secure(role = "viewer")]
async fn read() -> &'static str {
    "read"
}

#[secure(any_role("ops:on-call", "auditor"), rate = "10/1m")]
async fn incidents() -> &'static str {
    "incidents"
}

#[secure(all_roles("editor", "auditor"))]
async fn review() -> &'static str {
    "reviewed"
}

/// The policy `#[secure]` stated for a handler.
fn spec<H: GuardedHandler<T, Security>, T>(_: H) -> PolicySpec {
    H::SPEC
}

fn main() {
    let reader = spec(read).roles;
    assert!(reader.is_met_by(&["viewer"]));
    assert!(reader.is_met_by(&["editor"]));
    assert!(reader.is_met_by(&["admin"]));
    assert!(reader.is_met_by(&["ops:admin"]));
    assert!(!reader.is_met_by(&["auditor"]));
    assert!(!reader.is_met_by(&["ops:on-call"]));

    let on_call = spec(incidents).roles;
    assert!(on_call.is_met_by(&["ops:on-call"]));
    assert!(on_call.is_met_by(&["ops:admin"]));
    assert!(on_call.is_met_by(&["auditor"]));
    assert!(!on_call.is_met_by(&["admin"]));

    let reviewer = spec(review).roles;
    assert!(reviewer.is_met_by(&["admin", "auditor"]));
    assert!(!reviewer.is_met_by(&["admin"]));
    assert!(!reviewer.is_met_by(&["viewer", "auditor"]));
    assert_eq!(reviewer.names().collect::<Vec<_>>(), ["editor", "auditor"]);

    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");
    let _app: Router = Router::new()
        .route("/read", get(read))
        .route("/incidents", get(incidents))
        .route("/review", get(review))
        .with_state(security);
}
