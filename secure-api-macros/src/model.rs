//! The typed model between `check` and `expand`: a handler whose policy passed every check,
//! with the spans the expansion puts its code on. `expand` reads nothing else.

use crate::item::Function;
use crate::names::Name;
use proc_macro2::Span;

/// A handler ready to be expanded.
pub(crate) struct SecureHandler {
    pub(crate) function: Function,
    pub(crate) policy: Policy,
    /// The arguments, in signature order.
    pub(crate) inputs: Vec<Input>,
    /// The return type, when the policy can name it to describe the answer.
    pub(crate) answer: Option<syn::Type>,
    /// Where the runtime is: `::secure_api`, or what `crate = "..."` says.
    pub(crate) krate: syn::Path,
}

/// The runtime's path: `crate = "..."` if given, else `::secure_api`.
pub(crate) fn runtime(krate: Option<syn::Path>) -> syn::Path {
    krate.unwrap_or_else(|| syn::parse_quote!(::secure_api))
}

/// What the guard enforces, as the runtime's `PolicySpec` will state it.
pub(crate) struct Policy {
    pub(crate) credentials: Credentials,
    pub(crate) roles: Requirement,
    pub(crate) scopes: Requirement,
    pub(crate) rate: Option<(Rate, RateKey)>,
    pub(crate) inputs: InputCheck,
    pub(crate) mfa: Option<Mfa>,
    pub(crate) limit_fail_open: bool,
    /// The error statuses the handler answers with itself (`problems(404, 409)`).
    pub(crate) problems: Vec<u16>,
}

impl Policy {
    /// A bearer policy with no requirement: what the error fallback states, so that the
    /// handler keeps its guard. It never runs, since the crate does not compile.
    pub(crate) fn placeholder() -> Self {
        Self {
            credentials: Credentials::Bearer,
            roles: Requirement::Nothing,
            scopes: Requirement::Nothing,
            rate: None,
            inputs: InputCheck::AsTyped,
            mfa: None,
            limit_fail_open: false,
            problems: Vec::new(),
        }
    }
}

/// Which credentials a handler accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// None: `public`.
    Public,
    /// A bearer token: the default.
    Bearer,
    /// An API key: `api_key`.
    ApiKey,
    /// Either: `bearer_or_api_key`.
    BearerOrApiKey,
}

impl Credentials {
    pub(crate) fn accepts_api_key(self) -> bool {
        matches!(self, Self::ApiKey | Self::BearerOrApiKey)
    }
}

/// What the manifest says of the handler's inputs, from what the expansion did with them.
pub(crate) enum InputCheck {
    /// No input is wrapped in `Valid`; each is admissible by its type.
    AsTyped,
    /// At least one input is validated, and every other one admissible by its type.
    Validated,
    /// `skip_validation = "why"`.
    Skipped(String),
}

/// The roles or the scopes a caller must hold.
pub(crate) enum Requirement {
    Nothing,
    AllOf(Vec<Name>),
    AnyOf(Vec<Name>),
}

/// `rate = "100/15m"`: at most `max` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    pub(crate) max: u32,
    pub(crate) window_secs: u64,
}

/// What a rate limit counts by: `rate_key = "ip" | "user" | "key" | "global"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateKey {
    Ip,
    User,
    Key,
    Global,
}

/// `mfa` or `mfa = "15m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mfa {
    /// A second factor, used at any time.
    Required,
    /// A second factor used at most this many seconds ago.
    Within(u64),
}

/// An argument of the handler, and what the expansion does with it.
pub(crate) struct Input {
    /// Its position in the signature as written (before the guard is put first).
    pub(crate) position: usize,
    /// Its type as written.
    pub(crate) ty: syn::Type,
    pub(crate) treatment: Treatment,
    pub(crate) admission: Admission,
    /// Whether its type names the handler's generics, which the policy type cannot name.
    pub(crate) generic: bool,
}

/// How an argument is wrapped.
pub(crate) enum Treatment {
    /// Left as written.
    AsWritten,
    /// `Valid<E, { proof }>`: parsed, then checked by garde. `proof` is the payload whose
    /// `garde::Validate` the expansion proves, spanned on it (`NewUser` in `Json<NewUser>`);
    /// `None` when it names the handler's generics.
    Validated {
        proof: Option<Box<syn::Type>>,
        span: Span,
    },
    /// `Parsed<E>`: parsed only, with failures answered as problems; for inputs whose type
    /// is their whole contract (`Path<u64>`) or that opted out with `skip_validation`.
    Parsed,
}

/// How the expansion states that an argument's type is an admissible input
/// (`secure_api::SecureInput`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Not stated: the argument is validated, or the handler opted out.
    Unchecked,
    /// In a constant next to the handler: one error on the type if it is not admissible.
    Const,
    /// In a function with the handler's generics, for a type that names them: judged from
    /// the handler's own bounds, where it is defined.
    Generic,
}
