//! `-m connlabel --label N [--set]`: tests (and optionally sets) one of the
//! 128 label bits kept on a connection.

use super::{ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_LABEL: u8 = 0;
const O_SET: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "connlabel",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("label", O_LABEL).mand().inv(),
        OptSpec::flag("set", O_SET),
    ],
    guided: true,
    help: concat!(
        "connlabel match options:\n",
        "[!] --label name     Match when the connection carries this label\n",
        "    --set            Put the label on the connection as well\n",
    ),
    new_match: Some(|| Box::new(Connlabel::default())),
    new_target: None,
};

/// Where libnetfilter_conntrack looks for label names.
pub const LABEL_FILE: &str = "/etc/xtables/connlabel.conf";
/// Highest label bit the kernel accepts.
const MAX_BIT: u16 = 127;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connlabel {
    pub bit: u16,
    pub inv: bool,
    pub set: bool,
}

/// `connlabel_value_parse`: `strtoul(s, 0)` of the whole word, kept as a C
/// `int`; a negative int (or a saturated overflow) means "look up a name".
fn label_number(s: &str) -> Option<u32> {
    match super::xtopt::strtoul(s, 0, 0) {
        Some((v, "")) => {
            let as_int = v as u32 as i32;
            u32::try_from(as_int).ok()
        }
        _ => None,
    }
}

impl Match for Connlabel {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        match id {
            O_LABEL => {
                let arg = arg.unwrap_or_default();
                if arg.is_empty() {
                    return Err(XtError::new(
                        "Argument must have a minimum length of 1 characters\n",
                    ));
                }
                let Some(v) = label_number(arg) else {
                    // A name: the label file does not exist on the host.
                    return Err(XtError::bare(format!(
                        "Warning: cannot open {LABEL_FILE}: No such file or directory\n\
                         {}: label '{arg}' not found or invalid value",
                        crate::iptables::VERSION_TAG
                    )));
                };
                // The kernel field is 16 bits wide.
                self.bit = v as u16;
                self.inv = inv;
            }
            O_SET => self.set = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, _cx: &super::CheckCx) -> Result<(), KernelError> {
        if self.bit > MAX_BIT {
            return Err(KernelError::Range);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" --label \"{}\"", self.bit));
        if self.set {
            out.push_str(" --set");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" connlabel");
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" {}", self.bit));
        if self.set {
            out.push_str(" set");
        }
    }

    fn explain(&self) -> String {
        let mut s = format!(
            "Matches when the connection {} label {}",
            if self.inv { "lacks" } else { "has" },
            self.bit
        );
        if self.set {
            s.push_str(" (and puts the label on the connection)");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn numbers_names_and_range() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m connlabel ! --label 0x10 --set"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m connlabel --label 65536").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m connlabel ! --label \"16\" --set\n-A INPUT -m connlabel --label \"0\"\n"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(l.contains("0.0.0.0/0            connlabel ! 16 set\n"));
        let out = run(&mut h, "iptables -A INPUT -m connlabel --label 128");
        assert_eq!(out.exit, 4);
        assert_eq!(
            out.stderr,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Numerical result out of range): rule in chain INPUT\n"
        );
        let out = run(&mut h, "iptables -A INPUT -m connlabel --label web");
        assert_eq!(
            out.stderr,
            "Warning: cannot open /etc/xtables/connlabel.conf: No such file or directory\n\
iptables v1.8.9 (nf_tables): label 'web' not found or invalid value\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
    }
}
