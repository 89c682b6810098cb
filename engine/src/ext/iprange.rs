//! `-m iprange`: source and/or destination address within an inclusive
//! range `a.b.c.d-e.f.g.h` (not limited to a netmask).

use super::xtopt;
use super::{EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;
use std::net::Ipv4Addr;

const O_SRC: u8 = 0;
const O_DST: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "iprange",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("src-range", O_SRC).inv(),
        OptSpec::arg("dst-range", O_DST).inv(),
    ],
    guided: true,
    help: "iprange match options:
[!] --src-range ip[-ip]    Source address is within this range
[!] --dst-range ip[-ip]    Destination address is within this range\n",
    new_match: Some(|| Box::new(Iprange::default())),
    new_target: None,
};

/// An inclusive address range and its inversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: Ipv4Addr,
    pub max: Ipv4Addr,
    pub inv: bool,
}

impl Range {
    fn text(&self) -> String {
        format!("{}-{}", self.min, self.max)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iprange {
    pub src: Option<Range>,
    pub dst: Option<Range>,
}

/// `ip` or `ip-ip`, numeric addresses only.
fn parse_range(arg: &str, opt: &str, inv: bool) -> XtResult<Range> {
    let (a, b) = arg.split_once('-').unwrap_or((arg, arg));
    let addr = |s: &str| {
        xtopt::numeric_to_ipaddr(s).ok_or_else(|| {
            XtError::new(format!("iprange: Bad value for \"{opt}\" option: \"{s}\""))
        })
    };
    Ok(Range {
        min: addr(a)?,
        max: addr(b)?,
        inv,
    })
}

impl Match for Iprange {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let opt = if id == O_SRC {
            "--src-range"
        } else {
            "--dst-range"
        };
        let r = parse_range(arg.unwrap_or_default(), opt, inv)?;
        if u32::from(r.min) > u32::from(r.max) {
            cx.warnings.push(format!(
                "xt_iprange: range {} is reversed and will never match",
                r.text()
            ));
        }
        if id == O_SRC {
            self.src = Some(r);
        } else {
            self.dst = Some(r);
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new(
                "iprange match: You must specify `--src-range' or `--dst-range'",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for (opt, r) in [("src", &self.src), ("dst", &self.dst)] {
            if let Some(r) = r {
                if r.inv {
                    out.push_str(" !");
                }
                out.push_str(&format!(" --{opt}-range {}", r.text()));
            }
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        for (what, r) in [("source", &self.src), ("destination", &self.dst)] {
            if let Some(r) = r {
                out.push_str(&format!(" {what} IP range"));
                if r.inv {
                    out.push_str(" !");
                }
                out.push_str(&format!(" {}", r.text()));
            }
        }
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        for (what, r) in [("source", &self.src), ("destination", &self.dst)] {
            if let Some(r) = r {
                parts.push(format!(
                    "{what} address is {}in the range {}-{}",
                    if r.inv { "not " } else { "" },
                    r.min,
                    r.max
                ));
            }
        }
        format!("whose {}", parts.join(" and whose "))
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.eval(cx).is_ok())
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        match self.eval(cx) {
            Ok(()) => "-m iprange matched".into(),
            Err((opt, r, what, addr)) => xtopt::miss(
                &format!(
                    "{}--{opt}-range {}",
                    if r.inv { "! " } else { "" },
                    r.text()
                ),
                &format!("{what} is {addr}"),
            ),
        }
    }
}

impl Iprange {
    /// The kernel's `iprange_mt4` (revision 1): the source test, then the
    /// destination test; `Err` names the failing one.
    fn eval(&self, cx: &EvalCx) -> Result<(), (&'static str, Range, &'static str, Ipv4Addr)> {
        for (opt, r, what, addr) in [
            ("src", self.src, "source", cx.hdr.src),
            ("dst", self.dst, "destination", cx.hdr.dst),
        ] {
            if let Some(r) = r {
                let a = u32::from(addr);
                let inside = a >= u32::from(r.min) && a <= u32::from(r.max);
                if inside == r.inv {
                    return Err((opt, r, what, addr));
                }
            }
        }
        Ok(())
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
    fn save_list_and_warning() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m iprange ! --src-range 10.1-10.2 --dst-range 1.1.1.10-1.1.1.1",
        );
        assert_eq!(out.exit, 0);
        assert_eq!(
            out.stderr,
            "xt_iprange: range 1.1.1.10-1.1.1.1 is reversed and will never match\n"
        );
        let save = run(&mut h, "iptables -S INPUT").stdout;
        assert!(save.ends_with(
            "-A INPUT -m iprange ! --src-range 10.1.0.0-10.2.0.0 --dst-range 1.1.1.10-1.1.1.1\n"
        ));
        let list = run(&mut h, "iptables -L INPUT").stdout;
        assert!(list.ends_with(
            "source IP range ! 10.1.0.0-10.2.0.0 destination IP range 1.1.1.10-1.1.1.1\n"
        ));
        run(&mut h, "iptables -A INPUT -m iprange --dst-range 1.1.1.1");
        let save = run(&mut h, "iptables -S INPUT").stdout;
        assert!(save.ends_with("-A INPUT -m iprange --dst-range 1.1.1.1-1.1.1.1\n"));
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let cases = [
            (
                "--dst-range 1.1.1.1-",
                "iprange: Bad value for \"--dst-range\" option: \"\"",
            ),
            (
                "--src-range foo-bar",
                "iprange: Bad value for \"--src-range\" option: \"foo\"",
            ),
            (
                "--dst-range 1.1.1.1-1.1.1.2-1.1.1.3",
                "iprange: Bad value for \"--dst-range\" option: \"1.1.1.2-1.1.1.3\"",
            ),
            (
                "",
                "iprange match: You must specify `--src-range' or `--dst-range'",
            ),
        ];
        for (opt, msg) in cases {
            let out = run(&mut h, &format!("iptables -A INPUT -m iprange {opt}"));
            assert_eq!(
                out.stderr,
                format!("iptables v1.8.9 (nf_tables): {msg}\nTry `iptables -h' or 'iptables --help' for more information.\n"),
                "{opt}"
            );
        }
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn ranges_and_inversion() {
        let mut w = world(&[
            "-A FORWARD -m iprange --src-range 10.0.0.5-10.0.0.10",
            "-A FORWARD -m iprange ! --src-range 10.0.0.5-10.0.0.10",
            "-A FORWARD -m iprange --dst-range 192.168.1.2",
            "-A FORWARD -m iprange --src-range 10.0.0.9 ! --dst-range 192.168.1.0-192.168.1.255",
            "-A FORWARD -m iprange --src-range 10.0.0.10-10.0.0.5",
            "-A FORWARD -m iprange ! --src-range 10.0.0.10-10.0.0.5",
        ]);
        let s = inject(&mut w, udp(1, "192.168.1.2", 9));
        assert_eq!(
            s.pattern("FORWARD"),
            [true, false, true, false, false, true]
        );
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --src-range 10.0.0.5-10.0.0.10` did not match: source is 10.0.0.9"
        );
        assert_eq!(
            s.why("FORWARD", 4),
            "`! --dst-range 192.168.1.0-192.168.1.255` did not match: destination is 192.168.1.2"
        );
        // A reversed range never matches.
        assert_eq!(
            s.why("FORWARD", 5),
            "`--src-range 10.0.0.10-10.0.0.5` did not match: source is 10.0.0.9"
        );
        let s = inject(
            &mut w,
            raw_between("10.0.0.11", "192.168.1.3", 17, 0, &[0; 8]),
        );
        assert_eq!(
            s.pattern("FORWARD"),
            [false, true, false, false, false, true]
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--dst-range 192.168.1.2-192.168.1.2` did not match: destination is 192.168.1.3"
        );
    }
}
