//! The OpenAPI 3.1 document of a [`SecureRouter`], derived from what the guard enforces: each
//! operation's security requirement, the problems it can answer, its rate limit, and the
//! schemas of its validated inputs (read by schemars from their garde rules).

mod responses;

use super::{Route, SecureRouter};
use crate::describe::{DescribedInput, Description, Location};
use crate::policy::{PolicySpec, RateKey, Requirement};
use responses::{headers, problem_schema, responses};
use schemars::generate::{Contract, SchemaSettings};
use schemars::transform::RecursiveTransform;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

impl<S: Clone + Send + Sync + 'static> SecureRouter<S> {
    /// The OpenAPI 3.1 document of every route, titled `title` at `version`.
    ///
    /// - Each operation's `security` is its policy: none for `public`, the `bearer` scheme
    ///   with the scopes it requires, the `apiKey` scheme (`X-API-Key`), or either.
    ///   Required roles are stated in `x-roles`, the rate limit in `x-rate-limit`.
    /// - Its responses are the problems the guard and the validated inputs can answer
    ///   (`application/problem+json`, one shared `Problem` schema): 401 with
    ///   `WWW-Authenticate`, 403, 429 with `Retry-After` and the `RateLimit` fields, 503,
    ///   and 400/413/415/422 for inputs, and those the handler answers with itself
    ///   (`#[secure(problems(404, 409))]`). Success is `2XX`, with the schema of its JSON
    ///   body when the handler returns `Json<T>` (alone, after a `StatusCode`, or as the `Ok`
    ///   of a `Result`) of a `T` that derives `schemars::JsonSchema`, as `T` serializes.
    /// - Its parameters and request body are the handler's `Json`, `Form`, `Query` and
    ///   `Path` inputs whose payload derives `schemars::JsonSchema`, with the garde rules
    ///   (`length`, `range`, `pattern`, `email`, `url`, …) as JSON Schema constraints.
    pub fn openapi(&self, title: &str, version: &str) -> Value {
        let mut generators = Generators {
            inputs: generator(Contract::Deserialize),
            answers: generator(Contract::Serialize),
        };
        let mut paths = Map::new();
        let mut operation_ids = Vec::new();
        for route in &self.routes {
            let operation = operation(route, &mut generators, &mut operation_ids);
            let path = paths
                .entry(template(&route.entry.path))
                .or_insert_with(|| json!({}));
            path[route.entry.method.to_ascii_lowercase()] = operation;
        }
        let mut schemas = generators.inputs.take_definitions(true);
        let answers = generators.answers.take_definitions(true);
        merge_answer_schemas(&mut schemas, answers, &mut paths);
        schemas.insert("Problem".into(), problem_schema());
        json!({
            "openapi": "3.1.0",
            "info": { "title": title, "version": version },
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                    "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key" },
                },
                "headers": headers(),
            },
        })
    }
}

/// Inputs are described as they deserialize, answers as they serialize: a type's two forms
/// can differ (`skip_serializing_if`, `default`, renames for one direction).
struct Generators {
    inputs: SchemaGenerator,
    answers: SchemaGenerator,
}

fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.meta_schema = None;
            settings.contract = contract;
        })
        .with_transform(RecursiveTransform(closed_objects))
        .into_generator()
}

/// The answers' definitions beside the inputs'. A name both define differently — a type
/// that serializes otherwise than it deserializes, two types of one name, or a type that
/// refers to one of those — is the answers' as `{name}.answer`, and the answers refer to
/// that; the inputs keep theirs.
fn merge_answer_schemas(
    schemas: &mut Map<String, Value>,
    answers: Map<String, Value>,
    paths: &mut Map<String, Value>,
) {
    // Until nothing changes: a renamed definition renames those that refer to it.
    let mut renamed: Vec<String> = Vec::new();
    loop {
        let differs = |name: &String, schema: &Value| {
            let mut answer = schema.clone();
            refer_to_answer(&mut answer, &renamed);
            schemas.get(name).is_some_and(|input| *input != answer)
        };
        let more: Vec<String> = answers
            .iter()
            .filter(|(name, schema)| !renamed.contains(name) && differs(name, schema))
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        renamed.extend(more);
    }
    let mut answers: Vec<(String, Value)> = answers.into_iter().collect();
    for (_, schema) in &mut answers {
        refer_to_answer(schema, &renamed);
    }
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|path| path.values_mut())
    {
        if let Some(success) = operation.pointer_mut("/responses/2XX") {
            refer_to_answer(success, &renamed);
        }
    }
    for (name, schema) in answers {
        let name = match renamed.contains(&name) {
            true => format!("{name}.answer"),
            false => name,
        };
        // A name the inputs define too is, when not renamed, the same definition.
        schemas.entry(name).or_insert(schema);
    }
}

