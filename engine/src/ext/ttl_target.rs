//! `-j TTL`: sets, increments or decrements the IPv4 time-to-live. Only in
//! the mangle table.

use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext_boilerplate;

const O_SET: u8 = 0;
const O_DEC: u8 = 1;
const O_INC: u8 = 2;
const F_ANY: u64 = 0b111;

pub static INFO: ExtInfo = ExtInfo {
    name: "TTL",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("ttl-set", O_SET).excl(F_ANY),
        OptSpec::arg("ttl-dec", O_DEC).excl(F_ANY),
        OptSpec::arg("ttl-inc", O_INC).excl(F_ANY),
    ],
    guided: true,
    help: "TTL target options\n\
\x20 --ttl-set value\t\tSet the TTL to value\n\
\x20 --ttl-dec value\t\tLower the TTL by value (1-255)\n\
\x20 --ttl-inc value\t\tRaise the TTL by value (1-255)\n",
    new_match: None,
    new_target: Some(|| Box::new(TtlTarget::default())),
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TtlMode {
    #[default]
    Set,
    Inc,
    Dec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TtlTarget {
    pub mode: TtlMode,
    pub value: u8,
}

impl TtlTarget {
    /// The new TTL (saturating like the kernel).
    pub fn apply(&self, ttl: u8) -> u8 {
        match self.mode {
            TtlMode::Set => self.value,
            TtlMode::Inc => ttl.saturating_add(self.value),
            TtlMode::Dec => ttl.saturating_sub(self.value),
        }
    }
}

impl Target for TtlTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let (mode, opt, min) = match id {
            O_SET => (TtlMode::Set, "ttl-set", 0),
            O_DEC => (TtlMode::Dec, "ttl-dec", 1),
            _ => (TtlMode::Inc, "ttl-inc", 1),
        };
        self.value = xtopt::uint("TTL", opt, arg, min, 255)? as u8;
        self.mode = mode;
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & F_ANY == 0 {
            return Err(XtError::new("TTL: You must specify an action"));
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
        let opt = match self.mode {
            TtlMode::Set => "ttl-set",
            TtlMode::Inc => "ttl-inc",
            TtlMode::Dec => "ttl-dec",
        };
        out.push_str(&format!(" --{opt} {}", self.value));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let what = match self.mode {
            TtlMode::Set => "set to",
            TtlMode::Inc => "increment by",
            TtlMode::Dec => "decrement by",
        };
        out.push_str(&format!(" TTL {what} {}", self.value));
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let new = self.apply(cx.hdr.ttl);
        if new != cx.hdr.ttl {
            cx.pkt.set_ttl(new);
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        match self.mode {
            TtlMode::Set => format!("set the TTL to {} and continue", self.value),
            TtlMode::Inc => format!("raise the TTL by {} and continue", self.value),
            TtlMode::Dec => format!("lower the TTL by {} and continue", self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn modes_and_errors() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -t mangle -A OUTPUT -j TTL --ttl-dec 3").exit,
            0
        );
        assert!(run(&mut h, "iptables -t mangle -L OUTPUT")
            .stdout
            .ends_with(" TTL decrement by 3\n"));
        let o = run(
            &mut h,
            "iptables -t mangle -A OUTPUT -j TTL --ttl-dec 1 --ttl-inc 1",
        );
        assert!(o.stderr.contains(
            "TTL: option \"--ttl-dec\" cannot be used together with \"--ttl-inc\".\n\nTry"
        ));
        let o = run(
            &mut h,
            "iptables -t mangle -A OUTPUT -j TTL --ttl-set --ttl-inc 1",
        );
        assert!(o
            .stderr
            .contains("bad value for option \"--ttl-set\", or out of range (0-255)."));
        assert_eq!(run(&mut h, "iptables -A OUTPUT -j TTL --ttl-set 1").exit, 4);
        let t = TtlTarget {
            mode: TtlMode::Dec,
            value: 5,
        };
        assert_eq!(t.apply(3), 0);
    }

    #[test]
    fn rewrites_forwarded_packets() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -d 10.0.2.5 -j TTL --ttl-set 5",
        );
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -d 10.0.2.6 -j TTL --ttl-inc 250",
        );
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -d 10.0.2.7 -j TTL --ttl-dec 100",
        );
        // Forwarding took the TTL from 64 to 63 first; inc and dec saturate.
        for (dst, ttl) in [("10.0.2.5", 5), ("10.0.2.6", 255), ("10.0.2.7", 0)] {
            assert!(passed(&send_at(&mut w, SEC, ping("10.0.1.9", dst))));
            let p = last_sent(&w);
            assert_eq!(p[8], ttl, "{dst}");
            assert!(checksums_ok(&p));
        }
        let step = w.reports[0]
            .trace
            .steps
            .iter()
            .find(|s| s.rule == Some(3))
            .unwrap();
        assert_eq!(step.verdict.as_deref(), Some("TTL, continue"));
        assert_eq!(step.rewritten.as_ref().map(|h| h.ttl), Some(0));
    }
}
