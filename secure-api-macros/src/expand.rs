//! Code generation only: a policy type stating the checked policy, and the user's function
//! with the guard put first and the client inputs wrapped, on the spans `check` recorded.

use crate::model::{
    Admission, Credentials, Input, InputCheck, Mfa, Policy, RateKey, Requirement, SecureHandler,
    Treatment,
};
use crate::names::{Kind, Name};
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::FnArg;
use syn::spanned::Spanned;

/// The handler's policy type and the handler taking its guard.
pub(crate) fn expand(handler: &SecureHandler) -> TokenStream {
    let SecureHandler {
        function,
        policy,
        inputs,
        answer,
        krate,
    } = handler;
    let private = quote!(#krate::__private);
    let policy_type = format_ident!("__secure_policy_{}", function.sig.ident);
    let spec = policy_spec(&function.sig.ident.to_string(), policy, &private);

    let describe = describe(inputs, answer.as_ref(), &private);
    let mut function = function.clone();
    let mut admitted = Vec::new();
    let mut admitted_generic = Vec::new();
    for Input {
        position,
        ty,
        treatment,
        admission,
        ..
    } in inputs
    {
        let span = ty.span();
        match admission {
            Admission::Unchecked => {}
            Admission::Const => {
                admitted.push(quote_spanned!(span=> #private::admit::<#ty>();));
            }
            Admission::Generic => {
                admitted_generic.push(quote_spanned!(span=> #private::admit::<#ty>();));
            }
        }
        let Some(FnArg::Typed(input)) = function.sig.inputs.iter_mut().nth(*position) else {
            continue;
        };
        let pat = &input.pat;
        let (pat, ty) = match treatment {
            Treatment::AsWritten => continue,
            Treatment::Parsed => {
                let wrapper = respanned(quote!(#private::Parsed), span);
                (quote!(#wrapper(#pat)), quote_spanned!(span=> #wrapper<#ty>))
            }
            Treatment::Validated { proof, span } => {
                let wrapper = respanned(quote!(#private::Valid), *span);
                let ty = match proof {
                    Some(payload) => {
                        let proof = quote_spanned!(*span=> #private::validatable::<#payload>());
                        quote_spanned!(*span=> #wrapper<#ty, { #proof }>)
                    }
                    None => quote_spanned!(*span=> #wrapper<#ty>),
                };
                (quote!(#wrapper(#pat)), ty)
            }
        };
        *input.pat = syn::parse_quote_spanned!(span=> #pat);
        *input.ty = syn::parse_quote_spanned!(span=> #ty);
    }
    function
        .sig
        .inputs
        .insert(0, syn::parse_quote!(_: #private::Guard<#policy_type>));
    // Every argument not wrapped above is admissible by its type, or this is one error on it.
    // A type that names the handler's generics is judged in a function with its bounds.
    let generic_check = (!admitted_generic.is_empty()).then(|| {
        let generics = &function.sig.generics;
        let where_clause = &generics.where_clause;
        quote! {
            #[allow(dead_code)]
            fn inputs #generics () #where_clause {
                #(#admitted_generic)*
            }
        }
    });
    let admitted = (!admitted.is_empty() || generic_check.is_some())
        .then(|| quote!(const _: () = { #(#admitted)* #generic_check };));

    let vis = &function.vis;
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #policy_type;

        impl #private::Policy for #policy_type {
            const SPEC: #private::PolicySpec = #spec;
            #describe
        }

        #admitted

        #function
    }
}

/// The policy's `describe`: a probe of each input's type and of the return type as written,
/// which describes it for OpenAPI if the runtime knows how (`secure_api::describe`) and is a
/// no-op otherwise. Types that name the handler's generics are left out: the policy type
/// cannot name them.
fn describe(
    inputs: &[Input],
    answer: Option<&syn::Type>,
    private: &TokenStream,
) -> Option<TokenStream> {
    let mut probes: Vec<TokenStream> = inputs
        .iter()
        .filter(|input| !input.generic)
        .map(|Input { ty, .. }| quote!((&#private::Probe::<#ty>::new()).describe_input(description);))
        .collect();
    // Only the traits the probes call, so that the expansion has no unused import.
    let mut traits = Vec::new();
    if let Some(answer) = answer {
        probes.push(quote!((&#private::Probe::<#answer>::new()).describe_answer(description);));
        traits.push(quote!(DescribeAnswer as _));
    }
    if inputs.iter().any(|input| !input.generic) {
        traits.push(quote!(DescribeInput as _));
    }
    (!probes.is_empty()).then(|| {
        quote! {
            fn describe(description: &mut #private::Description) {
                use #private::{#(#traits,)* DescribeNothing as _};
                #(#probes)*
            }
        }
    })
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
    let mut spec = match policy.credentials {
        Credentials::Public => quote!(#private::PolicySpec::public(#name)),
        Credentials::Bearer => quote!(#private::PolicySpec::bearer(#name)),
        Credentials::ApiKey => quote!(#private::PolicySpec::api_key(#name)),
        Credentials::BearerOrApiKey => quote!(#private::PolicySpec::bearer_or_api_key(#name)),
    };
    for (requirement, kind) in [(&policy.roles, Kind::Role), (&policy.scopes, Kind::Scope)] {
        let checker = kind.checker();
        let all = format_ident!("{}", kind.all());
        let any = format_ident!("{}", kind.any());
        // Each name goes through the checker that `roles!`/`scopes!` generated at the crate
        // root: a declared name becomes its grant, an undeclared one an error on the literal.
        let grants = |names: &[Name]| {
            let grants = names.iter().map(|Name { text, span }| {
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
            RateKey::Key => quote!(Key),
            RateKey::Global => quote!(Global),
        };
        spec = quote!(#spec.rate(#max, #window_secs, #private::RateKey::#key));
    }
    spec = match policy.mfa {
        None => spec,
        Some(Mfa::Required) => quote!(#spec.mfa()),
        Some(Mfa::Within(secs)) => {
            let secs = proc_macro2::Literal::u64_unsuffixed(secs);
            quote!(#spec.mfa_within(#secs))
        }
    };
    if policy.limit_fail_open {
        spec = quote!(#spec.limit_fail_open());
    }
    if !policy.problems.is_empty() {
        let statuses = policy
            .problems
            .iter()
            .map(|status| proc_macro2::Literal::u16_unsuffixed(*status));
        spec = quote!(#spec.problems(&[#(#statuses),*]));
    }
    spec = match &policy.inputs {
        InputCheck::AsTyped => spec,
        InputCheck::Validated => quote!(#spec.validated()),
        InputCheck::Skipped(reason) => quote!(#spec.skip_validation(#reason)),
    };
    spec
}
