//! The iptables playground in the browser: a Yew front end over the engine.
//! The model (session, share links, completion, views) builds and tests on
//! every target; the user interface only for WebAssembly.

pub mod adapter;
pub mod complete;
pub mod labs;
pub mod session;
pub mod share;
pub mod teach;
pub mod views;

#[cfg(target_arch = "wasm32")]
pub mod ui;
