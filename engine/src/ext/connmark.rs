//! `-m connmark --mark value[/mask]`: matches the mark kept on the packet's
//! connection (ctmark), set earlier with `-j CONNMARK`.

use super::mark::mark_words;
use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "connmark",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("mark", 0).mand().inv()],
    guided: true,
    help: concat!(
        "connmark match options:\n",
        "[!] --mark value[/mask]    Match the connection mark (ANDed with mask first)\n",
    ),
    new_match: Some(|| Box::new(ConnmarkMatch::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnmarkMatch {
    pub mark: u32,
    pub mask: u32,
    pub inv: bool,
}

impl Default for ConnmarkMatch {
    fn default() -> Self {
        ConnmarkMatch {
            mark: 0,
            mask: u32::MAX,
            inv: false,
        }
    }
}

impl ConnmarkMatch {
    /// Whether a connection mark matches.
    pub fn matches(&self, ctmark: u32) -> bool {
        ((ctmark & self.mask) == self.mark) != self.inv
    }
}

impl Match for ConnmarkMatch {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        (self.mark, self.mask) = xtopt::markmask("connmark", "mark", arg.unwrap_or_default())?;
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
        // iptables prints two spaces before the value when not inverted.
        out.push_str(" connmark match ");
        if self.inv {
            out.push('!');
        }
        out.push(' ');
        out.push_str(&xtopt::fmt_mark(self.mark, self.mask));
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        // Without a connection the kernel says no, inverted or not.
        Some(
            cx.ct_entry()
                .is_some_and(|e| ConnmarkMatch::matches(self, e.mark)),
        )
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        match cx.ct_entry() {
            Some(e) => format!(
                "`{}` did not match: connection mark is 0x{:x}",
                opt.trim_start(),
                e.mark
            ),
            None => format!(
                "`{}` did not match: the packet has no connection (state {})",
                opt.trim_start(),
                super::conntrack::ct_view(cx).1.name()
            ),
        }
    }

    fn explain(&self) -> String {
        mark_words("connection mark", self.mark, self.mask, self.inv)
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, udp, why};

    #[test]
    fn connection_mark() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m connmark --mark 5/0xff");
        sh(&mut w, 0, "iptables -A INPUT -m connmark ! --mark 5");
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 1]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--mark 0x5/0xff` did not match: connection mark is 0x0"
        );
        // As if -j CONNMARK --set-mark 0x105 had marked the connection.
        for i in 0..4 {
            if let Some(e) = w.hosts[0].conntrack.get_mut(i) {
                e.mark = 0x105;
            }
        }
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 2]);
        // No connection (INVALID): neither form matches.
        inject(&mut w, tcp("10.0.0.2", 1, "10.0.0.1", 2, "SA"));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 2]);
        assert_eq!(
            why(&w, "INPUT", 2),
            "`! --mark 0x5` did not match: the packet has no connection (state INVALID)"
        );
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_and_list() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m connmark --mark 5/5").exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m connmark ! --mark 0/0xffffffff"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m connmark --mark 0x5/0x5\n-A INPUT -m connmark ! --mark 0x0\n"
        );
        let l = run(&mut h, "iptables -L INPUT").stdout;
        assert!(l.contains("anywhere             connmark match  0x5/0x5\n"));
        assert!(l.contains("anywhere             connmark match ! 0x0\n"));
    }
}
