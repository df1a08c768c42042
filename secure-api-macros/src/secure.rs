//! The attribute as a pipeline: the item is parsed (`item`), then the arguments (`attr`),
//! then both are checked against each other (`check`), and the checked model is expanded
//! (`expand`). On any error the function is still emitted with its guard, next to the errors.

use crate::model::{self, Policy, SecureHandler};
use crate::{attr, check, expand, item};
use proc_macro2::TokenStream;
use quote::quote;

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
    let handler = SecureHandler {
        function,
        policy: Policy::placeholder(),
        inputs: Vec::new(),
        krate: model::runtime(attr::crate_path(args)),
    };
    let expanded = expand::expand(&handler);
    quote!(#errors #expanded)
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
