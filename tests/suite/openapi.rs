//! The OpenAPI document a `SecureRouter` derives from its policies: each policy is its
//! operation, a change of role or rate changes the document, garde rules are JSON Schema
//! constraints, a `Json<T>` answer is described as `T` serializes, and the demo's document is valid OpenAPI 3.1 (checked by
//! `openapi-spec-validator` from PyPI), served at `/openapi.json` and reviewed as a snapshot.

use crate::common::{self, client, start_demo};
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secure_api::Problem;
use secure_api::routing::{SecureRouter, get, post};
use secure_api::{Security, secure};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::process::Command;

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
struct NewReport {
    #[garde(length(min = 3, max = 64))]
    title: String,
    #[garde(email)]
    owner: String,
    #[garde(range(min = 1, max = 52))]
    weeks: u32,
}

#[derive(Deserialize, garde::Validate, schemars::JsonSchema)]
struct Range {
    #[garde(range(max = 1000))]
    limit: Option<u32>,
}

#[secure(public, rate = "60/1m")]
async fn health() -> &'static str {
    "ok"
}

#[secure(role = "editor", rate = "10/1m", validate)]
async fn create_report(Json(report): Json<NewReport>) -> String {
    report.title
}

#[secure(role = "admin", rate = "10/1m", validate)]
async fn create_report_as_admin(Json(report): Json<NewReport>) -> String {
    report.title
}

#[secure(role = "editor", rate = "99/1h", validate)]
async fn create_report_slowly(Json(report): Json<NewReport>) -> String {
    report.title
}

/// Answers 409 itself when the title is taken (and 401, which the guard documents already).
#[secure(role = "editor", rate = "10/1m", validate, problems(409, 401))]
async fn create_report_once(Json(report): Json<NewReport>) -> String {
    report.title
}

#[secure(
    bearer_or_api_key,
    any_scope("reports:read", "notes:read"),
    rate = "100/1m",
    validate
)]
async fn read_report(Path((team, id)): Path<(String, u64)>, Query(range): Query<Range>) -> String {
    format!("{team}/{id}/{:?}", range.limit)
}

/// A label, read without its id and written back with the id the server gave it: its two
/// forms differ, so the document defines both.
#[derive(Deserialize, Serialize, garde::Validate, schemars::JsonSchema)]
struct Label {
    #[garde(length(chars, min = 1, max = 32))]
    name: String,
    #[garde(skip)]
    #[serde(skip_deserializing)]
    id: u64,
}

#[secure(role = "editor", rate = "10/1m", validate)]
async fn create_label(Json(label): Json<Label>) -> Result<(StatusCode, Json<Label>), Problem> {
    Ok((StatusCode::CREATED, Json(label)))
}

/// Labels in a row: its own two forms are alike but for the labels', so it has two as well.
#[derive(Deserialize, Serialize, garde::Validate, schemars::JsonSchema)]
struct Shelf {
    #[garde(dive)]
    labels: Vec<Label>,
}

#[secure(role = "editor", rate = "10/1m", validate)]
async fn stock_shelf(Json(shelf): Json<Shelf>) -> Json<Shelf> {
    Json(shelf)
}

#[secure(role = "editor", rate = "10/1m")]
async fn labels() -> impl IntoResponse {
    Json(Vec::<String>::new())
}

fn document(router: SecureRouter<Security>) -> Value {
    router.openapi("reports", "1.0.0")
}

fn reports(create: secure_api::routing::SecureMethodRouter<Security>) -> Value {
    document(
        SecureRouter::new()
            .route("/health", get(health))
            .route("/reports", create)
            .route("/teams/{team}/reports/{id}", get(read_report)),
    )
}

