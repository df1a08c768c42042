//! The rules that relate the policy arguments to each other: who may call (credentials,
//! roles, scopes, a second factor) and how often (the rate and what it counts by).

use super::error_at;
use crate::attr::{ArgumentNames, MaxAge, SecureArgs};
use crate::model::{Credentials, Mfa, RateKey, Requirement};
use crate::names::{Kind, NameList, OneName};
use darling::error::Accumulator;
use darling::util::{Override, SpannedValue};
use proc_macro2::Span;

/// Which credentials the handler accepts: none (`public`), a bearer token (the default), an
/// API key (`api_key`), or either (`bearer_or_api_key`) — one of them.
pub(super) fn credentials(args: &SecureArgs, errors: &mut Accumulator) -> Credentials {
    let api_key = args.api_key.is_present().then(|| args.api_key.span());
    let either = args
        .bearer_or_api_key
        .is_present()
        .then(|| args.bearer_or_api_key.span());
    if let (Some(_), Some(span)) = (api_key, either) {
        errors.push(error_at(
            span,
            "`bearer_or_api_key` and `api_key` both say which credentials are accepted; keep \
             `api_key` for API keys only, or `bearer_or_api_key` for either",
        ));
    }
    if args.public.is_present() {
        for (name, span) in [("api_key", api_key), ("bearer_or_api_key", either)] {
            if let Some(span) = span {
                errors.push(error_at(
                    span,
                    format!(
                        "`{name}` requires credentials, but `public` admits callers without \
                         any; remove `public` to require them, or remove `{name}`"
                    ),
                ));
            }
        }
        return Credentials::Public;
    }
    match (api_key, either) {
        (Some(_), None) => Credentials::ApiKey,
        (_, Some(_)) => Credentials::BearerOrApiKey,
        (None, None) => Credentials::Bearer,
    }
}

/// A second factor is shown by a user's token; an API key never has one.
pub(super) fn mfa_needs_tokens(
    args: &SecureArgs,
    credentials: Credentials,
    errors: &mut Accumulator,
) {
    let (Some(mfa), true) = (&args.mfa, credentials.accepts_api_key()) else {
        return;
    };
    errors.push(error_at(
        args.names.span("mfa", mfa.span()),
        "`mfa` requires a second factor, which only a user's token can show: an API key never \
         does; remove `mfa`, or accept bearer tokens only (remove `api_key`/`bearer_or_api_key`)",
    ));
}

/// A role or scope requirement is given by one of its three spellings (`role`, `any_role`,
/// `all_roles`), not by two.
pub(super) fn one_requirement_spelling(
    kind: Kind,
    spellings: [Option<(Requirement, Span)>; 3],
    names: &ArgumentNames,
    errors: &mut Accumulator,
) -> Requirement {
    let what = kind.word();
    let given: Vec<(&str, (Requirement, Span))> = [what, kind.any(), kind.all()]
        .into_iter()
        .zip(spellings)
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .collect();
    if let [(first_name, _), rest @ ..] = given.as_slice()
        && !rest.is_empty()
    {
        let all_names = given
            .iter()
            .flat_map(|(_, (requirement, _))| match requirement {
                Requirement::Nothing => &[][..],
                Requirement::AllOf(names) | Requirement::AnyOf(names) => names.as_slice(),
            })
            .map(|name| format!("{:?}", name.text))
            .collect::<Vec<_>>()
            .join(", ");
        for (name, (_, span)) in rest {
            errors.push(error_at(
                names.span(name, *span),
                format!(
                    "`{name}` and `{first_name}` both set the {what} requirement; combine them \
                     into one: `any_{what}({all_names})` if any one suffices, \
                     `all_{what}s({all_names})` if all are needed"
                ),
            ));
        }
    }
    given
        .into_iter()
        .next()
        .map_or(Requirement::Nothing, |(_, (requirement, _))| requirement)
}

pub(super) fn single<K>(name: &SpannedValue<OneName<K>>) -> (Requirement, Span) {
    (Requirement::AllOf(vec![name.0.clone()]), name.span())
}

pub(super) fn list_of<K>(list: &SpannedValue<NameList<K>>, all: bool) -> (Requirement, Span) {
    let names = list.0.clone();
    let requirement = if all {
        Requirement::AllOf(names)
    } else {
        Requirement::AnyOf(names)
    };
    (requirement, list.span())
}

