//! `-j CONNSECMARK`: copy the SELinux security mark between the packet and
//! its connection (mangle and security tables).

use super::{
    bit, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult,
};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_SAVE: u8 = 0;
const O_RESTORE: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "CONNSECMARK",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::flag("save", O_SAVE).excl(bit(O_RESTORE)),
        OptSpec::flag("restore", O_RESTORE).excl(bit(O_SAVE)),
    ],
    guided: true,
    help: "CONNSECMARK target options:\n  \
--save                   Copy the packet's security mark to its connection\n  \
--restore                Copy the connection's security mark to the packet\n",
    new_match: None,
    new_target: Some(|| Box::new(Connsecmark::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connsecmark {
    /// `true` for `--restore`, `false` for `--save`.
    pub restore: bool,
}

impl Target for Connsecmark {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.restore = id == O_RESTORE;
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new("CONNSECMARK target: parameter required"));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" && cx.table != "security" {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(if self.restore {
            " --restore"
        } else {
            " --save"
        });
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(if self.restore {
            " CONNSECMARK restore"
        } else {
            " CONNSECMARK save"
        });
    }

    /// Copies the security mark between packet and connection; without an SELinux policy in the simulator nothing reads it, so it only goes on.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        if self.restore {
            "copy the connection's security mark to the packet".to_string()
        } else {
            "copy the packet's security mark to its connection".to_string()
        }
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
    fn tables_and_errors() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A INPUT -j CONNSECMARK --restore"
            )
            .exit,
            0
        );
        assert!(run(&mut h, "iptables -t mangle -L INPUT").stdout.contains(
            "CONNSECMARK  all  --  anywhere             anywhere             CONNSECMARK restore\n"
        ));
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j CONNSECMARK --save").exit,
            4
        );
        let o = run(&mut h, "iptables -t mangle -A INPUT -j CONNSECMARK");
        assert!(o
            .stderr
            .contains("CONNSECMARK target: parameter required\n"));
    }

    #[test]
    fn goes_on() {
        use crate::ext::targets_testkit::{ping, Lab};
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t mangle -A FORWARD -j CONNSECMARK --restore
             iptables -t mangle -A FORWARD -p icmp",
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.client).len(), 1);
        assert_eq!(lab.count(r, "mangle", "-A FORWARD -p icmp"), 2);
    }
}