/// Points every `$ref` to one of `renamed` at its `.answer` definition.
fn refer_to_answer(value: &mut Value, renamed: &[String]) {
    match value {
        Value::Object(object) => {
            for (key, value) in object.iter_mut() {
                match (key.as_str(), &*value) {
                    ("$ref", Value::String(reference)) => {
                        let target = reference.strip_prefix("#/components/schemas/");
                        if let Some(name) =
                            target.filter(|name| renamed.iter().any(|renamed| renamed == name))
                        {
                            *value = Value::String(format!("#/components/schemas/{name}.answer"));
                        }
                    }
                    _ => refer_to_answer(value, renamed),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| refer_to_answer(item, renamed)),
        _ => {}
    }
}

/// Inputs are closed: `Valid` and `Parsed` refuse a field their type does not declare, at
/// any depth, so every object with declared properties admits no others. Answers are
/// closed too: a derived `Serialize` writes the declared fields and no others.
fn closed_objects(schema: &mut Schema) {
    if schema.get("properties").is_some() && schema.get("additionalProperties").is_none() {
        schema.insert("additionalProperties".into(), false.into());
    }
}

/// axum's `{*rest}` is OpenAPI's `{rest}`.
fn template(path: &str) -> String {
    path.replace("{*", "{")
}

/// The names of a path's parameters, in order.
fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.trim_start_matches('*').to_owned())
        .collect()
}

fn operation(route: &Route, generators: &mut Generators, ids: &mut Vec<String>) -> Value {
    let spec = &route.spec;
    let handler = route.entry.handler.trim_start_matches("r#");
    let mut id = handler.to_owned();
    if ids.contains(&id) {
        id = format!("{handler}_{}", route.entry.method.to_ascii_lowercase());
    }
    ids.push(id.clone());

    let path_names = path_parameters(&route.entry.path);
    let mut description = Description::default();
    (route.describe)(&mut description);
    let generator = &mut generators.inputs;
    let mut parameters = Vec::new();
    let mut body = None;
    for DescribedInput { location, schema } in &description.inputs {
        let schema = schema(generator);
        match location {
            Location::Body {
                media_type,
                required,
            } => {
                body = Some(json!({
                    "required": required,
                    "content": { *media_type: { "schema": schema } },
                }));
            }
            Location::Query => parameters.extend(properties("query", &schema, generator)),
            Location::Path => {
                parameters.extend(path_inputs(&path_names, &schema, generator));
            }
        }
    }
    let mut operation = json!({
        "operationId": id,
        "security": security(spec),
        "responses": responses(spec, &description, !path_names.is_empty()),
        "x-rate-limit": rate_limit(spec),
    });
    // As the manifest states them: `{"all_of": [..]}` or `{"any_of": [..]}`.
    if let Some(roles) = &route.entry.roles {
        operation["x-roles"] = json!(roles);
    }
    if let Some(scopes) = &route.entry.scopes {
        operation["x-scopes"] = json!(scopes);
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = body {
        operation["requestBody"] = body;
    }
    if let Some(answer) = description.answer {
        let schema = answer(&mut generators.answers);
        operation["responses"]["2XX"]["content"] =
            json!({ "application/json": { "schema": schema } });
    }
    operation
}

/// The definition a schema refers to, or the schema itself.
fn resolved(schema: &Schema, generator: &SchemaGenerator) -> Value {
    let value = schema.as_value();
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
        .and_then(|name| generator.definitions().get(name))
        .unwrap_or(value)
        .clone()
}

/// One parameter per property of an object schema (a `Query<T>` or a `Path<T>` of a struct).
fn properties(location: &str, schema: &Schema, generator: &SchemaGenerator) -> Vec<Value> {
    let object = resolved(schema, generator);
    let required: Vec<&str> = object["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    object["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| {
                    json!({
                        "name": name,
                        "in": location,
                        "required": location == "path" || required.contains(&name.as_str()),
                        "schema": schema,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The parameters of a `Path<T>`: a struct's properties by name, a tuple's items by position,
/// or one scalar for the path's one parameter.
fn path_inputs(names: &[String], schema: &Schema, generator: &SchemaGenerator) -> Vec<Value> {
    let value = resolved(schema, generator);
    if value.get("properties").is_some() {
        return properties("path", schema, generator);
    }
    let items: Vec<Value> = match value.get("prefixItems").and_then(Value::as_array) {
        Some(items) => items.clone(),
        None => vec![value],
    };
    names
        .iter()
        .zip(items)
        .map(|(name, schema)| json!({ "name": name, "in": "path", "required": true, "schema": schema }))
        .collect()
}

/// The security requirement: alternatives (OR) of scheme objects, each listing the scopes it
/// needs (AND).
fn security(spec: &PolicySpec) -> Value {
    let scope_sets: Vec<Vec<&str>> = match spec.scopes {
        Requirement::Nothing => vec![Vec::new()],
        Requirement::AllOf(_) => vec![spec.scopes.names().collect()],
        Requirement::AnyOf(_) => spec.scopes.names().map(|name| vec![name]).collect(),
    };
    let mut alternatives = Vec::new();
    if spec.auth.accepts_bearer() {
        alternatives.extend(scope_sets.iter().map(|scopes| json!({ "bearer": scopes })));
    }
    if spec.auth.accepts_api_key() {
        alternatives.push(json!({ "apiKey": [] }));
    }
    Value::Array(alternatives)
}

fn rate_limit(spec: &PolicySpec) -> Value {
    match spec.rate {
        Some(rate) => json!({
            "limit": rate.max,
            "window_seconds": rate.window.as_secs(),
            "per": rate.key.as_str(),
            "fail_open": spec.limit_fail_open,
        }),
        // The configuration's default applies, per user.
        None => json!({ "default": true, "per": RateKey::User.as_str() }),
    }
}
