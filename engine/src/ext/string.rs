//! `-m string`: matches packets whose payload contains a string (or bytes
//! given in hex), searched with the Boyer-Moore or KMP algorithm between
//! two offsets.

use super::{
    bit, xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError,
    XtResult,
};
use crate::ext_boilerplate;

const O_FROM: u8 = 0;
const O_TO: u8 = 1;
const O_ALGO: u8 = 2;
const O_ICASE: u8 = 3;
const O_STRING: u8 = 4;
const O_HEX: u8 = 5;

/// Longest pattern the kernel takes.
const MAX_PATTERN: usize = 128;
/// Longest algorithm name kept (the field holds 16 bytes with the NUL).
const MAX_ALGO: usize = 15;

pub static INFO: ExtInfo = ExtInfo {
    name: "string",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("from", O_FROM),
        OptSpec::arg("to", O_TO),
        OptSpec::arg("algo", O_ALGO).mand(),
        OptSpec::arg("string", O_STRING).inv().excl(bit(O_HEX)),
        OptSpec::arg("hex-string", O_HEX).inv().excl(bit(O_STRING)),
        OptSpec::flag("icase", O_ICASE),
    ],
    guided: true,
    help: "string match options:\n\
--from                       Offset where the search starts\n\
--to                         Offset where the search stops\n\
--algo                       Search algorithm (bm or kmp)\n\
--icase                      Ignore case (default: 0)\n\
[!] --string string          Match packets that contain string\n\
[!] --hex-string string      Match packets that contain these bytes (|hex| blocks allowed)\n",
    new_match: Some(|| Box::new(StringMatch::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringMatch {
    pub pattern: Vec<u8>,
    pub algo: String,
    pub from: u16,
    pub to: u16,
    pub icase: bool,
    pub invert: bool,
}

impl Default for StringMatch {
    fn default() -> Self {
        StringMatch {
            pattern: Vec::new(),
            algo: String::new(),
            from: 0,
            to: u16::MAX,
            icase: false,
            invert: false,
        }
    }
}

/// `parse_hex_string`: text with `|41 42|` hex blocks and `\x` literals.
fn parse_hex(s: &str) -> XtResult<Vec<u8>> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(XtError::new("STRING must contain at least one char"));
    }
    let too_long = || XtError::new(format!("STRING too long \"{s}\""));
    let mut out = Vec::new();
    let (mut i, mut hex, mut literal) = (0usize, false, false);
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    while i < b.len() {
        if b[i] == b'\\' && !hex {
            literal = true;
        } else if b[i] == b'\\' {
            return Err(XtError::new("Cannot include literals in hex data"));
        } else if b[i] == b'|' {
            if hex {
                hex = false;
            } else {
                hex = true;
                while at(i + 1) == b' ' {
                    i += 1;
                }
            }
            if i + 1 >= b.len() {
                break;
            }
            i += 1;
        }
        if literal {
            if i + 1 >= b.len() {
                return Err(XtError::new("Bad literal placement at end of string"));
            }
            out.push(b[i + 1]);
            i += 2;
            literal = false;
        } else if hex {
            if i + 1 >= b.len() {
                return Err(XtError::new("Odd number of hex digits"));
            }
            if i + 2 >= b.len() {
                return Err(XtError::new("Invalid hex block"));
            }
            for c in [b[i], b[i + 1]] {
                if !c.is_ascii_hexdigit() {
                    return Err(XtError::new(format!("Invalid hex char '{}'", c as char)));
                }
            }
            let v = u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0);
            out.push(v);
            i += if at(i + 2) == b' ' { 3 } else { 2 };
        } else {
            out.push(b[i]);
            i += 1;
        }
        if out.len() > MAX_PATTERN + 1 {
            return Err(too_long());
        }
    }
    Ok(out)
}

/// Printed in hex when a byte is not printable or the last byte is `\`.
fn needs_hex(p: &[u8]) -> bool {
    p.iter().any(|c| !(0x20..0x7f).contains(c)) || p.last() == Some(&b'\\')
}

fn quoted(p: &[u8]) -> String {
    if needs_hex(p) {
        let hex: String = p.iter().map(|c| format!("{c:02x}")).collect();
        return format!("\"|{hex}|\"");
    }
    let mut s = String::from("\"");
    for &c in p {
        if c == b'"' {
            s.push('\\');
        }
        s.push(c as char);
    }
    s.push('"');
    s
}

