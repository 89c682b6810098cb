//! `-m icmp` (also loaded by `-p icmp`): ICMP type and code, by name
//! (`echo-request`, `port-unreachable`, ...) or number (`3/4`).

use super::xtopt::{self, NoHeader};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_TYPE: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "icmp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("icmp-type", O_TYPE).mand().inv()],
    guided: true,
    help: "icmp match options:
[!] --icmp-type typename         match this ICMP type (a name below)
[!] --icmp-type type[/code]      or a type number, optionally with a code
Valid ICMP Types:
any
echo-reply (pong)
destination-unreachable
   network-unreachable
   host-unreachable
   protocol-unreachable
   port-unreachable
   fragmentation-needed
   source-route-failed
   network-unknown
   host-unknown
   network-prohibited
   host-prohibited
   TOS-network-unreachable
   TOS-host-unreachable
   communication-prohibited
   host-precedence-violation
   precedence-cutoff
source-quench
redirect
   network-redirect
   host-redirect
   TOS-network-redirect
   TOS-host-redirect
echo-request (ping)
router-advertisement
router-solicitation
time-exceeded (ttl-exceeded)
   ttl-zero-during-transit
   ttl-zero-during-reassembly
parameter-problem
   ip-header-bad
   required-option-missing
timestamp-request
timestamp-reply
address-mask-request
address-mask-reply\n",
    new_match: Some(|| Box::new(Icmp::default())),
    new_target: None,
};

/// ICMP names: type and code range, in iptables' order (the first match names a rule in `-L`).
pub const NAMES: [(&str, u8, u8, u8); 40] = [
    ("any", 0xff, 0, 0xff),
    ("echo-reply", 0, 0, 0xff),
    ("pong", 0, 0, 0xff),
    ("destination-unreachable", 3, 0, 0xff),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xff),
    ("redirect", 5, 0, 0xff),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xff),
    ("ping", 8, 0, 0xff),
    ("router-advertisement", 9, 0, 0xff),
    ("router-solicitation", 10, 0, 0xff),
    ("time-exceeded", 11, 0, 0xff),
    ("ttl-exceeded", 11, 0, 0xff),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xff),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xff),
    ("timestamp-reply", 14, 0, 0xff),
    ("address-mask-request", 17, 0, 0xff),
    ("address-mask-reply", 18, 0, 0xff),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmp {
    /// 255 is `any`.
    pub icmp_type: u8,
    pub code: (u8, u8),
    pub inv: bool,
}

impl Default for Icmp {
    fn default() -> Self {
        Icmp {
            icmp_type: 0xff,
            code: (0, 0xff),
            inv: false,
        }
    }
}

/// `n` or `n:m` (0-255, C `strtoul` base 0); the values and the rest.
fn parse_range(s: &str) -> Option<((u8, u8), &str)> {
    let (lo, rest) = xtopt::strtoul(s, 0, 255)?;
    match rest.strip_prefix(':') {
        Some(r) => {
            let (hi, rest) = xtopt::strtoul(r, 0, 255)?;
            Some(((lo as u8, hi as u8), rest))
        }
        None => Some(((lo as u8, lo as u8), rest)),
    }
}

/// A name (any unambiguous prefix, any case) or `type[/code[:code]]`.
fn parse_type(s: &str) -> XtResult<(u8, (u8, u8))> {
    let mut found: Option<usize> = None;
    for (i, (name, ..)) in NAMES.iter().enumerate() {
        let prefix = name.len() >= s.len() && name[..s.len()].eq_ignore_ascii_case(s);
        if prefix {
            if let Some(first) = found {
                return Err(XtError::new(format!(
                    "Ambiguous ICMP type `{s}': `{}' or `{name}'?",
                    NAMES[first].0
                )));
            }
            found = Some(i);
        }
    }
    if let Some(i) = found {
        let (_, t, lo, hi) = NAMES[i];
        return Ok((t, (lo, hi)));
    }
    let unknown_char = |c: char| XtError::new(format!("unknown character {c}"));
    let ((t, t_hi), rest) =
        parse_range(s).ok_or_else(|| XtError::new(format!("Unknown ICMP type `{s}'")))?;
    let code = match rest.chars().next() {
        None => (0, 0xff),
        Some('/') => {
            let (code, rest) = parse_range(&rest[1..])
                .ok_or_else(|| XtError::new(format!("Unknown ICMP code `{s}'")))?;
            if let Some(c) = rest.chars().next() {
                return Err(unknown_char(c));
            }
            code
        }
        Some(c) => return Err(unknown_char(c)),
    };
    if t != t_hi {
        return Err(XtError::new("ICMP type range not supported"));
    }
    Ok((t, code))
}

