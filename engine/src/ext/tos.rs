//! `-m tos --tos value[/mask]|symbol`: matches the IPv4 Type of Service byte
//! (under a mask). Also holds the TOS value parser shared with `-j TOS`.

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_TOS: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "tos",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("tos", O_TOS).inv().mand()],
    guided: true,
    help: "tos match options:\n\
[!] --tos value[/mask]    Match the Type of Service byte (under mask)\n\
[!] --tos symbol          Match a TOS value by name (the mask is then 0x3f)\n\
\x20                         Names known:\n\
\x20                         (0x10) 16 Minimize-Delay\n\
\x20                         (0x08)  8 Maximize-Throughput\n\
\x20                         (0x04)  4 Maximize-Reliability\n\
\x20                         (0x02)  2 Minimize-Cost\n\
\x20                         (0x00)  0 Normal-Service\n\n",
    new_match: Some(|| Box::new(Tos::default())),
    new_target: None,
};

/// The symbolic TOS names iptables knows, in its order.
pub const TOS_NAMES: [(&str, u8); 5] = [
    ("Minimize-Delay", 0x10),
    ("Maximize-Throughput", 0x08),
    ("Maximize-Reliability", 0x04),
    ("Minimize-Cost", 0x02),
    ("Normal-Service", 0x00),
];

/// `tos_parse_symbolic`: `value[/mask]` (numbers up to 255, mask defaulting to
/// 0xff) or a symbolic name (mask `def_mask`).
pub fn parse_tos(s: &str, def_mask: u8) -> XtResult<(u8, u8)> {
    let illegal = || XtError::new(format!("Illegal value: \"{s}\""));
    if let Some((value, rest)) = xtopt::strtoul(s, 0, 255) {
        let mut mask = 0xff;
        let mut rest = rest;
        if let Some(m) = rest.strip_prefix('/') {
            let (mv, r) = xtopt::strtoul(m, 0, 255).ok_or_else(illegal)?;
            mask = mv as u8;
            rest = r;
        }
        if !rest.is_empty() {
            return Err(illegal());
        }
        return Ok((value as u8, mask));
    }
    TOS_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, v)| (*v, def_mask))
        .ok_or_else(|| XtError::new(format!("Symbolic name \"{s}\" is unknown")))
}

/// The name of a value when the mask is 0x3f (`tos_try_print_symbolic`).
pub fn tos_symbol(value: u8, mask: u8) -> Option<&'static str> {
    if mask != 0x3f {
        return None;
    }
    TOS_NAMES.iter().find(|(_, v)| *v == value).map(|(n, _)| *n)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tos {
    pub value: u8,
    pub mask: u8,
    pub invert: bool,
}

impl Match for Tos {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let (v, m) = parse_tos(arg.unwrap_or_default(), 0x3f)?;
        self.value = v;
        self.mask = m;
        self.invert = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" --tos 0x{:02x}/0x{:02x}", self.value, self.mask));
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" tos match");
        if self.invert {
            out.push('!');
        }
        match tos_symbol(self.value, self.mask) {
            Some(name) if !numeric => {
                out.push(' ');
                out.push_str(name);
            }
            _ => out.push_str(&format!("0x{:02x}/0x{:02x}", self.value, self.mask)),
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some((cx.hdr.tos & self.mask == self.value) != self.invert)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut s = String::from("-m tos");
        self.save(&mut s);
        format!("{s} did not match: the TOS byte is 0x{:02x}", cx.hdr.tos)
    }

    fn explain(&self) -> String {
        let what = match tos_symbol(self.value, self.mask) {
            Some(name) => format!("TOS {name} (0x{:02x})", self.value),
            None => format!(
                "TOS byte 0x{:02x} under mask 0x{:02x}",
                self.value, self.mask
            ),
        };
        if self.invert {
            format!("packets whose {what} does not match")
        } else {
            format!("packets with {what}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn parses_numbers_masks_and_names() {
        assert_eq!(parse_tos("0x0f", 0x3f).unwrap(), (0x0f, 0xff));
        assert_eq!(parse_tos("0x0f/0x0f", 0x3f).unwrap(), (0x0f, 0x0f));
        assert_eq!(parse_tos("minimize-delay", 0x3f).unwrap(), (0x10, 0x3f));
        assert_eq!(
            parse_tos("0x0f/0x1ff", 0x3f).unwrap_err().msg,
            "Illegal value: \"0x0f/0x1ff\""
        );
        assert_eq!(
            parse_tos("0x1ff", 0x3f).unwrap_err().msg,
            "Symbolic name \"0x1ff\" is unknown"
        );
    }

    #[test]
    fn save_and_list() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m tos ! --tos Minimize-Cost").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m tos ! --tos 0x02/0x3f\n"
        );
        let l = run(&mut h, "iptables -L INPUT").stdout;
        assert!(
            l.ends_with("anywhere             tos match! Minimize-Cost\n"),
            "{l}"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(
            l.ends_with("0.0.0.0/0            tos match!0x02/0x3f\n"),
            "{l}"
        );
    }

    #[test]
    fn matches_under_the_mask() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A FORWARD -m tos --tos Minimize-Delay -j DROP",
        );
        let mut p = ping("10.0.1.9", "10.0.2.5");
        p.set_tos(0xd3);
        // 0xd3 & 0x3f = 0x13, not 0x10.
        assert!(passed(&send_at(&mut w, SEC, p)));
        assert_eq!(
            w.reports[0].trace.steps[0].failed.as_deref(),
            Some("-m tos --tos 0x10/0x3f did not match: the TOS byte is 0xd3")
        );
        let mut p = ping("10.0.1.9", "10.0.2.5");
        p.set_tos(0xd0);
        assert!(!passed(&send_at(&mut w, SEC, p)));
    }
}
