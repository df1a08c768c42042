//! The handler's arguments as the macro can see them: what each one looks like (the
//! extractor it is spelled with), and so what the expansion does with it.
//!
//! The shape decides only the *wrapping*: `Json<T>` spelled out can be wrapped in `Valid`.
//! Whether an argument may reach the handler is decided by its *type*, through the runtime's
//! `SecureInput` bound that the expansion states for every argument it does not wrap, so an
//! alias, a renamed import or a wrapper of `Json` cannot slip through.

use crate::model::{Admission, Input, Treatment};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Generics, PathArguments, ReturnType, Signature, Type};

/// How the handler's inputs are checked: what `validate` / `skip_validation` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Neither: every input must be admissible as it is.
    AsTyped,
    /// `validate`: every client input is validated.
    Validate,
    /// `skip_validation = "why"`: inputs are taken as they are.
    Skip,
}

/// One argument of the handler as written.
pub(crate) struct Argument<'a> {
    pub(crate) position: usize,
    pub(crate) ty: &'a Type,
    pub(crate) shape: Shape<'a>,
}

/// What an argument looks like, by the extractor it is spelled with.
pub(crate) enum Shape<'a> {
    /// `Json<T>`, `Query<T>`, `Form<T>`, or `Option<Json<T>>`: a payload garde can check.
    Payload(&'a Type),
    /// `Path<T>` with `T` spelled as a scalar (`u64`, `(String, u32)`, …).
    ScalarPath,
    /// `Path<T>` with any other `T`.
    StructPath(&'a Type),
    /// An extractor known to carry no client payload (`State`, `AuthUser`, …).
    PayloadFree,
    /// Anything else: its type decides.
    Other,
}

/// The typed arguments of `sig`, in order.
pub(crate) fn arguments(sig: &Signature) -> Vec<Argument<'_>> {
    sig.inputs
        .iter()
        .enumerate()
        .filter_map(|(position, input)| match input {
            FnArg::Typed(typed) => Some(Argument {
                position,
                ty: &typed.ty,
                shape: shape_of(&typed.ty),
            }),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

fn shape_of(ty: &Type) -> Shape<'_> {
    const PAYLOAD_FREE: &[&str] = &[
        "State",
        "Extension",
        "ConnectInfo",
        "Method",
        "Version",
        "MatchedPath",
        "NestedPath",
        "AuthUser",
        "ClientIp",
        "Claims",
    ];
    let Some((name, inner)) = extractor_of(ty) else {
        return Shape::Other;
    };
    match (name.as_str(), inner) {
        ("Json" | "Query" | "Form", Some(payload)) => Shape::Payload(payload),
        ("Option", Some(inner)) => match extractor_of(inner) {
            Some((name, Some(payload))) if name == "Json" => Shape::Payload(payload),
            Some((name, _)) if PAYLOAD_FREE.contains(&name.as_str()) => Shape::PayloadFree,
            _ => Shape::Other,
        },
        ("Path", Some(payload)) if is_scalar(payload) => Shape::ScalarPath,
        ("Path", Some(payload)) => Shape::StructPath(payload),
        (name, _) if PAYLOAD_FREE.contains(&name) => Shape::PayloadFree,
        _ => Shape::Other,
    }
}

/// What the expansion does with `argument` under `mode`.
pub(crate) fn treat(argument: &Argument<'_>, mode: Mode, generics: &Generics) -> Input {
    let checked = |ty: &Type| match mode {
        Mode::Skip => Admission::Unchecked,
        _ if mentions_generics(ty, generics) => Admission::Generic,
        _ => Admission::Const,
    };
    let validated = |payload: &Type| Treatment::Validated {
        // A payload that names the handler's generics is proven where the handler is
        // instantiated, by the router's bound on `Valid`.
        proof: (!mentions_generics(payload, generics)).then(|| Box::new(payload.clone())),
        span: payload.span(),
    };
    let (treatment, admission) = match (&argument.shape, mode) {
        (Shape::Payload(payload) | Shape::StructPath(payload), Mode::Validate) => {
            (validated(payload), Admission::Unchecked)
        }
        (Shape::Payload(_) | Shape::StructPath(_) | Shape::ScalarPath, Mode::Skip) => {
            (Treatment::Parsed, Admission::Unchecked)
        }
        (Shape::ScalarPath | Shape::StructPath(_), _) => (Treatment::Parsed, checked(argument.ty)),
        _ => (Treatment::AsWritten, checked(argument.ty)),
    };
    Input {
        position: argument.position,
        ty: argument.ty.clone(),
        treatment,
        admission,
        generic: mentions_generics(argument.ty, generics),
    }
}

/// Whether `ty` reads the request body, so that it must be the last argument.
fn reads_body(ty: &Type) -> bool {
    const BODY: &[&str] = &[
        "Json",
        "Form",
        "Bytes",
        "String",
        "Body",
        "Request",
        "Multipart",
        "RawForm",
    ];
    const WRAPPERS: &[&str] = &["Valid", "Parsed", "Option", "Result"];
    match extractor_of(ty) {
        Some((name, _)) if BODY.contains(&name.as_str()) => true,
        Some((name, Some(inner))) if WRAPPERS.contains(&name.as_str()) => reads_body(inner),
        _ => false,
    }
}

/// `Json<T>` (or `axum::Json<T>`) → ("Json", Some(T)); `Method` → ("Method", None).
fn extractor_of(ty: &Type) -> Option<(String, Option<&Type>)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let inner = match &last.arguments {
        PathArguments::AngleBracketed(arguments) => {
            arguments.args.iter().find_map(|argument| match argument {
                GenericArgument::Type(inner) => Some(inner),
                _ => None,
            })
        }
        _ => None,
    };
    Some((last.ident.to_string(), inner))
}

fn is_scalar(ty: &Type) -> bool {
    const SCALARS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "bool", "char", "f32", "f64", "String",
    ];
    match ty {
        Type::Tuple(tuple) => tuple.elems.iter().all(is_scalar),
        Type::Path(path) => path
            .path
            .get_ident()
            .is_some_and(|ident| SCALARS.iter().any(|scalar| ident == scalar)),
        Type::Paren(inner) => is_scalar(&inner.elem),
        _ => false,
    }
}

