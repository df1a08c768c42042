//! The rules that relate arguments to each other and to the handler's signature. Their
//! outcome is a [`SecureHandler`]: the typed model that `expand` turns into code.

use crate::attr::{ArgumentNames, Name, NameList, Rate, RateKey, SecureArgs};
use darling::Error;
use darling::util::{Override, SpannedValue};
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, Type};

/// A handler whose policy passed every check, ready to be expanded.
pub(crate) struct SecureHandler {
    pub(crate) function: ItemFn,
    pub(crate) policy: Policy,
    /// The extractors to wrap, by position in `function.sig.inputs`.
    pub(crate) wrapped_inputs: Vec<(usize, Wrapper)>,
    pub(crate) krate: syn::Path,
}

/// What the guard enforces, as the runtime's `PolicySpec` will state it.
pub(crate) struct Policy {
    pub(crate) public: bool,
    pub(crate) roles: Requirement,
    pub(crate) scopes: Requirement,
    pub(crate) rate: Option<(Rate, RateKey)>,
    pub(crate) validated: bool,
    /// `Some(None)`: a second factor; `Some(Some(secs))`: one used at most `secs` ago.
    pub(crate) mfa: Option<Option<u64>>,
    pub(crate) limit_fail_open: bool,
}

/// How an input extractor is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrapper {
    /// `Valid<E>`: parsed, then checked by garde.
    Valid,
    /// `Parsed<E>`: parsed only, with failures answered as problems; for inputs whose type
    /// is their whole contract (`Path<u64>`) or that opted out with `skip_validation`.
    Parsed,
}

pub(crate) enum Requirement {
    Nothing,
    AllOf(Vec<RequiredName>),
    AnyOf(Vec<RequiredName>),
}

/// A role or scope name, with the literal it was written as.
pub(crate) struct RequiredName {
    pub(crate) text: String,
    pub(crate) span: Span,
}

impl<K> From<&Name<K>> for RequiredName {
    fn from(name: &Name<K>) -> Self {
        Self {
            text: name.text.clone(),
            span: name.span,
        }
    }
}

/// Checks the arguments against each other and against the function they annotate.
pub(crate) fn check(args: TokenStream, function: &ItemFn) -> darling::Result<SecureHandler> {
    let mut errors = Error::accumulator();
    check_signature(function, &mut errors);
    let Some(args) = errors.handle(SecureArgs::parse(args)) else {
        // Without the arguments nothing else can be judged; report what the signature showed.
        return Err(Error::multiple(errors.into_inner()).flatten());
    };

    let public = args.public.is_present();
    let roles = requirement(
        "role",
        [
            ("role", args.role.as_ref().map(single)),
            (
                "any_role",
                args.any_role.as_ref().map(|list| list_of(list, false)),
            ),
            (
                "all_roles",
                args.all_roles.as_ref().map(|list| list_of(list, true)),
            ),
        ],
        &args.names,
        &mut errors,
    );
    let scopes = requirement(
        "scope",
        [
            ("scope", args.scope.as_ref().map(single)),
            (
                "any_scope",
                args.any_scope.as_ref().map(|list| list_of(list, false)),
            ),
            (
                "all_scopes",
                args.all_scopes.as_ref().map(|list| list_of(list, true)),
            ),
        ],
        &args.names,
        &mut errors,
    );

    if public {
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
        if args.rate.is_none() {
            errors.push(error_at(
                args.public.span(),
                "a `public` handler must declare its own rate limit, counted per client IP: \
                     add e.g. `rate = \"60/1m\"`",
            ));
        }
    }

    let rate_key = match (&args.rate_key, public) {
        (Some(key), true) if **key == RateKey::User => {
            errors.push(error_at(
                key.span(),
                "a `public` handler has no authenticated user to count by; \
                     use `rate_key = \"ip\"` or `rate_key = \"global\"`",
            ));
            RateKey::Ip
        }
        (Some(key), _) => **key,
        (None, true) => RateKey::Ip,
        (None, false) => RateKey::User,
    };
    if let (Some(key), None) = (&args.rate_key, &args.rate) {
        errors.push(error_at(
            args.names.span("rate_key", key.span()),
            "`rate_key` chooses what `rate` counts by, but no `rate` is given; \
             add one, e.g. `rate = \"100/15m\"`, or remove `rate_key`",
        ));
    }

    if let (Some(fail_open), None) = (&args.limit_fail_open, &args.rate) {
        errors.push(error_at(
            args.names.span("limit_fail_open", fail_open.span()),
            "`limit_fail_open` concerns this handler's own rate limit; declare one with \
             `rate = \"...\"` (the default limit always fails closed)",
        ));
    }

    let validate = args.validate.is_present();
    let skip_validation = args
        .skip_validation
        .as_ref()
        .map(|reason| args.names.span("skip_validation", reason.span()));
    if let (true, Some(span)) = (validate, skip_validation) {
        errors.push(error_at(
            span,
            "`skip_validation` contradicts `validate`; keep one of them",
        ));
    }
    let inputs = client_inputs(function);
    let validatable = inputs.iter().filter(|input| input.validatable).count();
    if !validate && skip_validation.is_none() {
        for input in inputs.iter().filter(|input| input.validatable) {
            errors.push(unvalidated_input(input.ty, input.payload));
        }
    }
    if validatable == 0 {
        if validate {
            errors.push(error_at(
                args.validate.span(),
                "`validate` found no `Json`, `Query`, `Form` or struct-typed `Path` input to \
                 check; remove it",
            ));
        }
        if let Some(span) = skip_validation {
            errors.push(error_at(
                span,
                "`skip_validation` has nothing to skip: this handler takes no `Json`, `Query`, \
                 `Form` or struct-typed `Path` input; remove it",
            ));
        }
    }
    let wrapped_inputs = inputs
        .iter()
        .map(|input| {
            let wrapper = match input.validatable && validate {
                true => Wrapper::Valid,
                false => Wrapper::Parsed,
            };
            (input.position, wrapper)
        })
        .collect();

    let handler = SecureHandler {
        function: function.clone(),
        policy: Policy {
            public,
            roles,
            scopes,
            rate: args.rate.as_ref().map(|rate| (**rate, rate_key)),
            validated: validate,
            limit_fail_open: args.limit_fail_open.is_some(),
            mfa: args.mfa.as_ref().map(|mfa| match **mfa {
                Override::Inherit => None,
                Override::Explicit(max_age) => Some(max_age.secs),
            }),
        },
        wrapped_inputs,
        krate: args
            .krate
            .unwrap_or_else(|| syn::parse_quote!(::secure_api)),
    };
    errors.finish_with(handler)
}

