//! The values of `#[secure(...)]` arguments that are more than a name: rates, rate keys,
//! maximum ages, the reasons an opt-out must give and the statuses a handler answers with.

use crate::duration::{self, Fault};
use crate::model::{Rate, RateKey};
use darling::ast::NestedMeta;
use darling::{Error, FromMeta};

const RATE_SHAPE: &str =
    "write it as \"<count>/<window>\", e.g. \"100/15m\", \"10/s\" or \"5000/1d\"";

impl FromMeta for Rate {
    fn from_string(value: &str) -> darling::Result<Self> {
        let Some((count, window)) = value.split_once('/') else {
            return Err(Error::custom(format!(
                "malformed rate `{value}`: {RATE_SHAPE}"
            )));
        };
        let digits = count.trim();
        let max: u32 = digits.parse().map_err(|_| {
            Error::custom(
                match digits.bytes().all(|byte| byte.is_ascii_digit()) && !digits.is_empty() {
                    true => format!(
                        "the count `{digits}` in rate `{value}` is too large; at most {} requests \
                     per window can be counted",
                        u32::MAX
                    ),
                    false => format!(
                        "the count `{count}` in rate `{value}` is not a whole number; {RATE_SHAPE}"
                    ),
                },
            )
        })?;
        if max == 0 {
            return Err(Error::custom(format!(
                "rate `{value}` admits no request at all; a count of at least 1 is needed \
                 (to close a route, do not mount it)"
            )));
        }
        let window = window.trim();
        let window_secs = duration::parse_secs(window).map_err(|fault| {
            Error::custom(match fault {
                Fault::TooLarge => format!("the window `{window}` in rate `{value}` is too large"),
                Fault::NoUnit => format!(
                    "the window `{window}` in rate `{value}` has no unit; \
                     add s, m, h or d, e.g. \"{count}/{window}m\""
                ),
                Fault::UnknownUnit(unit) => format!(
                    "unknown unit `{unit}` in rate `{value}`; use {units}",
                    units = duration::UNITS
                ),
                Fault::Zero(unit) => format!(
                    "the window of rate `{value}` is zero; give it a length, e.g. \"{count}/1{unit}\""
                ),
            })
        })?;
        Ok(Self { max, window_secs })
    }
}

/// The reason given with `limit_fail_open = "..."`; it must say something.
#[derive(Debug, Clone)]
pub(crate) struct FailOpenReason;

impl FromMeta for FailOpenReason {
    fn from_string(value: &str) -> darling::Result<Self> {
        if value.trim().is_empty() {
            return Err(Error::custom(
                "say why this handler may run unlimited while the rate-limit store is down, \
                 e.g. `limit_fail_open = \"health checks must answer during a Redis outage\"`",
            ));
        }
        Ok(Self)
    }
}

/// `mfa = "15m"`: how long ago the second factor may have been used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaxAge {
    pub(crate) secs: u64,
}

impl FromMeta for MaxAge {
    fn from_string(value: &str) -> darling::Result<Self> {
        match duration::parse_secs(value) {
            Ok(secs) => Ok(Self { secs }),
            Err(_) => Err(Error::custom(format!(
                "`{value}` is not a duration; write the longest time since the second factor \
                 was used as a number and a unit (s, m, h or d), e.g. `mfa = \"15m\"`, or just \
                 `mfa` for no limit"
            ))),
        }
    }
}

impl FromMeta for RateKey {
    fn from_string(value: &str) -> darling::Result<Self> {
        match value {
            "ip" => Ok(Self::Ip),
            "user" => Ok(Self::User),
            "key" => Ok(Self::Key),
            "global" => Ok(Self::Global),
            other => Err(Error::custom(format!(
                "unknown rate key `{other}`; valid keys are `ip` (the client address), \
                 `user` (the token's subject or the API key's owner), `key` (the API key) \
                 and `global` (one budget for everyone)"
            ))),
        }
    }
}

/// The reason given with `skip_validation = "..."`; it must say something.
#[derive(Debug, Clone)]
pub(crate) struct Reason(pub(crate) String);

impl FromMeta for Reason {
    fn from_string(value: &str) -> darling::Result<Self> {
        if value.trim().is_empty() {
            return Err(Error::custom(
                "give the reason this input needs no validation in a few words, \
                 e.g. `skip_validation = \"opaque upload streamed to storage\"`",
            ));
        }
        Ok(Self(value.trim().to_owned()))
    }
}

/// `problems(404, 409)`: the error statuses the handler's own body answers with, beside
/// those of the guard and of the inputs, for the OpenAPI document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Problems(pub(crate) Vec<u16>);

impl FromMeta for Problems {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Self> {
        let mut errors = Error::accumulator();
        let mut statuses: Vec<u16> = Vec::new();
        for item in items {
            let NestedMeta::Lit(syn::Lit::Int(literal)) = item else {
                errors.push(
                    Error::custom("write each status as a number, e.g. `problems(404, 409)`")
                        .with_span(item),
                );
                continue;
            };
            let status = match literal.base10_parse::<u16>() {
                Ok(status @ 400..=599) => status,
                _ => {
                    errors.push(
                        Error::custom(format!(
                            "`{literal}` is not an error status; `problems` lists the 4xx and \
                             5xx statuses the handler answers with itself (its success is \
                             documented as 2XX)"
                        ))
                        .with_span(literal),
                    );
                    continue;
                }
            };
            if statuses.contains(&status) {
                errors.push(
                    Error::custom(format!("`{status}` is listed twice; keep one"))
                        .with_span(literal),
                );
                continue;
            }
            statuses.push(status);
        }
        errors.finish_with(Self(statuses))
    }
}
