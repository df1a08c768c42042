//! Each profile against the access tokens its identity provider really issues (claims as
//! documented by the provider, trimmed of what the guard does not read).

use super::*;
use crate::jwt::cache::DEFAULT_CAPACITY;
use crate::jwt::{Algorithm, Key, SigningKey, Verifier, VerifierSettings};
use crate::policy::StepUp;
use crate::secret::Secret;
use serde_json::json;
use std::time::Duration;

const ISSUER: &str = "https://idp.example.com";

/// A verifier for `profile` (bound to `audience`, if any), and a key to sign tokens with.
fn verifier(profile: ClaimProfile, audience: Option<&str>) -> (Verifier, SigningKey) {
    crate::jwt::install_crypto_provider();
    let key = Key::hmac(Algorithm::HS256, Secret::generate(32)).expect("key");
    let signer = key.signing_key().expect("an HMAC key signs");
    let verifier = Verifier::new(VerifierSettings {
        issuer: ISSUER.into(),
        audience: audience.map(str::to_owned),
        claims: profile,
        keys: vec![key],
        #[cfg(feature = "jwks")]
        remote: None,
        leeway: Duration::ZERO,
        extra_token_types: Vec::new(),
        cache_capacity: DEFAULT_CAPACITY,
    })
    .expect("config");
    (verifier, signer)
}

/// `claims` with `iss`, `iat` and `exp` of a token valid for five minutes.
fn payload(mut claims: Value) -> Value {
    let now = crate::time::now();
    claims["iss"] = json!(ISSUER);
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 300);
    claims
}

/// Signs `claims` and verifies the token.
fn verify(
    verifier: &Verifier,
    signer: &SigningKey,
    claims: Value,
) -> Result<Identity, TokenRejection> {
    verifier.verify(&signer.sign(&payload(claims)).expect("signed"))
}

fn accepted(profile: ClaimProfile, audience: Option<&str>, claims: Value) -> Identity {
    let (verifier, signer) = verifier(profile, audience);
    verify(&verifier, &signer, claims).expect("accepted")
}

fn refused(profile: ClaimProfile, audience: Option<&str>, claims: Value) -> TokenRejection {
    let (verifier, signer) = verifier(profile, audience);
    verify(&verifier, &signer, claims)
        .map(|_| ())
        .expect_err("refused")
}

#[test]
fn standard_reads_roles_and_scope() {
    let claims = json!({
        "aud": "notes-api", "sub": "alice", "roles": ["admin", "editor"],
        "scope": "notes:read notes:write", "realm_access": {"roles": ["ignored"]},
    });
    let identity = accepted(ClaimProfile::standard(), Some("notes-api"), claims);
    assert_eq!(identity.roles(), ["admin", "editor"]);
    assert_eq!(identity.scopes(), ["notes:read", "notes:write"]);
    let scopes_as_array = json!({"aud": "notes-api", "sub": "a", "scope": ["notes:read"]});
    let identity = accepted(ClaimProfile::default(), Some("notes-api"), scopes_as_array);
    assert_eq!(identity.scopes(), ["notes:read"]);
    assert!(identity.roles().is_empty());
}

#[test]
fn keycloak_unites_realm_and_client_roles() {
    let token = json!({
        "aud": ["notes-api", "account"], "sub": "f1b4c2a0-5d3e-4a8b-9c7d-2e6f0a1b3c4d",
        "typ": "Bearer", "azp": "notes-web", "sid": "0d2c9a4e", "acr": "1",
        "realm_access": {"roles": ["default-roles-notes", "offline_access", "editor"]},
        "resource_access": {
            "notes-api": {"roles": ["admin", "editor"]},
            "account": {"roles": ["manage-account", "view-profile"]},
        },
        "scope": "openid profile email", "preferred_username": "alice",
    });
    let identity = accepted(
        ClaimProfile::keycloak("notes-api"),
        Some("notes-api"),
        token.clone(),
    );
    assert_eq!(
        identity.roles(),
        ["default-roles-notes", "offline_access", "editor", "admin"],
        "realm roles, then the client's, each once; another client's roles are not read"
    );
    assert_eq!(identity.scopes(), ["openid", "profile", "email"]);

    let realm_only = accepted(
        ClaimProfile::keycloak_realm(),
        Some("notes-api"),
        token.clone(),
    );
    assert_eq!(
        realm_only.roles(),
        ["default-roles-notes", "offline_access", "editor"]
    );

    // A client id with a dot is one key, not two.
    let dotted = json!({"aud": "notes-api", "sub": "a", "resource_access": {"my.api": {"roles": ["admin"]}}});
    let identity = accepted(ClaimProfile::keycloak("my.api"), Some("notes-api"), dotted);
    assert_eq!(identity.roles(), ["admin"]);

    // A user with no client roles: `resource_access` absent or without the client.
    let no_client = json!({"aud": "notes-api", "sub": "a", "realm_access": {"roles": ["viewer"]}});
    let identity = accepted(
        ClaimProfile::keycloak("notes-api"),
        Some("notes-api"),
        no_client,
    );
    assert_eq!(identity.roles(), ["viewer"]);
}

