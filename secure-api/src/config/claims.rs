//! The claim profile from `SECURE_API_CLAIMS_PROFILE` and its companions (see
//! [`Security::from_env`](crate::Security::from_env)).

use super::{list, var};
use crate::error::ConfigError;
use crate::jwt::{ClaimPath, ClaimProfile};

/// The profiles `SECURE_API_CLAIMS_PROFILE` names.
const PROFILES: &str = "standard, keycloak, auth0, cognito, okta, entra";

/// `current` (the builder's profile), or the one the variables name, with their overrides;
/// `lookup` reads a variable (unset and empty alike are `None`).
pub(super) fn profile_from_env(
    current: ClaimProfile,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ClaimProfile, ConfigError> {
    // Taken by the keycloak profile; left over, it names a profile that reads no client roles.
    let mut keycloak_client = lookup(var::KEYCLOAK_CLIENT);
    let client_ids = lookup(var::CLIENT_IDS)
        .map(|ids| list(var::CLIENT_IDS, &ids))
        .transpose()?;
    let mut profile = match lookup(var::CLAIMS_PROFILE).as_deref() {
        None => current,
        Some("standard") => ClaimProfile::standard(),
        Some("keycloak") => match keycloak_client.take() {
            Some(client) => ClaimProfile::keycloak(client),
            None => ClaimProfile::keycloak_realm(),
        },
        Some("auth0") => ClaimProfile::auth0(),
        Some("cognito") => match &client_ids {
            Some(ids) => ClaimProfile::cognito(ids.clone()),
            None => {
                return Err(ConfigError::Missing(format!(
                    "{} (the app client ids the cognito profile accepts)",
                    var::CLIENT_IDS
                )));
            }
        },
        Some("okta") => ClaimProfile::okta(),
        Some("entra") => ClaimProfile::entra(),
        Some(other) => {
            return Err(ConfigError::invalid(
                var::CLAIMS_PROFILE,
                format!("`{other}` is not a claim profile; use one of {PROFILES}"),
            ));
        }
    };
    if keycloak_client.is_some() {
        return Err(ConfigError::invalid(
            var::KEYCLOAK_CLIENT,
            format!(
                "only the keycloak profile reads client roles; set {}=keycloak or unset it",
                var::CLAIMS_PROFILE
            ),
        ));
    }
    let paths = |name: &str, text: String| {
        ClaimPath::parse_list(&text).map_err(|reason| ConfigError::invalid(name, reason))
    };
    if let Some(text) = lookup(var::ROLES_CLAIMS) {
        profile = profile.with_role_paths(paths(var::ROLES_CLAIMS, text)?);
    }
    if let Some(text) = lookup(var::SCOPES_CLAIMS) {
        profile = profile.with_scope_paths(paths(var::SCOPES_CLAIMS, text)?);
    }
    if let Some(ids) = client_ids {
        profile = profile.bind_client_ids(ids);
    }
    if let Some(values) = lookup(var::MFA_ACR) {
        profile = profile.second_factor_acr(list(var::MFA_ACR, &values)?);
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The profile these variables describe, over the standard one.
    fn from(vars: &[(&str, &str)]) -> Result<ClaimProfile, ConfigError> {
        profile_from_env(ClaimProfile::standard(), |name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn message(vars: &[(&str, &str)]) -> String {
        from(vars).expect_err("refused").to_string()
    }

    #[test]
    fn profiles_are_named() {
        assert_eq!(from(&[]).expect("default"), ClaimProfile::standard());
        let custom = ClaimProfile::entra().roles_claim("x");
        assert_eq!(
            profile_from_env(custom.clone(), |_| None).expect("kept"),
            custom,
            "no variable: the builder's profile stays"
        );
        for (name, profile) in [
            ("standard", ClaimProfile::standard()),
            ("auth0", ClaimProfile::auth0()),
            ("okta", ClaimProfile::okta()),
            ("entra", ClaimProfile::entra()),
            ("keycloak", ClaimProfile::keycloak_realm()),
        ] {
            let vars = [(var::CLAIMS_PROFILE, name)];
            assert_eq!(from(&vars).expect(name), profile, "{name}");
        }
        let keycloak = from(&[
            (var::CLAIMS_PROFILE, "keycloak"),
            (var::KEYCLOAK_CLIENT, "notes-api"),
        ]);
        assert_eq!(
            keycloak.expect("keycloak"),
            ClaimProfile::keycloak("notes-api")
        );
        let cognito = from(&[
            (var::CLAIMS_PROFILE, "cognito"),
            (var::CLIENT_IDS, "abc, def"),
        ]);
        assert_eq!(
            cognito.expect("cognito"),
            ClaimProfile::cognito(["abc", "def"])
        );
    }

    #[test]
    fn overrides_apply_to_the_profile() {
        let profile = from(&[
            (var::CLAIMS_PROFILE, "okta"),
            (var::ROLES_CLAIMS, "app.roles, \"https://x.example/roles\""),
            (var::SCOPES_CLAIMS, "scp,scope"),
            (var::CLIENT_IDS, "0oa1"),
            (var::MFA_ACR, "urn:okta:loa:2fa:any, phr"),
        ])
        .expect("valid");
        let expected = ClaimProfile::okta()
            .roles_from(["app.roles", "\"https://x.example/roles\""])
            .scopes_from(["scp", "scope"])
            .bind_client_ids(["0oa1"])
            .second_factor_acr(["urn:okta:loa:2fa:any", "phr"]);
        assert_eq!(profile, expected);
    }

    #[test]
    fn client_ids_stand_in_for_the_audience() {
        let builder = || crate::Security::builder().issuer("i").ephemeral_key();
        let unbound = builder().build().expect_err("no binding").to_string();
        assert!(unbound.contains(var::AUDIENCE), "{unbound}");
        assert!(unbound.contains(var::CLIENT_IDS), "{unbound}");
        let security = builder()
            .claims(ClaimProfile::cognito(["app"]))
            .build()
            .expect("bound by client_id");
        assert_eq!(security.audience(), None);
        assert_eq!(security.claims(), &ClaimProfile::cognito(["app"]));
        let hour = std::time::Duration::from_secs(3600);
        let mint = security.mint("alice", &[], &[], hour).map(|_| ());
        assert!(
            matches!(mint, Err(ConfigError::Missing(_))),
            "a token of this API needs an aud"
        );
    }

    #[test]
    fn mistakes_name_the_variable() {
        let unknown = message(&[(var::CLAIMS_PROFILE, "azure")]);
        assert!(unknown.contains(var::CLAIMS_PROFILE), "{unknown}");
        assert!(unknown.contains(PROFILES), "{unknown}");
        let cognito = message(&[(var::CLAIMS_PROFILE, "cognito")]);
        assert!(cognito.contains(var::CLIENT_IDS), "{cognito}");
        let stray = message(&[(var::KEYCLOAK_CLIENT, "notes-api")]);
        assert!(stray.contains(var::KEYCLOAK_CLIENT), "{stray}");
        let path = message(&[(var::ROLES_CLAIMS, "realm_access..roles")]);
        assert!(path.contains(var::ROLES_CLAIMS), "{path}");
        let quote = message(&[(var::SCOPES_CLAIMS, "\"unclosed")]);
        assert!(quote.contains(var::SCOPES_CLAIMS), "{quote}");
        let empty_id = message(&[(var::CLIENT_IDS, "abc,,def")]);
        assert!(empty_id.contains(var::CLIENT_IDS), "{empty_id}");
        let empty_acr = message(&[(var::MFA_ACR, "gold,")]);
        assert!(empty_acr.contains(var::MFA_ACR), "{empty_acr}");
    }
}
