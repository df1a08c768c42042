//! The secure router, called in process: the role hierarchy at runtime, unmatched requests
//! as problems, and the manifest of what it mounted.

use crate::common::Answer;
use axum::Json;
use axum::http::Method;
use secure_api::routing::{SecureRouter, delete, get};
use secure_api::test::{TestClient, TestPrincipal, security};
use secure_api::{AuthUser, Principal, secure};

#[derive(serde::Deserialize, garde::Validate)]
struct Note {
    #[garde(length(min = 1))]
    text: String,
}

#[secure(role = "viewer", rate = "100/1m")]
async fn read(user: AuthUser) -> String {
    user.subject().to_owned()
}

#[secure(role = "editor", scope = "notes:write", rate = "100/1m", validate)]
async fn write(Json(note): Json<Note>) -> String {
    note.text
}

#[secure(all_roles("editor", "auditor"), rate = "10/1m", rate_key = "global")]
async fn remove() -> &'static str {
    "removed"
}

#[secure(public, rate = "100/1m")]
async fn health() -> &'static str {
    "ok"
}

fn routes() -> SecureRouter<secure_api::Security> {
    let notes = SecureRouter::new()
        .route("/", get(read).post(write))
        .route("/{id}", delete(remove));
    SecureRouter::new()
        .route("/health", get(health))
        .nest("/notes", notes)
}

#[tokio::test]
async fn the_role_hierarchy_is_honoured() {
    let security = security();
    let client = TestClient::new(routes().with_state(security.clone()));
    let call = |method: Method, path: &str, roles: &[&str], scope: &str| {
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        let principal = Principal::new("sam", &["pwd"])
            .with_roles(roles)
            .with_scopes(&scopes);
        let token = TestPrincipal::from(principal).token(&security);
        let request = client
            .request(method, path)
            .bearer(&token)
            .json(&serde_json::json!({ "text": "hi" }));
        async move { request.send().await.status().as_u16() }
    };
    // viewer < editor < admin: each passes what is below it.
    for roles in [&["viewer"][..], &["editor"], &["admin"]] {
        assert_eq!(
            call(Method::GET, "/notes", roles, "").await,
            200,
            "{roles:?}"
        );
    }
    assert_eq!(call(Method::GET, "/notes", &["auditor"], "").await, 403);
    assert_eq!(
        call(Method::POST, "/notes", &["viewer"], "notes:write").await,
        403
    );
    assert_eq!(
        call(Method::POST, "/notes", &["admin"], "notes:write").await,
        200
    );
    // Roles do not stand in for scopes.
    assert_eq!(
        call(Method::POST, "/notes", &["admin"], "notes:read").await,
        403
    );
    // all_roles(editor, auditor): admin implies both; editor alone does not.
    assert_eq!(call(Method::DELETE, "/notes/1", &["admin"], "").await, 200);
    assert_eq!(call(Method::DELETE, "/notes/1", &["editor"], "").await, 403);
    assert_eq!(
        call(Method::DELETE, "/notes/1", &["editor", "auditor"], "").await,
        200
    );
}

#[tokio::test]
async fn unmatched_requests_are_problems() {
    let client = TestClient::new(routes().with_state(security()));
    let missing = Answer::of(client.get("/nowhere").send().await);
    missing.assert_problem(404);
    let wrong_method = Answer::of(client.put("/notes").send().await);
    wrong_method.assert_problem(405);
    assert_eq!(wrong_method.header("allow"), "GET,HEAD,POST");
}

#[test]
fn the_manifest_lists_every_route_policy() {
    let manifest = routes().manifest();
    let table = manifest.to_string();
    let expected = "\
METHOD  PATH         HANDLER  AUTH    ROLES             SCOPES       MFA  RATE    KEY     VALIDATED
GET     /health      health   public  -                 -            -    100/1m  ip      by type
GET     /notes       read     bearer  viewer            -            -    100/1m  user    by type
POST    /notes       write    bearer  editor            notes:write  -    100/1m  user    yes
DELETE  /notes/{id}  remove   bearer  editor & auditor  -            -    10/1m   global  by type
";
    assert_eq!(table, expected, "{table}");
    let json: serde_json::Value = serde_json::from_str(&manifest.to_json()).expect("json");
    assert_eq!(
        json["routes"][3]["roles"],
        serde_json::json!({ "all_of": ["editor", "auditor"] })
    );
    assert_eq!(
        json["routes"][2]["scopes"],
        serde_json::json!({ "all_of": ["notes:write"] })
    );
    assert_eq!(json["routes"][0]["auth"], "public");
}

/// Takes `remove`'s guard without a `#[secure]` of its own: Rust cannot refuse it (see
/// `secure_api::routing`), so the manifest says whose policy it borrowed.
async fn borrowed(
    _: secure_api::guard::Guard<__secure_policy_remove>,
    Json(note): Json<serde_json::Value>,
) -> String {
    note.to_string()
}

#[test]
fn a_borrowed_policy_shows_in_the_manifest() {
    let manifest = SecureRouter::<secure_api::Security>::new()
        .route("/remove", delete(remove).post(borrowed))
        .manifest();
    let rows: Vec<(&str, Option<&str>)> = manifest
        .routes
        .iter()
        .map(|route| (route.handler, route.policy_of))
        .collect();
    assert_eq!(rows, [("remove", None), ("borrowed", Some("remove"))]);
    assert!(
        manifest.to_string().contains("borrowed (policy of remove)"),
        "{manifest}"
    );
}
