//! What a handler's inputs look like, for its OpenAPI operation: the request body, the query
//! and the path, with the JSON Schema of each payload.
//!
//! `#[secure]` states every input of a handler in its policy's
//! [`describe_inputs`](crate::policy::Policy::describe_inputs), through a [`Probe`] of the
//! input's type. A probe of `Json<T>`, `Form<T>`, `Query<T>` or `Path<T>` whose `T` derives
//! `schemars::JsonSchema` describes it (with the `openapi` feature); a probe of any other
//! type describes nothing. The choice is made by method resolution on the concrete type
//! ("autoref specialisation": [`DescribeInput`] is implemented for `Probe<T>`,
//! [`DescribeNothing`] for `&Probe<T>`), so that no input type has to implement anything and
//! a build without the feature pays nothing.

use std::marker::PhantomData;

/// A stand-in for a value of the input type `T`, whose methods describe `T`.
pub struct Probe<T: ?Sized>(PhantomData<fn() -> T>);

impl<T: ?Sized> Probe<T> {
    /// The probe of `T`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Implemented for the probes of inputs with a payload whose schema is known.
pub trait DescribeInput {
    /// Adds the input to `inputs`.
    fn describe(&self, inputs: &mut Inputs);
}

/// The fallback for every other input: it adds nothing.
pub trait DescribeNothing {
    /// Adds nothing.
    fn describe(&self, _inputs: &mut Inputs) {}
}

impl<T: ?Sized> DescribeNothing for &Probe<T> {}

/// The described inputs of one handler.
#[derive(Default)]
pub struct Inputs {
    #[cfg(feature = "openapi")]
    pub(crate) described: Vec<Described>,
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs").finish_non_exhaustive()
    }
}

#[cfg(feature = "openapi")]
pub(crate) use schemas::{Described, Location};

#[cfg(feature = "openapi")]
mod schemas {
    use super::{DescribeInput, Inputs, Probe};
    use axum::extract::{Form, Json, Path, Query};
    use schemars::{JsonSchema, Schema, SchemaGenerator};

    /// Where an input is read from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Location {
        /// The body, of this media type; `required: false` for `Option<Json<T>>`.
        Body {
            media_type: &'static str,
            required: bool,
        },
        /// The query string, one parameter per property.
        Query,
        /// The path's parameters: one per property, or the whole value for a scalar.
        Path,
    }

    /// One input: where it is read from, and how to get its schema.
    pub(crate) struct Described {
        pub(crate) location: Location,
        pub(crate) schema: fn(&mut SchemaGenerator) -> Schema,
    }

    fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }

    impl Inputs {
        fn add<T: JsonSchema>(&mut self, location: Location) {
            self.described.push(Described {
                location,
                schema: schema_of::<T>,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Json<T>> {
        fn describe(&self, inputs: &mut Inputs) {
            inputs.add::<T>(Location::Body {
                media_type: "application/json",
                required: true,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Option<Json<T>>> {
        fn describe(&self, inputs: &mut Inputs) {
            inputs.add::<T>(Location::Body {
                media_type: "application/json",
                required: false,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Form<T>> {
        fn describe(&self, inputs: &mut Inputs) {
            inputs.add::<T>(Location::Body {
                media_type: "application/x-www-form-urlencoded",
                required: true,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Query<T>> {
        fn describe(&self, inputs: &mut Inputs) {
            inputs.add::<T>(Location::Query);
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Path<T>> {
        fn describe(&self, inputs: &mut Inputs) {
            inputs.add::<T>(Location::Path);
        }
    }
}
