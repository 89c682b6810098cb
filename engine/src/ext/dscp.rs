//! `-m dscp --dscp N | --dscp-class NAME`: matches the DiffServ code point
//! (the upper six bits of the IPv4 TOS byte). Also holds the class names
//! shared with `-j DSCP`.

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_DSCP: u8 = 0;
const O_CLASS: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "dscp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("dscp", O_DSCP).inv().excl(1 << O_CLASS),
        OptSpec::arg("dscp-class", O_CLASS).inv().excl(1 << O_DSCP),
    ],
    guided: true,
    help: "dscp match options\n\
[!] --dscp value\t\tMatch the DSCP code point, in decimal (32) or hex (0x20)\n\
[!] --dscp-class name\t\tMatch a DiffServ class by name: BE, EF, AFxx or CSx\n\
\n\
\t\t\t\tOnly one of the two may be given.\n",
    new_match: Some(|| Box::new(Dscp::default())),
    new_target: None,
};

/// DiffServ class names and their code points, in iptables' lookup order.
const CLASSES: [(&str, u8); 22] = [
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];

/// `class_to_dscp`: the first class whose name begins the argument (any case).
pub fn class_to_dscp(name: &str) -> XtResult<u8> {
    CLASSES
        .iter()
        .find(|(n, _)| {
            name.len() >= n.len() && name.as_bytes()[..n.len()].eq_ignore_ascii_case(n.as_bytes())
        })
        .map(|(_, v)| *v)
        .ok_or_else(|| XtError::new(format!("Invalid DSCP value `{name}'")))
}

/// Highest DSCP value.
pub const DSCP_MAX: u64 = 0x3f;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dscp {
    pub dscp: u8,
    pub invert: bool,
}

impl Match for Dscp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        self.dscp = if id == O_DSCP {
            xtopt::uint("dscp", "dscp", arg, 0, DSCP_MAX)? as u8
        } else {
            class_to_dscp(arg)?
        };
        self.invert = inv;
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new("DSCP match: Parameter --dscp is required"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" --dscp 0x{:02x}", self.dscp));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" DSCP match ");
        if self.invert {
            out.push('!');
        }
        out.push_str(&format!("0x{:02x}", self.dscp));
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some((cx.hdr.tos >> 2 == self.dscp) != self.invert)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut s = String::from("-m dscp");
        self.save(&mut s);
        format!("{s} did not match: the DSCP is 0x{:02x}", cx.hdr.tos >> 2)
    }

    fn explain(&self) -> String {
        format!(
            "packets whose DSCP is {}0x{:02x}",
            if self.invert { "not " } else { "" },
            self.dscp
        )
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
    fn classes() {
        assert_eq!(class_to_dscp("EF").unwrap(), 0x2e);
        assert_eq!(class_to_dscp("af41").unwrap(), 0x22);
        assert_eq!(class_to_dscp("af411").unwrap(), 0x22);
        assert_eq!(
            class_to_dscp("XX").unwrap_err().msg,
            "Invalid DSCP value `XX'"
        );
    }

    #[test]
    fn save_list_and_errors() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A INPUT -m dscp ! --dscp 10").exit, 0);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m dscp ! --dscp 0x0a\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with("DSCP match !0x0a\n"));
        let o = run(&mut h, "iptables -A INPUT -m dscp");
        assert!(o
            .stderr
            .contains("DSCP match: Parameter --dscp is required\nTry"));
        let o = run(&mut h, "iptables -A INPUT -m dscp --dscp 0x40");
        assert!(o
            .stderr
            .contains("dscp: bad value for option \"--dscp\", or out of range (0-63).\n\nTry"));
    }

    #[test]
    fn matches_the_upper_six_bits() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A FORWARD -m dscp --dscp-class AF41 -j DROP",
        );
        let mut p = ping("10.0.1.9", "10.0.2.5");
        p.set_tos(0x8b);
        assert!(!passed(&send_at(&mut w, SEC, p)));
        assert!(passed(&send_at(&mut w, SEC, ping("10.0.1.9", "10.0.2.5"))));
        assert_eq!(
            w.reports[0].trace.steps[0].failed.as_deref(),
            Some("-m dscp --dscp 0x22 did not match: the DSCP is 0x00")
        );
    }
}
