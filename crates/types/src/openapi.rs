//! OpenAPI schemas (feature `openapi`) for the types whose JSON form is a hex
//! string, so the API document says exactly what a client must send.

/// `ToSchema` for a type serialised as exactly `$chars` lowercase hex characters.
macro_rules! hex_string_schema {
    ($ty:ty, $chars:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(format!("^[0-9a-f]{{{}}}$", $chars)))
                    .min_length(Some($chars))
                    .max_length(Some($chars))
                    .build()
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}

pub(crate) use hex_string_schema;
