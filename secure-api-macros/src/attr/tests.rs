//! The parsing of every argument, its forms and its mistakes.

use super::*;
use quote::quote;

fn errors_of(args: TokenStream) -> Vec<String> {
    match SecureArgs::parse(args) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
    }
}

#[test]
fn parses_every_argument() {
    let args = SecureArgs::parse(quote! {
        any_role("admin", "editor"), scope = "users:write", rate = "100/15m",
        rate_key = "global", validate, crate = "::my_secure"
    })
    .expect("valid arguments");
    assert_eq!(
        args.any_role.map(|roles| roles.into_inner().0.len()),
        Some(2)
    );
    assert_eq!(
        args.rate.map(|rate| *rate),
        Some(Rate {
            max: 100,
            window_secs: 900
        })
    );
    assert_eq!(args.rate_key.map(|key| *key), Some(RateKey::Global));
    assert!(args.validate.is_present());
    assert!(args.krate.is_some());
}

#[test]
fn rate_grammar() {
    let parse = |text: &str| Rate::from_string(text).map_err(|error| error.to_string());
    assert_eq!(
        parse("10/s"),
        Ok(Rate {
            max: 10,
            window_secs: 1
        })
    );
    assert_eq!(
        parse("5000/1d"),
        Ok(Rate {
            max: 5000,
            window_secs: 86_400
        })
    );
    assert_eq!(
        parse(" 7 / 2h "),
        Ok(Rate {
            max: 7,
            window_secs: 7_200
        })
    );
    for (bad, says) in [
        ("100", "malformed rate"),
        ("0/1m", "admits no request"),
        ("ten/1m", "not a whole number"),
        ("10/0m", "is zero"),
        ("10/15x", "unknown unit `x`"),
        ("10/15", "has no unit"),
        ("10/99999999999999999999s", "too large"),
        (
            "99999999999/1m",
            "the count `99999999999` in rate `99999999999/1m` is too large",
        ),
    ] {
        let error = parse(bad).expect_err(bad);
        assert!(error.contains(says), "{bad}: {error}");
    }
}

#[test]
fn rate_windows_and_mfa_ages_share_one_grammar() {
    let args = SecureArgs::parse(quote! { rate = "10/m", mfa = "m" }).expect("both parse");
    let window = args.rate.map(|rate| rate.window_secs);
    let max_age = args.mfa.map(|mfa| match *mfa {
        Override::Explicit(max_age) => Some(max_age.secs),
        Override::Inherit => None,
    });
    assert_eq!((window, max_age), (Some(60), Some(Some(60))));
    for (window, age) in [("15m", "15m"), ("2h", "2h"), ("1d", "d"), ("s", "1s")] {
        let rate = Rate::from_string(&format!("1/{window}")).expect(window);
        let max_age = MaxAge::from_string(age).expect(age);
        assert_eq!(rate.window_secs, max_age.secs, "{window} / {age}");
    }
    for bad in ["15", "15x", "0m", "99999999999999999999s", "", "15 m"] {
        let error = MaxAge::from_string(bad).expect_err(bad).to_string();
        assert!(error.contains("is not a duration"), "{bad}: {error}");
        assert!(Rate::from_string(&format!("1/{bad}")).is_err(), "{bad}");
    }
}

#[test]
fn all_mistakes_are_reported_in_one_pass() {
    let errors = errors_of(quote! { rol = "admin", rate = "0/1m", rate_key = "ipp" });
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].contains("unknown argument `rol`") && errors[0].contains("`role`"));
    assert!(
        errors
            .iter()
            .any(|error| error.contains("admits no request"))
    );
    assert!(
        errors
            .iter()
            .any(|error| error.contains("unknown rate key `ipp`"))
    );
}

#[test]
fn names_are_checked() {
    let errors = errors_of(quote! { any_role("admin", "bad name", 3) });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors.iter().any(|error| error.contains("white space")));
    assert!(errors.iter().any(|error| error.contains("string literal")));
    assert!(errors_of(quote! { all_scopes() })[0].contains("`all_scopes()` names no scope"));
    let errors = errors_of(quote! { scope = "reports:read reports:write" });
    assert!(
        errors[0].contains(r#"`any_scope("reports:read", "reports:write")`"#),
        "{errors:#?}"
    );
    let errors = errors_of(quote! { any_role(admin) });
    assert!(errors[0].contains(r#"write `"admin"`"#), "{errors:#?}");
}

#[test]
fn the_fallback_finds_the_crate_among_mistakes() {
    let path = crate_path(quote! { rol = "admin", rate = "1/x", crate = "::my_api::security" });
    assert_eq!(
        path.map(|path| quote::quote!(#path).to_string()),
        Some(":: my_api :: security".to_owned())
    );
    assert!(crate_path(quote! { rol = "admin" }).is_none());
    assert!(crate_path(quote! { crate = }).is_none());
}

#[test]
fn an_argument_in_another_form_says_its_own() {
    for (args, says) in [
        (
            quote! { rate = 100 },
            "`rate` takes a string literal: write `rate = \"100/15m\"`",
        ),
        (
            quote! { public = true },
            "`public` is a flag and takes no value",
        ),
        (quote! { role = admin }, "`role` takes a string literal"),
        (
            quote! { rate_key = ip },
            "`rate_key` takes a string literal",
        ),
        (
            quote! { any_role = "admin" },
            "`any_role` takes a list of string literals",
        ),
        (quote! { validate("x") }, "`validate` is a flag"),
        (
            quote! { mfa = 15 },
            "`mfa` is a flag or takes a string literal",
        ),
    ] {
        let errors = errors_of(args.clone());
        assert_eq!(errors.len(), 1, "{args}: {errors:#?}");
        assert!(errors[0].contains(says), "{args}: {errors:#?}");
    }
    assert!(errors_of(quote! { mfa, rate = "1/s", public, crate = "::x" }).is_empty());
}

#[test]
fn a_repeated_argument_is_one_error() {
    let errors = errors_of(quote! { rate = "1/s", rate = "2/s" });
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("`rate` is given twice"), "{errors:#?}");
}

#[test]
fn skip_validation_needs_a_reason() {
    assert_eq!(errors_of(quote! { skip_validation = "" }).len(), 1);
    assert!(errors_of(quote! { skip_validation = "raw bytes go to S3" }).is_empty());
}

#[test]
fn problems_are_error_statuses_listed_once() {
    let args = SecureArgs::parse(quote! { public, rate = "1/s", problems(404, 409) })
        .expect("valid arguments");
    assert_eq!(args.problems, Problems(vec![404, 409]));
    assert_eq!(
        errors_of(quote! { problems(200, "404", 409, 409, 600) }).len(),
        4,
        "each mistake in the list is its own error"
    );
    assert_eq!(errors_of(quote! { problems() }).len(), 1);
    assert_eq!(errors_of(quote! { problems = 409 }).len(), 1);
}
