//! `-j NOTRACK`: the old name of `-j CT --notrack` (raw table): the packet's
//! connection is not tracked. Saved under its own name, listed as `CT`.

use super::{CheckCx, ExtInfo, ExtKind, KernelError, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "NOTRACK",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[],
    guided: true,
    help: "",
    new_match: None,
    new_target: Some(|| Box::new(Notrack)),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notrack;

impl Target for Notrack {
    ext_boilerplate!(INFO, Target);

    fn list_name(&self) -> &'static str {
        "CT"
    }

    fn parse(&mut self, _id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "raw" {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, _out: &mut String) {}

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" NOTRACK");
    }

    /// As `-j CT --notrack`: the packet stays UNTRACKED (unless it has its
    /// conntrack already).
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        if !super::ct::has_conntrack(cx) {
            cx.pkt.meta.untracked = true;
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        "do not track this packet's connection (it stays UNTRACKED)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn saved_as_notrack_listed_as_ct() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -t raw -A PREROUTING -j NOTRACK").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t raw -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -j NOTRACK\n"
        );
        assert!(run(&mut h, "iptables -t raw -L PREROUTING -n")
            .stdout
            .contains("CT         0    --  0.0.0.0/0            0.0.0.0/0            NOTRACK\n"));
        assert_eq!(run(&mut h, "iptables -A INPUT -j NOTRACK").exit, 4);
        let o = run(&mut h, "iptables -t raw -A OUTPUT -j NOTRACK --notrack");
        assert!(o.stderr.contains("unknown option \"--notrack\""));
    }

    use crate::ext::targets_testkit::{ping, Lab};

    #[test]
    fn the_packet_stays_untracked() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(r, "iptables -t raw -A PREROUTING -j NOTRACK");
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.client).len(), 1);
        assert!(lab.w.hosts[r].conntrack.is_empty());
    }
}