fn check_signature(function: &ItemFn, errors: &mut darling::error::Accumulator) {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(
            Error::custom("#[secure] handlers must be `async fn`: write `async fn` here")
                .with_span(&sig.fn_token),
        );
    }
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

/// A role or scope requirement, from whichever of its three spellings was used.
fn requirement<const N: usize>(
    what: &str,
    spellings: [(&str, Option<(Requirement, Span)>); N],
    names: &ArgumentNames,
    errors: &mut darling::error::Accumulator,
) -> Requirement {
    let given: Vec<(&str, (Requirement, Span))> = spellings
        .into_iter()
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

fn single<K>(name: &SpannedValue<Name<K>>) -> (Requirement, Span) {
    (
        Requirement::AllOf(vec![RequiredName::from(&**name)]),
        name.span(),
    )
}

fn list_of<K>(list: &SpannedValue<NameList<K>>, all: bool) -> (Requirement, Span) {
    let names = list.0.iter().map(RequiredName::from).collect();
    let requirement = if all {
        Requirement::AllOf(names)
    } else {
        Requirement::AnyOf(names)
    };
    (requirement, list.span())
}

/// An argument that carries client data into the handler.
struct ClientInput<'a> {
    position: usize,
    ty: &'a Type,
    payload: &'a Type,
    /// garde can check it: every `Json`, `Query` and `Form`, and a `Path` whose type is a
    /// struct (a `Path<u64>` is checked by its parse alone).
    validatable: bool,
}

fn client_inputs(function: &ItemFn) -> Vec<ClientInput<'_>> {
    function
        .sig
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(position, input)| match input {
            FnArg::Typed(typed) => {
                let (extractor, payload) = extractor_of(&typed.ty)?;
                let validatable = match extractor.as_str() {
                    "Json" | "Query" | "Form" => true,
                    "Path" => !is_scalar(payload),
                    _ => return None,
                };
                Some(ClientInput {
                    position,
                    ty: &typed.ty,
                    payload,
                    validatable,
                })
            }
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// `Json<T>` (or `axum::Json<T>`) → ("Json", T).
pub(crate) fn extractor_of(ty: &Type) -> Option<(String, &Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let inner = arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    })?;
    Some((last.ident.to_string(), inner))
}

fn is_scalar(ty: &Type) -> bool {
    const SCALARS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "bool", "char", "f32", "f64", "String", "Uuid",
    ];
    match ty {
        Type::Tuple(tuple) => tuple.elems.iter().all(is_scalar),
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| SCALARS.iter().any(|scalar| last.ident == scalar)),
        Type::Paren(inner) => is_scalar(&inner.elem),
        _ => false,
    }
}

fn unvalidated_input(ty: &Type, inner: &Type) -> Error {
    let ty_text = quote::quote!(#ty).to_string().replace(' ', "");
    let inner_text = quote::quote!(#inner).to_string().replace(' ', "");
    error_at(
        extractor_name(ty),
        format!(
            "`{ty_text}` would reach the handler unvalidated; add `validate` to #[secure(...)] \
             (with `#[derive(garde::Validate)]` on `{inner_text}`), or opt out with \
             `skip_validation = \"<why this input is safe>\"`"
        ),
    )
}

/// `Json` in `axum::Json<T>`: one token, the one that names what the input is.
fn extractor_name(ty: &Type) -> Span {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(|| ty.span(), |last| last.ident.span()),
        _ => ty.span(),
    }
}

fn error_at(span: Span, message: impl std::fmt::Display) -> Error {
    syn::Error::new(span, message).into()
}