#[test]
fn each_policy_is_its_operation() {
    let document = reports(post(create_report));
    let health = &document["paths"]["/health"]["get"];
    assert_eq!(health["security"], json!([]));
    assert_eq!(
        health["x-rate-limit"],
        json!({ "limit": 60, "window_seconds": 60, "per": "ip", "fail_open": false })
    );
    assert!(health["responses"].get("401").is_none());

    let create = &document["paths"]["/reports"]["post"];
    assert_eq!(create["operationId"], "create_report");
    assert_eq!(create["security"], json!([{ "bearer": [] }]));
    assert_eq!(create["x-roles"], json!({ "all_of": ["editor"] }));
    let statuses: Vec<&str> = create["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        statuses,
        [
            "2XX", "400", "401", "403", "413", "415", "422", "429", "503"
        ]
    );
    assert_eq!(
        create["responses"]["401"]["headers"]["WWW-Authenticate"]["$ref"],
        "#/components/headers/WWW-Authenticate"
    );
    let throttled = &create["responses"]["429"];
    assert_eq!(
        throttled["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    for header in ["Retry-After", "RateLimit", "RateLimit-Policy"] {
        assert!(throttled["headers"].get(header).is_some(), "{header}");
    }

    // Either credential: each scope of `any_scope` is an alternative, and so is a key.
    let read = &document["paths"]["/teams/{team}/reports/{id}"]["get"];
    assert_eq!(
        read["security"],
        json!([{ "bearer": ["reports:read"] }, { "bearer": ["notes:read"] }, { "apiKey": [] }])
    );
    assert!(read["responses"].get("404").is_some());
    assert_eq!(
        document["components"]["securitySchemes"]["apiKey"],
        json!({ "type": "apiKey", "in": "header", "name": "X-API-Key" })
    );
}

#[test]
fn a_change_of_role_or_rate_changes_the_document() {
    let editor = reports(post(create_report));
    let admin = reports(post(create_report_as_admin));
    let slow = reports(post(create_report_slowly));
    assert_eq!(
        admin["paths"]["/reports"]["post"]["x-roles"],
        json!({ "all_of": ["admin"] })
    );
    assert_ne!(editor["paths"]["/reports"], admin["paths"]["/reports"]);
    assert_eq!(
        slow["paths"]["/reports"]["post"]["x-rate-limit"],
        json!({ "limit": 99, "window_seconds": 3600, "per": "user", "fail_open": false })
    );
    assert_ne!(editor["paths"]["/reports"], slow["paths"]["/reports"]);
}

#[test]
fn a_handler_documents_the_problems_it_answers_itself() {
    let plain = reports(post(create_report));
    let plain = &plain["paths"]["/reports"]["post"]["responses"];
    let once = reports(post(create_report_once));
    let once = &once["paths"]["/reports"]["post"]["responses"];
    assert!(plain.get("409").is_none());
    assert_eq!(
        once["409"]["description"],
        "Conflict, answered by the handler."
    );
    assert_eq!(
        once["409"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    assert_eq!(
        once["401"], plain["401"],
        "a status the guard answers keeps the guard's description and its challenge"
    );
}

#[test]
fn a_json_answer_is_described_as_it_serializes() {
    let document = document(
        SecureRouter::new()
            .route("/labels", post(create_label).get(labels))
            .route("/health", get(health)),
    );
    let created = &document["paths"]["/labels"]["post"];
    assert_eq!(
        created["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Label"
    );
    assert_eq!(
        created["responses"]["2XX"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Label.answer",
        "the answer's form is defined apart from the input's"
    );
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["Label"]["required"], json!(["name"]));
    assert_eq!(schemas["Label"]["properties"]["name"]["maxLength"], 32);
    assert!(schemas["Label"]["properties"].get("id").is_none());
    assert_eq!(schemas["Label.answer"]["required"], json!(["name", "id"]));
    assert_eq!(schemas["Label.answer"]["additionalProperties"], false);

    // A type whose forms differ only in what it refers to has two definitions as well, and
    // the input's keeps referring to the input's forms.
    let shelves = self::document(SecureRouter::new().route("/shelves", post(stock_shelf)));
    let stocked = &shelves["paths"]["/shelves"]["post"];
    assert_eq!(
        stocked["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Shelf"
    );
    assert_eq!(
        stocked["responses"]["2XX"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Shelf.answer"
    );
    let schemas = &shelves["components"]["schemas"];
    assert_eq!(
        schemas["Shelf"]["properties"]["labels"]["items"]["$ref"],
        "#/components/schemas/Label"
    );
    assert_eq!(
        schemas["Shelf.answer"]["properties"]["labels"]["items"]["$ref"],
        "#/components/schemas/Label.answer"
    );

    // `impl IntoResponse` and `&str` name no JSON body: success is documented without one.
    for (path, method) in [("/labels", "get"), ("/health", "get")] {
        let success = &document["paths"][path][method]["responses"]["2XX"];
        assert!(success.get("content").is_none(), "{path}: {success}");
    }
}

#[test]
fn inputs_are_described_with_their_garde_rules() {
    let document = reports(post(create_report));
    let body = &document["paths"]["/reports"]["post"]["requestBody"];
    assert_eq!(body["required"], true);
    assert_eq!(
        body["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewReport"
    );
    let report = &document["components"]["schemas"]["NewReport"];
    assert_eq!(report["additionalProperties"], false, "inputs are closed");
    assert_eq!(report["properties"]["title"]["minLength"], 3);
    assert_eq!(report["properties"]["title"]["maxLength"], 64);
    assert_eq!(report["properties"]["owner"]["format"], "email");
    assert_eq!(report["properties"]["weeks"]["minimum"], 1);
    assert_eq!(report["properties"]["weeks"]["maximum"], 52);

    let parameters = &document["paths"]["/teams/{team}/reports/{id}"]["get"]["parameters"];
    assert_eq!(
        parameters,
        &json!([
            { "name": "team", "in": "path", "required": true, "schema": { "type": "string" } },
            { "name": "id", "in": "path", "required": true,
              "schema": { "type": "integer", "format": "uint64", "minimum": 0 } },
            { "name": "limit", "in": "query", "required": false,
              "schema": { "type": ["integer", "null"], "format": "uint32", "minimum": 0, "maximum": 1000 } },
        ])
    );
}

/// The demo's document: valid OpenAPI 3.1, served at `/openapi.json` as `--openapi` prints
/// it, and as reviewed.
#[tokio::test]
async fn the_demo_document_is_valid_served_and_reviewed() {
    let output = common::example_command("demo", "examples/demo", "DEMO_ADDR", &[])
        .arg("--openapi")
        .output()
        .expect("run the demo");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    common::assert_snapshot("demo-openapi.json", &printed);

    let demo = start_demo(&[]);
    let served = client()
        .get(format!("{}/openapi.json", demo.running.base))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/json");
    assert_eq!(served.text().await.expect("body").trim(), printed.trim());

    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &printed).expect("write the document");
    let validator = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(file.path())
        .output()
        .expect("python3");
    let missing = String::from_utf8_lossy(&validator.stderr).contains("No module named");
    if missing {
        assert!(
            std::env::var_os("TESTS_REQUIRE_OPENAPI").is_none(),
            "openapi-spec-validator is not installed (pip install -r tests/openapi/requirements.txt)"
        );
        eprintln!(
            "SKIPPED: openapi-spec-validator is not installed; the document was not validated"
        );
        return;
    }
    assert!(validator.status.success(), "{validator:?}");
}
