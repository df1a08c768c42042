//! Parsing of the arguments of `#[secure(...)]` into [`SecureArgs`], one darling value per
//! argument, each keeping the span of the token it came from.

use darling::ast::NestedMeta;
use darling::util::{Flag, SpannedValue};
use darling::{Error, FromMeta};
use proc_macro2::TokenStream;
use syn::LitStr;

/// Every argument `#[secure]` accepts, in the order the documentation lists them.
pub(crate) const ARGUMENTS: &[&str] = &[
    "public",
    "role",
    "any_role",
    "all_roles",
    "scope",
    "any_scope",
    "all_scopes",
    "rate",
    "rate_key",
    "validate",
    "skip_validation",
    "crate",
];

/// The arguments as written, before any rule that relates two of them is checked.
#[derive(Debug, FromMeta)]
pub(crate) struct SecureArgs {
    pub(crate) public: Flag,
    pub(crate) role: Option<SpannedValue<Name>>,
    pub(crate) any_role: Option<SpannedValue<NameList>>,
    pub(crate) all_roles: Option<SpannedValue<NameList>>,
    pub(crate) scope: Option<SpannedValue<Name>>,
    pub(crate) any_scope: Option<SpannedValue<NameList>>,
    pub(crate) all_scopes: Option<SpannedValue<NameList>>,
    pub(crate) rate: Option<SpannedValue<Rate>>,
    pub(crate) rate_key: Option<SpannedValue<RateKey>>,
    pub(crate) validate: Flag,
    pub(crate) skip_validation: Option<SpannedValue<Reason>>,
    #[darling(rename = "crate")]
    pub(crate) krate: Option<syn::Path>,
}

impl SecureArgs {
    /// Parses the attribute's arguments, reporting every mistake at once.
    pub(crate) fn parse(args: TokenStream) -> darling::Result<Self> {
        let items = NestedMeta::parse_meta_list(args)?;
        let mut errors = Error::accumulator();
        // darling's own message for an unknown argument only suggests a near miss; ours lists
        // every valid argument, and drops the item so darling does not report it twice.
        let known: Vec<NestedMeta> = items
            .into_iter()
            .filter(|item| match item {
                NestedMeta::Meta(meta)
                    if meta
                        .path()
                        .get_ident()
                        .is_some_and(|ident| ARGUMENTS.iter().any(|known| ident == known)) =>
                {
                    true
                }
                NestedMeta::Meta(meta) => {
                    errors.push(unknown_argument(meta.path()));
                    false
                }
                NestedMeta::Lit(lit) => {
                    errors.push(
                        Error::custom(
                            "expected an argument such as `role = \"admin\"`, `rate = \"100/15m\"` \
                             or `validate`, not a bare literal",
                        )
                        .with_span(lit),
                    );
                    false
                }
            })
            .collect();
        let parsed = Self::from_list(&known);
        let mut errors = errors.into_inner();
        match parsed {
            Ok(parsed) if errors.is_empty() => Ok(parsed),
            Ok(_) => Err(Error::multiple(errors).flatten()),
            Err(error) => {
                errors.push(error);
                Err(Error::multiple(errors).flatten())
            }
        }
    }
}

fn unknown_argument(path: &syn::Path) -> Error {
    let written = quote::quote!(#path).to_string().replace(' ', "");
    let valid = ARGUMENTS
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Error::custom(format!(
        "unknown argument `{written}` in #[secure]; valid arguments are {valid}"
    ))
    .with_span(path)
}

/// A role or scope name: non-empty and free of white space, because scopes travel as one
/// space-delimited claim and a name with a space in it could never match.
#[derive(Debug, Clone)]
pub(crate) struct Name(pub(crate) String);

impl FromMeta for Name {
    fn from_string(value: &str) -> darling::Result<Self> {
        if value.is_empty() {
            return Err(Error::custom("a role or scope name cannot be empty"));
        }
        if value.chars().any(char::is_whitespace) {
            return Err(Error::custom(format!(
                "`{value}` contains white space, which no role or scope name can match; \
                 list several names with `any_role(\"a\", \"b\")` or `all_roles(\"a\", \"b\")`"
            )));
        }
        Ok(Self(value.to_owned()))
    }
}

/// A list of names written `any_role("admin", "editor")`.
#[derive(Debug, Clone)]
pub(crate) struct NameList(pub(crate) Vec<Name>);

impl FromMeta for NameList {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Self> {
        let mut errors = Error::accumulator();
        let names: Vec<Name> = items
            .iter()
            .filter_map(|item| match item {
                NestedMeta::Lit(syn::Lit::Str(lit)) => errors.handle(name_from_literal(lit)),
                other => {
                    errors.push(
                        Error::custom("expected a string literal such as \"admin\"")
                            .with_span(other),
                    );
                    None
                }
            })
            .collect();
        if items.is_empty() {
            errors.push(Error::custom(
                "the list is empty; name at least one, e.g. `any_role(\"admin\")`",
            ));
        }
        errors.finish_with(Self(names))
    }
}

fn name_from_literal(lit: &LitStr) -> darling::Result<Name> {
    Name::from_string(&lit.value()).map_err(|error| error.with_span(lit))
}

/// `rate = "100/15m"`: at most `max` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    pub(crate) max: u32,
    pub(crate) window_secs: u64,
}

const RATE_SHAPE: &str =
    "write it as \"<count>/<window>\", e.g. \"100/15m\", \"10/s\" or \"5000/1d\"";

