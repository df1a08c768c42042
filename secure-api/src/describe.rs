//! What a handler takes and gives, for its OpenAPI operation: the request body, the query and
//! the path it reads, and the body of its successful answer, each with its JSON Schema.
//!
//! `#[secure]` states every input of a handler, and its return type, in its policy's
//! [`describe`](crate::policy::Policy::describe), through a [`Probe`] of each type as written.
//! A probe of `Json<T>`, `Form<T>`, `Query<T>` or `Path<T>` input whose `T` derives
//! `schemars::JsonSchema` describes it; so does a probe of a `Json<T>` answer (alone, after a
//! `StatusCode`, or as the `Ok` of a `Result`), with the `openapi` feature. A probe of any
//! other type describes nothing. The choice is made by method resolution on the concrete type
//! ("autoref specialisation": [`DescribeInput`] and [`DescribeAnswer`] are implemented for
//! `Probe<T>`, [`DescribeNothing`] for `&Probe<T>`), so that no type has to implement
//! anything and a build without the feature pays nothing.

use std::marker::PhantomData;

/// A stand-in for a value of the type `T`, whose methods describe `T`.
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
    /// Adds the input to `description`.
    fn describe_input(&self, description: &mut Description);
}

/// Implemented for the probes of return types whose successful body has a known schema.
pub trait DescribeAnswer {
    /// Sets the answer's body in `description`.
    fn describe_answer(&self, description: &mut Description);
}

/// The fallback for every other type: it describes nothing.
pub trait DescribeNothing {
    /// Adds nothing.
    fn describe_input(&self, _description: &mut Description) {}

    /// Adds nothing.
    fn describe_answer(&self, _description: &mut Description) {}
}

impl<T: ?Sized> DescribeNothing for &Probe<T> {}

/// What is known of one handler's inputs and answer.
#[derive(Default)]
pub struct Description {
    #[cfg(feature = "openapi")]
    pub(crate) inputs: Vec<DescribedInput>,
    /// The schema of the successful answer's JSON body.
    #[cfg(feature = "openapi")]
    pub(crate) answer: Option<SchemaOf>,
}

impl std::fmt::Debug for Description {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Description").finish_non_exhaustive()
    }
}

#[cfg(feature = "openapi")]
pub(crate) use schemas::{DescribedInput, Location, SchemaOf};

#[cfg(feature = "openapi")]
mod schemas {
    use super::{DescribeAnswer, DescribeInput, Description, Probe};
    use axum::extract::{Form, Json, Path, Query};
    use axum::http::StatusCode;
    use schemars::{JsonSchema, Schema, SchemaGenerator};

    /// How to get one type's schema from a generator.
    pub(crate) type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

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
    pub(crate) struct DescribedInput {
        pub(crate) location: Location,
        pub(crate) schema: SchemaOf,
    }

    fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }

    impl Description {
        fn add_input<T: JsonSchema>(&mut self, location: Location) {
            self.inputs.push(DescribedInput {
                location,
                schema: schema_of::<T>,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Json<T>> {
        fn describe_input(&self, description: &mut Description) {
            description.add_input::<T>(Location::Body {
                media_type: "application/json",
                required: true,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Option<Json<T>>> {
        fn describe_input(&self, description: &mut Description) {
            description.add_input::<T>(Location::Body {
                media_type: "application/json",
                required: false,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Form<T>> {
        fn describe_input(&self, description: &mut Description) {
            description.add_input::<T>(Location::Body {
                media_type: "application/x-www-form-urlencoded",
                required: true,
            });
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Query<T>> {
        fn describe_input(&self, description: &mut Description) {
            description.add_input::<T>(Location::Query);
        }
    }

    impl<T: JsonSchema> DescribeInput for Probe<Path<T>> {
        fn describe_input(&self, description: &mut Description) {
            description.add_input::<T>(Location::Path);
        }
    }

    impl<T: JsonSchema> DescribeAnswer for Probe<Json<T>> {
        fn describe_answer(&self, description: &mut Description) {
            description.answer = Some(schema_of::<T>);
        }
    }

    impl<T: JsonSchema> DescribeAnswer for Probe<(StatusCode, Json<T>)> {
        fn describe_answer(&self, description: &mut Description) {
            description.answer = Some(schema_of::<T>);
        }
    }

    /// The `Ok` side: the `Err` side is a problem, which the document states apart.
    impl<A, E> DescribeAnswer for Probe<Result<A, E>>
    where
        Probe<A>: DescribeAnswer,
    {
        fn describe_answer(&self, description: &mut Description) {
            Probe::<A>::new().describe_answer(description);
        }
    }
}
