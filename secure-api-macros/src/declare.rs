//! `roles!` and `scopes!`: the one place an application declares the names `#[secure]` may
//! require. Each generates a `macro_rules!` checker at the crate root that `#[secure]`'s
//! expansion calls with every name it requires: a declared name becomes its `Grant`, an
//! undeclared one a compile error on the name, with the nearest declared name suggested.

use crate::names::{self, Kind, Name};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::collections::{BTreeMap, BTreeSet};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token};

/// `crate = "my_api::security"; admin > editor > viewer, auditor`: where the runtime is (if
/// not `::secure_api`), then chains of names, each implying the ones after it.
struct Declaration {
    krate: Option<syn::Path>,
    chains: Punctuated<Punctuated<Name, Token![>]>, Token![,]>,
}

impl Parse for Declaration {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = match input.peek(Token![crate]) && input.peek2(Token![=]) {
            true => {
                input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                let path: LitStr = input.parse()?;
                input.parse::<Token![;]>().map_err(|error| {
                    syn::Error::new(error.span(), "end `crate = \"...\"` with `;`")
                })?;
                Some(path.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new(
                        path.span(),
                        "`crate` is the path to secure_api, e.g. `crate = \"::my_api::security\";`",
                    )
                })?)
            }
            false => None,
        };
        let chains = Punctuated::parse_terminated_with(input, |chain| {
            Punctuated::parse_separated_nonempty(chain)
        })?;
        Ok(Self { krate, chains })
    }
}

/// `roles!` / `scopes!`. On a mistake the checker is still generated, from every name that
/// parsed, so that the handlers requiring them report nothing more.
pub(crate) fn declare(kind: Kind, input: TokenStream) -> TokenStream {
    match syn::parse2::<Declaration>(input) {
        Ok(declaration) => {
            let (checker, errors) = checker(kind, &declaration);
            let errors = errors.map(|errors| errors.to_compile_error());
            quote!(#errors #checker)
        }
        Err(error) => error.to_compile_error(),
    }
}

fn checker(kind: Kind, declaration: &Declaration) -> (TokenStream, Option<syn::Error>) {
    let word = kind.word();
    let mut errors: Option<syn::Error> = None;
    let mut fail = |span: Span, message: String| {
        let error = syn::Error::new(span, message);
        match &mut errors {
            Some(errors) => errors.combine(error),
            None => errors = Some(error),
        }
    };
    // name → the names declared directly above it
    let mut above: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for chain in &declaration.chains {
        let names: Vec<&Name> = chain.iter().collect();
        for name in &names {
            if let Err(fault) = name.check() {
                fail(name.span, fault.in_declaration(kind));
            }
            if !above.contains_key(&name.text) {
                above.insert(name.text.clone(), BTreeSet::new());
                order.push(name.text.clone());
            }
        }
        if let (Kind::Scope, Some(second)) = (kind, names.get(1)) {
            fail(
                second.span,
                "scopes have no hierarchy; separate them with commas".to_owned(),
            );
            continue;
        }
        for pair in names.windows(2) {
            let (higher, lower) = (&pair[0].text, &pair[1].text);
            // An edge that would make a name imply itself closes a cycle: refuse that edge,
            // on the name that closes it, and keep the rest of the hierarchy.
            if holders(higher, &above).contains(lower) {
                fail(
                    pair[1].span,
                    format!(
                        "`{lower}` is already above `{higher}`, so this makes it imply itself; \
                         a {word} hierarchy cannot have a cycle — remove this `> {lower}`"
                    ),
                );
                continue;
            }
            if let Some(below) = above.get_mut(lower) {
                below.insert(higher.clone());
            }
        }
    }
    if order.is_empty() {
        fail(
            Span::call_site(),
            format!("declare at least one {word}, e.g. `{word}s! {{ admin > editor }}`"),
        );
    }

    let checker = kind.checker();
    let kind_ident = format_ident!("{word}");
    let krate = crate::model::runtime(declaration.krate.clone());
    let arms = order.iter().map(|name| {
        let holders = holders(name, &above);
        quote! {
            (#name) => {
                #krate::__private::Grant { name: #name, held_by: &[#(#holders),*] }
            };
        }
    });
    let tokens = quote! {
        #[doc(hidden)]
        macro_rules! #checker {
            #(#arms)*
            ($undeclared:literal) => {
                #krate::__private::undeclared!(#kind_ident $undeclared #(#order)*)
            };
        }
        #[doc(hidden)]
        pub(crate) use #checker;
    };
    (tokens, errors)
}