#[test]
fn auth0_reads_permissions_and_a_named_role_claim() {
    let token = json!({
        "iss": "https://notes.eu.auth0.com/", "sub": "auth0|6560c0ffee",
        "aud": ["https://notes.example.com/api", "https://notes.eu.auth0.com/userinfo"],
        "azp": "Xy7kQ2", "scope": "openid profile notes:delete",
        "permissions": ["notes:read", "notes:write"],
        "https://notes.example.com/roles": ["editor"],
    });
    let audience = Some("https://notes.example.com/api");
    let identity = accepted(ClaimProfile::auth0(), audience, token.clone());
    assert_eq!(
        identity.scopes(),
        ["notes:read", "notes:write"],
        "`scope` is not read"
    );
    assert!(
        identity.roles().is_empty(),
        "no role claim until one is named"
    );
    let named = ClaimProfile::auth0().roles_claim("https://notes.example.com/roles");
    assert_eq!(accepted(named, audience, token.clone()).roles(), ["editor"]);
    let quoted = ClaimProfile::auth0().roles_from(["\"https://notes.example.com/roles\""]);
    assert_eq!(accepted(quoted, audience, token).roles(), ["editor"]);
}

/// A Cognito access token: no `aud`, a `client_id`.
fn cognito_token(client_id: Option<&str>) -> Value {
    let mut token = json!({
        "sub": "94c8f4e8-2071-7026-b2a3-0c3e5d1c8a9b", "cognito:groups": ["admin", "editor"],
        "token_use": "access", "scope": "aws.cognito.signin.user.admin notes/read",
        "auth_time": crate::time::now(), "jti": "5e2a1b0c", "username": "alice",
        "origin_jti": "9f8e7d6c", "event_id": "c1d2e3f4",
    });
    if let Some(client_id) = client_id {
        token["client_id"] = json!(client_id);
    }
    token
}

#[test]
fn cognito_binds_tokens_by_client_id() {
    let cognito = || ClaimProfile::cognito(["6jd3v0m9ogm0b4c1qgbtmfcv4j", "2b5kq1"]);
    let identity = accepted(
        cognito(),
        None,
        cognito_token(Some("6jd3v0m9ogm0b4c1qgbtmfcv4j")),
    );
    assert_eq!(identity.roles(), ["admin", "editor"]);
    assert_eq!(
        identity.scopes(),
        ["aws.cognito.signin.user.admin", "notes/read"]
    );
    assert_eq!(
        accepted(cognito(), None, cognito_token(Some("2b5kq1"))).subject(),
        "94c8f4e8-2071-7026-b2a3-0c3e5d1c8a9b"
    );

    assert_eq!(
        refused(cognito(), None, cognito_token(Some("another-app"))),
        TokenRejection::WrongAudience
    );
    assert_eq!(
        refused(cognito(), None, cognito_token(Some(""))),
        TokenRejection::WrongAudience
    );
    // An ID token of the same pool names the client in `aud` and has no `client_id`.
    let mut id_token = cognito_token(None);
    id_token["aud"] = json!("6jd3v0m9ogm0b4c1qgbtmfcv4j");
    id_token["token_use"] = json!("id");
    assert_eq!(
        refused(cognito(), None, id_token),
        TokenRejection::WrongAudience
    );
    let mut numeric = cognito_token(None);
    numeric["client_id"] = json!(42);
    assert_eq!(refused(cognito(), None, numeric), TokenRejection::BadClaims);

    // With an audience as well, both bind the token: no `aud` is a missing claim, as
    // without client ids; another `aud` is another API's token.
    let mut both = cognito_token(Some("2b5kq1"));
    let audience = Some("notes-api");
    assert_eq!(
        refused(cognito(), audience, both.clone()),
        TokenRejection::BadClaims
    );
    both["aud"] = json!("another-api");
    assert_eq!(
        refused(cognito(), audience, both.clone()),
        TokenRejection::WrongAudience
    );
    both["aud"] = json!("notes-api");
    accepted(cognito(), audience, both.clone());
    both["client_id"] = json!("another-app");
    assert_eq!(
        refused(cognito(), audience, both),
        TokenRejection::WrongAudience
    );
}