impl FromMeta for Rate {
    fn from_string(value: &str) -> darling::Result<Self> {
        let Some((count, window)) = value.split_once('/') else {
            return Err(Error::custom(format!(
                "malformed rate `{value}`: {RATE_SHAPE}"
            )));
        };
        let max: u32 = count.trim().parse().map_err(|_| {
            Error::custom(format!(
                "the count `{count}` in rate `{value}` is not a whole number; {RATE_SHAPE}"
            ))
        })?;
        if max == 0 {
            return Err(Error::custom(format!(
                "rate `{value}` admits no request at all; a count of at least 1 is needed \
                 (to close a route, do not mount it)"
            )));
        }
        let window = window.trim();
        let digits = window.len()
            - window
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let (amount, unit) = window.split_at(digits);
        let amount: u64 = match amount {
            "" => 1,
            digits => digits.parse().map_err(|_| {
                Error::custom(format!(
                    "the window `{window}` in rate `{value}` is too large"
                ))
            })?,
        };
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 60 * 60,
            "d" => 24 * 60 * 60,
            "" => {
                return Err(Error::custom(format!(
                    "the window `{window}` in rate `{value}` has no unit; \
                     add s, m, h or d, e.g. \"{count}/{window}m\""
                )));
            }
            other => {
                return Err(Error::custom(format!(
                    "unknown unit `{other}` in rate `{value}`; use s (seconds), m (minutes), \
                     h (hours) or d (days)"
                )));
            }
        };
        if amount == 0 {
            return Err(Error::custom(format!(
                "the window of rate `{value}` is zero; give it a length, e.g. \"{count}/1{unit}\""
            )));
        }
        let window_secs = amount.checked_mul(unit_secs).ok_or_else(|| {
            Error::custom(format!(
                "the window `{window}` in rate `{value}` is too large"
            ))
        })?;
        Ok(Self { max, window_secs })
    }
}

/// What a rate limit counts by: `rate_key = "ip" | "user" | "global"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateKey {
    Ip,
    User,
    Global,
}

impl FromMeta for RateKey {
    fn from_string(value: &str) -> darling::Result<Self> {
        match value {
            "ip" => Ok(Self::Ip),
            "user" => Ok(Self::User),
            "global" => Ok(Self::Global),
            other => Err(Error::custom(format!(
                "unknown rate key `{other}`; valid keys are `ip` (the client address), \
                 `user` (the token's subject) and `global` (one budget for everyone)"
            ))),
        }
    }
}

/// The reason given with `skip_validation = "..."`; it must say something.
#[derive(Debug, Clone)]
pub(crate) struct Reason;

impl FromMeta for Reason {
    fn from_string(value: &str) -> darling::Result<Self> {
        if value.trim().is_empty() {
            return Err(Error::custom(
                "give the reason this input needs no validation in a few words, \
                 e.g. `skip_validation = \"opaque upload streamed to storage\"`",
            ));
        }
        Ok(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors_of(args: TokenStream) -> Vec<String> {
        match SecureArgs::parse(args) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
        }
    }

    #[test]
    fn parses_every_argument() {
        let args = SecureArgs::parse(quote! {
            any_role("admin", "editor"), scope = "users:write", rate = "100/15m",
            rate_key = "global", validate, crate = "::my_secure"
        })
        .expect("valid arguments");
        assert_eq!(
            args.any_role.map(|roles| roles.into_inner().0.len()),
            Some(2)
        );
        assert_eq!(
            args.rate.map(|rate| *rate),
            Some(Rate {
                max: 100,
                window_secs: 900
            })
        );
        assert_eq!(args.rate_key.map(|key| *key), Some(RateKey::Global));
        assert!(args.validate.is_present());
        assert!(args.krate.is_some());
    }

    #[test]
    fn rate_grammar() {
        let parse = |text: &str| Rate::from_string(text).map_err(|error| error.to_string());
        assert_eq!(
            parse("10/s"),
            Ok(Rate {
                max: 10,
                window_secs: 1
            })
        );
        assert_eq!(
            parse("5000/1d"),
            Ok(Rate {
                max: 5000,
                window_secs: 86_400
            })
        );
        assert_eq!(
            parse(" 7 / 2h "),
            Ok(Rate {
                max: 7,
                window_secs: 7_200
            })
        );
        for (bad, says) in [
            ("100", "malformed rate"),
            ("0/1m", "admits no request"),
            ("ten/1m", "not a whole number"),
            ("10/0m", "is zero"),
            ("10/15x", "unknown unit `x`"),
            ("10/15", "has no unit"),
            ("10/99999999999999999999s", "too large"),
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn all_mistakes_are_reported_in_one_pass() {
        let errors = errors_of(quote! { rol = "admin", rate = "0/1m", rate_key = "ipp" });
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].contains("unknown argument `rol`") && errors[0].contains("`role`"));
        assert!(
            errors
                .iter()
                .any(|error| error.contains("admits no request"))
        );
        assert!(
            errors
                .iter()
                .any(|error| error.contains("unknown rate key `ipp`"))
        );
    }

    #[test]
    fn names_are_checked() {
        let errors = errors_of(quote! { any_role("admin", "bad name", 3) });
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors.iter().any(|error| error.contains("white space")));
        assert!(errors.iter().any(|error| error.contains("string literal")));
        assert!(errors_of(quote! { all_scopes() })[0].contains("list is empty"));
    }

    #[test]
    fn skip_validation_needs_a_reason() {
        assert_eq!(errors_of(quote! { skip_validation = "" }).len(), 1);
        assert!(errors_of(quote! { skip_validation = "raw bytes go to S3" }).is_empty());
    }
}
