//! `-m u32 --u32 TESTS`: reads 32-bit words at computed offsets of the
//! packet, masks and shifts them, and compares them with value ranges.

use super::EvalCx;
use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "u32",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("u32", 0).mand().inv()],
    guided: true,
    help: concat!(
        "u32 match options:\n",
        "[!] --u32 tests\n",
        "\t\ttests := location \"=\" value | tests \"&&\" location \"=\" value\n",
        "\t\tvalue := range | value \",\" range\n",
        "\t\trange := number | number \":\" number\n",
        "\t\tlocation := number | location operator number\n",
        "\t\toperator := \"&\" | \"<<\" | \">>\" | \"@\"\n",
    ),
    new_match: Some(|| Box::new(U32::default())),
    new_target: None,
};

/// Most numbers in a location, values in a test, and tests (XT_U32_MAXSIZE).
const MAXSIZE: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `&`: AND with the number.
    And,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `@`: read the word at (current value + number).
    At,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Test {
    /// First number, then (operator, number) steps.
    pub start: u32,
    pub steps: Vec<(Op, u32)>,
    /// Inclusive ranges.
    pub values: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct U32 {
    pub tests: Vec<Test>,
    pub inv: bool,
}

fn err(msg: String) -> XtError {
    XtError::new(format!("u32: {msg}"))
}

/// A number at byte `pos` (base 0, leading blanks allowed); returns the rest.
fn number(s: &str, pos: usize) -> XtResult<(u32, &str)> {
    match xtopt::strtoul(s, 0, u32::MAX as u64) {
        Some((v, rest)) => Ok((v as u32, rest)),
        None => Err(err(format!("at char {pos}: not a number or out of range"))),
    }
}

/// The test language of `libxt_u32`, with its error positions.
fn parse_tests(arg: &str) -> XtResult<Vec<Test>> {
    let len = arg.len();
    let pos = |rest: &str| len - rest.len();
    let mut tests: Vec<Test> = Vec::new();
    let mut cur = Test::default();
    let mut nlocs = 0usize;
    let mut reading_values = false;
    let mut s = arg;
    loop {
        s = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if s.is_empty() {
            if !reading_values {
                return Err(err(
                    "abrupt end of input after location specifier".to_string()
                ));
            }
            if cur.values.is_empty() {
                return Err(err("test ended with no value specified".to_string()));
            }
            tests.push(cur);
            if tests.len() > MAXSIZE {
                return Err(err(format!("at char {}: too many \"&&\"s", pos(s))));
            }
            return Ok(tests);
        }
        if !reading_values {
            if let Some(r) = s.strip_prefix('=') {
                if nlocs == 0 {
                    return Err(err(format!("at char {}: location spec missing", pos(s))));
                }
                s = r;
                reading_values = true;
                continue;
            }
            let mut op = None;
            if nlocs != 0 {
                let c = s.as_bytes()[0];
                let (o, r) = match c {
                    b'&' => (Op::And, &s[1..]),
                    b'<' | b'>' => {
                        if s.as_bytes().get(1) != Some(&c) {
                            return Err(err(format!(
                                "at char {}: a second '{}' was expected",
                                pos(s) + 1,
                                c as char
                            )));
                        }
                        (if c == b'<' { Op::Shl } else { Op::Shr }, &s[2..])
                    }
                    b'@' => (Op::At, &s[1..]),
                    _ => {
                        return Err(err(format!("at char {}: operator expected", pos(s))));
                    }
                };
                op = Some(o);
                s = r;
            }
            let (n, r) = number(s, pos(s))?;
            s = r;
            match op {
                None => cur.start = n,
                Some(o) => cur.steps.push((o, n)),
            }
            nlocs += 1;
            if nlocs > MAXSIZE {
                return Err(err(format!("at char {}: too many operators", pos(s))));
            }
        } else if let Some(r) = s.strip_prefix('&') {
            if !r.starts_with('&') {
                return Err(err(format!(
                    "at char {}: a second '&' was expected",
                    pos(r)
                )));
            }
            if cur.values.is_empty() {
                return Err(err(format!("at char {}: value spec missing", pos(r))));
            }
            tests.push(std::mem::take(&mut cur));
            if tests.len() > MAXSIZE {
                return Err(err(format!("at char {}: too many \"&&\"s", pos(r))));
            }
            s = &r[1..];
            reading_values = false;
            nlocs = 0;
        } else {
            if !cur.values.is_empty() {
                let Some(r) = s.strip_prefix(',') else {
                    return Err(err(format!("at char {}: expected \",\" or \"&&\"", pos(s))));
                };
                s = r;
            }
            let (min, r) = number(s, pos(s))?;
            s = r.trim_start_matches(|c: char| c.is_ascii_whitespace());
            let mut max = min;
            if let Some(r) = s.strip_prefix(':') {
                let (m, r) = number(r, pos(r))?;
                max = m;
                s = r;
            }
            cur.values.push((min, max));
            if cur.values.len() > MAXSIZE {
                return Err(err(format!("at char {}: too many \",\"s", pos(s))));
            }
        }
    }
}

impl U32 {
    fn dump(&self) -> String {
        let mut out = String::from("\"");
        for (i, t) in self.tests.iter().enumerate() {
            if i > 0 {
                out.push_str("&&");
            }
            out.push_str(&format!("0x{:x}", t.start));
            for (op, n) in &t.steps {
                out.push_str(match op {
                    Op::And => "&",
                    Op::Shl => "<<",
                    Op::Shr => ">>",
                    Op::At => "@",
                });
                out.push_str(&format!("0x{n:x}"));
            }
            out.push('=');
            let vals: Vec<String> = t
                .values
                .iter()
                .map(|(a, b)| {
                    if a == b {
                        format!("0x{a:x}")
                    } else {
                        format!("0x{a:x}:0x{b:x}")
                    }
                })
                .collect();
            out.push_str(&vals.join(","));
        }
        out.push('"');
        out
    }
}

/// The big-endian word at `pos`, if four bytes are there.
fn word(data: &[u8], pos: u64) -> Option<u32> {
    let p = usize::try_from(pos).ok()?;
    let b = data.get(p..p.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl Test {
    /// The value the location computes, `None` when it reads outside the
    /// packet (the kernel then says no match).
    fn value(&self, data: &[u8]) -> Option<u32> {
        let mut at: u32 = 0;
        let mut val = word(data, self.start as u64)?;
        for (op, n) in &self.steps {
            match op {
                Op::And => val &= n,
                // Shift counts wrap at 32 as on the CPUs the kernel runs on.
                Op::Shl => val = val.wrapping_shl(*n),
                Op::Shr => val = val.wrapping_shr(*n),
                Op::At => {
                    at = at.checked_add(val)?;
                    val = word(data, at as u64 + *n as u64)?;
                }
            }
        }
        Some(val)
    }
}

impl U32 {
    /// The first failing test: its index and the value it read (`None`
    /// when it read past the end).
    fn first_failure(&self, data: &[u8]) -> Option<(usize, Option<u32>)> {
        for (i, t) in self.tests.iter().enumerate() {
            let Some(v) = t.value(data) else {
                return Some((i, None));
            };
            if !t.values.iter().any(|(lo, hi)| *lo <= v && v <= *hi) {
                return Some((i, Some(v)));
            }
        }
        None
    }
}

impl Match for U32 {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.tests = parse_tests(arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.first_failure(&cx.pkt.data).is_none() != self.inv)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let opt = opt.trim_start();
        match self.first_failure(&cx.pkt.data) {
            None => format!("`{opt}` did not match: every test passed"),
            Some((i, None)) => format!(
                "`{opt}` did not match: test {} reads past the end of the packet",
                i + 1
            ),
            Some((i, Some(v))) => format!(
                "`{opt}` did not match: test {} read 0x{v:x}, outside its values",
                i + 1
            ),
        }
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --u32 ");
        out.push_str(&self.dump());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" u32");
        if self.inv {
            out.push_str(" !");
        }
        out.push(' ');
        out.push_str(&self.dump());
    }

    fn explain(&self) -> String {
        format!(
            "Matches when {} of {} packet word test{} hold{} ({})",
            if self.inv { "not all" } else { "all" },
            self.tests.len(),
            if self.tests.len() == 1 { "" } else { "s" },
            if self.tests.len() == 1 { "s" } else { "" },
            self.dump().trim_matches('"')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::parse_tests;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, tcp, udp, why};

    #[test]
    fn tests_over_packet_bytes() {
        let mut w = lab::world();
        // IPv4 with TCP or UDP; UDP destination port 53 (through the header length).
        lab::sh(
            &mut w,
            0,
            "iptables -A INPUT -m u32 --u32 \"0>>28=4 && 6&0xFF=6,17\"",
        );
        lab::sh(
            &mut w,
            0,
            "iptables -A INPUT -m u32 --u32 \"0>>22&0x3C@0&0xFFFF=53\"",
        );
        lab::sh(
            &mut w,
            0,
            "iptables -A INPUT -m u32 ! --u32 \"0>>22&0x3C@0&0xFFFF=53\"",
        );
        // Total length 28..40, and a read past the end.
        lab::sh(
            &mut w,
            0,
            "iptables -A INPUT -m u32 --u32 \"0&0xFFFF=28:40\"",
        );
        lab::sh(
            &mut w,
            0,
            "iptables -A INPUT -m u32 --u32 \"0>>22&0x3C@100=0:0xffffffff\"",
        );
        inject(&mut w, udp("10.0.0.2", 1000, "10.0.0.1", 53, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1, 0, 1, 0]);
        assert_eq!(
            why(&w, "INPUT", 5),
            "`--u32 \"0x0>>0x16&0x3c@0x64=0x0:0xffffffff\"` did not match: \
             test 1 reads past the end of the packet"
        );
        inject(&mut w, tcp("10.0.0.2", 1000, "10.0.0.1", 80, "S"));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![2, 1, 1, 1, 0]);
        assert_eq!(
            why(&w, "INPUT", 2),
            "`--u32 \"0x0>>0x16&0x3c@0x0&0xffff=0x35\"` did not match: test 1 read 0x50, outside its values"
        );
        assert_eq!(
            why(&w, "INPUT", 4),
            "`--u32 \"0x0&0xffff=0x1c:0x28\"` did not match: test 1 read 0x2c, outside its values"
        );
    }

    #[test]
    fn canonical_text() {
        let mut h = Host::new("h");
        let a: Vec<String> = [
            "iptables",
            "-A",
            "INPUT",
            "-m",
            "u32",
            "!",
            "--u32",
            "6&0xFF=1:2,5 && 0>>22&0x3C@12>>16=1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(run_argv(&mut h, &a, None).exit, 0);
        let s = run_argv(
            &mut h,
            &["iptables".into(), "-S".into(), "INPUT".into()],
            None,
        )
        .stdout;
        assert!(s.ends_with(
            "-A INPUT -m u32 ! --u32 \"0x6&0xff=0x1:0x2,0x5&&0x0>>0x16&0x3c@0xc>>0x10=0x1\"\n"
        ));
    }

    #[test]
    fn error_positions() {
        let msg = |s: &str| parse_tests(s).unwrap_err().msg;
        assert_eq!(msg("junk"), "u32: at char 0: not a number or out of range");
        assert_eq!(msg(""), "u32: abrupt end of input after location specifier");
        assert_eq!(
            msg("0=1&&"),
            "u32: abrupt end of input after location specifier"
        );
        assert_eq!(
            msg("0=1,2,3,4,5,6,7,8,9,10,11"),
            "u32: at char 25: too many \",\"s"
        );
        assert_eq!(
            msg("0&1&2&3&4&5&6&7&8&9&10&11=1"),
            "u32: at char 22: too many operators"
        );
        assert_eq!(
            msg("0=4294967296"),
            "u32: at char 2: not a number or out of range"
        );
        assert_eq!(msg("=1"), "u32: at char 0: location spec missing");
        assert_eq!(msg("0<1=1"), "u32: at char 2: a second '<' was expected");
        assert_eq!(msg("0=1&2"), "u32: at char 4: a second '&' was expected");
        assert_eq!(msg("0=1 2"), "u32: at char 4: expected \",\" or \"&&\"");
        assert_eq!(msg("0 1=1"), "u32: at char 2: operator expected");
        assert!(parse_tests("0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1").is_ok());
        assert_eq!(
            msg("0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1"),
            "u32: at char 53: too many \"&&\"s"
        );
    }
}
