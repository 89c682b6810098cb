//! `-m rpfilter`: reverse-path filter; matches packets whose source address
//! would be routed back out of the interface they came in on.

use super::{CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::{check::hooks_outside, Hook};

const O_LOOSE: u8 = 0;
const O_VALIDMARK: u8 = 1;
const O_ACCEPT_LOCAL: u8 = 2;
const O_INVERT: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "rpfilter",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("loose", O_LOOSE),
        OptSpec::flag("validmark", O_VALIDMARK),
        OptSpec::flag("accept-local", O_ACCEPT_LOCAL),
        OptSpec::flag("invert", O_INVERT),
    ],
    guided: true,
    help: concat!(
        "rpfilter match options:\n",
        "    --loose          the way back may leave by any interface\n",
        "    --validmark      look the route up with the packet's mark\n",
        "    --accept-local   let packets from a local address pass the test\n",
        "    --invert         match the packets that fail the test instead\n",
    ),
    new_match: Some(|| Box::new(Rpfilter::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rpfilter {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}

impl Rpfilter {
    fn words(&self, prefix: &str) -> String {
        let mut s = String::new();
        for (on, name) in [
            (self.loose, "loose"),
            (self.validmark, "validmark"),
            (self.accept_local, "accept-local"),
            (self.invert, "invert"),
        ] {
            if on {
                s.push(' ');
                s.push_str(prefix);
                s.push_str(name);
            }
        }
        s
    }
}

impl Match for Rpfilter {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        match id {
            O_LOOSE => self.loose = true,
            O_VALIDMARK => self.validmark = true,
            O_ACCEPT_LOCAL => self.accept_local = true,
            O_INVERT => self.invert = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if (cx.table != "mangle" && cx.table != "raw")
            || hooks_outside(cx.hooks, &[Hook::Prerouting])
        {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&self.words("--"));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" rpfilter");
        out.push_str(&self.words(""));
    }

    fn explain(&self) -> String {
        let mut s = format!(
            "Matches packets whose source {} routed back {}",
            if self.invert { "is not" } else { "is" },
            if self.loose {
                "through any interface"
            } else {
                "through the interface they arrived on"
            }
        );
        if self.accept_local {
            s.push_str(" (local source addresses pass)");
        }
        if self.validmark {
            s.push_str(" (route lookup uses the packet mark)");
        }
        s
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
    fn tables_hooks_and_texts() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -t raw -A PREROUTING -m rpfilter --invert --loose",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -t raw -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -m rpfilter --loose --invert\n"
        );
        assert!(run(&mut h, "iptables -t raw -L PREROUTING")
            .stdout
            .ends_with("anywhere             rpfilter loose invert\n"));
        assert_eq!(
            run(&mut h, "iptables -t nat -A PREROUTING -m rpfilter").exit,
            4
        );
        assert_eq!(
            run(&mut h, "iptables -t mangle -A FORWARD -m rpfilter").exit,
            4
        );
        assert_eq!(run(&mut h, "iptables -A INPUT -m rpfilter").exit, 4);
    }
}