/// Whether the signature can be a handler once the guard is added: axum calls handlers of
/// at most 16 arguments, and only the last may read the body. (A signature that cannot is
/// an error of `check`; the fallback then emits a stand-in that can be mounted.)
pub(crate) fn mountable(arguments: &[Argument<'_>]) -> bool {
    first_beyond_axum(arguments).is_none() && body_read_early(arguments).next().is_none()
}

/// How many arguments axum's `Handler` is implemented for.
pub(crate) const AXUM_MAX_ARGUMENTS: usize = 16;

/// The first argument axum cannot take once the guard is put first.
pub(crate) fn first_beyond_axum<'a>(arguments: &'a [Argument<'a>]) -> Option<&'a Argument<'a>> {
    arguments.get(AXUM_MAX_ARGUMENTS - 1)
}

/// The arguments that read the request body but are not the last one.
pub(crate) fn body_read_early<'a>(
    arguments: &'a [Argument<'a>],
) -> impl Iterator<Item = &'a Argument<'a>> {
    let others = arguments.split_last().map_or(&[][..], |(_, others)| others);
    others.iter().filter(|argument| reads_body(argument.ty))
}

/// `impl Trait` in argument position: a type no check can name.
pub(crate) fn is_impl_trait(ty: &Type) -> bool {
    matches!(ty, Type::ImplTrait(_))
}

/// The return type as the policy can probe it to describe the answer: not one with
/// `impl Trait` in it (no one can name it) or the handler's generics (the policy has none).
pub(crate) fn answer(sig: &Signature) -> Option<Type> {
    let ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    let named = !names_any(ty, |ident| ident == "impl") && !mentions_generics(ty, &sig.generics);
    named.then(|| (**ty).clone())
}

/// Whether `ty` names one of the handler's type or const parameters: such a type is judged
/// from the handler's bounds.
fn mentions_generics(ty: &Type, generics: &Generics) -> bool {
    let params: Vec<&syn::Ident> = generics
        .type_params()
        .map(|param| &param.ident)
        .chain(generics.const_params().map(|param| &param.ident))
        .collect();
    names_any(ty, |ident| params.contains(&ident))
}

/// Whether any identifier (or keyword) written in `ty`, at any depth, is `wanted`.
fn names_any(ty: &Type, wanted: impl Fn(&proc_macro2::Ident) -> bool) -> bool {
    fn walk(
        tokens: proc_macro2::TokenStream,
        wanted: &dyn Fn(&proc_macro2::Ident) -> bool,
    ) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => wanted(&ident),
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), wanted),
            _ => false,
        })
    }
    walk(quote::quote!(#ty), &wanted)
}
