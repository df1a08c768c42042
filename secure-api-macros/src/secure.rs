//! The attribute as a pipeline: the item is parsed (`item`), then the arguments (`attr`),
//! then both are checked against each other (`check`), and the checked model is expanded
//! (`expand`). On any error the function is still emitted with its guard, next to the errors.

use crate::model::{self, Policy, SecureHandler};
use crate::{attr, check, expand, inputs, item};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// `#[secure(args)] item`.
pub(crate) fn secure(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match item::parse(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let parsed = attr::SecureArgs::parse(args.clone());
    match check::check(&function, parsed) {
        Ok(handler) => expand::expand(&handler),
        Err(errors) => fallback(function, args, errors),
    }
}

/// The errors, and the function taking a guard with a placeholder policy (a bearer token,
/// nothing more) and its inputs unwrapped, so that the router that mounts it, a
/// `SecureRouter` included, reports nothing more. The placeholder never runs: the crate does
/// not compile. A missing `async` is added (its error is among the errors); a function with
/// `self` gets no guard, since the guard cannot go before `self`.
fn fallback(
    mut function: item::Function,
    args: TokenStream,
    errors: darling::Error,
) -> TokenStream {
    let errors = errors.write_errors();
    // A second `#[secure]` is one of the errors; expanded, it would add a second guard.
    function.attrs.retain(|attr| !item::is_secure(attr));
    if function.sig.asyncness.is_none() {
        function.sig.asyncness = Some(syn::Token![async](function.sig.fn_token.span));
    }
    if function.sig.receiver().is_some() {
        return quote!(#errors #function);
    }
    let (function, unmountable) = match inputs::mountable(&inputs::arguments(&function.sig)) {
        true => (function, None),
        false => stand_in(function),
    };
    let handler = SecureHandler {
        function,
        policy: Policy::placeholder(),
        inputs: Vec::new(),
        answer: None,
        krate: model::runtime(attr::crate_path(args)),
    };
    let expanded = expand::expand(&handler);
    quote!(#errors #expanded #unmountable)
}

/// For a signature axum cannot call (too many arguments, the body read early): the function
/// as written under another name, so that its body is still checked, and a stand-in under
/// the handler's name that takes no input and returns what it returns, so that the router
/// that mounts it reports nothing more.
fn stand_in(mut function: item::Function) -> (item::Function, Option<TokenStream>) {
    let name = function.sig.ident.clone();
    let mut original = function.clone();
    original.sig.ident = format_ident!("__secure_unmountable_{}", name);
    original.attrs.retain(|attr| !attr.path().is_ident("doc"));
    original.vis = syn::Visibility::Inherited;
    let callee = &original.sig.ident;
    let generics = &function.sig.generics;
    let params: Vec<_> = generics
        .type_params()
        .map(|param| &param.ident)
        .chain(generics.const_params().map(|param| &param.ident))
        .collect();
    let turbofish = (!params.is_empty()).then(|| quote!(::<#(#params),*>));
    let arguments = function
        .sig
        .inputs
        .iter()
        .map(|_| quote!(::core::unreachable!()));
    let call = quote!({ #callee #turbofish (#(#arguments),*).await });
    function.sig.inputs.clear();
    function.body = syn::parse_quote!(#call);
    function
        .attrs
        .push(syn::parse_quote!(#[allow(unreachable_code)]));
    let original = quote! {
        #[allow(dead_code, non_snake_case, clippy::too_many_arguments)]
        #original
    };
    (function, Some(original))
}

#[cfg(test)]
mod snapshots {
    //! Each fixture in `tests/expand/NAME.rs` is expanded and pretty-printed, then compared with
    //! `NAME.expanded.rs` beside it. Run with `SNAPSHOTS=overwrite` to accept a change, then
    //! review the diff: it is what users see under `cargo expand`.

    use std::path::Path;

    fn expand_file(source: &str) -> String {
        let mut file: syn::File = syn::parse_str(source).expect("fixture parses");
        let mut items = Vec::new();
        for item in file.items.drain(..) {
            match item {
                syn::Item::Fn(mut function) => {
                    let position = function
                        .attrs
                        .iter()
                        .position(|attr| attr.path().is_ident("secure"));
                    let Some(position) = position else {
                        items.push(syn::Item::Fn(function));
                        continue;
                    };
                    let attr = function.attrs.remove(position);
                    let args = match attr.meta {
                        syn::Meta::List(list) => list.tokens,
                        _ => proc_macro2::TokenStream::new(),
                    };
                    let expanded = super::secure(args, quote::quote!(#function));
                    let expanded: syn::File = syn::parse2(expanded).expect("expansion parses");
                    items.extend(expanded.items);
                }
                other => items.push(other),
            }
        }
        file.items = items;
        prettyplease::unparse(&file)
    }

    #[test]
    fn expansions_match_their_snapshots() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
        let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|value| value == "overwrite");
        let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
            .expect("tests/expand exists")
            .map(|entry| entry.expect("readable entry").path())
            .filter(|path| {
                path.extension().is_some_and(|ext| ext == "rs")
                    && !path.to_string_lossy().ends_with(".expanded.rs")
            })
            .collect();
        fixtures.sort();
        assert!(fixtures.len() >= 4, "expected at least four fixtures");
        let mut stale = Vec::new();
        for fixture in fixtures {
            let source = std::fs::read_to_string(&fixture).expect("readable fixture");
            let actual = expand_file(&source);
            let snapshot = fixture.with_extension("expanded.rs");
            if overwrite {
                std::fs::write(&snapshot, &actual).expect("writable snapshot");
                continue;
            }
            let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
            if expected != actual {
                stale.push(format!(
                    "{}:\n--- expected\n{expected}\n+++ actual\n{actual}",
                    snapshot.display()
                ));
            }
        }
        assert!(
            stale.is_empty(),
            "expansion changed (SNAPSHOTS=overwrite to accept):\n{}",
            stale.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn a_second_attribute_is_one_error_and_is_not_expanded_again() {
        let expanded = super::secure(
            quote!(role = "admin", rate = "1/s"),
            quote! {
                #[secure_api::secure(rate = "2/s")]
                async fn list_users() {}
            },
        )
        .to_string();
        assert_eq!(expanded.matches("compile_error").count(), 1, "{expanded}");
        assert!(
            expanded.contains("is given twice on `list_users`"),
            "{expanded}"
        );
        assert!(!expanded.contains("secure_api :: secure"), "{expanded}");
    }
}
