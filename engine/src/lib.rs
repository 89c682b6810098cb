//! The iptables playground engine: the command language, the ruleset model
//! and the simulation shared by the CLI and the browser app.

pub mod bytescan;
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod cli;
pub mod command;
pub mod decimal;
pub mod ext;
pub mod fasthash;
pub mod ipset;
pub mod iptables;
#[cfg(target_os = "linux")]
pub mod kernel;
pub mod lab;
pub mod lint;
pub mod netdb;
pub mod nfacct;
pub mod packet;
pub mod prefetch;
pub mod ruleset;
pub mod sim;
pub mod sort;
#[cfg(test)]
mod test_rng;

/// Engine version, as shown by `iptplay --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
