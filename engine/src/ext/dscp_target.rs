//! `-j DSCP --set-dscp N | --set-dscp-class NAME`: rewrites the DiffServ code
//! point of the packet. Only in the mangle table.

use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext::dscp::{class_to_dscp, DSCP_MAX};
use crate::ext_boilerplate;

const O_SET: u8 = 0;
const O_CLASS: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "DSCP",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("set-dscp", O_SET).excl(1 << O_CLASS),
        OptSpec::arg("set-dscp-class", O_CLASS).excl(1 << O_SET),
    ],
    guided: true,
    help: "DSCP target options\n\
\x20 --set-dscp value\t\tSet the DSCP code point, in decimal (32) or hex (0x20)\n\
\x20 --set-dscp-class class\tSet the DSCP of a DiffServ class: BE, EF, AFxx or CSx\n\
\n\
\t\t\t\tOnly one of the two may be given.\n",
    new_match: None,
    new_target: Some(|| Box::new(DscpTarget::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DscpTarget {
    pub dscp: u8,
}

impl Target for DscpTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        self.dscp = if id == O_SET {
            xtopt::uint("DSCP", "set-dscp", arg, 0, DSCP_MAX)? as u8
        } else {
            class_to_dscp(arg)?
        };
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new(
                "DSCP target: Parameter --set-dscp is required",
            ));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(" --set-dscp 0x{:02x}", self.dscp));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(" DSCP set 0x{:02x}", self.dscp));
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        // The ECN bits stay.
        let tos = cx.hdr.tos;
        if tos >> 2 != self.dscp {
            cx.pkt.set_tos((tos & 0x03) | (self.dscp << 2));
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        format!("set the DSCP to 0x{:02x} and continue", self.dscp)
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
    fn class_saves_as_number() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A OUTPUT -j DSCP --set-dscp-class EF"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t mangle -S OUTPUT").stdout,
            "-P OUTPUT ACCEPT\n-A OUTPUT -j DSCP --set-dscp 0x2e\n"
        );
        assert!(run(&mut h, "iptables -t mangle -L OUTPUT")
            .stdout
            .ends_with(" DSCP set 0x2e\n"));
        assert_eq!(
            run(&mut h, "iptables -A OUTPUT -j DSCP --set-dscp 1").exit,
            4
        );
        let o = run(&mut h, "iptables -t mangle -A OUTPUT -j DSCP");
        assert!(o
            .stderr
            .contains("DSCP target: Parameter --set-dscp is required\nTry"));
    }

    #[test]
    fn sets_dscp_and_keeps_ecn() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -t mangle -A POSTROUTING -j DSCP --set-dscp-class EF",
        );
        let mut p = ping("10.0.1.9", "10.0.2.5");
        p.set_tos(0x03);
        assert!(passed(&send_at(&mut w, SEC, p)));
        let out = last_sent(&w);
        assert_eq!(out[1], 0xbb);
        assert!(checksums_ok(&out));
    }
}
