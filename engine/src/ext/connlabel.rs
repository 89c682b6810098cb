//! `-m connlabel --label N [--set]`: tests (and optionally sets) one of the
//! 128 label bits kept on a connection.

use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
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
    fn needs_conntrack(&self) -> bool {
        true
    }
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

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let (word, bit) = ((self.bit / 64) as usize & 1, self.bit % 64);
        let set = self.set;
        let Some(e) = cx.ct_entry_mut() else {
            return Some(self.inv);
        };
        if e.labels[word] & (1 << bit) != 0 {
            return Some(!self.inv);
        }
        if set {
            e.labels[word] |= 1 << bit;
            return Some(!self.inv);
        }
        Some(self.inv)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let opt = opt.trim_start();
        match cx.ct_entry() {
            None => format!("`{opt}` did not match: the packet has no connection"),
            Some(e) => {
                let labels: Vec<String> = (0..128u16)
                    .filter(|b| e.labels[(b / 64) as usize] & (1 << (b % 64)) != 0)
                    .map(|b| b.to_string())
                    .collect();
                if labels.is_empty() {
                    format!("`{opt}` did not match: the connection has no labels")
                } else {
                    format!(
                        "`{opt}` did not match: the connection has labels {}",
                        labels.join(",")
                    )
                }
            }
        }
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

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, udp, why};

    #[test]
    fn labels_live_on_the_connection() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m connlabel --label 100");
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m connlabel ! --label 7 --set",
        );
        sh(&mut w, 0, "iptables -A INPUT -m connlabel --label 7");
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        // --set puts label 7 on (the inverted rule then says no); rule 3 sees it.
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0, 1]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--label \"100\"` did not match: the connection has no labels"
        );
        // The label stays on the connection.
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--label \"100\"` did not match: the connection has labels 7"
        );
        assert_eq!(
            why(&w, "INPUT", 2),
            "`! --label \"7\" --set` did not match: the connection has labels 7"
        );
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0, 2]);
        // No connection: only the inverted form matches.
        inject(&mut w, tcp("10.0.0.2", 3, "10.0.0.1", 2, "SA"));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 1, 2]);
    }

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