/// `name` itself, then every name that implies it, nearest first. The graph has no cycle:
/// `checker` refuses the edges that would close one.
fn holders(name: &str, above: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut holders = vec![name.to_owned()];
    let mut next = 0;
    while let Some(current) = holders.get(next).cloned() {
        for higher in above.get(&current).into_iter().flatten() {
            if !holders.contains(higher) {
                holders.push(higher.clone());
            }
        }
        next += 1;
    }
    holders
}

/// `undeclared!(role "admn" "admin" "editor")`: the error for a name no declaration has.
pub(crate) fn undeclared(input: TokenStream) -> TokenStream {
    struct Undeclared {
        kind: Ident,
        name: LitStr,
        declared: Vec<LitStr>,
    }
    impl Parse for Undeclared {
        fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
            let kind = input.parse()?;
            let name = input.parse()?;
            let mut declared = Vec::new();
            while !input.is_empty() {
                declared.push(input.parse()?);
            }
            Ok(Self {
                kind,
                name,
                declared,
            })
        }
    }
    let Undeclared {
        kind,
        name,
        declared,
    } = match syn::parse2(input) {
        Ok(parsed) => parsed,
        Err(error) => return error.to_compile_error(),
    };
    let wanted = name.value();
    let declared: Vec<String> = declared.iter().map(LitStr::value).collect();
    let suggestion = match names::nearest(&wanted, declared.iter().map(String::as_str)) {
        Some(candidate) => format!("did you mean `{candidate}`? "),
        None => String::new(),
    };
    let listed = declared
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "`{wanted}` is not a declared {kind}; {suggestion}the declared {kind}s are {listed} \
         (add it to `secure_api::{kind}s!` at the crate root if it is new)"
    );
    quote_spanned!(name.span()=> ::core::compile_error!(#message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_follow_the_chains() {
        let declaration: Declaration =
            syn::parse_quote!(admin > editor > viewer, admin > auditor, "ops:admin" > auditor);
        let (tokens, errors) = checker(Kind::Role, &declaration);
        assert!(errors.is_none());
        let tokens = tokens.to_string();
        assert!(tokens.contains(r#"("viewer") => { :: secure_api :: __private :: Grant { name : "viewer" , held_by : & ["viewer" , "editor" , "admin"] } }"#), "{tokens}");
        assert!(
            tokens.contains(r#"held_by : & ["auditor" , "admin" , "ops:admin"]"#),
            "{tokens}"
        );
    }

    #[test]
    fn the_runtime_path_is_the_one_given() {
        let declaration: Declaration = syn::parse_quote!(crate = "::my_api::security"; admin);
        let tokens = checker(Kind::Role, &declaration).0.to_string();
        assert!(
            tokens.contains(":: my_api :: security :: __private :: Grant"),
            "{tokens}"
        );
        assert!(!tokens.contains("secure_api"), "{tokens}");
        assert!(syn::parse2::<Declaration>(quote!(crate = "::my_api" admin)).is_err());
    }

    #[test]
    fn cycles_and_scope_chains_are_refused() {
        let cycle: Declaration = syn::parse_quote!(admin > editor > admin);
        let (tokens, errors) = checker(Kind::Role, &cycle);
        let errors = errors.expect("a cycle is an error");
        assert_eq!(errors.into_iter().count(), 1);
        assert!(tokens.to_string().contains("macro_rules"));
        let chain: Declaration = syn::parse_quote!("a:read" > "a:write");
        assert!(checker(Kind::Scope, &chain).1.is_some());
    }

    #[test]
    fn suggests_the_nearest_declared_name() {
        let error = undeclared(quote!(role "admn" "admin" "editor")).to_string();
        assert!(error.contains("did you mean `admin`?"), "{error}");
        let far = undeclared(quote!(scope "billing" "notes:read")).to_string();
        assert!(!far.contains("did you mean"), "{far}");
    }
}
