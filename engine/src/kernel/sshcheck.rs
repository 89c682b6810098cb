//! The SSH-cut warning: before rules go into the kernel, the packets of the
//! SSH session that runs iptplay (`$SSH_CONNECTION`) are walked through
//! them with the engine's simulator, on a host with the real interface and
//! address the session arrives on: the session as it is (established),
//! the server's answers, and a new connection from the same client.

use crate::iptables::save::rule_line;
use crate::packet::{build_tcp, tcp_flags, IpFields, TcpFields};
use crate::ruleset::Ruleset;
use crate::sim::host::{Host, Listener};
use crate::sim::route::Route;
use crate::sim::world::{Report, World};
use std::net::Ipv4Addr;

/// The session as `$SSH_CONNECTION` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub client: Ipv4Addr,
    pub client_port: u16,
    pub server: Ipv4Addr,
    pub server_port: u16,
}

impl Session {
    /// `CLIENT CPORT SERVER SPORT` (IPv4 only).
    pub fn parse(s: &str) -> Option<Session> {
        let w: Vec<&str> = s.split_whitespace().collect();
        let [c, cp, sv, sp] = w[..] else {
            return None;
        };
        Some(Session {
            client: c.parse().ok()?,
            client_port: cp.parse().ok()?,
            server: sv.parse().ok()?,
            server_port: sp.parse().ok()?,
        })
    }

    pub fn from_env() -> Option<Session> {
        Session::parse(&std::env::var("SSH_CONNECTION").ok()?)
    }
}

/// The interface of the host holding `addr`, and its prefix length.
pub type Local = (String, u8);

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every packet gets through.
    Safe,
    /// Warnings, one per packet that would be dropped.
    Cut(Vec<String>),
    /// The check could not be made (why).
    Unknown(String),
}

fn tcp(
    s: Session,
    from_client: bool,
    sport_override: Option<u16>,
    flags: u8,
    seq: u32,
) -> crate::packet::Packet {
    let (src, dst, sp, dp) = if from_client {
        (
            s.client,
            s.server,
            sport_override.unwrap_or(s.client_port),
            s.server_port,
        )
    } else {
        (s.server, s.client, s.server_port, s.client_port)
    };
    build_tcp(
        &IpFields::new(src, dst),
        &TcpFields {
            sport: sp,
            dport: dp,
            seq,
            ack: if flags & tcp_flags::ACK != 0 { 1 } else { 0 },
            flags,
            window: 64240,
            options: Vec::new(),
        },
        b"",
    )
}

/// `dropped on kernel in INPUT` and the rule that did it.
fn why(report: &Report, rules: &Ruleset) -> String {
    let mut s = report.outcome.clone();
    let last = report
        .trace
        .steps
        .iter()
        .rev()
        .find(|st| st.matched || st.rule.is_none());
    if let Some(st) = last {
        match st.rule {
            Some(n) => {
                let text = rules
                    .table(&st.table)
                    .and_then(|t| t.chain(&st.chain))
                    .and_then(|c| c.rules.get(n - 1))
                    .map(|r| rule_line(&st.chain, r, false))
                    .unwrap_or_default();
                s.push_str(&format!(
                    " (table {} chain {} rule {n}: {text})",
                    st.table, st.chain
                ));
            }
            None => s.push_str(&format!(
                " (table {} chain {} policy {})",
                st.table,
                st.chain,
                st.verdict.as_deref().unwrap_or("")
            )),
        }
    }
    s
}

fn world(s: Session, local: &Local, host: &Host) -> Result<(World, usize), String> {
    let mut w = World::new();
    w.now_ns = host.clock_ns;
    let hi = w.add_host(&host.name);
    w.plug(hi, &local.0, &format!("{}/{}", s.server, local.1), "ssh")?;
    // The SSH client (or the gateway towards it) is a real machine: it answers ARP.
    w.set_outside("ssh")?;
    let h = &mut w.hosts[hi];
    h.ipsets = host.ipsets.clone();
    h.nfacct = host.nfacct.clone();
    h.listeners.push(Listener {
        proto: 6,
        port: s.server_port,
        addr: None,
        service: "ssh".into(),
    });
    let on_link = Route {
        dst: s.server,
        prefix: local.1,
        via: None,
        dev: local.0.clone(),
        connected: true,
    };
    if !on_link.contains(s.client) {
        h.routes.push(Route {
            dst: s.client,
            prefix: 32,
            via: None,
            dev: local.0.clone(),
            connected: false,
        });
    }
    Ok((w, hi))
}

