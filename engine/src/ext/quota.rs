//! `-m quota --quota BYTES`: matches until the rule has let this many bytes
//! through, then stops matching (counted per rule).

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "quota",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("quota", 0).mand().inv()],
    guided: true,
    help: concat!(
        "quota match options:\n",
        "[!] --quota quota\t\tbytes the rule matches before it stops matching\n",
    ),
    new_match: Some(|| Box::new(Quota::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    pub quota: u64,
    pub inv: bool,
    /// Bytes left, as the kernel keeps them beside the rule (`None`: all of
    /// `quota`). The saved text keeps showing `quota`.
    pub left: Option<u64>,
}

impl Match for Quota {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.quota = xtopt::uint("quota", "quota", arg.unwrap_or_default(), 0, u64::MAX)?;
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" --quota {}", self.quota));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        // iptables 1.8.9 does not show the inversion here.
        out.push_str(&format!(" quota: {} bytes", self.quota));
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let len = cx.pkt.len() as u64;
        let left = self.left.unwrap_or(self.quota);
        // Once a packet does not fit, not even a small one passes again.
        let fits = left >= len;
        self.left = Some(if fits { left - len } else { 0 });
        Some(fits != self.inv)
    }

    fn reset(&mut self) {
        self.left = None;
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let left = self.left.unwrap_or(self.quota);
        if self.inv {
            format!(
                "`{}` did not match: the quota is not used up ({left} bytes left after this packet)",
                opt.trim_start()
            )
        } else {
            format!(
                "`{}` did not match: the quota is used up (the packet has {} bytes, {left} left)",
                opt.trim_start(),
                cx.pkt.len()
            )
        }
    }

    fn explain(&self) -> String {
        if self.inv {
            format!(
                "Matches once the rule's {} bytes are used up: from the first packet \
                 that no longer fits (the count starts again on -Z or a new ruleset)",
                self.quota
            )
        } else {
            format!(
                "Matches packets while they fit in the {} bytes the rule has left; after \
                 the first one that does not fit, nothing matches (until -Z or a new ruleset)",
                self.quota
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn quota_runs_out() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -p udp -m quota --quota 100 -j ACCEPT",
        );
        sh(&mut w, 0, "iptables -A INPUT -p udp -m quota ! --quota 50");
        sh(&mut w, 0, "iptables -A INPUT -p udp -j DROP");
        // 28 + 12 = 40 bytes each: two fit in 100, the third does not.
        let p = || udp("10.0.0.2", 1, "10.0.0.1", 2, 12);
        assert!(inject(&mut w, p()).starts_with("delivered"));
        assert!(inject(&mut w, p()).starts_with("delivered"));
        assert_eq!(inject(&mut w, p()), "dropped on h in INPUT");
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--quota 100` did not match: the quota is used up (the packet has 40 bytes, 0 left)"
        );
        // Even a tiny packet that would have fit the 20 bytes left stays out.
        assert_eq!(
            inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0)),
            "dropped on h in INPUT"
        );
        // The inverted rule: the first 40 bytes fit its 50, then it matches.
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![2, 1, 2]);
        // The saved text keeps the configured quota.
        assert!(sh(&mut w, 0, "iptables -S INPUT").contains("-m quota --quota 100 -j ACCEPT"));
        // -Z replaces the rule in nf_tables: the quota starts again.
        sh(&mut w, 0, "iptables -Z INPUT 1");
        assert!(inject(&mut w, p()).starts_with("delivered"));
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_and_list() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m quota ! --quota 0x10").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m quota ! --quota 16\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with("anywhere             quota: 16 bytes\n"));
        assert!(run(
            &mut h,
            "iptables -A INPUT -m quota --quota 18446744073709551616"
        )
        .stderr
        .contains("(0-18446744073709551615).\n\n"));
    }
}
