//! `-m connbytes`: matches on how many packets or bytes a connection has
//! carried so far (or their average size), in one direction or both.

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_CONNBYTES: u8 = 0;
const O_DIR: u8 = 1;
const O_MODE: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "connbytes",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("connbytes", O_CONNBYTES).mand().inv(),
        OptSpec::arg("connbytes-dir", O_DIR).mand(),
        OptSpec::arg("connbytes-mode", O_MODE).mand(),
    ],
    guided: true,
    help: concat!(
        "connbytes match options:\n",
        " [!] --connbytes from:[to]\n",
        "     --connbytes-dir [original, reply, both]\n",
        "     --connbytes-mode [packets, bytes, avgpkt]\n",
    ),
    new_match: Some(|| Box::new(Connbytes::default())),
    new_target: None,
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Packets,
    Bytes,
    AvgPkt,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dir {
    #[default]
    Original,
    Reply,
    Both,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connbytes {
    /// As the kernel keeps them: `from > to` means inverted (swapped) bounds.
    pub from: u64,
    pub to: u64,
    pub mode: Mode,
    pub dir: Dir,
}

impl Connbytes {
    /// Bounds in order and whether the match is inverted.
    pub fn range(&self) -> (u64, u64, bool) {
        if self.from > self.to {
            (self.to, self.from, true)
        } else {
            (self.from, self.to, false)
        }
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Packets => "packets",
            Mode::Bytes => "bytes",
            Mode::AvgPkt => "avgpkt",
        }
    }

    fn dir_name(&self) -> &'static str {
        match self.dir {
            Dir::Original => "original",
            Dir::Reply => "reply",
            Dir::Both => "both",
        }
    }

    fn push_range(&self, out: &mut String, prefix: &str) {
        let (from, to, inv) = self.range();
        if inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" {prefix}connbytes {from}"));
        if to != 0 && to < u64::MAX {
            out.push_str(&format!(":{to}"));
        }
    }
}

impl Connbytes {
    /// The counted value for the packet's connection (`None` without one).
    fn value(&self, cx: &EvalCx) -> Option<u64> {
        let e = cx.ct_entry()?;
        let (p, b) = match self.dir {
            Dir::Original => (e.packets[0], e.bytes[0]),
            Dir::Reply => (e.packets[1], e.bytes[1]),
            Dir::Both => (
                e.packets[0].wrapping_add(e.packets[1]),
                e.bytes[0].wrapping_add(e.bytes[1]),
            ),
        };
        Some(match self.mode {
            Mode::Packets => p,
            Mode::Bytes => b,
            Mode::AvgPkt => b.checked_div(p).unwrap_or(0),
        })
    }
}

