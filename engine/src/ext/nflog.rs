//! `-j NFLOG`: copy the packet to a netlink log group (read by ulogd or
//! tcpdump's nflog interface) and let it continue down the chain.

use super::log::parse_prefix;
use super::{bit, xtopt, ExtInfo, ExtKind, OptSpec, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_GROUP: u8 = 0;
const O_PREFIX: u8 = 1;
const O_RANGE: u8 = 2;
const O_SIZE: u8 = 3;
const O_THRESHOLD: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "NFLOG",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("nflog-group", O_GROUP),
        OptSpec::arg("nflog-prefix", O_PREFIX),
        OptSpec::arg("nflog-range", O_RANGE).excl(bit(O_SIZE)),
        OptSpec::arg("nflog-size", O_SIZE).excl(bit(O_RANGE)),
        OptSpec::arg("nflog-threshold", O_THRESHOLD),
    ],
    guided: true,
    help: "NFLOG target options:\n \
--nflog-group NUM\t\tnetlink log group to send to\n \
--nflog-range NUM\t\tIgnored; use --nflog-size\n \
--nflog-size NUM\t\tNumber of packet bytes to copy\n \
--nflog-threshold NUM\t\tPackets queued in the kernel before sending\n \
--nflog-prefix STRING\t\tText put in front of each message\n",
    new_match: None,
    new_target: Some(|| Box::new(Nflog::default())),
};

/// Longest prefix kept by the nf_tables `log` expression.
const PREFIX_MAX: usize = 127;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nflog {
    pub group: u16,
    pub prefix: String,
    /// `--nflog-size`, when given.
    pub size: Option<u32>,
    pub threshold: u16,
}

impl Target for Nflog {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_GROUP => self.group = xtopt::uint("NFLOG", "nflog-group", arg, 0, 65535)? as u16,
            O_PREFIX => self.prefix = parse_prefix(arg, PREFIX_MAX)?,
            O_RANGE => {
                xtopt::uint("NFLOG", "nflog-range", arg, 0, u32::MAX as u64)?;
            }
            O_SIZE => {
                self.size =
                    Some(xtopt::uint("NFLOG", "nflog-size", arg, 0, u32::MAX as u64)? as u32)
            }
            O_THRESHOLD => {
                self.threshold = xtopt::uint("NFLOG", "nflog-threshold", arg, 0, 65535)? as u16
            }
            _ => {}
        }
        Ok(())
    }

    /// The value of `--nflog-range` is dropped; the warning comes with the final check.
    fn final_check(&mut self, seen: u64, cx: &mut ParseCx) -> XtResult {
        if seen & bit(O_RANGE) != 0 {
            cx.warnings.push(
                "warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead"
                    .to_string(),
            );
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.write(out, "");
    }

    /// The packet goes to the userspace log group (nfnetlink_log); no program listens in the simulator and nothing reaches the kernel log, so it only goes on.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        let mut s = format!(
            "send a copy of the packet to netlink log group {}",
            self.group
        );
        if !self.prefix.is_empty() {
            s.push_str(&format!(" tagged \"{}\"", self.prefix));
        }
        if let Some(n) = self.size {
            s.push_str(&format!(", at most {n} bytes of it"));
        }
        s.push_str(", then continue with the next rule");
        s
    }
}

impl Nflog {
    /// Save and `-L` text differ only by the `--` before each option name.
    fn write(&self, out: &mut String, dashes: &str) {
        if !self.prefix.is_empty() {
            out.push_str(&format!(
                " {dashes}nflog-prefix {}",
                xtopt::save_string(&self.prefix)
            ));
        }
        if self.group != 0 {
            out.push_str(&format!(" {dashes}nflog-group {}", self.group));
        }
        if let Some(n) = self.size {
            out.push_str(&format!(" {dashes}nflog-size {n}"));
        }
        if self.threshold != 0 {
            out.push_str(&format!(" {dashes}nflog-threshold {}", self.threshold));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, a: &[&str]) -> crate::command::Output {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_and_list() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            &[
                "iptables",
                "-A",
                "INPUT",
                "-j",
                "NFLOG",
                "--nflog-threshold",
                "2",
                "--nflog-size",
                "0",
                "--nflog-group",
                "3",
                "--nflog-prefix",
                "a b",
            ],
        );
        assert_eq!(o.exit, 0);
        assert_eq!(
            run(&mut h, &["iptables", "-S", "INPUT"]).stdout,
            "-P INPUT ACCEPT\n\
-A INPUT -j NFLOG --nflog-prefix \"a b\" --nflog-group 3 --nflog-size 0 --nflog-threshold 2\n"
        );
        assert!(run(&mut h, &["iptables", "-L", "INPUT", "-n"])
            .stdout
            .contains(" nflog-prefix \"a b\" nflog-group 3 nflog-size 0 nflog-threshold 2\n"));
    }

    #[test]
    fn range_warns_even_when_the_rule_fails() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            &[
                "iptables",
                "-A",
                "INPUT",
                "-j",
                "NFLOG",
                "--nflog-range",
                "5",
            ],
        );
        assert_eq!(o.exit, 0);
        assert_eq!(
            o.stderr,
            "warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead\n"
        );
        let o = run(
            &mut h,
            &[
                "iptables",
                "-A",
                "INPUT",
                "-j",
                "NFLOG",
                "--nflog-range",
                "5",
                "--nflog-size",
                "3",
            ],
        );
        assert_eq!(o.exit, 2);
        assert!(o.stderr.starts_with(
            "warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead\n\
iptables v1.8.9 (nf_tables): NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\".\n\n"
        ));
    }

    use crate::ext::targets_testkit::{ping, Lab};

    #[test]
    fn goes_on_and_writes_nothing_to_the_kernel_log() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A FORWARD -j NFLOG --nflog-group 2 --nflog-prefix seen
             iptables -A FORWARD -p icmp",
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.client).len(), 1);
        assert_eq!(lab.count(r, "filter", "-A FORWARD -p icmp"), 2);
        assert!(lab.kmsg(r).is_empty());
    }
}