#[test]
fn okta_reads_the_scp_array_and_groups() {
    let token = json!({
        "ver": 1, "jti": "AT.9t2kx0Pq", "aud": "api://default", "cid": "0oa1b2c3d4",
        "uid": "00u1a2b3c4", "scp": ["openid", "notes:read"], "auth_time": crate::time::now(),
        "sub": "alice@example.com", "groups": ["Everyone", "admin"],
    });
    let identity = accepted(ClaimProfile::okta(), Some("api://default"), token);
    assert_eq!(identity.scopes(), ["openid", "notes:read"]);
    assert_eq!(identity.roles(), ["Everyone", "admin"]);
}

#[test]
fn entra_reads_the_scp_string_and_app_roles() {
    let aud = "api://3f1c2b4a-0d9e-4f6a-8b7c-1e2d3c4b5a69";
    let token = json!({
        "aud": aud, "ver": "2.0", "azp": "7d1e0b2c", "azpacr": "0",
        "oid": "5c4b3a29-1807-4f6e-9d8c-7b6a5f4e3d2c", "tid": "9a8b7c6d",
        "sub": "Zx3vNqL0c8", "scp": "Notes.Read Notes.Write", "roles": ["Notes.Admin"],
        "name": "Alice", "preferred_username": "alice@contoso.com",
    });
    let identity = accepted(ClaimProfile::entra(), Some(aud), token);
    assert_eq!(identity.scopes(), ["Notes.Read", "Notes.Write"]);
    assert_eq!(identity.roles(), ["Notes.Admin"]);
}

#[test]
fn claims_of_the_wrong_type_are_bad_claims() {
    let with = |claims: Value| {
        let mut token = json!({"aud": "a", "sub": "alice"});
        token
            .as_object_mut()
            .expect("object")
            .extend(claims.as_object().expect("object").clone());
        token
    };
    let cases = [
        (
            ClaimProfile::standard(),
            json!({"roles": "admin"}),
            "a role string is never split",
        ),
        (
            ClaimProfile::standard(),
            json!({"roles": ["admin", 1]}),
            "a role that is no string",
        ),
        (
            ClaimProfile::standard(),
            json!({"scope": 42}),
            "a numeric scope",
        ),
        (
            ClaimProfile::keycloak("api"),
            json!({"realm_access": "admin"}),
            "a string on the way",
        ),
        (
            ClaimProfile::keycloak("api"),
            json!({"realm_access": {"roles": "admin"}}),
            "realm roles as a string",
        ),
        (
            ClaimProfile::keycloak("api"),
            json!({"resource_access": {"api": []}}),
            "an array on the way",
        ),
        (
            ClaimProfile::okta(),
            json!({"scp": {"notes": true}}),
            "scp as an object",
        ),
        (
            ClaimProfile::entra(),
            json!({"scp": ["Notes.Read", null]}),
            "a null scope",
        ),
        (
            ClaimProfile::standard().second_factor_acr(["gold"]),
            json!({"acr": 2}),
            "a numeric acr",
        ),
    ];
    for (profile, claims, case) in cases {
        assert_eq!(
            refused(profile, Some("a"), with(claims)),
            TokenRejection::BadClaims,
            "{case}"
        );
    }
    // A claim the profile does not read may be anything; `null` reads as absent.
    let ignored = json!({"roles": "admin", "acr": 2, "realm_access": {"roles": null}});
    let identity = accepted(ClaimProfile::keycloak("api"), Some("a"), with(ignored));
    assert!(identity.roles().is_empty());
}

