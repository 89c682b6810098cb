//! `-m ttl`: the IPv4 time-to-live equals (`--ttl-eq`), is below
//! (`--ttl-lt`) or above (`--ttl-gt`) a value.

use super::xtopt;
use super::{bit, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_EQ: u8 = 0;
const O_LT: u8 = 1;
const O_GT: u8 = 2;
const ANY: u64 = bit(O_EQ) | bit(O_LT) | bit(O_GT);

pub static INFO: ExtInfo = ExtInfo {
    name: "ttl",
    aliases: &[],
    kind: ExtKind::Match,
    // libipt_ttl lists --ttl-lt and --ttl-gt first; the conflict messages follow that order.
    options: &[
        OptSpec::arg("ttl-lt", O_LT).excl(ANY),
        OptSpec::arg("ttl-gt", O_GT).excl(ANY),
        OptSpec::arg("ttl-eq", O_EQ).excl(ANY).inv(),
    ],
    guided: true,
    help: "ttl match options:
[!] --ttl-eq value    TTL equals this value
  --ttl-lt value      TTL is less than this value
  --ttl-gt value      TTL is greater than this value\n",
    new_match: Some(|| Box::new(Ttl::default())),
    new_target: None,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ttl {
    pub mode: Mode,
    pub value: u8,
}

impl Match for Ttl {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let opt = match id {
            O_EQ => "ttl-eq",
            O_LT => "ttl-lt",
            _ => "ttl-gt",
        };
        self.value = xtopt::uint("ttl", opt, arg.unwrap_or_default(), 0, 255)? as u8;
        self.mode = match id {
            O_EQ if inv => Mode::Ne,
            O_EQ => Mode::Eq,
            O_LT => Mode::Lt,
            _ => Mode::Gt,
        };
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            // The closing quote is missing in iptables too.
            return Err(XtError::new(
                "TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let s = match self.mode {
            Mode::Eq => format!(" --ttl-eq {}", self.value),
            Mode::Ne => format!(" ! --ttl-eq {}", self.value),
            Mode::Lt => format!(" --ttl-lt {}", self.value),
            Mode::Gt => format!(" --ttl-gt {}", self.value),
        };
        out.push_str(&s);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let op = match self.mode {
            Mode::Eq => "==",
            Mode::Ne => "!=",
            Mode::Lt => "<",
            Mode::Gt => ">",
        };
        out.push_str(&format!(" TTL match TTL {op} {}", self.value));
    }

    fn explain(&self) -> String {
        let op = match self.mode {
            Mode::Eq => "is",
            Mode::Ne => "is not",
            Mode::Lt => "is below",
            Mode::Gt => "is above",
        };
        format!("the TTL {op} {}", self.value)
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.hit(cx.hdr.ttl))
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        xtopt::miss(opt.trim_start(), &format!("TTL is {}", cx.hdr.ttl))
    }
}

impl Ttl {
    /// The kernel's `ttl_mt` on the IP header's TTL as it is at this hook.
    fn hit(&self, ttl: u8) -> bool {
        match self.mode {
            Mode::Eq => ttl == self.value,
            Mode::Ne => ttl != self.value,
            Mode::Lt => ttl < self.value,
            Mode::Gt => ttl > self.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::{run_argv, Output};
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> Output {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_and_list() {
        let cases = [
            ("--ttl-eq 5", "--ttl-eq 5", "TTL match TTL == 5"),
            ("! --ttl-eq 0x10", "! --ttl-eq 16", "TTL match TTL != 16"),
            ("--ttl-lt 5", "--ttl-lt 5", "TTL match TTL < 5"),
            ("--ttl-gt 0", "--ttl-gt 0", "TTL match TTL > 0"),
        ];
        for (opt, save, list) in cases {
            let mut h = Host::new("h");
            assert_eq!(
                run(&mut h, &format!("iptables -A INPUT -m ttl {opt}")).exit,
                0
            );
            let s = run(&mut h, "iptables -S INPUT").stdout;
            assert!(s.ends_with(&format!("-A INPUT -m ttl {save}\n")), "{s}");
            let l = run(&mut h, "iptables -L INPUT").stdout;
            assert!(l.ends_with(&format!("{list}\n")), "{l}");
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let cases = [
            (
                "--ttl-eq 256",
                "ttl: bad value for option \"--ttl-eq\", or out of range (0-255).\n\n",
            ),
            (
                "! --ttl-lt 5",
                "ttl: option \"--ttl-lt\" cannot be inverted.\n\n",
            ),
            (
                "--ttl-eq 5 --ttl-lt 6",
                "ttl: option \"--ttl-lt\" cannot be used together with \"--ttl-eq\".\n\n",
            ),
            (
                "--ttl-gt 5 --ttl-lt 6",
                "ttl: option \"--ttl-lt\" cannot be used together with \"--ttl-gt\".\n\n",
            ),
            (
                "",
                "TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt\n",
            ),
        ];
        for (opt, msg) in cases {
            let out = run(&mut h, &format!("iptables -A INPUT -m ttl {opt}"));
            assert_eq!(
                out.stderr,
                format!("iptables v1.8.9 (nf_tables): {msg}Try `iptables -h' or 'iptables --help' for more information.\n"),
                "{opt}"
            );
        }
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn ttl_as_each_hook_sees_it() {
        let mut w = world(&[
            "-t mangle -A PREROUTING -m ttl --ttl-eq 64",
            "-t mangle -A PREROUTING -m ttl ! --ttl-eq 64",
            "-A FORWARD -m ttl --ttl-eq 64",
            "-A FORWARD -m ttl ! --ttl-eq 64",
            "-A FORWARD -m ttl --ttl-lt 63",
            "-A FORWARD -m ttl --ttl-gt 62",
        ]);
        let s = inject(&mut w, ping("192.168.1.2", 64, 0));
        assert!(s.matched("PREROUTING", 1));
        // Forwarding took one off before FORWARD.
        assert_eq!(s.pattern("FORWARD"), [false, true, false, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`--ttl-eq 64` did not match: TTL is 63"
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--ttl-lt 63` did not match: TTL is 63"
        );
        let s = inject(&mut w, ping("192.168.1.2", 2, 0));
        assert_eq!(s.pattern("FORWARD"), [false, true, true, false]);
        assert_eq!(
            s.why("PREROUTING", 1),
            "`--ttl-eq 64` did not match: TTL is 2"
        );
        assert_eq!(s.why("FORWARD", 4), "`--ttl-gt 62` did not match: TTL is 1");
        let s = inject(&mut w, ping("192.168.1.2", 64, 0));
        assert_eq!(
            s.why("PREROUTING", 2),
            "`! --ttl-eq 64` did not match: TTL is 64"
        );
    }
}
