//! `-m socket`: matches packets that belong to a local socket (an
//! established one, or a listener), as transparent proxying needs.

use super::{CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;
use crate::packet::L4;
use crate::ruleset::{check::hooks_outside, Hook};
use crate::sim::conntrack::{status, CtState, Dir};
use std::net::Ipv4Addr;

const O_TRANSPARENT: u8 = 0;
const O_NOWILDCARD: u8 = 1;
const O_RESTORESKMARK: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "socket",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("transparent", O_TRANSPARENT),
        OptSpec::flag("nowildcard", O_NOWILDCARD),
        OptSpec::flag("restore-skmark", O_RESTORESKMARK),
    ],
    guided: true,
    help: concat!(
        "socket match options:\n",
        "  --nowildcard     Also count listeners bound to the any-address (0.0.0.0)\n",
        "  --transparent    Only sockets with IP_TRANSPARENT set\n",
        "  --restore-skmark Copy the socket's mark to the packet when\n",
        "                   the socket matches and the --transparent /\n",
        "                   --nowildcard conditions hold\n",
        "\n",
    ),
    new_match: Some(|| Box::new(Socket::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Socket {
    pub transparent: bool,
    pub nowildcard: bool,
    pub restore_skmark: bool,
}

impl Socket {
    fn flags(&self) -> String {
        let mut s = String::new();
        for (on, name) in [
            (self.transparent, " --transparent"),
            (self.nowildcard, " --nowildcard"),
            (self.restore_skmark, " --restore-skmark"),
        ] {
            if on {
                s.push_str(name);
            }
        }
        s
    }
}

/// The local socket a packet belongs to, as the kernel's lookup finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A connected socket (or one bound to the packet's address).
    Bound,
    /// Only a listener bound to 0.0.0.0.
    Wildcard,
}

/// Protocol, source, source port, destination, destination port the
/// lookup uses: the packet's, or for an ICMP error the quoted packet's,
/// reversed (the socket that sent it).
fn lookup_key(cx: &EvalCx) -> Option<(u8, Ipv4Addr, u16, Ipv4Addr, u16)> {
    let h = &cx.hdr;
    let mut key = match &h.l4 {
        L4::Tcp(_) | L4::Udp(_) => {
            let (sp, dp) = h.ports()?;
            (h.proto, h.src, sp, h.dst, dp)
        }
        L4::Icmp(i) if i.is_error() => {
            let inner = i.inner.as_deref()?;
            let (sp, dp) = inner.ports()?;
            (inner.proto, inner.dst, dp, inner.src, sp)
        }
        _ => return None,
    };
    // A reply to a connection we source-NATed: look for the socket by the
    // address it really used.
    if let Some(e) = cx.ct_entry() {
        let reply = cx.ct_dir == Dir::Reply
            && matches!(
                (h.proto, cx.ct_state),
                (1, CtState::Related) | (6 | 17, CtState::Established)
            );
        if reply && e.has(status::SRC_NAT_DONE) {
            key.3 = e.orig.src;
            key.4 = e.orig.sport;
        }
    }
    Some(key)
}

/// Finds the socket: connections first, then listeners (bound address
/// before the any-address).
fn find(cx: &EvalCx) -> Option<Found> {
    let (proto, src, sport, dst, dport) = lookup_key(cx)?;
    if proto == 6 && cx.tcp_conns.contains(&(dport, src, sport)) {
        return Some(Found::Bound);
    }
    // Connections this host opened: replies come back to their socket.
    let own = cx.ct_entry().is_some_and(|e| {
        cx.ct_dir == Dir::Reply
            && e.orig.proto == proto
            && e.orig.src == dst
            && e.orig.sport == dport
            && crate::sim::route::is_local(cx.ifaces, e.orig.src)
    });
    if own {
        return Some(Found::Bound);
    }
    let listeners = cx
        .listeners
        .iter()
        .filter(|l| l.proto == proto && l.port == dport);
    let mut wildcard = false;
    for l in listeners {
        match l.addr {
            Some(a) if a == dst => return Some(Found::Bound),
            Some(_) => {}
            None => wildcard = true,
        }
    }
    wildcard.then_some(Found::Wildcard)
}

impl Socket {
    fn eval(&self, cx: &EvalCx) -> bool {
        match find(cx) {
            // No socket here is transparent (IP_TRANSPARENT).
            _ if self.transparent => false,
            Some(Found::Bound) => true,
            Some(Found::Wildcard) => self.nowildcard,
            None => false,
        }
    }
}

impl Match for Socket {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        match id {
            O_TRANSPARENT => self.transparent = true,
            O_NOWILDCARD => self.nowildcard = true,
            O_RESTORESKMARK => self.restore_skmark = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if hooks_outside(cx.hooks, &[Hook::Prerouting, Hook::Input]) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let hit = self.eval(cx);
        if hit && self.restore_skmark {
            // Our sockets carry mark 0.
            cx.pkt.meta.mark = 0;
        }
        Some(hit)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let opt = format!("-m socket{}", self.flags());
        let why = match find(cx) {
            _ if lookup_key(cx).is_none() => "not a TCP or UDP packet".to_string(),
            None => "no local socket has this address and port".to_string(),
            Some(_) if self.transparent => "the socket is not transparent".to_string(),
            Some(Found::Wildcard) => {
                "only a listener on 0.0.0.0 has this port (see --nowildcard)".to_string()
            }
            Some(Found::Bound) => return format!("{opt} matched"),
        };
        format!("`{opt}` did not match: {why}")
    }

    fn save(&self, out: &mut String) {
        out.push_str(&self.flags());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" socket");
        out.push_str(&self.flags());
    }

    fn explain(&self) -> String {
        let mut s = String::from("Matches packets that belong to a local socket");
        if self.transparent {
            s.push_str(" marked transparent");
        }
        if !self.nowildcard {
            s.push_str(" (listeners on 0.0.0.0 do not count)");
        }
        if self.restore_skmark {
            s.push_str("; the packet takes the socket's mark");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, udp, why};
    use crate::sim::host::Listener;

    #[test]
    fn finds_connections_and_listeners() {
        let mut w = lab::world();
        let listen = |port, addr: Option<&str>| Listener {
            proto: 6,
            port,
            addr: addr.map(|a| a.parse().unwrap()),
            service: String::new(),
        };
        w.hosts[0].listeners.push(listen(80, None));
        w.hosts[0].listeners.push(listen(443, Some("10.0.0.1")));
        // The simulator knows a UDP socket's sent queries from conntrack,
        // which runs once a rule needs it.
        sh(&mut w, 0, "iptables -A INPUT -m state --state INVALID");
        sh(&mut w, 0, "iptables -t mangle -A PREROUTING -m socket");
        sh(
            &mut w,
            0,
            "iptables -t mangle -A PREROUTING -m socket --nowildcard",
        );
        sh(
            &mut w,
            0,
            "iptables -t mangle -A PREROUTING -m socket --transparent",
        );
        let count = |w: &crate::sim::world::World| lab::counts(w, "mangle", "PREROUTING");
        // A SYN to the 0.0.0.0 listener: only --nowildcard counts it.
        inject(&mut w, tcp("10.0.0.2", 1000, "10.0.0.1", 80, "S"));
        assert_eq!(count(&w), vec![0, 1, 0]);
        assert_eq!(
            why(&w, "PREROUTING", 1),
            "`-m socket` did not match: only a listener on 0.0.0.0 has this port (see --nowildcard)"
        );
        // The next segment belongs to the accepted connection.
        inject(&mut w, tcp("10.0.0.2", 1000, "10.0.0.1", 80, "A"));
        assert_eq!(count(&w), vec![1, 2, 0]);
        // A listener bound to the address.
        inject(&mut w, tcp("10.0.0.2", 1001, "10.0.0.1", 443, "S"));
        assert_eq!(count(&w), vec![2, 3, 0]);
        assert_eq!(
            why(&w, "PREROUTING", 3),
            "`-m socket --transparent` did not match: the socket is not transparent"
        );
        // Nobody listens on 81; UDP has no listener at all.
        inject(&mut w, tcp("10.0.0.2", 1002, "10.0.0.1", 81, "S"));
        inject(&mut w, udp("10.0.0.2", 1002, "10.0.0.1", 53, 0));
        assert_eq!(count(&w), vec![2, 3, 0]);
        assert_eq!(
            why(&w, "PREROUTING", 2),
            "`-m socket --nowildcard` did not match: no local socket has this address and port"
        );
        // The answer to a query h sent goes to h's socket.
        w.send(0, udp("10.0.0.1", 5353, "10.0.0.2", 53, 0));
        inject(&mut w, udp("10.0.0.2", 53, "10.0.0.1", 5353, 0));
        assert_eq!(count(&w), vec![3, 4, 0]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn hooks_and_texts() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -t mangle -A PREROUTING -m socket --restore-skmark --transparent",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -t mangle -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -m socket --transparent --restore-skmark\n"
        );
        assert!(run(&mut h, "iptables -t mangle -L PREROUTING")
            .stdout
            .ends_with("anywhere             socket --transparent --restore-skmark\n"));
        assert_eq!(run(&mut h, "iptables -A OUTPUT -m socket").exit, 4);
        assert_eq!(run(&mut h, "iptables -A INPUT -m socket").exit, 0);
    }
}
