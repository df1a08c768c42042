use super::*;

fn hs256() -> Key {
    Key::hmac(Algorithm::HS256, Secret::generate(32)).expect("key")
}

#[test]
fn build_requires_issuer_audience_and_key() {
    assert!(matches!(
        Security::builder().audience("a").key(hs256()).build(),
        Err(ConfigError::Missing(_))
    ));
    assert!(matches!(
        Security::builder().issuer("i").audience("a").build(),
        Err(ConfigError::NoKey)
    ));
    let too_lenient = Security::builder()
        .issuer("i")
        .audience("a")
        .key(hs256())
        .leeway(Duration::from_secs(31))
        .build();
    assert!(too_lenient.is_err());
}

#[test]
fn only_a_signing_key_and_an_audience_issue_tokens() {
    let config = || Security::builder().issuer("i").key(hs256());
    let hmac = config().audience("a").build().expect("config");
    assert!(hmac.can_issue_tokens());
    let unbound = config().claims(ClaimProfile::cognito(["app"])).build();
    assert!(!unbound.expect("bound by client_id").can_issue_tokens());
}

#[test]
fn minted_tokens_verify() {
    let security = Security::builder()
        .issuer("i")
        .audience("a")
        .ephemeral_key()
        .build()
        .expect("config");
    let token = security
        .mint(
            "alice",
            &["admin"],
            &["users:read", "users:write"],
            Duration::from_secs(60),
        )
        .expect("token");
    let identity = security.verify(&token).expect("valid");
    assert_eq!(identity.subject(), "alice");
    assert_eq!(identity.roles(), ["admin"]);
    assert_eq!(identity.scopes(), ["users:read", "users:write"]);
}