impl Icmp {
    fn name(&self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(_, t, lo, hi)| *t == self.icmp_type && (*lo, *hi) == self.code)
            .map(|n| n.0)
    }
}

impl Match for Icmp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let (t, code) = parse_type(arg.unwrap_or_default())?;
        self.icmp_type = t;
        self.code = code;
        self.inv = inv;
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // The icmp match is registered for IPPROTO_ICMP.
        if cx.proto != 1 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn data_key(&self) -> String {
        format!("{self:?}")
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        if self.icmp_type == 0xff {
            out.push_str(" --icmp-type any");
        } else {
            out.push_str(&format!(" --icmp-type {}", self.icmp_type));
            if self.code != (0, 0xff) {
                out.push_str(&format!("/{}", self.code.0));
            }
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" icmp");
        if let Some(name) = self.name().filter(|_| !numeric) {
            out.push_str(&format!(" {}{name}", if self.inv { "!" } else { "" }));
            return;
        }
        // iptables prints no space here: `icmptype 3 code 4`, `icmp !type 8`.
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!("type {}", self.icmp_type));
        if self.code.0 == self.code.1 {
            out.push_str(&format!(" code {}", self.code.0));
        } else if self.code != (0, 0xff) {
            out.push_str(&format!(" codes {}-{}", self.code.0, self.code.1));
        }
    }

    fn explain(&self) -> String {
        let what = match self.name() {
            Some("any") => "any type".to_string(),
            Some(n) => n.to_string(),
            None if self.code == (0, 0xff) => format!("type {}", self.icmp_type),
            None if self.code.0 == self.code.1 => {
                format!("type {} code {}", self.icmp_type, self.code.0)
            }
            None => format!(
                "type {} codes {}-{}",
                self.icmp_type, self.code.0, self.code.1
            ),
        };
        if self.inv {
            format!("of any type but {what}")
        } else if self.name() == Some("any") {
            "of any type".to_string()
        } else {
            format!("of type {what}")
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        match self.eval(cx) {
            Ok(()) => Some(true),
            Err(m) => {
                cx.hotdrop |= matches!(m, Miss::Header(h) if h.hotdrop());
                Some(false)
            }
        }
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let opt = format!(
            "{}--icmp-type {}",
            if self.inv { "! " } else { "" },
            match self.name() {
                Some(n) => n.to_string(),
                None if self.code == (0, 0xff) => self.icmp_type.to_string(),
                None if self.code.0 == self.code.1 => {
                    format!("{}/{}", self.icmp_type, self.code.0)
                }
                None => format!("{}/{}:{}", self.icmp_type, self.code.0, self.code.1),
            }
        );
        match self.eval(cx) {
            Ok(()) => "-m icmp matched".into(),
            Err(Miss::Header(h)) => xtopt::miss(&opt, &h.text("ICMP")),
            Err(Miss::Type(t, c)) => xtopt::miss(
                &opt,
                &format!("the packet is ICMP type {t} code {c}{}", type_name(t, c)),
            ),
        }
    }
}

/// Why the kernel's `icmp_match` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    /// The packet's type and code.
    Type(u8, u8),
}

