//! `-m string`: matches packets whose payload contains a string (or bytes
//! given in hex), searched with the Boyer-Moore or KMP algorithm between
//! two offsets.

use super::{
    bit, xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult,
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
}
