//! `-j CHECKSUM --checksum-fill`: computes a missing checksum in the packet
//! (for guests behind virtual NICs that skip it). Mangle table only.

use super::{
    CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtResult,
};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "CHECKSUM",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[OptSpec::flag("checksum-fill", 0).mand()],
    guided: true,
    help: "CHECKSUM target options\n  --checksum-fill Compute and fill in the checksum of the packet\n",
    new_match: None,
    new_target: Some(|| Box::new(Checksum)),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksum;

impl Target for Checksum {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --checksum-fill");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" CHECKSUM fill");
    }

    fn explain(&self) -> String {
        "fill in the packet's checksum and continue".into()
    }

    /// The kernel fills the checksum only of packets whose checksum was
    /// left to the network card (`CHECKSUM_PARTIAL`). Packets in the lab
    /// always carry a complete checksum, so there is nothing to fill.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Continue)
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
    fn mandatory_and_mangle_only() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -t mangle -A POSTROUTING -j CHECKSUM");
        assert!(o
            .stderr
            .contains("CHECKSUM: option \"--checksum-fill\" must be specified\n\nTry"));
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A POSTROUTING -j CHECKSUM --checksum-fill"
            )
            .exit,
            0
        );
        assert!(run(&mut h, "iptables -t mangle -L POSTROUTING")
            .stdout
            .ends_with(" CHECKSUM fill\n"));
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j CHECKSUM --checksum-fill").exit,
            4
        );
    }

    #[test]
    fn leaves_complete_checksums() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -t mangle -A POSTROUTING -j CHECKSUM --checksum-fill",
        );
        let p = tcp("10.0.1.9", "10.0.2.5", 1, 80, "S");
        assert!(passed(&send_at(&mut w, SEC, p.clone())));
        let out = last_sent(&w);
        assert_eq!(out[12..], p.data[12..]);
        assert!(checksums_ok(&out));
    }
}
