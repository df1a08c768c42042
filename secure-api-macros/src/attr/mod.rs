//! Parsing of the arguments of `#[secure(...)]` into [`SecureArgs`], one darling value per
//! argument, each keeping the span of the token it came from.

mod values;

pub(crate) use values::{FailOpenReason, MaxAge, Problems, Reason};

use crate::model::{Rate, RateKey};
use crate::names::{Kind, NameList, OneName, Role, Scope};
use darling::ast::NestedMeta;
use darling::util::{Flag, Override, SpannedValue};
use darling::{Error, FromMeta};
use proc_macro2::{Span, TokenStream};
use syn::Meta;

/// Every argument `#[secure]` accepts, in the order the documentation lists them.
pub(crate) const ARGUMENTS: &[&str] = &[
    "public",
    "api_key",
    "bearer_or_api_key",
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
    "problems",
    "crate",
];

/// The arguments as written, before any rule that relates two of them is checked.
#[derive(Debug, FromMeta)]
pub(crate) struct SecureArgs {
    pub(crate) public: Flag,
    /// API keys only, in `X-API-Key`.
    pub(crate) api_key: Flag,
    /// A bearer token or an API key.
    pub(crate) bearer_or_api_key: Flag,
    pub(crate) role: Option<SpannedValue<OneName<Role>>>,
    pub(crate) any_role: Option<SpannedValue<NameList<Role>>>,
    pub(crate) all_roles: Option<SpannedValue<NameList<Role>>>,
    pub(crate) scope: Option<SpannedValue<OneName<Scope>>>,
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
    /// `problems(404, 409)`: what the handler's own body answers besides success.
    #[darling(default)]
    pub(crate) problems: Problems,
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
                if let Some(error) = misshapen(&name, meta) {
                    errors.push(error);
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

/// The `crate = "..."` argument alone, read leniently for the error fallback, when the
/// arguments as a whole did not parse.
pub(crate) fn crate_path(args: TokenStream) -> Option<syn::Path> {
    let items = NestedMeta::parse_meta_list(args).ok()?;
    items.iter().find_map(|item| match item {
        NestedMeta::Meta(meta) if meta.path().is_ident("crate") => syn::Path::from_meta(meta).ok(),
        _ => None,
    })
}

/// How an argument is written: a flag, `name = "text"`, `name(list)`, or a flag or text.
#[derive(Clone, Copy)]
enum Form {
    Flag,
    Text(&'static str),
    List(&'static str),
    Statuses,
    FlagOrText(&'static str),
}

fn form(name: &str) -> Form {
    match name {
        "role" => Form::Text("role = \"admin\""),
        "scope" => Form::Text("scope = \"reports:read\""),
        "rate" => Form::Text("rate = \"100/15m\""),
        "rate_key" => Form::Text("rate_key = \"ip\""),
        "skip_validation" => Form::Text("skip_validation = \"<why this input is safe>\""),
        "limit_fail_open" => Form::Text("limit_fail_open = \"<why it may run unlimited>\""),
        "crate" => Form::Text("crate = \"::secure_api\""),
        "any_role" => Form::List("any_role(\"admin\", \"editor\")"),
        "all_roles" => Form::List("all_roles(\"admin\", \"editor\")"),
        "any_scope" => Form::List("any_scope(\"reports:read\", \"reports:write\")"),
        "all_scopes" => Form::List("all_scopes(\"reports:read\", \"reports:write\")"),
        "mfa" => Form::FlagOrText("mfa = \"15m\""),
        "problems" => Form::Statuses,
        _ => Form::Flag,
    }
}

/// An argument written in another form than its own (`rate = 100`, `public = true`,
/// `any_role = "admin"`): darling would only name the token type it did not expect.
fn misshapen(name: &str, meta: &Meta) -> Option<Error> {
    let is_text = |value: &syn::Expr| {
        matches!(
            value,
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_),
                ..
            })
        )
    };
    let message = match (form(name), meta) {
        (Form::Flag, Meta::Path(_))
        | (Form::FlagOrText(_), Meta::Path(_))
        | (Form::List(_) | Form::Statuses, Meta::List(_)) => return None,
        (Form::Text(_) | Form::FlagOrText(_), Meta::NameValue(pair)) if is_text(&pair.value) => {
            return None;
        }
        (Form::Flag, _) => format!("`{name}` is a flag and takes no value: write `{name}` alone"),
        (Form::Text(example), _) => {
            format!("`{name}` takes a string literal: write `{example}`")
        }
        (Form::List(example), _) => {
            format!("`{name}` takes a list of string literals: write `{example}`")
        }
        (Form::Statuses, _) => {
            format!("`{name}` takes a list of status codes: write `{name}(404, 409)`")
        }
        (Form::FlagOrText(example), _) => {
            format!("`{name}` is a flag or takes a string literal: write `{name}` or `{example}`")
        }
    };
    let error = Error::custom(message);
    Some(match meta {
        Meta::NameValue(pair) => error.with_span(&pair.value),
        other => error.with_span(other),
    })
}

/// `any_role()` and its kin: a list that names nothing would read as "no requirement".
fn empty_list(name: &str) -> Option<Error> {
    let kind = match name {
        "any_role" | "all_roles" => Kind::Role,
        "any_scope" | "all_scopes" => Kind::Scope,
        "problems" => {
            return Some(Error::custom(
                "`problems()` names no status; list the 4xx and 5xx statuses the handler \
                 answers with itself, e.g. `problems(404, 409)`, or leave the argument out",
            ));
        }
        _ => return None,
    };
    let [first, second] = kind.examples();
    Some(Error::custom(format!(
        "`{name}()` names no {what}; list at least one, e.g. `{name}(\"{first}\", \"{second}\")`",
        what = kind.word()
    )))
}

fn unknown_argument(path: &syn::Path) -> Error {
    let written = quote::quote!(#path).to_string().replace(' ', "");
    let valid = ARGUMENTS
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let suggestion = match crate::names::nearest(&written, ARGUMENTS.iter().copied()) {
        Some(argument) => format!("did you mean `{argument}`? "),
        None => String::new(),
    };
    Error::custom(format!(
        "unknown argument `{written}` in #[secure]; {suggestion}valid arguments are {valid}"
    ))
    .with_span(path)
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
            (
                "99999999999/1m",
                "the count `99999999999` in rate `99999999999/1m` is too large",
            ),
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn rate_windows_and_mfa_ages_share_one_grammar() {
        let args = SecureArgs::parse(quote! { rate = "10/m", mfa = "m" }).expect("both parse");
        let window = args.rate.map(|rate| rate.window_secs);
        let max_age = args.mfa.map(|mfa| match *mfa {
            Override::Explicit(max_age) => Some(max_age.secs),
            Override::Inherit => None,
        });
        assert_eq!((window, max_age), (Some(60), Some(Some(60))));
        for (window, age) in [("15m", "15m"), ("2h", "2h"), ("1d", "d"), ("s", "1s")] {
            let rate = Rate::from_string(&format!("1/{window}")).expect(window);
            let max_age = MaxAge::from_string(age).expect(age);
            assert_eq!(rate.window_secs, max_age.secs, "{window} / {age}");
        }
        for bad in ["15", "15x", "0m", "99999999999999999999s", "", "15 m"] {
            let error = MaxAge::from_string(bad).expect_err(bad).to_string();
            assert!(error.contains("is not a duration"), "{bad}: {error}");
            assert!(Rate::from_string(&format!("1/{bad}")).is_err(), "{bad}");
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
    fn the_fallback_finds_the_crate_among_mistakes() {
        let path = crate_path(quote! { rol = "admin", rate = "1/x", crate = "::my_api::security" });
        assert_eq!(
            path.map(|path| quote::quote!(#path).to_string()),
            Some(":: my_api :: security".to_owned())
        );
        assert!(crate_path(quote! { rol = "admin" }).is_none());
        assert!(crate_path(quote! { crate = }).is_none());
    }

    #[test]
    fn an_argument_in_another_form_says_its_own() {
        for (args, says) in [
            (
                quote! { rate = 100 },
                "`rate` takes a string literal: write `rate = \"100/15m\"`",
            ),
            (
                quote! { public = true },
                "`public` is a flag and takes no value",
            ),
            (quote! { role = admin }, "`role` takes a string literal"),
            (
                quote! { rate_key = ip },
                "`rate_key` takes a string literal",
            ),
            (
                quote! { any_role = "admin" },
                "`any_role` takes a list of string literals",
            ),
            (quote! { validate("x") }, "`validate` is a flag"),
            (
                quote! { mfa = 15 },
                "`mfa` is a flag or takes a string literal",
            ),
        ] {
            let errors = errors_of(args.clone());
            assert_eq!(errors.len(), 1, "{args}: {errors:#?}");
            assert!(errors[0].contains(says), "{args}: {errors:#?}");
        }
        assert!(errors_of(quote! { mfa, rate = "1/s", public, crate = "::x" }).is_empty());
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
