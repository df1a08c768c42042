//! Role and scope names: the one type that `#[secure(role = "..")]` requires and `roles!` /
//! `scopes!` declare, the one rule both obey, and how each of them reads a name.

use darling::ast::NestedMeta;
use darling::{Error, FromMeta};
use proc_macro2::Span;
use quote::format_ident;
use std::marker::PhantomData;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Meta};

/// Roles or scopes: the words that differ between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Role,
    Scope,
}

impl Kind {
    /// `role` or `scope`, as in `role = "admin"`.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Scope => "scope",
        }
    }

    /// The argument naming several names of which one suffices.
    pub(crate) fn any(self) -> &'static str {
        match self {
            Self::Role => "any_role",
            Self::Scope => "any_scope",
        }
    }

    /// The argument naming several names that are all required.
    pub(crate) fn all(self) -> &'static str {
        match self {
            Self::Role => "all_roles",
            Self::Scope => "all_scopes",
        }
    }

    /// Two names of this kind, for examples.
    pub(crate) fn examples(self) -> [&'static str; 2] {
        match self {
            Self::Role => ["admin", "editor"],
            Self::Scope => ["reports:read", "reports:write"],
        }
    }

    /// The crate-root checker that `roles!` / `scopes!` generate: `__secure_role`.
    pub(crate) fn checker(self) -> Ident {
        format_ident!("__secure_{}", self.word())
    }
}

/// A role or scope name, with the token it was written as (where an undeclared name is
/// reported).
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub(crate) text: String,
    pub(crate) span: Span,
}

/// Why a text is not a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Empty,
    /// Scopes travel as one space-delimited claim: a name with a space in it could never match.
    WhiteSpace,
}

impl Name {
    /// The rule: a name is non-empty and free of white space.
    pub(crate) fn check(&self) -> Result<(), Fault> {
        if self.text.trim().is_empty() {
            Err(Fault::Empty)
        } else if self.text.chars().any(char::is_whitespace) {
            Err(Fault::WhiteSpace)
        } else {
            Ok(())
        }
    }
}

/// A name as a declaration writes it: `admin` or `"notes:read"`. The declaration checks the
/// rule itself, so that it can report every bad name and still declare them.
impl Parse for Name {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            Ok(Self {
                text: lit.value(),
                span: lit.span(),
            })
        } else {
            let ident: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            Ok(Self {
                text: ident.to_string(),
                span: ident.span(),
            })
        }
    }
}

impl Fault {
    /// The message for `text`, written as a `kind` argument of `#[secure]`: what is wrong and
    /// what to write instead.
    pub(crate) fn in_argument(self, kind: Kind, text: &str) -> String {
        let what = kind.word();
        match self {
            Self::Empty => format!(
                "a {what} name cannot be empty; write the {what} the caller must hold, \
                 e.g. `{what} = \"{}\"`",
                kind.examples()[0]
            ),
            Self::WhiteSpace => {
                let words: Vec<String> = text
                    .split_whitespace()
                    .map(|word| format!("\"{word}\""))
                    .collect();
                let instead = match words.as_slice() {
                    [word] => format!("write it without the white space: {word}"),
                    words => {
                        let words = words.join(", ");
                        format!(
                            "give each {what} as its own string: `{}({words})` for any one of \
                             them, `{}({words})` for all of them",
                            kind.any(),
                            kind.all()
                        )
                    }
                };
                format!("`{text}` contains white space, which no {what} name can match; {instead}")
            }
        }
    }

    /// The message for a name in a `roles!` / `scopes!` declaration.
    pub(crate) fn in_declaration(self, kind: Kind) -> String {
        format!(
            "a {} name cannot be empty or contain white space",
            kind.word()
        )
    }
}

