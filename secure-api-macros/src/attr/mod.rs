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
mod tests;