/// The kernel's `toupper` (its ctype table also knows Latin-1 letters).
fn upper(c: u8) -> u8 {
    if c.is_ascii_lowercase() || (c >= 0xdf && c != 0xf7) {
        c - 32
    } else {
        c
    }
}

/// The kernel's `tolower`.
fn lower(c: u8) -> u8 {
    if c.is_ascii_uppercase() || (0xc0..=0xde).contains(&c) && c != 0xd7 {
        c + 32
    } else {
        c
    }
}

/// `subpattern` of lib/ts_bm.c: whether the `g` bytes ending the pattern
/// recur at `j` (preceded by a different byte).
fn subpattern(p: &[u8], i: i64, j: i64, mut g: i64) -> bool {
    let (mut x, mut y) = (i + g - 1, j + g - 1);
    loop {
        if p[x as usize] != p[y as usize] {
            return false;
        }
        x -= 1;
        y -= 1;
        if y < 0 {
            return true;
        }
        g -= 1;
        if g == 0 {
            return p[(i - 1) as usize] != p[(j - 1) as usize];
        }
    }
}

/// Boyer-Moore as lib/ts_bm.c does it (its bad and good shift tables);
/// the offset of the first occurrence found.
fn bm_find(pattern: &[u8], text: &[u8], icase: bool) -> Option<usize> {
    let m = pattern.len() as i64;
    if m == 0 {
        return None;
    }
    let pat: Vec<u8> = if icase {
        pattern.iter().map(|&c| upper(c)).collect()
    } else {
        pattern.to_vec()
    };
    let mut bad = [m; 256];
    for i in 0..(m - 1) as usize {
        bad[pat[i] as usize] = m - 1 - i as i64;
        if icase {
            bad[lower(pat[i]) as usize] = m - 1 - i as i64;
        }
    }
    let mut good = vec![m; m as usize];
    good[0] = 1;
    let (mut i, mut g) = (m - 1, 1);
    while i > 0 {
        let mut j = i - 1;
        while j >= 1 - g {
            if subpattern(&pat, i, j, g) {
                good[g as usize] = m - j - g;
                break;
            }
            j -= 1;
        }
        g += 1;
        i -= 1;
    }
    let n = text.len() as i64;
    let mut shift = m - 1;
    while shift < n {
        let mut i = 0;
        while i < m {
            let mut t = text[(shift - i) as usize];
            if icase {
                t = upper(t);
            }
            if t != pat[(m - 1 - i) as usize] {
                break;
            }
            i += 1;
        }
        if i == m {
            return Some((shift - (m - 1)) as usize);
        }
        let bs = bad[text[(shift - i) as usize] as usize];
        shift = (shift - i + bs).max(shift + good[i as usize]);
    }
    None
}

/// Knuth-Morris-Pratt as lib/ts_kmp.c does it.
fn kmp_find(pattern: &[u8], text: &[u8], icase: bool) -> Option<usize> {
    let f = |c: u8| if icase { upper(c) } else { c };
    let pat: Vec<u8> = pattern.iter().map(|&c| f(c)).collect();
    let m = pat.len();
    if m == 0 {
        return None;
    }
    let mut prefix = vec![0usize; m];
    let mut k = 0;
    for q in 1..m {
        while k > 0 && pat[k] != pat[q] {
            k = prefix[k - 1];
        }
        if pat[k] == pat[q] {
            k += 1;
        }
        prefix[q] = k;
    }
    let mut q = 0;
    for (i, &c) in text.iter().enumerate() {
        let c = f(c);
        while q > 0 && pat[q] != c {
            q = prefix[q - 1];
        }
        if pat[q] == c {
            q += 1;
        }
        if q == m {
            return Some(i + 1 - m);
        }
    }
    None
}

impl StringMatch {
    /// `skb_find_text` over the packet from the IP header on, bytes
    /// `--from` up to `--to`: the offset where the pattern starts.
    fn find(&self, data: &[u8]) -> Option<Option<usize>> {
        let from = (self.from as usize).min(data.len());
        let to = (self.to as usize).min(data.len()).max(from);
        let text = &data[from..to];
        let at = match self.algo.as_str() {
            "bm" => bm_find(&self.pattern, text, self.icase),
            "kmp" => kmp_find(&self.pattern, text, self.icase),
            _ => return None,
        };
        Some(at.map(|a| a + from))
    }
}