/// A darling adapter that says which kind of [`Name`] an argument holds, for its messages.
pub(crate) trait OfKind {
    const KIND: Kind;
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Role;

impl OfKind for Role {
    const KIND: Kind = Kind::Role;
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope;

impl OfKind for Scope {
    const KIND: Kind = Kind::Scope;
}

/// One name: `role = "admin"`.
#[derive(Debug, Clone)]
pub(crate) struct OneName<K>(pub(crate) Name, PhantomData<K>);

impl<K: OfKind> FromMeta for OneName<K> {
    fn from_value(value: &syn::Lit) -> darling::Result<Self> {
        match value {
            syn::Lit::Str(lit) => {
                name_from_literal(K::KIND, lit).map(|name| Self(name, PhantomData))
            }
            other => Err(Error::unexpected_lit_type(other).with_span(other)),
        }
    }
}

/// A list of names written `any_role("admin", "editor")`.
#[derive(Debug, Clone)]
pub(crate) struct NameList<K>(pub(crate) Vec<Name>, PhantomData<K>);

impl<K: OfKind> FromMeta for NameList<K> {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Self> {
        let what = K::KIND.word();
        let mut errors = Error::accumulator();
        let names: Vec<Name> = items
            .iter()
            .filter_map(|item| match item {
                NestedMeta::Lit(syn::Lit::Str(lit)) => {
                    errors.handle(name_from_literal(K::KIND, lit))
                }
                NestedMeta::Meta(Meta::Path(path)) => {
                    let written = quote::quote!(#path).to_string().replace(' ', "");
                    errors.push(
                        Error::custom(format!(
                            "{what} names are string literals: write `\"{written}\"`"
                        ))
                        .with_span(path),
                    );
                    None
                }
                other => {
                    errors.push(
                        Error::custom(format!(
                            "expected a {what} name as a string literal, e.g. \"{example}\"",
                            example = K::KIND.examples()[0]
                        ))
                        .with_span(other),
                    );
                    None
                }
            })
            .collect();
        if items.is_empty() {
            // `parse` reports `any_role()` with its name; this covers any other way in.
            errors.push(Error::custom(format!(
                "the list names no {what}; list at least one, e.g. `(\"{example}\")`",
                example = K::KIND.examples()[0]
            )));
        }
        errors.finish_with(Self(names, PhantomData))
    }
}

/// A name as `#[secure]` writes it, a string literal, checked by the rule.
fn name_from_literal(kind: Kind, lit: &LitStr) -> darling::Result<Name> {
    let name = Name {
        text: lit.value(),
        span: lit.span(),
    };
    match name.check() {
        Ok(()) => Ok(name),
        Err(fault) => Err(Error::custom(fault.in_argument(kind, &name.text)).with_span(lit)),
    }
}

/// The candidate closest to `wanted`, if it is close enough to be what was meant: for "did
/// you mean" in messages about a declared name or an argument.
pub(crate) fn nearest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().max(wanted.len()) / 3 + 1)
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_name_is_suggested_only_when_near() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(nearest("admn", ["admin", "editor"]), Some("admin"));
        assert_eq!(nearest("rol", ["role", "rate", "public"]), Some("role"));
        assert_eq!(nearest("billing", ["notes:read"]), None);
    }

    fn rule(text: &str) -> Result<String, Fault> {
        let name = Name {
            text: text.to_owned(),
            span: Span::call_site(),
        };
        name.check().map(|()| name.text)
    }

    #[test]
    fn one_rule_for_both_kinds() {
        assert_eq!(rule("notes:read"), Ok("notes:read".to_owned()));
        assert_eq!(rule(""), Err(Fault::Empty));
        assert_eq!(rule("  "), Err(Fault::Empty));
        assert_eq!(rule("a b"), Err(Fault::WhiteSpace));
        assert_eq!(rule(" admin"), Err(Fault::WhiteSpace));
    }

    #[test]
    fn messages_say_what_to_write() {
        let message = Fault::WhiteSpace.in_argument(Kind::Scope, "a:read a:write");
        assert!(
            message.contains(r#"`any_scope("a:read", "a:write")`"#),
            "{message}"
        );
        let message = Fault::WhiteSpace.in_argument(Kind::Role, " admin");
        assert!(message.contains(r#"without the white space: "admin""#));
        let message = Fault::Empty.in_argument(Kind::Role, "");
        assert!(message.contains(r#"e.g. `role = "admin"`"#), "{message}");
        assert_eq!(
            Fault::Empty.in_declaration(Kind::Scope),
            "a scope name cannot be empty or contain white space"
        );
        assert_eq!(Kind::Scope.checker(), "__secure_scope");
    }

    #[test]
    fn declarations_write_idents_or_literals() {
        let name: Name = syn::parse_quote!(admin);
        assert_eq!((name.text.as_str(), name.check()), ("admin", Ok(())));
        let name: Name = syn::parse_quote!("notes:read");
        assert_eq!((name.text.as_str(), name.check()), ("notes:read", Ok(())));
        let name: Name = syn::parse_quote!("notes read");
        assert_eq!(name.check(), Err(Fault::WhiteSpace));
    }
}