/// A `public` handler admits callers without a token: no role, scope or second factor.
pub(super) fn public_excludes_requirements(args: &SecureArgs, errors: &mut Accumulator) {
    if !args.public.is_present() {
        return;
    }
    for (name, span) in [
        ("role", args.role.as_ref().map(SpannedValue::span)),
        ("any_role", args.any_role.as_ref().map(SpannedValue::span)),
        ("all_roles", args.all_roles.as_ref().map(SpannedValue::span)),
        ("scope", args.scope.as_ref().map(SpannedValue::span)),
        ("any_scope", args.any_scope.as_ref().map(SpannedValue::span)),
        (
            "all_scopes",
            args.all_scopes.as_ref().map(SpannedValue::span),
        ),
        ("mfa", args.mfa.as_ref().map(SpannedValue::span)),
    ] {
        if let Some(span) = span {
            errors.push(error_at(
                args.names.span(name, span),
                format!(
                    "`{name}` cannot be checked on a `public` handler, which admits callers \
                     without a token; remove `public` to require an authenticated caller, \
                     or remove `{name}`"
                ),
            ));
        }
    }
}

pub(super) fn public_needs_rate(args: &SecureArgs, errors: &mut Accumulator) {
    if args.public.is_present() && args.rate.is_none() {
        errors.push(error_at(
            args.public.span(),
            "a `public` handler must declare its own rate limit, counted per client IP: \
                 add e.g. `rate = \"60/1m\"`",
        ));
    }
}

/// What the rate counts by: as written, or by default the client address (`public`), the
/// key (`api_key`) or the user. A `public` handler has no user, and only a handler that
/// takes API keys has a key to count by.
pub(super) fn rate_key(
    args: &SecureArgs,
    credentials: Credentials,
    errors: &mut Accumulator,
) -> RateKey {
    let Some(key) = &args.rate_key else {
        return match credentials {
            Credentials::Public => RateKey::Ip,
            Credentials::ApiKey => RateKey::Key,
            Credentials::Bearer | Credentials::BearerOrApiKey => RateKey::User,
        };
    };
    match (**key, credentials) {
        (RateKey::User, Credentials::Public) => {
            errors.push(error_at(
                key.span(),
                "a `public` handler has no authenticated user to count by; \
                     use `rate_key = \"ip\"` or `rate_key = \"global\"`",
            ));
            RateKey::Ip
        }
        (RateKey::Key, credentials) if !credentials.accepts_api_key() => {
            errors.push(error_at(
                key.span(),
                "`rate_key = \"key\"` counts per API key, but this handler takes none; add \
                 `api_key` (or `bearer_or_api_key`), or count by `user`, `ip` or `global`",
            ));
            RateKey::User
        }
        (key, _) => key,
    }
}

pub(super) fn rate_key_needs_rate(args: &SecureArgs, errors: &mut Accumulator) {
    if let (Some(key), None) = (&args.rate_key, &args.rate) {
        errors.push(error_at(
            args.names.span("rate_key", key.span()),
            "`rate_key` chooses what `rate` counts by, but no `rate` is given; \
             add one, e.g. `rate = \"100/15m\"`, or remove `rate_key`",
        ));
    }
}

pub(super) fn fail_open_needs_rate(args: &SecureArgs, errors: &mut Accumulator) {
    if let (Some(fail_open), None) = (&args.limit_fail_open, &args.rate) {
        errors.push(error_at(
            args.names.span("limit_fail_open", fail_open.span()),
            "`limit_fail_open` concerns this handler's own rate limit; declare one with \
             `rate = \"...\"` (the default limit always fails closed)",
        ));
    }
}

/// Where `skip_validation` was written, if it was.
pub(super) fn skip_validation(args: &SecureArgs) -> Option<Span> {
    let reason = args.skip_validation.as_ref()?;
    Some(args.names.span("skip_validation", reason.span()))
}

pub(super) fn validate_excludes_skip(args: &SecureArgs, errors: &mut Accumulator) {
    if let (true, Some(span)) = (args.validate.is_present(), skip_validation(args)) {
        errors.push(error_at(
            span,
            "`skip_validation` contradicts `validate`; keep one of them",
        ));
    }
}

pub(super) fn mfa_of(mfa: &Override<MaxAge>) -> Mfa {
    match mfa {
        Override::Inherit => Mfa::Required,
        Override::Explicit(max_age) => Mfa::Within(max_age.secs),
    }
}
