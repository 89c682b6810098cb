//! `-m mark --mark value[/mask]`: matches the packet's firewall mark (nfmark).

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "mark",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("mark", 0).mand().inv()],
    guided: true,
    help: concat!(
        "mark match options:\n",
        "[!] --mark value[/mask]    Match the packet mark (ANDed with mask first)\n",
    ),
    new_match: Some(|| Box::new(MarkMatch::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkMatch {
    pub mark: u32,
    pub mask: u32,
    pub inv: bool,
}

impl Default for MarkMatch {
    fn default() -> Self {
        MarkMatch {
            mark: 0,
            mask: u32::MAX,
            inv: false,
        }
    }
}

impl MarkMatch {
    /// Whether a packet mark matches.
    pub fn matches(&self, nfmark: u32) -> bool {
        ((nfmark & self.mask) == self.mark) != self.inv
    }
}

/// Plain words for `value/mask` tests on a mark.
pub fn mark_words(what: &str, mark: u32, mask: u32, inv: bool) -> String {
    let is = if inv { "is not" } else { "is" };
    if mask == u32::MAX {
        format!("Matches when the {what} {is} 0x{mark:x}")
    } else {
        format!("Matches when the {what} ANDed with 0x{mask:x} {is} 0x{mark:x}")
    }
}

impl Match for MarkMatch {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        (self.mark, self.mask) = xtopt::markmask("mark", "mark", arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --mark ");
        out.push_str(&xtopt::fmt_mark(self.mark, self.mask));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" mark match");
        if self.inv {
            out.push_str(" !");
        }
        out.push(' ');
        out.push_str(&xtopt::fmt_mark(self.mark, self.mask));
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(MarkMatch::matches(self, cx.pkt.meta.mark))
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        format!(
            "`{}` did not match: packet mark is 0x{:x}",
            opt.trim_start(),
            cx.pkt.meta.mark
        )
    }

    fn explain(&self) -> String {
        mark_words("packet mark", self.mark, self.mask, self.inv)
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn packet_mark_with_mask() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m mark --mark 0x10/0xf0");
        sh(&mut w, 0, "iptables -A INPUT -m mark ! --mark 0");
        sh(&mut w, 0, "iptables -A INPUT -m mark --mark 0");
        let mut p = udp("10.0.0.2", 1, "10.0.0.1", 2, 0);
        p.meta.mark = 0x1f;
        inject(&mut w, p);
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1, 0]);
        assert_eq!(
            why(&w, "INPUT", 3),
            "`--mark 0x0` did not match: packet mark is 0x1f"
        );
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1, 1]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--mark 0x10/0xf0` did not match: packet mark is 0x0"
        );
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_list_and_errors() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m mark ! --mark 16/0xff").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m mark --mark 4294967295").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m mark ! --mark 0x10/0xff\n-A INPUT -m mark --mark 0xffffffff\n"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(l.contains("0.0.0.0/0            mark match ! 0x10/0xff\n"));
        assert!(l.contains("0.0.0.0/0            mark match 0xffffffff\n"));
        let out = run(&mut h, "iptables -A INPUT -m mark --mark 1/2/3");
        assert!(out
            .stderr
            .contains("mark: trailing garbage after value for option \"--mark\".\n\n"));
        let out = run(&mut h, "iptables -A INPUT -m mark --mark 1/");
        assert!(out
            .stderr
            .contains("mark: bad integer value for option \"--mark\", or out of range.\n\n"));
    }

    #[test]
    fn matching() {
        let m = super::MarkMatch {
            mark: 0x10,
            mask: 0xf0,
            inv: false,
        };
        assert!(m.matches(0x1f));
        assert!(!m.matches(0x2f));
    }
}
