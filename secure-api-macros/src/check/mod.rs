//! The rules that relate the arguments to each other and to the handler's signature, one
//! function per rule, all run in one pass so that every mistake is reported at once. Their
//! outcome is the [`SecureHandler`] that `expand` turns into code; the client inputs are
//! classified here, once. The rules among the policy arguments are in `policy.rs`, those on
//! the signature and its inputs here.

mod policy;

use crate::attr::SecureArgs;
use crate::inputs::{self, Argument, Mode, Shape};
use crate::item::{self, Function};
use crate::model::{self, InputCheck, Policy, SecureHandler, Treatment};
use crate::names::Kind;
use darling::Error;
use darling::error::Accumulator;
use proc_macro2::Span;
use quote::ToTokens;
use syn::Signature;

/// Checks the arguments (as parsed, or the errors parsing them gave) against each other and
/// against the function they annotate.
pub(crate) fn check(
    function: &Function,
    args: darling::Result<SecureArgs>,
) -> darling::Result<SecureHandler> {
    let mut errors = Error::accumulator();
    handler_is_async(&function.sig, &mut errors);
    handler_takes_no_self(&function.sig, &mut errors);
    one_secure_attribute(function, &mut errors);
    let Some(args) = errors.handle(args) else {
        // Without the arguments nothing else can be judged; report what the signature showed.
        return Err(Error::multiple(errors.into_inner()).flatten());
    };

    let credentials = policy::credentials(&args, &mut errors);
    let roles = policy::one_requirement_spelling(
        Kind::Role,
        [
            args.role.as_ref().map(policy::single),
            args.any_role
                .as_ref()
                .map(|list| policy::list_of(list, false)),
            args.all_roles
                .as_ref()
                .map(|list| policy::list_of(list, true)),
        ],
        &args.names,
        &mut errors,
    );
    let scopes = policy::one_requirement_spelling(
        Kind::Scope,
        [
            args.scope.as_ref().map(policy::single),
            args.any_scope
                .as_ref()
                .map(|list| policy::list_of(list, false)),
            args.all_scopes
                .as_ref()
                .map(|list| policy::list_of(list, true)),
        ],
        &args.names,
        &mut errors,
    );
    policy::public_excludes_requirements(&args, &mut errors);
    policy::public_needs_rate(&args, &mut errors);
    policy::mfa_needs_tokens(&args, credentials, &mut errors);
    let rate_key = policy::rate_key(&args, credentials, &mut errors);
    policy::rate_key_needs_rate(&args, &mut errors);
    policy::fail_open_needs_rate(&args, &mut errors);
    policy::validate_excludes_skip(&args, &mut errors);
    let arguments = inputs::arguments(&function.sig);
    inputs_fit_axum(&arguments, &mut errors);
    inputs_are_named(&arguments, &mut errors);
    body_is_read_last(&arguments, &mut errors);
    validation_has_inputs(&args, &arguments, &mut errors);

    let mode = match (args.validate.is_present(), &args.skip_validation) {
        (true, _) => Mode::Validate,
        (false, Some(_)) => Mode::Skip,
        (false, None) => Mode::AsTyped,
    };
    let inputs: Vec<_> = arguments
        .iter()
        .map(|argument| inputs::treat(argument, mode, &function.sig.generics))
        .collect();
    let input_check = match &args.skip_validation {
        Some(reason) if mode == Mode::Skip => InputCheck::Skipped(reason.0.clone()),
        _ if inputs
            .iter()
            .any(|input| matches!(input.treatment, Treatment::Validated { .. })) =>
        {
            InputCheck::Validated
        }
        _ => InputCheck::AsTyped,
    };
    let handler = SecureHandler {
        function: function.clone(),
        policy: Policy {
            credentials,
            roles,
            scopes,
            rate: args.rate.as_ref().map(|rate| (**rate, rate_key)),
            inputs: input_check,
            mfa: args.mfa.as_ref().map(|mfa| policy::mfa_of(mfa)),
            limit_fail_open: args.limit_fail_open.is_some(),
            problems: args.problems.0.clone(),
        },
        inputs,
        answer: inputs::answer(&function.sig),
        krate: model::runtime(args.krate),
    };
    errors.finish_with(handler)
}

fn handler_is_async(sig: &Signature, errors: &mut Accumulator) {
    if sig.asyncness.is_none() {
        errors.push(
            Error::custom("#[secure] handlers must be `async fn`: write `async fn` here")
                .with_span(&sig.fn_token),
        );
    }
}

