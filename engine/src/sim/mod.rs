//! The simulated world: hosts with interfaces, routes and netfilter state,
//! packets walking the hooks, conntrack and NAT, and the traces they leave.

pub mod conntrack;
pub mod eval;
pub mod host;
pub mod iface;
pub mod log;
pub mod nat;
pub mod netfilter;
pub mod reject;
pub mod route;
pub mod rules;
pub mod stack;
pub mod synrecv;
pub mod tools;
pub mod trace;
pub mod world;
