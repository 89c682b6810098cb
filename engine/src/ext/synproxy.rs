//! `-j SYNPROXY`: answer TCP SYNs on behalf of the server with SYN cookies
//! and open the real connection only once the client completes the
//! handshake (INPUT/FORWARD, TCP only).

use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::check::hooks_outside;
use crate::ruleset::Hook;

const O_SACK_PERM: u8 = 0;
const O_TIMESTAMP: u8 = 1;
const O_WSCALE: u8 = 2;
const O_MSS: u8 = 3;
const O_ECN: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "SYNPROXY",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::flag("sack-perm", O_SACK_PERM),
        OptSpec::flag("timestamp", O_TIMESTAMP),
        OptSpec::arg("wscale", O_WSCALE),
        OptSpec::arg("mss", O_MSS),
        OptSpec::flag("ecn", O_ECN),
    ],
    guided: true,
    help: "SYNPROXY target options:\n  \
--sack-perm                        Offer selective acknowledgements\n  \
--timestamp                        Offer TCP timestamps\n  \
--wscale value                     Window scale to announce\n  \
--mss value                        Maximum segment size to announce\n  \
--ecn                              Offer explicit congestion notification\n",
    new_match: None,
    new_target: Some(|| Box::new(Synproxy::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synproxy {
    pub sack_perm: bool,
    pub timestamp: bool,
    pub wscale: Option<u8>,
    pub mss: Option<u16>,
    pub ecn: bool,
}

impl Synproxy {
    fn write(&self, out: &mut String, dashes: &str, sep: &str) {
        if self.sack_perm {
            out.push_str(&format!("{sep}{dashes}sack-perm"));
        }
        if self.timestamp {
            out.push_str(&format!("{sep}{dashes}timestamp"));
        }
        if let Some(w) = self.wscale {
            out.push_str(&format!("{sep}{dashes}wscale {w}"));
        }
        if let Some(m) = self.mss {
            out.push_str(&format!("{sep}{dashes}mss {m}"));
        }
        if self.ecn {
            out.push_str(&format!("{sep}{dashes}ecn"));
        }
    }
}

impl Target for Synproxy {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_SACK_PERM => self.sack_perm = true,
            O_TIMESTAMP => self.timestamp = true,
            // Parsed as 32-bit numbers and stored in the narrower kernel fields.
            O_WSCALE => {
                self.wscale =
                    Some(xtopt::uint("SYNPROXY", "wscale", arg, 0, u32::MAX as u64)? as u8)
            }
            O_MSS => {
                self.mss = Some(xtopt::uint("SYNPROXY", "mss", arg, 0, u32::MAX as u64)? as u16)
            }
            O_ECN => self.ecn = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.proto != 6
            || cx.proto_invert
            || hooks_outside(cx.hooks, &[Hook::Input, Hook::Forward])
        {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--", " ");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" SYNPROXY");
        let mut s = String::new();
        self.write(&mut s, "", " ");
        out.push_str(&s);
        out.push(' ');
    }

    fn explain(&self) -> String {
        "answer the TCP handshake with a SYN cookie and connect to the server only when the client completes it".to_string()
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
    fn order_truncation_and_checks() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -p tcp -j SYNPROXY --ecn --mss 65536 --wscale 9 --timestamp --sack-perm").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 9 --mss 0 --ecn\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .contains(" SYNPROXY sack-perm timestamp wscale 9 mss 0 ecn \n"));
        assert_eq!(run(&mut h, "iptables -A INPUT -j SYNPROXY").exit, 4);
        assert_eq!(run(&mut h, "iptables -A OUTPUT -p tcp -j SYNPROXY").exit, 4);
    }
}
