//! Parsing of the arguments of `#[secure(...)]` into [`SecureArgs`], one darling value per
//! argument, each keeping the span of the token it came from.

use darling::ast::NestedMeta;
use darling::util::{Flag, Override, SpannedValue};
use darling::{Error, FromMeta};
use proc_macro2::{Span, TokenStream};
use std::marker::PhantomData;
use syn::{LitStr, Meta};

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
    "mfa",
    "limit_fail_open",
    "crate",
];

/// The arguments as written, before any rule that relates two of them is checked.
#[derive(Debug, FromMeta)]
pub(crate) struct SecureArgs {
    pub(crate) public: Flag,
    pub(crate) role: Option<SpannedValue<Name<Role>>>,
    pub(crate) any_role: Option<SpannedValue<NameList<Role>>>,
    pub(crate) all_roles: Option<SpannedValue<NameList<Role>>>,
    pub(crate) scope: Option<SpannedValue<Name<Scope>>>,
    pub(crate) any_scope: Option<SpannedValue<NameList<Scope>>>,
    pub(crate) all_scopes: Option<SpannedValue<NameList<Scope>>>,
    pub(crate) rate: Option<SpannedValue<Rate>>,
    pub(crate) rate_key: Option<SpannedValue<RateKey>>,
    pub(crate) validate: Flag,
    pub(crate) skip_validation: Option<SpannedValue<Reason>>,
    /// `mfa` (a second factor) or `mfa = "15m"` (one used at most that long ago).
    pub(crate) mfa: Option<SpannedValue<Override<MaxAge>>>,
    /// `limit_fail_open = "why"`: the handler's rate limit is skipped while its store is down.
    pub(crate) limit_fail_open: Option<SpannedValue<FailOpenReason>>,
    #[darling(rename = "crate")]
    pub(crate) krate: Option<syn::Path>,
    /// Where each argument's name was written, for errors about the argument as a whole.
    #[darling(skip)]
    pub(crate) names: ArgumentNames,
}

/// The span of each argument's name (`role` in `role = "admin"`), in the order written.
#[derive(Debug, Default)]
pub(crate) struct ArgumentNames(Vec<(String, Span)>);

impl ArgumentNames {
    /// The span of `name` as written, or `fallback` if it was not (which the callers rule out).
    pub(crate) fn span(&self, name: &str, fallback: Span) -> Span {
        self.0
            .iter()
            .find_map(|(written, span)| (written == name).then_some(*span))
            .unwrap_or(fallback)
    }
}

impl SecureArgs {
    /// Parses the attribute's arguments, reporting every mistake at once.
    pub(crate) fn parse(args: TokenStream) -> darling::Result<Self> {
        let items = NestedMeta::parse_meta_list(args)?;
        let mut errors = Error::accumulator();
        let mut names = ArgumentNames::default();
        // Items with a mistake that darling would word less precisely are reported here and
        // dropped, so that darling does not report them a second time.
        let known: Vec<NestedMeta> = items
            .into_iter()
            .filter(|item| {
                let meta = match item {
                    NestedMeta::Meta(meta) => meta,
                    NestedMeta::Lit(lit) => {
                        errors.push(
                            Error::custom(
                                "expected an argument such as `role = \"admin\"`, \
                                 `rate = \"100/15m\"` or `validate`, not a bare literal",
                            )
                            .with_span(lit),
                        );
                        return false;
                    }
                };
                let Some(ident) = meta
                    .path()
                    .get_ident()
                    .filter(|ident| ARGUMENTS.iter().any(|known| *ident == known))
                else {
                    // darling's message only suggests a near miss; ours lists every argument.
                    errors.push(unknown_argument(meta.path()));
                    return false;
                };
                let name = ident.to_string();
                if names.0.iter().any(|(seen, _)| *seen == name) {
                    errors.push(
                        Error::custom(format!("`{name}` is given twice; keep one of them"))
                            .with_span(ident),
                    );
                    return false;
                }
                names.0.push((name.clone(), ident.span()));
                if let Meta::List(list) = meta
                    && list.tokens.is_empty()
                    && let Some(error) = empty_list(&name)
                {
                    errors.push(error.with_span(ident));
                    return false;
                }
                true
            })
            .collect();
        let parsed = Self::from_list(&known);
        let mut errors = errors.into_inner();
        match parsed {
            Ok(parsed) if errors.is_empty() => Ok(Self { names, ..parsed }),
            Ok(_) => Err(Error::multiple(errors).flatten()),
            Err(error) => {
                errors.push(error);
                Err(Error::multiple(errors).flatten())
            }
        }
    }
}