#[test]
fn acr_can_show_a_second_factor() {
    let any_age = StepUp { max_age: None };
    let recent = StepUp {
        max_age: Some(Duration::from_secs(900)),
    };
    let profile = || ClaimProfile::keycloak("api").second_factor_acr(["gold", "2"]);
    let token = |acr: &str, auth_time: Option<u64>| {
        let mut token = json!({"aud": "a", "sub": "alice", "acr": acr, "amr": ["pwd"]});
        if let Some(auth_time) = auth_time {
            token["auth_time"] = json!(auth_time);
        }
        token
    };
    let now = crate::time::now();
    let gold = accepted(profile(), Some("a"), token("gold", Some(now)));
    assert_eq!(gold.acr(), Some("gold"));
    assert!(any_age.is_met_by(&gold) && recent.is_met_by(&gold));
    let stale = accepted(profile(), Some("a"), token("2", Some(now - 3600)));
    assert!(any_age.is_met_by(&stale) && !recent.is_met_by(&stale));
    let unknown_age = accepted(profile(), Some("a"), token("gold", None));
    assert!(
        any_age.is_met_by(&unknown_age) && !recent.is_met_by(&unknown_age),
        "mfa = \"15m\" needs auth_time"
    );
    let password = accepted(profile(), Some("a"), token("1", Some(now)));
    assert!(!any_age.is_met_by(&password));
    // Without acr values in the profile, acr is no second factor.
    let standard = accepted(
        ClaimProfile::standard(),
        Some("a"),
        token("gold", Some(now)),
    );
    assert!(!any_age.is_met_by(&standard));
    // amr keeps working, whatever the profile.
    let otp = json!({"aud": "a", "sub": "alice", "acr": "1", "amr": ["pwd", "otp"]});
    assert!(any_age.is_met_by(&accepted(profile(), Some("a"), otp)));
}

#[test]
fn profiles_that_cannot_be_enforced_are_refused() {
    let check = |profile: ClaimProfile, audience: Option<&str>| {
        profile.check(audience).map_err(|error| error.to_string())
    };
    assert!(check(ClaimProfile::standard(), Some("api")).is_ok());
    assert!(check(ClaimProfile::cognito(["app"]), None).is_ok());
    let unbound = check(ClaimProfile::standard(), None).expect_err("neither aud nor client_id");
    assert!(
        unbound.contains("SECURE_API_AUDIENCE") && unbound.contains("SECURE_API_CLIENT_IDS"),
        "{unbound}"
    );
    let mistakes = [
        (
            ClaimProfile::cognito(Vec::<String>::new()),
            None,
            "accepts no token",
        ),
        (
            ClaimProfile::cognito(["app", ""]),
            None,
            "a client id is empty",
        ),
        (ClaimProfile::standard(), Some(""), "it is empty"),
        (
            ClaimProfile::standard().roles_from(["realm_access..roles"]),
            Some("api"),
            "a key is empty",
        ),
        (
            ClaimProfile::standard().scopes_from(["\"open"]),
            Some("api"),
            "not closed",
        ),
        (
            ClaimProfile::standard().roles_claim(""),
            Some("api"),
            "a key is empty",
        ),
        (ClaimProfile::keycloak(""), Some("api"), "a key is empty"),
        (
            ClaimProfile::standard().second_factor_acr(["gold", ""]),
            Some("api"),
            "a value is empty",
        ),
    ];
    for (profile, audience, says) in mistakes {
        let error = check(profile, audience).expect_err(says);
        assert!(error.contains(says), "{error}");
    }
}

#[test]
fn profiles_say_what_they_read() {
    assert_eq!(
        ClaimProfile::keycloak("notes-api")
            .second_factor_acr(["gold"])
            .to_string(),
        "keycloak: roles from realm_access.roles, resource_access.notes-api.roles; scopes from \
         scope; bound by aud; second factor by amr, or acr gold"
    );
    assert_eq!(
        ClaimProfile::cognito(["app"]).to_string(),
        "cognito: roles from cognito:groups; scopes from scope; bound by client_id app (and \
         aud, if configured); second factor by amr"
    );
    assert_eq!(
        ClaimProfile::auth0()
            .roles_claim("https://x.example/roles")
            .to_string(),
        "auth0: roles from \"https://x.example/roles\"; scopes from permissions; bound by aud; \
         second factor by amr"
    );
    assert_eq!(
        ClaimProfile::auth0().to_string(),
        "auth0: roles from nothing; scopes from permissions; bound by aud; second factor by amr"
    );
}
