// The secure router: several methods on one path, a nested router and a merged one, with an
// application state that holds `Security`; the manifest lists every route's policy.
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use secure_api::routing::{
    NameRequirement, SecureRouter, delete, get, head, options, patch, post, put, trace,
};
use secure_api::{AuthUser, Security, secure};

secure_api::roles! { admin > editor > viewer }
secure_api::scopes! { "notes:read", "notes:write" }

#[derive(Clone)]
struct AppState {
    security: Security,
    motd: &'static str,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Security {
        state.security.clone()
    }
}

#[derive(serde::Deserialize, garde::Validate)]
struct Note {
    #[garde(length(min = 1, max = 1000))]
    text: String,
}

#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

#[secure(public, rate = "60/1m", rate_key = "global")]
async fn motd(State(state): State<AppState>) -> &'static str {
    state.motd
}

#[secure(role = "viewer", scope = "notes:read")]
async fn list_notes(user: AuthUser) -> Json<Vec<String>> {
    Json(vec![user.subject().to_owned()])
}

#[secure(role = "editor", scope = "notes:write", rate = "30/1m", validate)]
async fn create_note(Json(note): Json<Note>) -> (StatusCode, String) {
    (StatusCode::CREATED, note.text)
}

#[secure(role = "viewer", scope = "notes:read")]
async fn read_note(Path(id): Path<u64>) -> String {
    id.to_string()
}

#[secure(role = "editor", all_scopes("notes:read", "notes:write"), validate)]
async fn replace_note(Path(id): Path<u64>, Json(note): Json<Note>) -> String {
    format!("{id}: {}", note.text)
}

#[secure(role = "editor", scope = "notes:write", validate)]
async fn amend_note(Path(id): Path<u64>, Json(note): Json<Note>) -> String {
    format!("{id}: {}", note.text)
}

#[secure(any_role("admin", "editor"), rate = "5/1m")]
async fn delete_note(Path(id): Path<u64>) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

#[secure(role = "viewer")]
async fn note_exists(Path(id): Path<u64>) -> StatusCode {
    let _ = id;
    StatusCode::OK
}

#[secure(public, rate = "10/1s", rate_key = "ip")]
async fn note_options() -> &'static str {
    "GET, PUT, PATCH, DELETE, HEAD"
}

#[secure(role = "admin", rate = "1/1m")]
async fn trace_notes() -> &'static str {
    "trace"
}

fn main() {
    let security = Security::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .ephemeral_key()
        .build()
        .expect("a valid configuration");

    let notes = SecureRouter::new()
        .route("/", get(list_notes).post(create_note).trace(trace_notes))
        .route(
            "/{id}",
            get(read_note)
                .put(replace_note)
                .patch(amend_note)
                .delete(delete_note),
        )
        // the same path again, with other methods
        .route("/{id}", head(note_exists))
        .route("/{id}", options(note_options));
    let public = SecureRouter::new()
        .route("/health", get(health))
        .route("/motd", get(motd));
    let routes = SecureRouter::<AppState>::new()
        .nest("/notes", notes)
        .merge(public)
        .route("/trace", trace(trace_notes))
        .route("/notes-bulk", post(create_note).delete(delete_note))
        .route("/notes-bulk/{id}", patch(amend_note).put(replace_note))
        .route("/archive/{id}", delete(delete_note))
        .route("/archive/{id}", put(replace_note));

    let manifest = routes.manifest();
    println!("{manifest}");
    println!("{}", manifest.to_json());
    assert_eq!(manifest.routes.len(), 18);

    let delete = manifest
        .routes
        .iter()
        .find(|route| route.method == "DELETE" && route.path == "/notes/{id}")
        .expect("DELETE /notes/{id} is in the manifest");
    assert_eq!(delete.handler, "delete_note");
    assert_eq!(delete.auth, "bearer");
    assert_eq!(delete.roles, Some(NameRequirement::AnyOf(vec!["admin", "editor"])));
    assert_eq!(delete.scopes, None);
    assert_eq!(delete.rate, "5/1m");

    let health = manifest
        .routes
        .iter()
        .find(|route| route.path == "/health")
        .expect("GET /health is in the manifest");
    assert_eq!((health.auth, health.rate_key), ("public", "ip"));

    let _app: Router = routes.with_state(AppState {
        security,
        motd: "welcome",
    });
}
