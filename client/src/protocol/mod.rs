//! Per-protocol framing the generated methods call: how a reply of each protocol is
//! unwrapped on success and decoded into its typed error otherwise.

pub mod aws;
pub mod clearml;
pub mod rest;
