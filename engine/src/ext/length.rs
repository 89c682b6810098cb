//! `-m length --length min[:max]`: the packet's IP length (header included).

use super::xtopt;
use super::{EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

const O_LENGTH: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "length",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("length", O_LENGTH).mand().inv()],
    guided: true,
    help: "length match options:
[!] --length length[:length]    Packet length is this value or within this
                                inclusive range\n",
    new_match: Some(|| Box::new(Length::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Length {
    /// Inclusive; min > max is accepted (and never matches).
    pub min: u16,
    pub max: u16,
    pub inv: bool,
}

impl Length {
    fn text(&self) -> String {
        if self.min == self.max {
            self.min.to_string()
        } else {
            format!("{}:{}", self.min, self.max)
        }
    }
}

impl Match for Length {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let v = xtopt::mint("length", "length", arg.unwrap_or_default(), 0xffff, 2)?;
        self.min = v.first().copied().unwrap_or(0) as u16;
        self.max = v.get(1).map(|m| *m as u16).unwrap_or(self.min);
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" --length {}", self.text()));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " length {}{}",
            if self.inv { "!" } else { "" },
            self.text()
        ));
    }

    fn explain(&self) -> String {
        let what = if self.min == self.max {
            format!("{} bytes long", self.min)
        } else {
            format!("{} to {} bytes long", self.min, self.max)
        };
        format!("the packet is {}{what}", if self.inv { "not " } else { "" })
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.hit(cx.hdr.total_len))
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        xtopt::miss(
            &format!(
                "{}--length {}",
                if self.inv { "! " } else { "" },
                self.text()
            ),
            &format!("the IP packet is {} bytes long", cx.hdr.total_len),
        )
    }
}

impl Length {
    /// The kernel's `length_mt`: the IP header's total length, inclusive range.
    fn hit(&self, len: u16) -> bool {
        (len >= self.min && len <= self.max) != self.inv
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
            ("--length 1", "--length 1", "length 1"),
            ("! --length 4:3", "! --length 4:3", "length !4:3"),
            ("--length :", "--length 0:65535", "length 0:65535"),
            ("--length 4:", "--length 4:65535", "length 4:65535"),
            ("--length 0x10:010", "--length 16:8", "length 16:8"),
        ];
        for (opt, save, list) in cases {
            let mut h = Host::new("h");
            let out = run(&mut h, &format!("iptables -A INPUT -m length {opt}"));
            assert_eq!(out.exit, 0, "{opt}: {}", out.stderr);
            let s = run(&mut h, "iptables -S INPUT").stdout;
            assert!(s.ends_with(&format!("-A INPUT -m length {save}\n")), "{s}");
            let l = run(&mut h, "iptables -L INPUT").stdout;
            assert!(l.ends_with(&format!("{list}\n")), "{l}");
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -m length --length 0:65536");
        assert!(out.stderr.contains(
            "length: bad value for option \"--length\" near \"65536\", or out of range (0-65535).\n\n"
        ));
        let out = run(&mut h, "iptables -A INPUT -m length");
        assert!(out
            .stderr
            .contains("length: option \"--length\" must be specified\n\n"));
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn ip_total_length() {
        let mut w = world(&[
            "-A FORWARD -m length --length 36",
            "-A FORWARD -m length ! --length 0:36",
            "-A FORWARD -m length --length 100:",
            "-A FORWARD -m length --length 60:40",
            "-A FORWARD -m length ! --length 60:40",
        ]);
        // 20 + 8 + 8 bytes.
        let s = inject(&mut w, ping("192.168.1.2", 64, 8));
        assert_eq!(s.pattern("FORWARD"), [true, false, false, false, true]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --length 0:36` did not match: the IP packet is 36 bytes long"
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--length 100:65535` did not match: the IP packet is 36 bytes long"
        );
        let s = inject(&mut w, ping("192.168.1.2", 64, 72));
        assert_eq!(s.pattern("FORWARD"), [false, true, true, false, true]);
    }
}
