//! `-j TRACE`: mark the packet so that every rule it meets from here on is
//! reported (`xtables-monitor --trace`, the playground's trace view).

use super::{ExtInfo, ExtKind, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "TRACE",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[],
    guided: true,
    help: "",
    new_match: None,
    new_target: Some(|| Box::new(Trace)),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace;

impl Target for Trace {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        Ok(())
    }

    fn save(&self, _out: &mut String) {}

    fn print(&self, _out: &mut String, _numeric: bool) {}

    /// Marks the packet for tracing (`meta nftrace set 1`); the simulator traces every packet anyway, so it only goes on.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        "turn on rule tracing for this packet, then continue with the next rule".to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    #[test]
    fn any_table() {
        let mut h = Host::new("h");
        for t in ["raw", "filter", "mangle"] {
            let a: Vec<String> = format!("iptables -t {t} -A OUTPUT -j TRACE")
                .split(' ')
                .map(String::from)
                .collect();
            assert_eq!(run_argv(&mut h, &a, None).exit, 0);
        }
        let a: Vec<String> = "iptables -t raw -S OUTPUT"
            .split(' ')
            .map(String::from)
            .collect();
        assert_eq!(
            run_argv(&mut h, &a, None).stdout,
            "-P OUTPUT ACCEPT\n-A OUTPUT -j TRACE\n"
        );
    }

    #[test]
    fn goes_on() {
        use crate::ext::targets_testkit::{ping, Lab};
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t raw -A PREROUTING -j TRACE
             iptables -t raw -A PREROUTING -p icmp",
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.client).len(), 1);
        assert_eq!(lab.count(r, "raw", "-A PREROUTING -p icmp"), 2);
    }
}