/// Walks the session through `host`'s rules (its ruleset and sets are the
/// new ones; `local` is the interface the session arrives on).
pub fn check(s: Session, local: &Local, host: &Host) -> Verdict {
    let (mut w, hi) = match world(s, local, host) {
        Ok(x) => x,
        Err(e) => return Verdict::Unknown(e),
    };
    let iface = local.0.clone();
    // The session as it is now: set up with no rules, so that conntrack
    // knows it as established (a machine one manages over SSH tracks).
    w.hosts[hi].conntrack_hooks = true;
    w.inject(hi, &iface, tcp(s, true, None, tcp_flags::SYN, 0));
    w.inject(hi, &iface, tcp(s, true, None, tcp_flags::ACK, 1));
    w.hosts[hi].ruleset = host.ruleset.clone();
    w.hosts[hi].conntrack_hooks = true;
    let mut warnings = Vec::new();
    let cut = |r: &Report| r.outcome.starts_with("dropped");
    let data = tcp(s, true, None, tcp_flags::ACK | tcp_flags::PSH, 1);
    if let Some(r) = w.inject(hi, &iface, data).first().cloned() {
        if cut(&r) {
            warnings.push(format!(
                "your SSH session's packets from {}:{} would be {}",
                s.client,
                s.client_port,
                why(&r, &host.ruleset)
            ));
        }
    }
    let back = tcp(s, false, None, tcp_flags::ACK | tcp_flags::PSH, 1);
    if let Some(r) = w.send(hi, back).first().cloned() {
        if cut(&r) {
            warnings.push(format!(
                "your SSH session's packets to {}:{} would be {}",
                s.client,
                s.client_port,
                why(&r, &host.ruleset)
            ));
        }
    }
    // A new connection from the same client (after the session is cut,
    // this is how you get back in).
    let fresh = s.client_port.wrapping_add(1).max(1024);
    let reports = w
        .inject(hi, &iface, tcp(s, true, Some(fresh), tcp_flags::SYN, 0))
        .to_vec();
    if let Some(r) = reports.first() {
        if cut(r) {
            warnings.push(format!(
                "a new SSH connection from {} would be {}",
                s.client,
                why(r, &host.ruleset)
            ));
        } else if let Some(answer) = reports.iter().skip(1).find(|r| cut(r)) {
            warnings.push(format!(
                "the answer to a new SSH connection from {} would be {}",
                s.client,
                why(answer, &host.ruleset)
            ));
        }
    }
    if warnings.is_empty() {
        Verdict::Safe
    } else {
        Verdict::Cut(warnings)
    }
}

/// The interface holding `addr` in the namespace `/run/netns/NETNS` (here
/// when `None`), with the address's prefix length.
#[cfg(target_os = "linux")]
pub fn local_iface(netns: Option<&str>, addr: Ipv4Addr) -> std::io::Result<Option<Local>> {
    let find = move || -> std::io::Result<Option<Local>> {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list freed below.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut found = None;
        let mut p = head;
        while !p.is_null() {
            // SAFETY: `p` walks the list getifaddrs returned.
            let ifa = unsafe { &*p };
            p = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_netmask.is_null() {
                continue;
            }
            // SAFETY: a non-null address of the list.
            let fam = unsafe { (*ifa.ifa_addr).sa_family } as i32;
            if fam != libc::AF_INET {
                continue;
            }
            // SAFETY: AF_INET addresses are sockaddr_in.
            let (a, m) = unsafe {
                let a = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
                (
                    Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                    u32::from_be(m.sin_addr.s_addr),
                )
            };
            if a == addr {
                // SAFETY: ifa_name is a NUL-terminated string.
                let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
                    .to_string_lossy()
                    .into_owned();
                found = Some((name, m.leading_ones() as u8));
                break;
            }
        }
        // SAFETY: frees the list getifaddrs made.
        unsafe { libc::freeifaddrs(head) };
        Ok(found)
    };
    match netns {
        None => find(),
        Some(ns) => {
            let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
            std::thread::spawn(move || {
                use std::os::fd::AsRawFd;
                // SAFETY: setns affects only this thread.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                find()
            })
            .join()
            .map_err(|_| std::io::Error::other("namespace thread failed"))?
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iptables::restore::run_restore;

    fn host(rules: &str) -> Host {
        let mut h = Host::new("kernel");
        let out = run_restore(&mut h, &["iptables-restore".into()], rules);
        assert_eq!(out.exit, 0, "{}", out.stderr);
        h
    }

    fn session() -> Session {
        Session::parse("192.0.2.10 51234 10.0.0.1 22").unwrap()
    }

    fn local() -> Local {
        ("eth0".into(), 24)
    }

    #[test]
    fn parses_ssh_connection() {
        assert_eq!(
            session(),
            Session {
                client: Ipv4Addr::new(192, 0, 2, 10),
                client_port: 51234,
                server: Ipv4Addr::new(10, 0, 0, 1),
                server_port: 22
            }
        );
        assert_eq!(Session::parse("::1 1 ::1 22"), None);
        assert_eq!(Session::parse(""), None);
    }

    #[test]
    fn accepting_rules_are_safe() {
        let h = host("*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n");
        assert_eq!(check(session(), &local(), &h), Verdict::Safe);
    }

    #[test]
    fn dropping_rules_are_named() {
        let h = host(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i eth0 -p tcp --dport 22 -j DROP\nCOMMIT\n",
        );
        match check(session(), &local(), &h) {
            Verdict::Cut(w) => {
                assert_eq!(w.len(), 2, "{w:?}");
                assert!(w[0].starts_with("your SSH session's packets from 192.0.2.10:51234 would be dropped on kernel in INPUT (table filter chain INPUT rule 1: -A INPUT -i eth0 -p tcp -m tcp --dport 22 -j DROP)"), "{w:?}");
                assert!(
                    w[1].starts_with("a new SSH connection from 192.0.2.10 would be dropped"),
                    "{w:?}"
                );
            }
            v => panic!("{v:?}"),
        }
        // Only new connections refused: the session itself goes on.
        let h = host("*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n");
        match check(session(), &local(), &h) {
            Verdict::Cut(w) => {
                assert_eq!(w.len(), 1, "{w:?}");
                assert!(w[0].contains("policy DROP"), "{w:?}");
            }
            v => panic!("{v:?}"),
        }
        // Answers dropped on the way out.
        let h = host("*filter\n:OUTPUT DROP [0:0]\nCOMMIT\n");
        match check(session(), &local(), &h) {
            Verdict::Cut(w) => assert!(w[0].contains("packets to 192.0.2.10:51234"), "{w:?}"),
            v => panic!("{v:?}"),
        }
    }
}