/// `any_role()` and its kin: a list that names nothing would read as "no requirement".
fn empty_list(name: &str) -> Option<Error> {
    let example = match name {
        "any_role" | "all_roles" => Role::EXAMPLES,
        "any_scope" | "all_scopes" => Scope::EXAMPLES,
        _ => return None,
    };
    let what = if name.contains("role") {
        "role"
    } else {
        "scope"
    };
    Some(Error::custom(format!(
        "`{name}()` names no {what}; list at least one, e.g. `{name}(\"{}\", \"{}\")`",
        example[0], example[1]
    )))
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

/// Whether a [`Name`] is a role or a scope, for messages that use the right words.
pub(crate) trait Kind {
    /// `role` or `scope`, as in `role = "admin"`.
    const WHAT: &'static str;
    /// The argument naming several names of which one suffices.
    const ANY: &'static str;
    /// The argument naming several names that are all required.
    const ALL: &'static str;
    /// Two names of this kind, for examples.
    const EXAMPLES: [&'static str; 2];
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Role;

impl Kind for Role {
    const WHAT: &'static str = "role";
    const ANY: &'static str = "any_role";
    const ALL: &'static str = "all_roles";
    const EXAMPLES: [&'static str; 2] = ["admin", "editor"];
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope;

impl Kind for Scope {
    const WHAT: &'static str = "scope";
    const ANY: &'static str = "any_scope";
    const ALL: &'static str = "all_scopes";
    const EXAMPLES: [&'static str; 2] = ["reports:read", "reports:write"];
}

/// A role or scope name: non-empty and free of white space, because scopes travel as one
/// space-delimited claim and a name with a space in it could never match.
#[derive(Debug, Clone)]
pub(crate) struct Name<K> {
    pub(crate) text: String,
    /// The string literal it was written as, where an undeclared name is reported.
    pub(crate) span: Span,
    kind: PhantomData<K>,
}

impl<K: Kind> FromMeta for Name<K> {
    fn from_value(value: &syn::Lit) -> darling::Result<Self> {
        match value {
            syn::Lit::Str(lit) => name_from_literal(lit),
            other => Err(Error::unexpected_lit_type(other).with_span(other)),
        }
    }

    fn from_string(value: &str) -> darling::Result<Self> {
        let what = K::WHAT;
        if value.trim().is_empty() {
            return Err(Error::custom(format!(
                "a {what} name cannot be empty; write the {what} the caller must hold, \
                 e.g. `{what} = \"{}\"`",
                K::EXAMPLES[0]
            )));
        }
        if value.chars().any(char::is_whitespace) {
            let words: Vec<String> = value
                .split_whitespace()
                .map(|word| format!("\"{word}\""))
                .collect();
            let instead = match words.as_slice() {
                [word] => format!("write it without the white space: {word}"),
                words => {
                    let words = words.join(", ");
                    format!(
                        "give each {what} as its own string: `{}({words})` for any one of them, \
                         `{}({words})` for all of them",
                        K::ANY,
                        K::ALL
                    )
                }
            };
            return Err(Error::custom(format!(
                "`{value}` contains white space, which no {what} name can match; {instead}"
            )));
        }
        Ok(Self {
            text: value.to_owned(),
            span: Span::call_site(),
            kind: PhantomData,
        })
    }
}

/// A list of names written `any_role("admin", "editor")`.
#[derive(Debug, Clone)]
pub(crate) struct NameList<K>(pub(crate) Vec<Name<K>>);

impl<K: Kind> FromMeta for NameList<K> {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Self> {
        let mut errors = Error::accumulator();
        let names: Vec<Name<K>> = items
            .iter()
            .filter_map(|item| match item {
                NestedMeta::Lit(syn::Lit::Str(lit)) => errors.handle(name_from_literal(lit)),
                NestedMeta::Meta(Meta::Path(path)) => {
                    let written = quote::quote!(#path).to_string().replace(' ', "");
                    errors.push(
                        Error::custom(format!(
                            "{what} names are string literals: write `\"{written}\"`",
                            what = K::WHAT
                        ))
                        .with_span(path),
                    );
                    None
                }
                other => {
                    errors.push(
                        Error::custom(format!(
                            "expected a {what} name as a string literal, e.g. \"{example}\"",
                            what = K::WHAT,
                            example = K::EXAMPLES[0]
                        ))
                        .with_span(other),
                    );
                    None
                }
            })
            .collect();
        if items.is_empty() {
            // `parse` reports `any_role()` with its name; this covers any other way in.
            errors.push(Error::custom(format!(
                "the list names no {what}; list at least one, e.g. `(\"{example}\")`",
                what = K::WHAT,
                example = K::EXAMPLES[0]
            )));
        }
        errors.finish_with(Self(names))
    }
}

fn name_from_literal<K: Kind>(lit: &LitStr) -> darling::Result<Name<K>> {
    Name::from_string(&lit.value())
        .map(|name| Name {
            span: lit.span(),
            ..name
        })
        .map_err(|error| error.with_span(lit))
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
        let unit_secs = match unit_secs(unit) {
            Some(secs) => secs,
            None if unit.is_empty() => {
                return Err(Error::custom(format!(
                    "the window `{window}` in rate `{value}` has no unit; \
                     add s, m, h or d, e.g. \"{count}/{window}m\""
                )));
            }
            None => {
                return Err(Error::custom(format!(
                    "unknown unit `{unit}` in rate `{value}`; use s (seconds), m (minutes), \
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

fn unit_secs(unit: &str) -> Option<u64> {
    match unit {
        "s" => Some(1),
        "m" => Some(60),
        "h" => Some(60 * 60),
        "d" => Some(24 * 60 * 60),
        _ => None,
    }
}

/// The reason given with `limit_fail_open = "..."`; it must say something.
#[derive(Debug, Clone)]
pub(crate) struct FailOpenReason;

impl FromMeta for FailOpenReason {
    fn from_string(value: &str) -> darling::Result<Self> {
        if value.trim().is_empty() {
            return Err(Error::custom(
                "say why this handler may run unlimited while the rate-limit store is down, \
                 e.g. `limit_fail_open = \"health checks must answer during a Redis outage\"`",
            ));
        }
        Ok(Self)
    }
}

/// `mfa = "15m"`: how long ago the second factor may have been used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaxAge {
    pub(crate) secs: u64,
}

impl FromMeta for MaxAge {
    fn from_string(value: &str) -> darling::Result<Self> {
        let text = value.trim();
        let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (amount, unit) = text.split_at(digits);
        let secs = amount
            .parse::<u64>()
            .ok()
            .zip(unit_secs(unit))
            .and_then(|(amount, unit)| amount.checked_mul(unit))
            .filter(|secs| *secs > 0);
        match secs {
            Some(secs) => Ok(Self { secs }),
            None => Err(Error::custom(format!(
                "`{value}` is not a duration; write the longest time since the second factor \
                 was used as a number and a unit (s, m, h or d), e.g. `mfa = \"15m\"`, or just \
                 `mfa` for no limit"
            ))),
        }
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
        assert!(errors_of(quote! { all_scopes() })[0].contains("`all_scopes()` names no scope"));
        let errors = errors_of(quote! { scope = "reports:read reports:write" });
        assert!(
            errors[0].contains(r#"`any_scope("reports:read", "reports:write")`"#),
            "{errors:#?}"
        );
        let errors = errors_of(quote! { any_role(admin) });
        assert!(errors[0].contains(r#"write `"admin"`"#), "{errors:#?}");
    }

    #[test]
    fn a_repeated_argument_is_one_error() {
        let errors = errors_of(quote! { rate = "1/s", rate = "2/s" });
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("`rate` is given twice"), "{errors:#?}");
    }

    #[test]
    fn skip_validation_needs_a_reason() {
        assert_eq!(errors_of(quote! { skip_validation = "" }).len(), 1);
        assert!(errors_of(quote! { skip_validation = "raw bytes go to S3" }).is_empty());
    }
}
