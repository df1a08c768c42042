//! The annotated item, parsed leniently: its attributes, visibility and signature are parsed,
//! its body is kept as the tokens it was written as. A mistake inside the body is therefore
//! reported once, by the compiler, where it is — not also by `#[secure]`.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Signature, Visibility};

/// A function as written: `#[attrs] vis sig { body }`.
#[derive(Clone)]
pub(crate) struct Function {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The braces and everything in them, unparsed.
    pub(crate) body: Group,
}

/// Parses `item` as a function with a body, or says where `#[secure]` goes.
pub(crate) fn parse(item: TokenStream) -> syn::Result<Function> {
    syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            &item,
            "#[secure] goes on an `async fn` handler, e.g. \
             `#[secure(role = \"admin\")] async fn delete_user(..) -> StatusCode`",
        )
    })
}

/// Whether `attr` is `#[secure(..)]`, however the path to it is written.
pub(crate) fn is_secure(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|last| last.ident == "secure")
}

impl Parse for Function {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function's body"));
        }
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl ToTokens for Function {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn the_body_is_not_parsed() {
        let function = parse(quote! {
            /// Docs.
            pub async fn broken(x: u32) -> u32 where u32: Copy { let = ; }
        })
        .expect("a body that does not parse is kept as tokens");
        assert_eq!(function.sig.ident, "broken");
        assert_eq!(function.attrs.len(), 1);
        let printed = function.to_token_stream().to_string();
        assert!(printed.ends_with("{ let = ; }"), "{printed}");
    }

    #[test]
    fn not_a_function() {
        for item in [
            quote!(
                struct S;
            ),
            quote!(
                fn f();
            ),
            quote!(fn f() (x)),
            quote!(
                fn f() {}
                fn g() {}
            ),
        ] {
            let error = parse(item.clone()).err().expect("not a function");
            assert!(
                error.to_string().contains("goes on an `async fn`"),
                "{item}"
            );
        }
    }
}
