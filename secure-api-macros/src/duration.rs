//! The one grammar for a length of time, `<n><unit>`, shared by rate windows
//! (`rate = "100/15m"`) and second-factor ages (`mfa = "15m"`).
//!
//! The amount may be left out and then means 1: `rate = "10/m"` is ten a minute, and
//! `mfa = "m"` one minute. The units are s, m, h and d.

/// Why a text is not a duration, in the order the grammar finds out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The amount, or the amount times its unit, does not fit in 64 bits of seconds.
    TooLarge,
    /// Digits only, e.g. `15`.
    NoUnit,
    /// Not one of s, m, h, d.
    UnknownUnit(String),
    /// `0m`; carries the unit, for the example in the message.
    Zero(String),
}

/// The units, for messages.
pub(crate) const UNITS: &str = "s (seconds), m (minutes), h (hours) or d (days)";

/// The length of `text` in seconds.
pub(crate) fn parse_secs(text: &str) -> Result<u64, Fault> {
    let text = text.trim();
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (amount, unit) = text.split_at(digits);
    let amount: u64 = match amount {
        "" => 1,
        digits => digits.parse().map_err(|_| Fault::TooLarge)?,
    };
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        "" => return Err(Fault::NoUnit),
        other => return Err(Fault::UnknownUnit(other.to_owned())),
    };
    if amount == 0 {
        return Err(Fault::Zero(unit.to_owned()));
    }
    amount.checked_mul(unit_secs).ok_or(Fault::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_units() {
        assert_eq!(parse_secs("15m"), Ok(900));
        assert_eq!(parse_secs(" 2h "), Ok(7_200));
        assert_eq!(parse_secs("1d"), Ok(86_400));
        assert_eq!(parse_secs("s"), Ok(1));
        assert_eq!(parse_secs("m"), Ok(60));
    }

    #[test]
    fn faults_in_grammar_order() {
        assert_eq!(parse_secs("15"), Err(Fault::NoUnit));
        assert_eq!(parse_secs(""), Err(Fault::NoUnit));
        assert_eq!(parse_secs("15x"), Err(Fault::UnknownUnit("x".to_owned())));
        assert_eq!(parse_secs("15 m"), Err(Fault::UnknownUnit(" m".to_owned())));
        assert_eq!(parse_secs("0x"), Err(Fault::UnknownUnit("x".to_owned())));
        assert_eq!(parse_secs("0m"), Err(Fault::Zero("m".to_owned())));
        assert_eq!(parse_secs("99999999999999999999s"), Err(Fault::TooLarge));
        assert_eq!(parse_secs("999999999999999999d"), Err(Fault::TooLarge));
    }
}
