//! Integers written with a fraction or an exponent (`258.0`, `2.58e2`): JSON has one kind of
//! number, and JSON Schema's `integer` is any number whose fraction is zero, so the OpenAPI
//! document of a `u32` field admits `258.0`. serde refuses it for an integer field; this
//! rewrites such a number as the integer it is before the body is read, so that every body
//! the document admits is read as it says.
//!
//! The rewrite is on the text, digit by digit, never through a float, so no value changes:
//! `4503599627370497.5` stays as written. Integers of more than [`MAX_DIGITS`] digits stay as
//! written too (no field holds them, and `1e999999` must not become a megabyte of zeros).

use std::borrow::Cow;

/// The most digits a rewritten integer may have: `u64::MAX` and `i64::MIN` have 20 and 19.
const MAX_DIGITS: usize = 20;

/// `json` with each integral number that has a fraction or an exponent written as an integer;
/// borrowed when there is none (the common case costs one scan).
pub(super) fn integral_numbers_as_integers(json: &[u8]) -> Cow<'_, [u8]> {
    let mut rewritten: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut index = 0;
    let mut in_string = false;
    while index < json.len() {
        let byte = json[index];
        if in_string {
            match byte {
                b'\\' => index += 1,
                b'"' => in_string = false,
                _ => {}
            }
            index += 1;
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                index += 1;
            }
            b'-' | b'0'..=b'9' => {
                let end = json[index..]
                    .iter()
                    .position(|byte| {
                        !matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                    })
                    .map_or(json.len(), |length| index + length);
                if let Some(integer) = as_integer(&json[index..end]) {
                    let out = rewritten.get_or_insert_with(|| Vec::with_capacity(json.len()));
                    out.extend_from_slice(&json[copied..index]);
                    out.extend_from_slice(integer.as_bytes());
                    copied = end;
                }
                index = end;
            }
            _ => index += 1,
        }
    }
    match rewritten {
        Some(mut out) => {
            out.extend_from_slice(&json[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(json),
    }
}

/// The integer a number token with a fraction or an exponent is, if its fraction is zero;
/// `None` for any other token (plain integers, fractions, malformed text), left to the parser.
fn as_integer(token: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(token).ok()?;
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    if fraction.is_none() && exponent.is_none() {
        return None;
    }
    let fraction = fraction.unwrap_or_default();
    // JSON's grammar: `0` or a non-zero digit first; at least one digit after `.` and `e`.
    let digits_only =
        |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !digits_only(whole) || (whole.len() > 1 && whole.starts_with('0')) {
        return None;
    }
    if mantissa.contains('.') && !digits_only(fraction) {
        return None;
    }
    let shift: i64 = match exponent {
        None => 0,
        Some(exponent) => {
            let magnitude = exponent.trim_start_matches(['+', '-']);
            if !digits_only(magnitude)
                || exponent.len() - magnitude.len() > 1
                || magnitude.len() > 4
            {
                return None;
            }
            let magnitude: i64 = magnitude.parse().ok()?;
            if exponent.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    let digits: Vec<u8> = whole.bytes().chain(fraction.bytes()).collect();
    // Where the decimal point falls among `digits` once the exponent is applied.
    let point = i64::try_from(whole.len()).ok()? + shift;
    let point = usize::try_from(point.max(0)).ok()?;
    if digits.iter().skip(point).any(|&digit| digit != b'0') {
        return None;
    }
    // Measured before it is written, so that `1e9999` costs nothing.
    let leading_zeros = digits
        .iter()
        .take(point)
        .take_while(|&&digit| digit == b'0')
        .count();
    if point - leading_zeros > MAX_DIGITS {
        return None;
    }
    let mut integer: String = digits
        .iter()
        .take(point)
        .skip(leading_zeros)
        .map(|&digit| char::from(digit))
        .collect();
    if !integer.is_empty() {
        integer.extend(std::iter::repeat_n('0', point.saturating_sub(digits.len())));
    }
    Some(match (integer.is_empty(), negative) {
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{integer}"),
        (false, false) => integer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(json: &str) -> String {
        String::from_utf8(integral_numbers_as_integers(json.as_bytes()).into_owned())
            .expect("the rewrite keeps UTF-8")
    }

    #[test]
    fn integral_numbers_become_integers() {
        assert_eq!(rewritten(r#"{"days": 258.0}"#), r#"{"days": 258}"#);
        assert_eq!(
            rewritten("[2.58e2, 2580E-1, 1e3, 1.0E+2, 0.0, -0.0, -7.000]"),
            "[258, 258, 1000, 100, 0, 0, -7]"
        );
        assert_eq!(rewritten("18446744073709551615.0"), "18446744073709551615");
        assert_eq!(rewritten("-9223372036854775808.00"), "-9223372036854775808");
    }

    #[test]
    fn everything_else_is_left_as_written() {
        for json in [
            r#"{"a": 1, "b": -2, "c": 0}"#,
            "[2.5, 1e-1, 0.001, 4503599627370497.5, 9007199254740993.1]",
            r#"{"text": "258.0 and 1e3 in a string", "escaped": "\"1.0\""}"#,
            "1e999999",
            "1e9999",
            "123456789012345678901.0",
            "[01.0, 1., .5, 1.e3, 1e, 1e+-3, --1.0]",
        ] {
            assert_eq!(rewritten(json), json);
            assert!(matches!(
                integral_numbers_as_integers(json.as_bytes()),
                Cow::Borrowed(_)
            ));
        }
    }

    #[test]
    fn an_integer_field_reads_an_integral_number_and_refuses_a_fraction() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Days {
            days: u32,
        }
        let read = |json: &str| super::super::closed::json::<Days>(json.as_bytes());
        assert_eq!(read(r#"{"days": 258.0}"#).ok(), Some(Days { days: 258 }));
        assert_eq!(read(r#"{"days": 2.58e2}"#).ok(), Some(Days { days: 258 }));
        let fraction = read(r#"{"days": 2.5}"#).expect_err("a fraction is not a day count");
        assert_eq!(fraction.status(), 422);
        assert!(
            read(r#"{"days": 1.0, "days": 2}"#).is_err(),
            "duplicate keys stay refused"
        );
    }
}
