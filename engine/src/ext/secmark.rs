//! `-j SECMARK`: give the packet an SELinux security context. The reference
//! kernel runs without SELinux, so the context never resolves and every rule
//! is refused (ENOENT in mangle/security, EINVAL in other tables).

use super::{CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_SELCTX: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "SECMARK",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[OptSpec::arg("selctx", O_SELCTX).mand()],
    guided: true,
    help: "SECMARK target options:\n  \
--selctx value                     SELinux security context to give the packet\n",
    new_match: None,
    new_target: Some(|| Box::new(Secmark::default())),
};

/// Longest context kept (256-byte field with its terminating zero).
const SELCTX_MAX: usize = 255;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secmark {
    pub selctx: String,
}

impl Target for Secmark {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.selctx = super::log::truncate_bytes(arg.unwrap_or_default(), SELCTX_MAX);
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" && cx.table != "security" {
            return Err(KernelError::Invalid);
        }
        // No SELinux policy: the context cannot be turned into a secid.
        Err(KernelError::NoEntry)
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --selctx ");
        out.push_str(&self.selctx);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" SECMARK selctx ");
        out.push_str(&self.selctx);
    }

    /// Sets the packet's security mark; the simulator has no SELinux policy that would read it, so it only goes on.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        format!("label the packet with the SELinux context {}", self.selctx)
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
    fn refused_without_selinux() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            "iptables -t security -A INPUT -j SECMARK --selctx system_u:object_r:x:s0",
        );
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (No such file or directory): rule in chain INPUT\n"
        );
        let o = run(&mut h, "iptables -A INPUT -j SECMARK --selctx x");
        assert!(o.stderr.contains("(Invalid argument)"));
        let o = run(&mut h, "iptables -t mangle -A INPUT -j SECMARK");
        assert!(o
            .stderr
            .contains("SECMARK: option \"--selctx\" must be specified\n\n"));
    }

    #[test]
    fn goes_on() {
        use crate::ext::targets_testkit::{fire_alone, ping};
        let mut p = ping("10.0.0.1", "10.0.0.2", 1);
        let before = p.clone();
        let mut t = (super::INFO.new_target.unwrap())();
        let (v, emitted, log) =
            fire_alone(t.as_mut(), crate::ruleset::Hook::Input, "mangle", &mut p);
        assert_eq!(v, Some(crate::ext::TargetVerdict::Continue));
        assert!(emitted.is_empty() && log.is_empty());
        assert_eq!(p, before);
    }
}