/// ` (port-unreachable)`: the most precise name of a type and code, if any.
fn type_name(t: u8, c: u8) -> String {
    NAMES[1..]
        .iter()
        .find(|(_, nt, lo, hi)| *nt == t && *lo == c && *hi == c)
        .or_else(|| {
            NAMES[1..]
                .iter()
                .find(|(_, nt, lo, hi)| *nt == t && (*lo, *hi) == (0, 0xff))
        })
        .map(|(n, ..)| format!(" ({n})"))
        .unwrap_or_default()
}

impl Icmp {
    /// The kernel's `icmp_match`: type 255 (`any`) takes every ICMP message
    /// whose 8-byte header is there; inversion flips the result.
    fn eval(&self, cx: &EvalCx) -> Result<(), Miss> {
        let ic = xtopt::xt_header(cx, 8).map_err(Miss::Header)?;
        let (t, c) = (ic[0], ic[1]);
        let hit = self.icmp_type == 0xff || (t == self.icmp_type && xtopt::in_range(self.code, c));
        if hit == self.inv {
            return Err(Miss::Type(t, c));
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

    /// Adds `spec` to INPUT; returns its save line and its `-L`, `-L -n` match texts.
    fn show(spec: &str) -> (String, String, String) {
        let mut h = Host::new("h");
        let out = run(&mut h, &format!("iptables -A INPUT {spec}"));
        assert_eq!(out.exit, 0, "{spec}: {}", out.stderr);
        let save = run(&mut h, "iptables -S INPUT").stdout;
        let mut list = |n: &str| {
            let o = run(&mut h, &format!("iptables {n} -L INPUT")).stdout;
            let line = o.lines().nth(2).unwrap_or("").to_string();
            line.get(61..).unwrap_or("").trim_start().to_string()
        };
        let (l, ln) = (list(""), list("-n"));
        (save.lines().nth(1).unwrap_or("").to_string(), l, ln)
    }

    #[test]
    fn names_and_numbers() {
        let cases = [
            (
                "--icmp-type echo-request",
                "8",
                "icmp echo-request",
                "icmptype 8",
            ),
            (
                "! --icmp-type ECHO-REQ",
                "! --icmp-type 8",
                "icmp !echo-request",
                "icmp !type 8",
            ),
            ("--icmp-type any", "any", "icmp any", "icmptype 255"),
            (
                "--icmp-type 255/255",
                "any",
                "icmptype 255 code 255",
                "icmptype 255 code 255",
            ),
            (
                "--icmp-type 3/4",
                "3/4",
                "icmp fragmentation-needed",
                "icmptype 3 code 4",
            ),
            (
                "--icmp-type 3/1:3",
                "3/1",
                "icmptype 3 codes 1-3",
                "icmptype 3 codes 1-3",
            ),
            ("--icmp-type 0x08", "8", "icmp echo-request", "icmptype 8"),
            ("--icmp-type pong", "0", "icmp echo-reply", "icmptype 0"),
        ];
        for (opt, save, l, ln) in cases {
            let (s, gl, gln) = show(&format!("-p icmp {opt}"));
            let want = if save.starts_with('!') {
                format!("-A INPUT -p icmp -m icmp {save}")
            } else {
                format!("-A INPUT -p icmp -m icmp --icmp-type {save}")
            };
            assert_eq!((s, gl.as_str(), gln.as_str()), (want, l, ln), "{opt}");
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let cases = [
            (
                "echo",
                "Ambiguous ICMP type `echo': `echo-reply' or `echo-request'?",
            ),
            ("foo", "Unknown ICMP type `foo'"),
            ("256", "Unknown ICMP type `256'"),
            ("3/256", "Unknown ICMP code `3/256'"),
            ("08", "unknown character 8"),
            ("3/1:2:3", "unknown character :"),
            ("2:3", "ICMP type range not supported"),
        ];
        for (arg, msg) in cases {
            let out = run(
                &mut h,
                &format!("iptables -A INPUT -p icmp --icmp-type {arg}"),
            );
            assert_eq!(
                out.stderr,
                format!("iptables v1.8.9 (nf_tables): {msg}\nTry `iptables -h' or 'iptables --help' for more information.\n"),
                "{arg}"
            );
        }
        let out = run(&mut h, "iptables -A INPUT -m icmp");
        assert!(out
            .stderr
            .contains("icmp: option \"--icmp-type\" must be specified\n\n"));
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m icmp --icmp-type 1").exit,
            4
        );
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    const B: &str = "192.168.1.2";

    #[test]
    fn types_codes_any_and_inversion() {
        let mut w = world(&[
            "-A FORWARD -p icmp --icmp-type echo-request",
            "-A FORWARD -p icmp --icmp-type any",
            "-A FORWARD -p icmp ! --icmp-type echo-request",
            "-A FORWARD -p icmp --icmp-type port-unreachable",
            "-A FORWARD -p icmp --icmp-type 3/0:2",
            "-A FORWARD -p icmp --icmp-type 11",
            "-A FORWARD -p icmp --icmp-type 42/8:9",
        ]);
        let s = inject(&mut w, icmp(B, 8, 0));
        assert_eq!(
            s.pattern("FORWARD"),
            [true, true, false, false, false, false, false]
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`! --icmp-type echo-request` did not match: the packet is ICMP type 8 code 0 \
(echo-request)"
        );
        assert_eq!(
            s.why("FORWARD", 4),
            "`--icmp-type port-unreachable` did not match: the packet is ICMP type 8 code 0 \
(echo-request)"
        );
        let s = inject(&mut w, icmp(B, 3, 1));
        assert_eq!(
            s.pattern("FORWARD"),
            [false, true, true, false, true, false, false]
        );
        assert_eq!(
            s.why("FORWARD", 1),
            "`--icmp-type echo-request` did not match: the packet is ICMP type 3 code 1 \
(host-unreachable)"
        );
        let s = inject(&mut w, icmp(B, 3, 3));
        assert_eq!(s.why("FORWARD", 5), "`--icmp-type 3/0:2` did not match: the packet is ICMP type 3 code 3 (port-unreachable)");
        let s = inject(&mut w, icmp(B, 42, 7));
        assert_eq!(
            s.why("FORWARD", 6),
            "`--icmp-type time-exceeded` did not match: the packet is ICMP type 42 code 7"
        );
        assert_eq!(
            s.why("FORWARD", 7),
            "`--icmp-type 42/8:9` did not match: the packet is ICMP type 42 code 7"
        );
    }

    #[test]
    fn icmp_errors_the_host_sends() {
        // A packet whose TTL runs out here: the time-exceeded error goes out through OUTPUT.
        let mut w = world(&[
            "-A OUTPUT -p icmp --icmp-type ttl-zero-during-transit",
            "-A OUTPUT -p icmp --icmp-type echo-reply",
        ]);
        let reports = w.inject(0, "eth0", ping(B, 1, 8)).to_vec();
        let out = reports
            .iter()
            .find(|r| r.trace.steps.iter().any(|s| s.chain == "OUTPUT"))
            .expect("an error went out");
        let pattern: Vec<bool> = out
            .trace
            .steps
            .iter()
            .filter(|s| s.chain == "OUTPUT" && s.rule.is_some())
            .map(|s| s.matched)
            .collect();
        assert_eq!(pattern, [true, false]);
    }

    #[test]
    fn fragments_and_short_headers() {
        let mut w = world(&["-A FORWARD -p icmp --icmp-type any", "-A FORWARD -p icmp"]);
        let s = inject(&mut w, raw(1, 20, &[8, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(s.pattern("FORWARD"), [false, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`--icmp-type any` did not match: a later fragment has no ICMP header"
        );
        let s = inject(&mut w, raw(1, 0, &[8, 0, 0, 0]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(s.why("FORWARD", 1).contains("cut short (4 of 8 bytes)"));
    }
}
