//! `-j REJECT`: drop the packet and answer the sender with an ICMP error or a
//! TCP reset (filter table, INPUT/FORWARD/OUTPUT only).

use super::{
    CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext_boilerplate;
use crate::ruleset::check::hooks_outside;
use crate::ruleset::Hook;
use crate::sim::eval::Emit;
use crate::sim::{reject, route};

const O_REJECT_WITH: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "REJECT",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[OptSpec::arg("reject-with", O_REJECT_WITH)],
    guided: true,
    help: "REJECT target options:\n\
--reject-with type              drop the packet and answer the sender\n                                \
with a reply of the given type:\n\
Valid reject types:\n    \
icmp-net-unreachable     \tICMP network unreachable\n    \
net-unreach              \talias\n    \
icmp-host-unreachable    \tICMP host unreachable\n    \
host-unreach             \talias\n    \
icmp-proto-unreachable   \tICMP protocol unreachable\n    \
proto-unreach            \talias\n    \
icmp-port-unreachable    \tICMP port unreachable (default)\n    \
port-unreach             \talias\n    \
icmp-net-prohibited      \tICMP network administratively prohibited\n    \
net-prohib               \talias\n    \
icmp-host-prohibited     \tICMP host administratively prohibited\n    \
host-prohib              \talias\n    \
tcp-reset                \tTCP RST segment (needs -p tcp)\n    \
tcp-rst                  \talias\n    \
icmp-admin-prohibited    \tICMP communication administratively prohibited (*)\n    \
admin-prohib             \talias\n\
\n\
(*) Older kernels may not know this type; see the iptables man page.\n",
    new_match: None,
    new_target: Some(|| Box::new(Reject::default())),
};

/// The reply sent back, in the order iptables searches its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RejectWith {
    NetUnreachable,
    HostUnreachable,
    ProtoUnreachable,
    #[default]
    PortUnreachable,
    NetProhibited,
    HostProhibited,
    TcpReset,
    AdminProhibited,
}

/// (name, alias, kind) in iptables' search order.
const TYPES: [(&str, &str, RejectWith); 8] = [
    (
        "icmp-net-unreachable",
        "net-unreach",
        RejectWith::NetUnreachable,
    ),
    (
        "icmp-host-unreachable",
        "host-unreach",
        RejectWith::HostUnreachable,
    ),
    (
        "icmp-proto-unreachable",
        "proto-unreach",
        RejectWith::ProtoUnreachable,
    ),
    (
        "icmp-port-unreachable",
        "port-unreach",
        RejectWith::PortUnreachable,
    ),
    (
        "icmp-net-prohibited",
        "net-prohib",
        RejectWith::NetProhibited,
    ),
    (
        "icmp-host-prohibited",
        "host-prohib",
        RejectWith::HostProhibited,
    ),
    ("tcp-reset", "tcp-rst", RejectWith::TcpReset),
    (
        "icmp-admin-prohibited",
        "admin-prohib",
        RejectWith::AdminProhibited,
    ),
];

impl RejectWith {
    pub fn name(self) -> &'static str {
        TYPES
            .iter()
            .find(|t| t.2 == self)
            .map(|t| t.0)
            .unwrap_or("icmp-port-unreachable")
    }
    /// ICMP destination-unreachable code sent, `None` for a TCP reset.
    pub fn icmp_code(self) -> Option<u8> {
        Some(match self {
            RejectWith::NetUnreachable => 0,
            RejectWith::HostUnreachable => 1,
            RejectWith::ProtoUnreachable => 2,
            RejectWith::PortUnreachable => 3,
            RejectWith::NetProhibited => 9,
            RejectWith::HostProhibited => 10,
            RejectWith::AdminProhibited => 13,
            RejectWith::TcpReset => return None,
        })
    }
}

