//! specmill-wire: what both ends of a specmill API need and neither end's framework does.
//! Wire encodings beyond plain JSON ([`wire`]), the validation generated types run
//! ([`validate`]) and AWS Signature Version 4 ([`sigv4`], verified by the server, made by
//! the client). Used by `specmill-runtime` (the server) and `specmill-client`.

pub mod sigv4;
pub mod validate;
pub mod wire;
