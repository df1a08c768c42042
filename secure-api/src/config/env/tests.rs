use super::*;
use crate::Security;

/// Why `read_env` refuses these variables.
fn refusal(vars: &[(&str, &str)]) -> String {
    match Security::builder().read_env(&Env::new(vars.iter().copied())) {
        Ok(_) => panic!("accepted {vars:?}"),
        Err(error) => error.to_string(),
    }
}

fn checked(vars: &[(&str, &str)], enabled: impl Fn(&str) -> bool) -> Result<(), String> {
    Env::new(vars.iter().copied())
        .check(enabled)
        .map_err(|error| error.to_string())
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn a_misspelt_variable_is_refused_with_the_name_it_misspells() {
    let all = |_: &str| true;
    assert_eq!(
        checked(&[("SECURE_API_ISUER", "i")], all),
        Err(
            "SECURE_API_ISUER is not a variable secure-api reads; did you mean \
             SECURE_API_ISSUER?"
                .into()
        )
    );
    for (typo, meant) in [
        ("secure_api_issuer", var::ISSUER),
        ("SECURE_API_JWT_SECRETFILE", var::JWT_SECRET_FILE),
        ("SECURE_API_REDIS", var::REDIS_URL),
        ("SECURE_API_TRUSTED_PROXY", var::TRUSTED_PROXIES),
    ] {
        let message = checked(&[(typo, "x")], all).expect_err(typo);
        assert!(
            message.ends_with(&format!("did you mean {meant}?")),
            "{message}"
        );
    }
    let own = checked(&[("SECURE_API_PORT", "8080")], all).expect_err("not ours");
    assert_eq!(
        own,
        "SECURE_API_PORT is not a variable secure-api reads (Security::from_env lists them): \
         unset it, or name a setting of your own outside the SECURE_API_ prefix"
    );
    // Unset and empty are the same; other programs' variables are theirs.
    assert_eq!(checked(&[("SECURE_API_ISUER", "")], all), Ok(()));
    assert_eq!(checked(&[("SECURE_APIS", "x"), ("HOME", "/")], all), Ok(()));
}

#[test]
fn a_variable_of_a_feature_this_build_lacks_is_refused() {
    assert_eq!(
        checked(&[(var::REDIS_URL, "redis://cache:6379/")], |_| false),
        Err(
            "SECURE_API_REDIS_URL is set, but this build of secure-api has no `redis` \
             feature: enable it (secure-api = { features = [\"redis\"] } in Cargo.toml) or \
             unset SECURE_API_REDIS_URL"
                .into()
        )
    );
    for (name, feature) in VARIABLES {
        let Some(feature) = feature else { continue };
        let vars = [(*name, "x")];
        let message = checked(&vars, |other| other != *feature).expect_err(name);
        assert!(
            message.starts_with(&format!(
                "{name} is set, but this build of secure-api has no `{feature}`"
            )),
            "{message}"
        );
        assert_eq!(checked(&vars, |_| true), Ok(()), "{name}");
    }
}

#[test]
fn every_feature_named_is_one_this_crate_has() {
    for (name, feature) in VARIABLES {
        if let Some(feature) = feature {
            assert!(FEATURES.iter().any(|(known, _)| known == feature), "{name}");
        }
    }
}

/// The build's own features decide: without `redis`, its variable is refused before any
/// other is read.
#[cfg(not(feature = "redis"))]
#[test]
fn this_build_refuses_the_redis_url() {
    let message = refusal(&[
        (var::ISSUER, "i"),
        (var::AUDIENCE, "a"),
        (var::JWT_SECRET, SECRET),
        (var::REDIS_URL, "redis://cache:6379/"),
    ]);
    assert!(
        message.starts_with(
            "SECURE_API_REDIS_URL is set, but this build of secure-api has no `redis` feature"
        ),
        "{message}"
    );
}

#[test]
fn key_variables_beside_fetched_keys_are_refused() {
    for source in [var::JWKS_URL, var::OIDC_ISSUER] {
        for key in KEY_VARIABLES {
            assert_eq!(
                checked(&[(source, "https://idp.example"), (key, "x")], |_| true),
                Err(format!(
                    "{key} is set, but keys are fetched from {source}: remove one"
                )),
            );
        }
    }
    assert_eq!(
        checked(
            &[
                (var::JWKS_URL, "https://idp.example/jwks"),
                (var::OIDC_ISSUER, "https://idp.example")
            ],
            |_| true
        ),
        Err(
            "SECURE_API_JWKS_URL is set, but so is SECURE_API_OIDC_ISSUER, whose discovery \
             document names the key set: keys come from one source, remove one"
                .into()
        )
    );
}

#[test]
fn a_secret_is_given_once_and_only_for_hmac() {
    assert_eq!(
        refusal(&[
            (var::ISSUER, "i"),
            (var::JWT_SECRET, SECRET),
            (var::JWT_SECRET_FILE, "/run/secrets/jwt"),
        ]),
        "SECURE_API_JWT_SECRET is set, but so is SECURE_API_JWT_SECRET_FILE: remove one (the \
         file keeps the secret out of the environment)"
    );
    for secret in [var::JWT_SECRET, var::JWT_SECRET_FILE] {
        assert_eq!(
            refusal(&[
                (var::ISSUER, "i"),
                (var::JWT_ALGORITHM, "ES256"),
                (secret, SECRET)
            ]),
            format!(
                "{secret} is set, but SECURE_API_JWT_ALGORITHM is ES256, which takes a PEM key: \
                 set it to HS256, HS384 or HS512 for the secret, or unset {secret}"
            )
        );
    }
}

#[test]
fn a_variable_left_unread_is_refused() {
    let env = Env::new([(var::LEEWAY_SECS, "5")]);
    assert_eq!(
        env.check_all_read().map_err(|error| error.to_string()),
        Err(
            "SECURE_API_LEEWAY_SECS is set, but this configuration does not read it: unset it"
                .into()
        )
    );
    assert_eq!(env.get(var::LEEWAY_SECS).as_deref(), Some("5"));
    assert!(env.check_all_read().is_ok());
}

#[test]
fn every_variable_of_a_full_configuration_is_read() {
    let vars = [
        (var::ISSUER, "i"),
        (var::AUDIENCE, "a"),
        (var::JWT_ALGORITHM, "HS256"),
        (var::JWT_SECRET, SECRET),
        (var::JWT_KID, "k1"),
        (var::LEEWAY_SECS, "5"),
        (var::TRUSTED_PROXIES, "10.0.0.0/8"),
        (var::TOKEN_TYPES, "JWT"),
        (var::CLAIMS_PROFILE, "keycloak"),
        (var::KEYCLOAK_CLIENT, "orders"),
        (var::ROLES_CLAIMS, "realm_access.roles"),
        (var::SCOPES_CLAIMS, "scope"),
        (var::CLIENT_IDS, "orders"),
        (var::MFA_ACR, "gold"),
    ];
    let builder = Security::builder().read_env(&Env::new(vars));
    assert!(builder.is_ok_and(|builder| builder.build().is_ok()));
}

#[cfg(feature = "jwks")]
#[test]
fn fetched_keys_read_the_issuer_and_the_algorithms() {
    let vars = [
        (var::OIDC_ISSUER, "https://idp.example"),
        (var::ISSUER, "https://idp.example"),
        (var::AUDIENCE, "a"),
        (var::JWT_ALGORITHM, "RS256, ES256"),
    ];
    assert!(Security::builder().read_env(&Env::new(vars)).is_ok());
}
