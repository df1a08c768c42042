//! Code generation: a policy type stating the checked policy, and the user's function with
//! the guard put first and the validated extractors wrapped.

use crate::attr::RateKey;
use crate::validate::{self, Policy, RequiredName, Requirement, SecureHandler, Wrapper};
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn};

/// The whole attribute: parse, check, expand. On any error the function is emitted next to
/// the errors, unchanged but for a missing `async` (which is one of the errors), so that the
/// router code around it does not drown in follow-on errors.
pub(crate) fn secure(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "#[secure] goes on an `async fn` handler, e.g. \
                 `#[secure(role = \"admin\")] async fn delete_user(..) -> StatusCode`",
            );
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    match validate::check(args, &function) {
        Ok(handler) => expand(&handler),
        Err(errors) => {
            let errors = errors.write_errors();
            let mut function = function;
            // A handler must be `async` to be mounted: the error says so, and adding it here
            // keeps `get(handler)` from failing a second time.
            if function.sig.asyncness.is_none() {
                function.sig.asyncness = Some(syn::Token![async](function.sig.fn_token.span));
            }
            quote!(#errors #function)
        }
    }
}

fn expand(handler: &SecureHandler) -> TokenStream {
    let SecureHandler {
        function,
        policy,
        wrapped_inputs,
        krate,
    } = handler;
    let private = quote!(#krate::__private);
    let policy_type = format_ident!("__secure_policy_{}", function.sig.ident);
    let spec = policy_spec(&function.sig.ident.to_string(), policy, &private);

    let mut function = function.clone();
    for (position, wrapper) in wrapped_inputs {
        if let Some(FnArg::Typed(input)) = function.sig.inputs.iter_mut().nth(*position) {
            let (pat, ty) = (&input.pat, &input.ty);
            // `Valid<E>` requires `garde::Validate` of the payload: the wrapper takes the span
            // of the payload type (`NewUser` in `Json<NewUser>`), so that a missing derive is
            // reported there, once, rather than on the attribute.
            let span = match wrapper {
                Wrapper::Valid => {
                    validate::extractor_of(ty).map_or(ty.span(), |(_, payload)| payload.span())
                }
                Wrapper::Parsed => ty.span(),
            };
            let wrapper = match wrapper {
                Wrapper::Valid => respanned(quote!(#private::Valid), span),
                Wrapper::Parsed => respanned(quote!(#private::Parsed), span),
            };
            *input.pat = syn::parse_quote_spanned!(span=> #wrapper(#pat));
            *input.ty = syn::parse_quote_spanned!(span=> #wrapper<#ty>);
        }
    }
    function
        .sig
        .inputs
        .insert(0, syn::parse_quote!(_: #private::Guard<#policy_type>));

    let vis = &function.vis;
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #policy_type;

        impl #private::Policy for #policy_type {
            const SPEC: #private::PolicySpec = #spec;
        }

        #function
    }
}

/// `tokens` with every span set to `span`, groups included.
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let stream = respanned(group.stream(), span);
                token = TokenTree::Group(Group::new(group.delimiter(), stream));
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// `PolicySpec::bearer("name").all_roles(&["admin"]).rate(100, 900, RateKey::User)`: a
/// chain of `const fn` calls, so the policy reads as what it says.
fn policy_spec(name: &str, policy: &Policy, private: &TokenStream) -> TokenStream {
    let mut spec = if policy.public {
        quote!(#private::PolicySpec::public(#name))
    } else {
        quote!(#private::PolicySpec::bearer(#name))
    };
    for (requirement, checker, all, any) in [
        (
            &policy.roles,
            quote!(__secure_role),
            quote!(all_roles),
            quote!(any_role),
        ),
        (
            &policy.scopes,
            quote!(__secure_scope),
            quote!(all_scopes),
            quote!(any_scope),
        ),
    ] {
        // Each name goes through the checker that `roles!`/`scopes!` generated at the crate
        // root: a declared name becomes its grant, an undeclared one an error on the literal.
        let grants = |names: &[RequiredName]| {
            let grants = names.iter().map(|RequiredName { text, span }| {
                // The literal and the path carry the name's span, so that an undeclared name
                // (or a missing `roles!`) is reported on the name as written.
                let literal = syn::LitStr::new(text, *span);
                quote_spanned!(*span=> crate::#checker!(#literal))
            });
            quote!(&[#(#grants),*])
        };
        spec = match requirement {
            Requirement::Nothing => spec,
            Requirement::AllOf(names) => {
                let grants = grants(names);
                quote!(#spec.#all(#grants))
            }
            Requirement::AnyOf(names) => {
                let grants = grants(names);
                quote!(#spec.#any(#grants))
            }
        };
    }
    if let Some((rate, key)) = policy.rate {
        let max = proc_macro2::Literal::u32_unsuffixed(rate.max);
        let window_secs = proc_macro2::Literal::u64_unsuffixed(rate.window_secs);
        let key = match key {
            RateKey::Ip => quote!(Ip),
            RateKey::User => quote!(User),
            RateKey::Global => quote!(Global),
        };
        spec = quote!(#spec.rate(#max, #window_secs, #private::RateKey::#key));
    }
    spec = match policy.mfa {
        None => spec,
        Some(None) => quote!(#spec.mfa()),
        Some(Some(secs)) => {
            let secs = proc_macro2::Literal::u64_unsuffixed(secs);
            quote!(#spec.mfa_within(#secs))
        }
    };
    if policy.limit_fail_open {
        spec = quote!(#spec.limit_fail_open());
    }
    if policy.validated {
        spec = quote!(#spec.validated());
    }
    spec
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
