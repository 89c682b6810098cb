//! `-j AUDIT`: record the packet in the kernel audit log as accepted,
//! dropped or rejected, then continue down the chain.

use super::{ExtInfo, ExtKind, OptSpec, ParseCx, Target, XtError, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_TYPE: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "AUDIT",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[OptSpec::arg("type", O_TYPE).mand()],
    guided: true,
    help: "AUDIT target options\n  --type TYPE\t\tAction recorded: accept, drop or reject.\n",
    new_match: None,
    new_target: Some(|| Box::new(Audit::default())),
};

const TYPES: [&str; 3] = ["accept", "drop", "reject"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Index in [`TYPES`].
    pub kind: u8,
}

impl Audit {
    fn name(&self) -> &'static str {
        TYPES.get(self.kind as usize).copied().unwrap_or("?")
    }
}

impl Target for Audit {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let i = TYPES
            .iter()
            .position(|t| t.eq_ignore_ascii_case(arg))
            .ok_or_else(|| XtError::new(format!("Bad action type value \"{arg}\"")))?;
        self.kind = i as u8;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --type ");
        out.push_str(self.name());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" AUDIT ");
        out.push_str(self.name());
    }

    /// Audit is off on the reference kernel (`audit_enabled` is 0 without auditd): no record is written, the packet goes on.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        format!(
            "write an audit record saying the packet was {}, then continue with the next rule",
            match self.kind {
                0 => "accepted",
                1 => "dropped",
                _ => "rejected",
            }
        )
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
    fn types() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j AUDIT --type DROP").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -j AUDIT --type drop\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .contains(" AUDIT drop\n"));
        let o = run(&mut h, "iptables -A INPUT -j AUDIT --type acc");
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): Bad action type value \"acc\"\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
    }

    #[test]
    fn goes_on_without_a_record() {
        use crate::ext::targets_testkit::{ping, Lab};
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A FORWARD -j AUDIT --type drop
             iptables -A FORWARD -p icmp",
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.client).len(), 1);
        assert_eq!(lab.count(r, "filter", "-A FORWARD -p icmp"), 2);
        assert!(lab.kmsg(r).is_empty());
    }
}
