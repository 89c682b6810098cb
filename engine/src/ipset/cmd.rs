//! The `ipset` command line.

use crate::command::Output;
use crate::sim::host::Host;

/// Runs `ipset ARGS...` on a host.
pub fn run(_host: &mut Host, _argv: &[String], _stdin: Option<&str>) -> Output {
    Output::err("ipset v7.17: command is being built\n", 1)
}