impl Match for StringMatch {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_FROM => self.from = xtopt::uint("string", "from", arg, 0, 65535)? as u16,
            O_TO => self.to = xtopt::uint("string", "to", arg, 0, 65535)? as u16,
            O_ALGO => self.algo = arg.chars().take(MAX_ALGO).collect(),
            O_ICASE => self.icase = true,
            O_STRING => {
                if arg.len() > MAX_PATTERN {
                    return Err(XtError::new(format!("STRING too long \"{arg}\"")));
                }
                self.pattern = arg.as_bytes().to_vec();
                self.invert = inv;
            }
            _ => {
                self.pattern = parse_hex(arg)?;
                self.invert = inv;
            }
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & (bit(O_STRING) | bit(O_HEX)) == 0 {
            return Err(XtError::new(
                "STRING match: You must specify `--string' or `--hex-string'",
            ));
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if self.from > self.to || self.pattern.len() > MAX_PATTERN {
            return Err(KernelError::Invalid);
        }
        if self.algo != "bm" && self.algo != "kmp" && self.algo != "fsm" {
            return Err(KernelError::NoEntry);
        }
        // No text-search algorithm takes an empty pattern; fsm wants a
        // token table, which iptables cannot give.
        if self.pattern.is_empty() || self.algo == "fsm" {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(if needs_hex(&self.pattern) {
            " --hex-string "
        } else {
            " --string "
        });
        out.push_str(&quoted(&self.pattern));
        out.push_str(&format!(" --algo {}", self.algo));
        if self.from != 0 {
            out.push_str(&format!(" --from {}", self.from));
        }
        if self.to != u16::MAX {
            out.push_str(&format!(" --to {}", self.to));
        }
        if self.icase {
            out.push_str(" --icase");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" STRING match ");
        if self.invert {
            out.push('!');
        }
        out.push(' ');
        out.push_str(&quoted(&self.pattern));
        out.push_str(&format!(" ALGO name {}", self.algo));
        if self.from != 0 {
            out.push_str(&format!(" FROM {}", self.from));
        }
        if self.to != u16::MAX {
            out.push_str(&format!(" TO {}", self.to));
        }
        if self.icase {
            out.push_str(" ICASE");
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.find(&cx.pkt.data)?.is_some() != self.invert)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut s = String::from("-m string");
        self.save(&mut s);
        let range = format!(
            "bytes {}-{} of the packet",
            self.from,
            (self.to as usize).min(cx.pkt.len())
        );
        match self.find(&cx.pkt.data).flatten() {
            Some(at) => format!("{s} did not match: found at offset {at}"),
            None => format!("{s} did not match: not found in {range}"),
        }
    }

    fn explain(&self) -> String {
        format!(
            "packets that {} {}{}",
            if self.invert {
                "do not contain"
            } else {
                "contain"
            },
            quoted(&self.pattern),
            if self.icase { " (any case)" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, a: &[&str]) -> crate::command::Output {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn hex_parsing() {
        assert_eq!(parse_hex("|41|BC|0a|").unwrap(), b"ABC\n");
        assert_eq!(parse_hex("|41 42|").unwrap(), b"AB");
        assert_eq!(parse_hex("|4|").unwrap_err().msg, "Invalid hex block");
        assert_eq!(parse_hex("|zz|").unwrap_err().msg, "Invalid hex char 'z'");
        assert_eq!(
            parse_hex("").unwrap_err().msg,
            "STRING must contain at least one char"
        );
    }

    #[test]
    fn save_forms() {
        let mut h = Host::new("h");
        let base = ["iptables", "-A", "INPUT", "-m", "string", "--algo", "bm"];
        let mut a = base.to_vec();
        a.extend(["--string", "a b", "--from", "2", "--icase"]);
        assert_eq!(run(&mut h, &a).exit, 0);
        let mut a = base.to_vec();
        a.extend(["!", "--string", "a\\"]);
        assert_eq!(run(&mut h, &a).exit, 0);
        assert_eq!(
            run(&mut h, &["iptables", "-S", "INPUT"]).stdout,
            "-P INPUT ACCEPT\n\
-A INPUT -m string --string \"a b\" --algo bm --from 2 --icase\n\
-A INPUT -m string ! --hex-string \"|615c|\" --algo bm\n"
        );
        assert!(run(&mut h, &["iptables", "-L", "INPUT"])
            .stdout
            .contains(" STRING match ! \"|615c|\" ALGO name bm\n"));
    }

    #[test]
    fn checks() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            &["iptables", "-A", "INPUT", "-m", "string", "--algo", "bm"],
        );
        assert!(o
            .stderr
            .contains("STRING match: You must specify `--string' or `--hex-string'\nTry"));
        let o = run(
            &mut h,
            &["iptables", "-A", "INPUT", "-m", "string", "--string", "x"],
        );
        assert!(o
            .stderr
            .contains("string: option \"--algo\" must be specified\n\nTry"));
        let o = run(
            &mut h,
            &[
                "iptables", "-A", "INPUT", "-m", "string", "--string", "x", "--algo", "xx",
            ],
        );
        assert_eq!(o.exit, 4);
        assert!(o.stderr.contains("(No such file or directory)"));
    }

    #[test]
    fn searches_like_the_kernel() {
        let text = b"GET /index.html HTTP/1.1\r\nHost: Example.ORG\r\n";
        for find in [bm_find, kmp_find] {
            assert_eq!(find(b"index", text, false), Some(5));
            assert_eq!(find(b"example.org", text, false), None);
            assert_eq!(find(b"example.org", text, true), Some(32));
            assert_eq!(find(b"\r\n", text, false), Some(24));
            assert_eq!(find(b"HTTP/1.1\r\nHost", text, false), Some(16));
            assert_eq!(find(b"xyz", text, false), None);
            assert_eq!(find(b"G", text, false), Some(0));
            assert_eq!(find(b"abcabd", b"abcabcabd", false), Some(3));
            assert_eq!(find(b"aab", b"aaab", false), Some(1));
        }
        // Every substring of a repetitive text is found where it first is.
        let t = b"abaababaabaababaababa";
        for s in 0..t.len() {
            for e in s + 1..=t.len() {
                let p = &t[s..e];
                let first = t.windows(p.len()).position(|w| w == p);
                assert_eq!(bm_find(p, t, false), first, "{p:?}");
                assert_eq!(kmp_find(p, t, false), first, "{p:?}");
            }
        }
        // Latin-1 letters fold too, as in the kernel's ctype table.
        assert_eq!(upper(0xe9), 0xc9);
        assert_eq!(bm_find(&[0xc9], &[0x41, 0xe9], true), Some(1));
    }

    #[test]
    fn window_from_to() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        let pl = b"....secret....";
        // IP 20 + UDP 8: "secret" starts at offset 32 of the packet.
        for (rule, dropped) in [
            ("--string secret --algo bm", true),
            ("--string secret --algo kmp --from 32 --to 38", true),
            ("--string secret --algo bm --from 33", false),
            ("--string secret --algo kmp --to 37", false),
            ("--string SECRET --algo bm --icase", true),
            ("! --string secret --algo bm", false),
            ("--hex-string |736563| --algo kmp", true),
        ] {
            ipt(&mut w, "iptables -F");
            ipt(
                &mut w,
                &format!("iptables -A FORWARD -m string {rule} -j DROP"),
            );
            let o = send_at(&mut w, SEC, udp("10.0.1.9", "10.0.2.5", 1, 2, pl));
            assert_eq!(!passed(&o), dropped, "{rule}");
        }
        let why = w.reports[0].trace.steps[0].failed.clone();
        assert_eq!(why, None);
        ipt(&mut w, "iptables -F");
        ipt(
            &mut w,
            "iptables -A FORWARD -m string --string secret --algo bm --from 33 -j DROP",
        );
        send_at(&mut w, SEC, udp("10.0.1.9", "10.0.2.5", 1, 2, pl));
        assert_eq!(
            w.reports[0].trace.steps[0].failed.as_deref(),
            Some("-m string --string \"secret\" --algo bm --from 33 did not match: not found in bytes 33-42 of the packet")
        );
    }
}
