//! One simulated host: interfaces, routes, sysctls, sockets, its netfilter
//! state (rules, ipsets, conntrack, extension state), log and files.

use super::conntrack::Conntrack;
use super::eval::{ExtStates, LogRecord, Rng};
use super::iface::Iface;
use super::route::Route;
use crate::ruleset::Ruleset;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A listening socket (`nc -l`, a web server …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// 6 or 17.
    pub proto: u8,
    pub port: u16,
    /// Bound address, `None` for all.
    pub addr: Option<Ipv4Addr>,
    /// What the service is, for `ss`/`nmap -sV` (e.g. "ssh", "http").
    pub service: String,
}

#[derive(Debug, Clone, Default)]
pub struct Host {
    pub name: String,
    pub ruleset: Ruleset,
    pub ipsets: crate::ipset::Store,
    pub nfacct: crate::nfacct::Store,
    /// Host names the host can resolve (`/etc/hosts` and the lab's name table).
    pub names: BTreeMap<String, Vec<Ipv4Addr>>,
    /// Files written by commands (`iptables-save > f`).
    pub files: BTreeMap<String, String>,
    /// Shell variables set in the host's terminal or scripts (`?` is the last exit status).
    pub shell_vars: BTreeMap<String, String>,
    /// The host clock: the lab clock as this host reads it, nanoseconds
    /// since the Unix epoch (UTC). The world keeps it on `World::now_ns`.
    pub clock_ns: u64,
    pub ifaces: Vec<Iface>,
    /// The main table's static routes.
    pub routes: Vec<Route>,
    /// Policy routing: `ip rule` and the tables other than main.
    pub policy: super::rules::Policy,
    /// `sysctl` values by dotted name.
    pub sysctl: BTreeMap<String, String>,
    pub listeners: Vec<Listener>,
    pub conntrack: Conntrack,
    pub ext_state: ExtStates,
    pub rng: Rng,
    /// Kernel log (`dmesg`).
    pub kmsg: Vec<LogRecord>,
    /// Kernel time zone offset from UTC in minutes.
    pub tz_minutes: i32,
    /// Next IP ID for packets the host makes.
    pub next_ip_id: u16,
    /// TCP connections the stack answered: (local port, remote address, remote port).
    pub tcp_conns: std::collections::BTreeSet<super::synrecv::ConnKey>,
    /// Initial sequence numbers the stack's next SYN-ACKs take, in order,
    /// instead of its own (to replay a capture of a kernel's random ones).
    pub fixed_isns: std::collections::VecDeque<u32>,
    /// Those of `tcp_conns` still half-open (SYN answered, no ACK yet).
    pub tcp_half_open: BTreeMap<super::synrecv::ConnKey, super::synrecv::HalfOpen>,
    /// Walk every rule of every chain even without a trace, as the kernel
    /// does (the simulator otherwise skips rules for another destination
    /// address in long chains, with the same results).
    pub linear_walk: bool,
    /// Whether the namespace tracks connections: the kernel registers its
    /// conntrack hooks only once a rule needs them (a state match, a NAT
    /// chain...). Kept by `ext::after_commit`.
    pub conntrack_hooks: bool,
    /// The last packet the hooks parsed, to skip parsing it again.
    pub parsed: crate::packet::memo::HeaderMemo,
}

impl Host {
    pub fn new(name: &str) -> Host {
        let mut names = BTreeMap::new();
        names.insert("localhost".to_string(), vec![Ipv4Addr::LOCALHOST]);
        let mut sysctl = BTreeMap::new();
        for (k, v) in [
            ("net.ipv4.ip_forward", "0"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.icmp_echo_ignore_all", "0"),
            ("net.ipv4.icmp_echo_ignore_broadcasts", "1"),
            ("net.netfilter.nf_conntrack_tcp_loose", "1"),
            ("net.ipv4.ip_default_ttl", "64"),
        ] {
            sysctl.insert(k.to_string(), v.to_string());
        }
        Host {
            name: name.to_string(),
            names,
            clock_ns: wall_clock_ns(),
            ifaces: vec![Iface::loopback()],
            sysctl,
            rng: Rng::seeded(name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            })),
            ..Default::default()
        }
    }

    /// The host clock in whole seconds since the Unix epoch.
    pub fn clock_secs(&self) -> u64 {
        self.clock_ns / 1_000_000_000
    }

    pub fn resolve(&self, name: &str) -> Vec<Ipv4Addr> {
        self.names.get(name).cloned().unwrap_or_default()
    }

    /// A sysctl as a number (0 when unset or not numeric).
    pub fn sysctl_num(&self, key: &str) -> i64 {
        self.sysctl
            .get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn forwarding(&self) -> bool {
        self.sysctl_num("net.ipv4.ip_forward") == 1
    }

    pub fn iface(&self, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    /// The next IP ID for a packet this host makes.
    pub fn take_ip_id(&mut self) -> u16 {
        self.next_ip_id = self.next_ip_id.wrapping_add(1);
        self.next_ip_id
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[cfg(target_arch = "wasm32")]
fn wall_clock_ns() -> u64 {
    0
}
