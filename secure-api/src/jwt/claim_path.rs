//! `ClaimPath`: where a claim is in a token's payload, written `realm_access.roles`; and the
//! names (roles, scopes) a claim holds.

use super::compact::{Claim, Claims};
use super::identity::TokenRejection;
use serde_json::{Map, Value};
use std::fmt;

/// Where a claim is: the keys from the top-level object down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimPath {
    /// Never empty; a key is empty only if a builder was given an empty name, which
    /// `ClaimProfile::check` refuses.
    segments: Vec<String>,
}

impl ClaimPath {
    /// The path through these keys, taken literally.
    pub(super) fn from_keys<const N: usize>(keys: [String; N]) -> Self {
        Self {
            segments: keys.into(),
        }
    }

    /// A top-level claim, its name taken literally.
    pub(super) fn key(name: impl Into<String>) -> Self {
        Self {
            segments: vec![name.into()],
        }
    }

    /// `realm_access.roles`, `"https://example.com/roles"`, `resource_access."my.api".roles`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let fail = |why: &str| Err(format!("`{text}`: {why}"));
        let mut segments = Vec::new();
        let mut rest = text.trim();
        loop {
            let quoted = rest.starts_with('"');
            let (segment, after) = match rest.strip_prefix('"') {
                Some(quoted) => match quoted.split_once('"') {
                    Some((segment, after)) => (segment, after),
                    None => return fail("a quote is not closed"),
                },
                None => rest.split_at(rest.find('.').unwrap_or(rest.len())),
            };
            if segment.is_empty() {
                return fail("a key is empty (two dots, or a dot at either end?)");
            }
            if segment.contains('"') {
                return fail("a quote may only open a key (write `\"a.b\"`, not `a\"b`)");
            }
            if !quoted && segment.contains(char::is_whitespace) {
                return fail("a key with white space must be quoted");
            }
            segments.push(segment.to_owned());
            rest = match after.strip_prefix('.') {
                Some(next) => next,
                None if after.is_empty() => return Ok(Self { segments }),
                None => return fail("a quoted key must be followed by `.` or end the path"),
            };
        }
    }

    /// Why the path cannot be used, if one of its keys is empty.
    pub(super) fn empty_key(&self) -> Option<String> {
        self.segments
            .iter()
            .any(String::is_empty)
            .then(|| format!("`{self}`: a key is empty"))
    }

    /// Paths separated by commas outside quotes (`SECURE_API_ROLES_CLAIMS`).
    pub(crate) fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let mut paths = Vec::new();
        let (mut start, mut quoted) = (0, false);
        for (at, character) in text.char_indices() {
            match character {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    paths.push(Self::parse(&text[start..at])?);
                    start = at + 1;
                }
                _ => {}
            }
        }
        paths.push(Self::parse(&text[start..])?);
        Ok(paths)
    }

    /// The claim at this path when the verifier has read it already (`roles`, `scope`).
    pub(super) fn known<'c, 'a>(&self, claims: &'c Claims<'a>) -> Option<&'c Claim<'a>> {
        match self.segments.as_slice() {
            [key] if key == "roles" => Some(&claims.roles),
            [key] if key == "scope" => Some(&claims.scope),
            _ => None,
        }
    }

    /// The value at this path; `None` if a key is missing or a value is `null` on the way.
    pub(super) fn find<'a>(
        &self,
        claims: &'a Map<String, Value>,
    ) -> Result<Option<&'a Value>, TokenRejection> {
        let mut segments = self.segments.iter();
        let mut value = segments.next().and_then(|first| claims.get(first));
        for segment in segments {
            value = match value {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Object(object)) => object.get(segment),
                Some(_) => return Err(TokenRejection::BadClaims),
            };
        }
        Ok(value)
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, segment) in self.segments.iter().enumerate() {
            if index > 0 {
                f.write_str(".")?;
            }
            let plain = !segment.is_empty()
                && !segment.contains(['.', ',', '"'])
                && !segment.contains(char::is_whitespace);
            match plain {
                true => f.write_str(segment)?,
                false => write!(f, "\"{segment}\"")?,
            }
        }
        Ok(())
    }
}

/// What a claim holding names may be.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// An array of strings (roles).
    Array,
    /// An array of strings or a space-delimited string (scopes).
    ArrayOrSpaced,
}

/// Adds the names `claim` holds to `names` (once each); `null` holds none.
pub(super) fn names(
    claim: &Claim<'_>,
    shape: Shape,
    names: &mut Vec<String>,
) -> Result<(), TokenRejection> {
    let mut add = |name: &str| {
        if !names.iter().any(|held| held == name) {
            names.push(name.to_owned());
        }
    };
    match claim {
        Claim::Absent | Claim::Null => {}
        Claim::Texts(items) => items.iter().for_each(|item| add(item)),
        Claim::Text(text) if shape == Shape::ArrayOrSpaced => {
            text.split_whitespace().for_each(add);
        }
        _ => return Err(TokenRejection::BadClaims),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_paths_parse() {
        let keys = |text: &str| ClaimPath::parse(text).map(|path| path.to_string());
        assert_eq!(
            keys("realm_access.roles").as_deref(),
            Ok("realm_access.roles")
        );
        assert_eq!(keys(" cognito:groups ").as_deref(), Ok("cognito:groups"));
        assert_eq!(
            keys("\"https://x.example/roles\"").as_deref(),
            Ok("\"https://x.example/roles\"")
        );
        assert_eq!(
            keys("resource_access.\"my.api\".roles").as_deref(),
            Ok("resource_access.\"my.api\".roles")
        );
        assert_eq!(keys("\"plain\".roles").as_deref(), Ok("plain.roles"));
        for bad in [
            "", "a..b", ".a", "a.", "\"a", "a\"b", "\"a\"b", "\"\"", "a b", "a. b",
        ] {
            assert!(ClaimPath::parse(bad).is_err(), "{bad:?}");
        }
        let list = ClaimPath::parse_list("a.b, \"x,y\".z ,c").expect("list");
        let written: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(written, ["a.b", "\"x,y\".z", "c"]);
        assert!(ClaimPath::parse_list("a,,b").is_err());
        assert!(ClaimPath::parse_list("a,").is_err());
    }
}
