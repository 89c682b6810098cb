//! The randomized differential harness: generated rulesets and packets
//! through the real kernel and through the simulator, everything
//! observable compared, disagreements shrunk to a small reproducer.

pub mod gen;
pub mod kernel;
pub mod nat_ports;
pub mod observe;
pub mod path;
pub mod replay;
pub mod rng;
pub mod run;
pub mod shrink;
pub mod sim;