/// Whether `arg` is a case-insensitive prefix of `name` (C `strncasecmp(name, arg, strlen(arg))`).
fn prefix_of(name: &str, arg: &str) -> bool {
    name.len() >= arg.len() && name.as_bytes()[..arg.len()].eq_ignore_ascii_case(arg.as_bytes())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reject {
    pub with: RejectWith,
}

impl Target for Reject {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        if let Some(t) = TYPES
            .iter()
            .find(|t| prefix_of(t.0, arg) || prefix_of(t.1, arg))
        {
            self.with = t.2;
            return Ok(());
        }
        if prefix_of("echo-reply", arg) || prefix_of("echoreply", arg) {
            cx.warnings
                .push("--reject-with echo-reply no longer supported".to_string());
        }
        Err(XtError::new(format!("unknown reject type \"{arg}\"")))
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "filter"
            || hooks_outside(cx.hooks, &[Hook::Input, Hook::Forward, Hook::Output])
        {
            return Err(KernelError::Invalid);
        }
        if self.with == RejectWith::TcpReset && (cx.proto != 6 || cx.proto_invert) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --reject-with ");
        out.push_str(self.with.name());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" reject-with ");
        out.push_str(self.with.name());
    }

    /// `reject_tg`: send the reply (`nf_send_reset` / `nf_send_unreach`),
    /// attached to the packet's connection, and drop the packet.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let reply = match self.with.icmp_code() {
            None => {
                // No RST for a packet routed as broadcast or multicast.
                let bcast = route::is_broadcast(cx.ifaces, cx.hdr.dst) || cx.hdr.dst.is_multicast();
                reject::tcp_reset(cx.pkt).filter(|_| !bcast)
            }
            // The kernel's own ICMP replies (echo, timestamp, information,
            // address mask) leave through its ICMP socket, which `icmp_send`
            // cannot take while they are on their way: no error about them.
            Some(_)
                if cx.hook == Hook::Output
                    && cx
                        .hdr
                        .icmp()
                        .is_some_and(|i| matches!(i.icmp_type, 0 | 14 | 16 | 18)) =>
            {
                None
            }
            Some(code) => {
                let id = cx.rng.next_u32() as u16;
                reject::icmp_unreach(cx.pkt, 3, code, cx.ifaces, cx.routes, id)
            }
        };
        if let Some(mut p) = reply {
            p.meta.nfct = reject::attach(cx.conntrack, cx.ct, cx.ct_dir, true);
            cx.emitted.push(Emit::Local(p));
            if self.with.icmp_code().is_none() {
                // nf_send_reset: nf_ct_set_closing, the connection is
                // closing as if it had seen the RST (state CLOSE, 10 s).
                let now = cx.now_ns;
                if let Some(e) = cx.ct_entry_mut().filter(|e| e.orig.proto == 6) {
                    e.tcp = crate::sim::conntrack::TcpState::Close;
                    e.expires_ns = now + 10_000_000_000;
                }
            }
        }
        Some(TargetVerdict::Drop)
    }

    fn explain(&self) -> String {
        let reply = match self.with {
            RejectWith::TcpReset => "a TCP reset".to_string(),
            w => format!(
                "an ICMP \"{}\" error",
                w.name().trim_start_matches("icmp-").replace('-', " ")
            ),
        };
        format!("Rejects , answering the sender with {reply}")
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
    fn default_and_aliases_save_full_names() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A INPUT -j REJECT").exit, 0);
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -j REJECT --reject-with host-prohib"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j REJECT --reject-with N").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n\
-A INPUT -j REJECT --reject-with icmp-port-unreachable\n\
-A INPUT -j REJECT --reject-with icmp-host-prohibited\n\
-A INPUT -j REJECT --reject-with icmp-net-unreachable\n"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(l.contains(
            "REJECT     0    --  0.0.0.0/0            0.0.0.0/0            reject-with icmp-port-unreachable\n"
        ));
    }

    #[test]
    fn unknown_type_and_echo_reply_warning() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -A INPUT -j REJECT --reject-with echo");
        assert_eq!(o.exit, 2);
        assert_eq!(
            o.stderr,
            "--reject-with echo-reply no longer supported\n\
iptables v1.8.9 (nf_tables): unknown reject type \"echo\"\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
    }

    #[test]
    fn tcp_reset_needs_tcp_and_filter_only() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            "iptables -A INPUT -j REJECT --reject-with tcp-reset",
        );
        assert_eq!(o.exit, 4);
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT\n"
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -p tcp -j REJECT --reject-with tcp-rst"
            )
            .exit,
            0
        );
        assert_eq!(run(&mut h, "iptables -t mangle -A INPUT -j REJECT").exit, 4);
    }

    use crate::ext::targets_testkit::{ip, ping, tcp, udp, Lab};
    use crate::packet::tcp_flags;

    #[test]
    fn reject_answers_the_client_drop_does_not() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A FORWARD -d 10.0.0.2 -p udp -j REJECT
             iptables -A FORWARD -d 10.0.0.2 -p tcp -j REJECT --reject-with tcp-reset
             iptables -A FORWARD -d 10.0.0.10 -j DROP",
        );
        // UDP: ICMP port unreachable from the router, quoting the packet.
        lab.send(lab.client, udp("10.0.1.2", "10.0.0.2", 5000, 53));
        let got = lab.got(lab.client);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].src, ip("10.0.1.1"));
        let icmp = got[0].icmp().unwrap();
        assert_eq!((icmp.icmp_type, icmp.code), (3, 3));
        assert_eq!(icmp.inner.as_ref().unwrap().ports(), Some((5000, 53)));
        assert!(lab.got(lab.server).is_empty());
        // TCP: a RST from the server's address, acknowledging the SYN.
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 5001, 80, "S"));
        let got = lab.got(lab.client);
        assert_eq!(got.len(), 1);
        let t = got[0].tcp().unwrap();
        assert_eq!(got[0].src, ip("10.0.0.2"));
        assert_eq!(t.flags, tcp_flags::RST | tcp_flags::ACK);
        assert_eq!((t.seq, t.ack), (0, 1001));
        assert!(lab.got(lab.server).is_empty());
        // DROP: nothing at all comes back.
        lab.send(lab.client, udp("10.0.1.2", "10.0.0.10", 5002, 53));
        assert!(lab.got(lab.client).is_empty());
        assert!(lab.got(lab.monitor).is_empty());
        assert!(lab
            .w
            .reports
            .iter()
            .any(|r| r.outcome == "dropped on router in FORWARD"));
    }

    #[test]
    fn every_icmp_type_and_the_reset_of_an_ack() {
        for (name, code) in [
            ("icmp-net-unreachable", 0),
            ("icmp-host-unreachable", 1),
            ("icmp-proto-unreachable", 2),
            ("icmp-port-unreachable", 3),
            ("icmp-net-prohibited", 9),
            ("icmp-host-prohibited", 10),
            ("icmp-admin-prohibited", 13),
        ] {
            let mut lab = Lab::new();
            let r = lab.router;
            lab.rules(
                r,
                &format!("iptables -A INPUT -j REJECT --reject-with {name}"),
            );
            lab.send(lab.client, ping("10.0.1.2", "10.0.1.1", 9));
            let got = lab.got(lab.client);
            let icmp = got[0].icmp().unwrap();
            assert_eq!((icmp.icmp_type, icmp.code), (3, code), "{name}");
            assert_eq!(got[0].tos, 0xc0);
        }
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A INPUT -p tcp -j REJECT --reject-with tcp-reset",
        );
        // An ACK is answered with a RST carrying its ack number, no ACK flag.
        lab.send(lab.client, tcp("10.0.1.2", "10.0.1.1", 5003, 22, "A"));
        let t = lab.got(lab.client)[0].tcp().unwrap().clone();
        assert_eq!((t.flags, t.seq, t.ack), (tcp_flags::RST, 7000, 0));
        // No RST for a RST.
        lab.send(lab.client, tcp("10.0.1.2", "10.0.1.1", 5004, 22, "R"));
        assert!(lab.got(lab.client).is_empty());
    }

    #[test]
    fn the_reply_is_related_and_un_natted() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t nat -A PREROUTING -d 10.0.1.1 -p tcp -j DNAT --to-destination 10.0.0.2:81
             iptables -A FORWARD -p tcp -j REJECT --reject-with tcp-reset
             iptables -A OUTPUT -p tcp",
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.1.1", 5005, 8080, "S"));
        let got = lab.got(lab.client);
        assert_eq!(got.len(), 1);
        // The RST seems to come from where the client sent its SYN.
        assert_eq!(got[0].src, ip("10.0.1.1"));
        assert_eq!(got[0].ports(), Some((8080, 5005)));
        // It went out through OUTPUT; the rejected connection is gone.
        assert_eq!(lab.count(r, "filter", "-A OUTPUT -p tcp"), 1);
        assert_eq!(lab.w.hosts[r].conntrack.iter().count(), 0);
        assert!(lab.w.hosts[r].conntrack.is_empty());
    }

    #[test]
    fn no_error_about_an_error_or_the_kernels_own_echo_reply() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A OUTPUT -o eth0 -p icmp -j REJECT
             iptables -A INPUT -i lo",
        );
        // The router's echo reply is rejected in OUTPUT: no error comes back
        // over lo (the kernel's ICMP socket is busy sending it).
        lab.send(lab.client, ping("10.0.1.2", "10.0.1.1", 3));
        assert!(lab.got(lab.client).is_empty());
        assert_eq!(lab.count(r, "filter", "-A INPUT -i lo"), 0);
        // An ICMP error is never answered with another.
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(r, "iptables -A INPUT -j REJECT");
        let mut err = udp("10.0.1.2", "10.0.1.1", 1, 2);
        let quoted = err.data.clone();
        err = crate::packet::build_icmp_error(
            &crate::packet::IpFields::new(ip("10.0.1.2"), ip("10.0.1.1")),
            3,
            3,
            [0; 4],
            &quoted,
        );
        lab.send(lab.client, err);
        assert!(lab.got(lab.client).is_empty());
        assert!(lab
            .w
            .reports
            .iter()
            .any(|r| r.outcome == "dropped on router in INPUT"));
    }
}
