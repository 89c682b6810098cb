//! `-m connmark --mark value[/mask]`: matches the mark kept on the packet's
//! connection (ctmark), set earlier with `-j CONNMARK`.

use super::mark::mark_words;
use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
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

    fn explain(&self) -> String {
        mark_words("connection mark", self.mark, self.mask, self.inv)
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
