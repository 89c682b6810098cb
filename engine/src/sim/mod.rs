//! The simulated world: hosts and their state.

pub mod host;
