//! specmill runtime: the store every API shares, and the protocol plumbing that the
//! generated handlers call (envelopes, native errors, version resolution, parameters).

pub mod auth;
pub mod protocol;
pub mod search;
pub mod store;
pub mod token;
pub mod validate;

pub use specmill_wire::{sigv4, wire};

