//! specmill: the server binary's library. `generated` is what specmill-codegen made from
//! `specs/`; `api` maps each generated service trait onto the runtime's store; `server`
//! assembles the actix app.

#[path = "../generated/mod.rs"]
pub mod generated;

pub mod api;
pub mod bench;
pub mod cli;
pub mod contract;
pub mod docs;
pub mod server;
pub mod ui;
