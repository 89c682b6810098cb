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
    fn needs_conntrack(&self) -> bool {
        true
    }
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

    fn keeps_bytes(&self) -> bool {
        true
    }

    fn explain(&self) -> String {
        let mut s = match self.range.ports_text() {
            Some(p) => format!("Redirects to {p} of this host itself"),
            None => "Redirects to this host itself".to_string(),
        };
        s.push_str(" (the connection's destination is rewritten)");
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

    use crate::ext::targets_testkit::{ip, tcp, udp, Lab};
    use crate::sim::host::Listener;

    #[test]
    fn to_ports_8080_on_the_router() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.w.hosts[r].listeners.push(Listener {
            proto: 6,
            port: 8080,
            addr: None,
            service: "proxy".into(),
        });
        lab.rules(
            r,
            "iptables -t nat -A PREROUTING -i eth0 -p tcp -j REDIRECT --to-ports 8080
             iptables -t nat -A PREROUTING -i eth0 -p udp -j REDIRECT",
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4000, 80, "S"));
        // The router's own stack took it, on the incoming interface's address.
        let at_router = lab.got(r);
        assert_eq!(at_router[0].dst, ip("10.0.1.1"));
        assert_eq!(at_router[0].ports(), Some((4000, 8080)));
        assert!(lab.got(lab.server).is_empty());
        // Its SYN-ACK looks as if the web server had sent it.
        let back = lab.got(lab.client);
        assert_eq!(back[0].src, ip("10.0.0.2"));
        assert_eq!(back[0].ports(), Some((80, 4000)));
        // Without --to-ports the port stays: the router's closed port answers.
        lab.send(lab.client, udp("10.0.1.2", "10.0.0.2", 4001, 53));
        assert_eq!(lab.got(r)[0].ports(), Some((4001, 53)));
        let back = lab.got(lab.client);
        assert_eq!(back[0].src, ip("10.0.0.2"));
        assert_eq!(back[0].icmp().unwrap().code, 3);
    }

    #[test]
    fn local_packets_go_to_loopback() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t nat -A OUTPUT -d 10.0.0.2 -p tcp -j REDIRECT --to-ports 3128",
        );
        lab.send(r, tcp("10.0.0.1", "10.0.0.2", 4000, 80, "S"));
        let got = lab.got(r);
        assert_eq!(got[0].dst, ip("127.0.0.1"));
        assert_eq!(got[0].ports(), Some((4000, 3128)));
        assert!(lab.got(lab.server).is_empty());
    }
}