fn handler_takes_no_self(sig: &Signature, errors: &mut Accumulator) {
    if let Some(receiver) = sig.receiver() {
        errors.push(
            Error::custom(
                "#[secure] applies to free functions; axum handlers take no `self`. \
                 Move the handler out of the `impl` block",
            )
            .with_span(&receiver.self_token),
        );
    }
}

/// One attribute states the whole policy: a second `#[secure]` would wrap the handler in a
/// second guard with a policy of its own.
fn one_secure_attribute(function: &Function, errors: &mut Accumulator) {
    for attr in function.attrs.iter().filter(|attr| item::is_secure(attr)) {
        let message = format!(
            "`#[secure]` is given twice on `{}`; one attribute states the whole policy: \
             merge these arguments into the first and remove this one",
            function.sig.ident
        );
        // Spanned from the path to the closing parenthesis, not on the `#` alone.
        errors.push(syn::Error::new_spanned(&attr.meta, message).into());
    }
}

/// axum calls handlers of at most 16 arguments, and the guard is one of them.
fn inputs_fit_axum(arguments: &[Argument<'_>], errors: &mut Accumulator) {
    use inputs::AXUM_MAX_ARGUMENTS;
    if let Some(first_extra) = inputs::first_beyond_axum(arguments) {
        errors.push(error_spanned(
            first_extra.ty,
            format!(
                "this handler takes {} arguments, and #[secure] adds its guard: axum calls \
                 handlers of at most {AXUM_MAX_ARGUMENTS} arguments, so a #[secure] handler takes \
                 at most {}; group some of them into one extractor (a struct that implements \
                 `FromRequestParts`, or one `State`)",
                arguments.len(),
                AXUM_MAX_ARGUMENTS - 1
            ),
        ));
    }
}

/// Each input's type is checked, so it must have a name.
fn inputs_are_named(arguments: &[Argument<'_>], errors: &mut Accumulator) {
    for argument in arguments
        .iter()
        .filter(|argument| inputs::is_impl_trait(argument.ty))
    {
        errors.push(error_spanned(
            argument.ty,
            "#[secure] checks the type of every input, so it must be named: write the \
             extractor's type instead of `impl Trait`",
        ));
    }
}

/// Only the last argument can read the request body (what axum's `debug_handler` says).
fn body_is_read_last(arguments: &[Argument<'_>], errors: &mut Accumulator) {
    let Some(last) = arguments.last() else {
        return;
    };
    for argument in inputs::body_read_early(arguments) {
        errors.push(error_spanned(
            argument.ty,
            format!(
                "`{}` reads the request body, so it must be the handler's last argument; \
                 move it after `{}`",
                text_of(argument.ty),
                text_of(last.ty)
            ),
        ));
    }
}

/// `validate` and `skip_validation` need an input to act on: said when every argument is
/// one known to carry no payload (an argument the macro does not know is judged by its
/// type, and `validate` may be what it needs).
fn validation_has_inputs(args: &SecureArgs, arguments: &[Argument<'_>], errors: &mut Accumulator) {
    let nothing_to_check = arguments
        .iter()
        .all(|argument| matches!(argument.shape, Shape::PayloadFree | Shape::ScalarPath));
    if !nothing_to_check {
        return;
    }
    if args.validate.is_present() {
        errors.push(error_at(
            args.validate.span(),
            "`validate` has nothing to check: this handler takes no `Json`, `Query`, `Form` or \
             struct-typed `Path` input, and the ones it takes carry no client payload \
             (or a scalar path); remove it",
        ));
    }
    if let Some(span) = policy::skip_validation(args) {
        errors.push(error_at(
            span,
            "`skip_validation` has nothing to skip: the inputs this handler takes carry no \
             client payload (or a scalar path); remove it",
        ));
    }
}

/// `axum::Json<NewUser>` as the user wrote it, without the spaces tokens print with.
fn text_of(ty: &syn::Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (spaced, tight) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// An error on every token of `tokens`, not on the first one alone.
fn error_spanned(tokens: impl ToTokens, message: impl std::fmt::Display) -> Error {
    syn::Error::new_spanned(tokens, message).into()
}

pub(super) fn error_at(span: Span, message: impl std::fmt::Display) -> Error {
    syn::Error::new(span, message).into()
}
