//! Compile-time behaviour of `#[secure]`: the `pass` cases build real routers, each `fail` case
//! is one insecure or wrong configuration whose error is pinned in the `.stderr` beside it.
//!
//! After changing a message, regenerate with `TRYBUILD=overwrite cargo test --test suite ui::`
//! and review every changed `.stderr`: it is what users see.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