impl Match for Connbytes {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_CONNBYTES => {
                let v = xtopt::mint("connbytes", "connbytes", arg, u64::MAX, 2)?;
                let from = v[0];
                let to = v.get(1).copied().unwrap_or(u64::MAX);
                if from > to {
                    return Err(XtError::new(format!("{from} should be less than {to}")));
                }
                (self.from, self.to) = if inv { (to, from) } else { (from, to) };
            }
            O_DIR => {
                self.dir = match arg {
                    "original" => Dir::Original,
                    "reply" => Dir::Reply,
                    "both" => Dir::Both,
                    _ => return Err(XtError::new(format!("Unknown --connbytes-dir `{arg}'"))),
                }
            }
            O_MODE => {
                self.mode = match arg {
                    "packets" => Mode::Packets,
                    "bytes" => Mode::Bytes,
                    "avgpkt" => Mode::AvgPkt,
                    _ => return Err(XtError::new(format!("Unknown --connbytes-mode `{arg}'"))),
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let Some(v) = self.value(cx) else {
            return Some(false);
        };
        Some(if self.to >= self.from {
            v >= self.from && v <= self.to
        } else {
            // Inverted: outside the swapped bounds.
            v < self.to || v > self.from
        })
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let opt = opt.trim_start();
        let Some(v) = self.value(cx) else {
            return format!("`{opt}` did not match: the packet has no connection");
        };
        let what = match self.mode {
            Mode::Packets => "packets",
            Mode::Bytes => "bytes",
            Mode::AvgPkt => "bytes per packet on average",
        };
        let dir = match self.dir {
            Dir::Original => "in the original direction",
            Dir::Reply => "in the reply direction",
            Dir::Both => "in both directions",
        };
        format!("`{opt}` did not match: the connection has {v} {what} {dir}")
    }

    fn save(&self, out: &mut String) {
        self.push_range(out, "--");
        out.push_str(&format!(
            " --connbytes-mode {} --connbytes-dir {}",
            self.mode_name(),
            self.dir_name()
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.push_range(out, "");
        out.push_str(&format!(
            " connbytes mode {} connbytes direction {}",
            self.mode_name(),
            self.dir_name()
        ));
    }

    fn explain(&self) -> String {
        let (from, to, inv) = self.range();
        let what = match self.mode {
            Mode::Packets => "number of packets",
            Mode::Bytes => "number of bytes",
            Mode::AvgPkt => "average packet size in bytes",
        };
        let dir = match self.dir {
            Dir::Original => "in the original direction",
            Dir::Reply => "in the reply direction",
            Dir::Both => "in both directions",
        };
        let range = if to == u64::MAX {
            format!("at least {from}")
        } else {
            format!("between {from} and {to}")
        };
        format!(
            "Matches when the connection's {what} {dir} is {}{range}",
            if inv { "not " } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn counts_the_connection_so_far() {
        let mut w = lab::world();
        let tail = "--connbytes-mode packets --connbytes-dir original";
        sh(
            &mut w,
            0,
            &format!("iptables -A INPUT -m connbytes --connbytes 2:3 {tail}"),
        );
        sh(
            &mut w,
            0,
            &format!("iptables -A INPUT -m connbytes ! --connbytes 2:3 {tail}"),
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m connbytes --connbytes 100: --connbytes-mode bytes --connbytes-dir both",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m connbytes --connbytes 40:40 --connbytes-mode avgpkt --connbytes-dir reply",
        );
        let mut seen = Vec::new();
        for _ in 0..4 {
            // 40-byte datagrams.
            inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 12));
            seen.push(lab::counts(&w, "filter", "INPUT"));
        }
        assert_eq!(
            seen,
            vec![
                vec![0, 1, 0, 0],
                vec![1, 1, 0, 0],
                vec![2, 1, 1, 0],
                vec![2, 2, 2, 0]
            ]
        );
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--connbytes 2:3 --connbytes-mode packets --connbytes-dir original` did not match: \
             the connection has 4 packets in the original direction"
        );
        assert_eq!(
            why(&w, "INPUT", 4),
            "`--connbytes 40:40 --connbytes-mode avgpkt --connbytes-dir reply` did not match: \
             the connection has 0 bytes per packet on average in the reply direction"
        );
        // A reply of the same size: the reply average is now 40.
        w.send(0, udp("10.0.0.1", 2, "10.0.0.2", 1, 12));
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 12));
        assert_eq!(lab::counts(&w, "filter", "INPUT")[3], 1);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    fn saved(args: &str) -> String {
        let mut h = Host::new("h");
        let out = run(&mut h, &format!("iptables -A INPUT {args}"));
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let s = run(&mut h, "iptables -S INPUT").stdout;
        s.lines().last().unwrap_or("").to_string()
    }

    #[test]
    fn bounds_as_saved() {
        let tail = " --connbytes-mode bytes --connbytes-dir both";
        assert_eq!(
            saved(&format!("-m connbytes --connbytes 1000:{tail}")),
            format!("-A INPUT -m connbytes --connbytes 1000{tail}")
        );
        assert_eq!(
            saved(&format!("-m connbytes --connbytes :{tail}")),
            format!("-A INPUT -m connbytes --connbytes 0{tail}")
        );
        // Inverting equal bounds changes nothing, as in the kernel's layout.
        assert_eq!(
            saved(&format!("-m connbytes ! --connbytes 5:5{tail}")),
            format!("-A INPUT -m connbytes --connbytes 5:5{tail}")
        );
        assert_eq!(
            saved(&format!("-m connbytes ! --connbytes 5{tail}")),
            format!("-A INPUT -m connbytes ! --connbytes 5{tail}")
        );
    }

    #[test]
    fn list_text_and_errors() {
        let mut h = Host::new("h");
        run(
            &mut h,
            "iptables -A INPUT -m connbytes ! --connbytes 10:100 --connbytes-mode avgpkt --connbytes-dir reply",
        );
        let l = run(&mut h, "iptables -L INPUT").stdout;
        assert!(l.ends_with(
            "anywhere             ! connbytes 10:100 connbytes mode avgpkt connbytes direction reply\n"
        ));
        let out = run(
            &mut h,
            "iptables -A INPUT -m connbytes --connbytes 6:5 --connbytes-mode bytes --connbytes-dir both",
        );
        assert!(out.stderr.contains("): 6 should be less than 5\nTry"));
    }
}
