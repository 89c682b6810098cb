//! `-j REDIRECT`: destination NAT to the host itself (the address of the
//! incoming interface, or 127.0.0.1 for local traffic), optionally to other
//! ports (nat table, PREROUTING and OUTPUT).

use super::dnat::{nat_check, ports_allowed, NatRange};
use super::{CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::eval::Manip;
use crate::sim::nat;
use std::net::Ipv4Addr;

const O_TO_PORTS: u8 = 2;
const O_RANDOM: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "REDIRECT",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("to-ports", O_TO_PORTS),
        OptSpec::flag("random", O_RANDOM),
    ],
    guided: true,
    help: "REDIRECT target options:\n \
--to-ports <port>[-<port>]\n\
\t\t\t\tLocal port (range) to send to.\n \
[--random]\n",
    new_match: None,
    new_target: Some(|| Box::new(Redirect::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    pub range: NatRange,
}

impl Target for Redirect {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, cx: &mut ParseCx) -> XtResult {
        match id {
            O_TO_PORTS => self
                .range
                .parse_ports(arg.unwrap_or_default(), ports_allowed(cx.proto))?,
            O_RANDOM => self.range.random = true,
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        if self.range.offset {
            return Err(XtError::new(
                "Shifted portmap ranges not supported with this kernel",
            ));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        nat_check(cx, &[Hook::Prerouting, Hook::Output])
    }

    fn save(&self, out: &mut String) {
        self.range.write(out, "--to-ports ", "--", true);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.range.write(out, "redir ports ", "", true);
    }

    /// `nf_nat_redirect_ipv4`: destination NAT to 127.0.0.1 for the host's
    /// own packets (OUTPUT), else to the first address of the incoming
    /// interface (DROP when it has none).
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let addr = if cx.hook == Hook::Output {
            Some(Ipv4Addr::LOCALHOST)
        } else {
            cx.in_iface()
                .and_then(|n| cx.ifaces.iter().find(|i| i.name == n))
                .and_then(|i| i.primary())
        };
        let Some(addr) = addr else {
            return Some(TargetVerdict::Drop);
        };
        Some(nat::setup(cx, Manip::Dst, self.range.to_sim(Some(addr))))
    }

    fn explain(&self) -> String {
        let mut s = "send the connection to this host itself".to_string();
        if let Some(p) = self.range.ports_text() {
            s.push_str(&format!(", to {p}"));
        }
        s.push_str(&self.range.flags_text());
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
    fn ports_save_and_shift_refused() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -t nat -A PREROUTING -p udp -j REDIRECT --to-ports 512-512"
            )
            .exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports ssh --random"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t nat -S").stdout,
            "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n\
-A PREROUTING -p udp -j REDIRECT --to-ports 512\n\
-A OUTPUT -p tcp -j REDIRECT --to-ports 22 --random\n"
        );
        assert!(run(&mut h, "iptables -t nat -L OUTPUT -n")
            .stdout
            .contains("redir ports 22 random\n"));
        let o = run(
            &mut h,
            "iptables -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 42-1234/567",
        );
        assert!(o
            .stderr
            .contains("Shifted portmap ranges not supported with this kernel\n"));
        assert_eq!(
            run(&mut h, "iptables -t nat -A POSTROUTING -p tcp -j REDIRECT").exit,
            4
        );
    }
}
