//! What a match or target sees and may change while a packet walks a chain:
//! the packet, its connection, the host's objects, the clock, and the
//! effects it leaves (replies, clones, log lines, NAT bindings).

use super::conntrack::{Conntrack, CtState, Dir, Entry};
use super::iface::Iface;
use super::route::Route;
use crate::packet::{Headers, Packet};
use crate::ruleset::Hook;
use std::any::Any;
use std::collections::HashMap;
use std::fmt::Debug;

/// Per-host state an extension keeps outside its rules (recent lists,
/// hashlimit buckets, …), owned by the extension's own file.
pub trait ExtState: Any + Send + Sync {
    fn box_clone(&self) -> Box<dyn ExtState>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + Clone + Send + Sync> ExtState for T {
    fn box_clone(&self) -> Box<dyn ExtState> {
        Box::new(self.clone())
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

// Not a supertrait of `ExtState`: through the vtable every state's derived
// `Debug` would be linked into the web page.
impl Debug for dyn ExtState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExtState")
    }
}

/// Extension states of one host, by extension name.
#[derive(Debug, Default)]
pub struct ExtStates(HashMap<&'static str, Box<dyn ExtState>>);

impl Clone for ExtStates {
    fn clone(&self) -> Self {
        ExtStates(
            self.0
                .iter()
                .map(|(k, v)| (*k, (**v).box_clone()))
                .collect(),
        )
    }
}

impl ExtStates {
    /// The state of extension `name`, created with `Default` the first time.
    pub fn get_mut<T: ExtState + Default>(&mut self, name: &'static str) -> &mut T {
        let entry = self.0.entry(name).or_insert_with(|| Box::new(T::default()));
        if (**entry).as_any().downcast_ref::<T>().is_none() {
            *entry = Box::new(T::default());
        }
        (**entry)
            .as_any_mut()
            .downcast_mut::<T>()
            .expect("state type checked above")
    }

    /// Whether extension `name` ever made its state on this host.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn get<T: ExtState>(&self, name: &'static str) -> Option<&T> {
        self.0
            .get(name)
            .and_then(|s| (**s).as_any().downcast_ref::<T>())
    }
}

/// A small deterministic random generator (xorshift64*), seeded per host,
/// so `-m statistic --mode random` is reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Default for Rng {
    fn default() -> Self {
        Rng(0x9e37_79b9_7f4a_7c15)
    }
}

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

/// A kernel log record (`dmesg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub time_ns: u64,
    pub level: u8,
    pub text: String,
}

/// A packet a target made: a reply sent from this host, or a TEE clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emit {
    /// Sent by the host's stack (REJECT's RST or ICMP error): goes through
    /// OUTPUT. A reply that answers the packet sets `meta.nfct`
    /// (`sim::reject::attach`) to carry its connection, as the kernel does.
    Local(Packet),
    /// A TEE clone routed to a gateway. `log_at` is the length of the
    /// kernel log when TEE fired: the kernel sends the copy from inside the
    /// target, so what the copy logs comes before what the original logs
    /// after it.
    Clone {
        pkt: Packet,
        gateway: std::net::Ipv4Addr,
        oif: Option<String>,
        log_at: usize,
    },
}

/// What a target decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetVerdict {
    /// Non-terminating: go on with the next rule.
    Continue,
    Accept,
    Drop,
    /// Taken by the target (a queue without listener drops it).
    Stolen,
}

/// Which address NAT rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manip {
    Src,
    Dst,
}

/// Address and port range of a NAT mapping (`struct nf_nat_range2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatRange {
    pub min_addr: std::net::Ipv4Addr,
    pub max_addr: std::net::Ipv4Addr,
    /// Addresses given (else keep the packet's).
    pub map_ips: bool,
    /// Ports given (else keep the packet's when free).
    pub proto_specified: bool,
    pub min_port: u16,
    pub max_port: u16,
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
    /// Shifted port map (`NF_NAT_RANGE_PROTO_OFFSET`): the port keeps its
    /// distance from `base_port`, wrapped into the range.
    pub offset: bool,
    pub base_port: u16,
}

/// Evaluation context for one rule step.
pub struct EvalCx<'a> {
    pub host: &'a str,
    pub hook: Hook,
    pub table: &'static str,
    pub pkt: &'a mut Packet,
    /// The packet's headers as they are now.
    pub hdr: &'a mut Headers,
    /// Lab clock, nanoseconds since the Unix epoch (UTC).
    pub now_ns: u64,
    /// Kernel time zone offset from UTC in minutes (`-m time --kerneltz`).
    pub tz_minutes: i32,
    /// The packet's connection (index into `conntrack`), its direction and ctinfo.
    pub ct: Option<usize>,
    pub ct_dir: Dir,
    pub ct_state: CtState,
    pub conntrack: &'a mut Conntrack,
    pub ipsets: &'a mut crate::ipset::Store,
    pub nfacct: &'a mut crate::nfacct::Store,
    pub ext: &'a mut ExtStates,
    pub rng: &'a mut Rng,
    pub ifaces: &'a [Iface],
    pub routes: &'a [Route],
    /// Policy routing rules and tables (for the lookups targets make).
    pub policy: &'a super::rules::Policy,
    /// The host's listening sockets and the TCP connections its stack
    /// accepted (local port, remote address, remote port), for `-m socket`.
    pub listeners: &'a [super::host::Listener],
    pub tcp_conns: &'a std::collections::BTreeSet<(u16, std::net::Ipv4Addr, u16)>,
    pub emitted: &'a mut Vec<Emit>,
    pub log: &'a mut Vec<LogRecord>,
    /// Whether a trace is being recorded (matches explain failures only then).
    pub tracing: bool,
    /// Set by a match that returns `Some(false)` to drop the packet at once
    /// (the kernel's `par->hotdrop`: truncated headers, a full hash table).
    pub hotdrop: bool,
}

impl<'a> EvalCx<'a> {
    /// A context on a lone host outside a chain walk (for tests and tools
    /// that run one match or target by hand): no connection, not tracing.
    /// `hdr` is where the packet's headers are kept (read from it here).
    #[allow(clippy::too_many_arguments)]
    pub fn on_host(
        host: &'a mut super::host::Host,
        hook: Hook,
        table: &'static str,
        pkt: &'a mut Packet,
        hdr: &'a mut Option<Headers>,
        now_ns: u64,
        emitted: &'a mut Vec<Emit>,
        log: &'a mut Vec<LogRecord>,
    ) -> Option<EvalCx<'a>> {
        let hdr = hdr.insert(pkt.headers().ok()?);
        let super::host::Host {
            name,
            conntrack,
            ipsets,
            nfacct,
            ext_state,
            rng,
            ifaces,
            routes,
            policy,
            listeners,
            tcp_conns,
            tz_minutes,
            ..
        } = host;
        Some(EvalCx {
            host: name,
            hook,
            table,
            pkt,
            hdr,
            now_ns,
            tz_minutes: *tz_minutes,
            ct: None,
            ct_dir: Dir::Original,
            ct_state: CtState::Invalid,
            conntrack,
            ipsets,
            nfacct,
            ext: ext_state,
            rng,
            ifaces,
            routes,
            policy,
            listeners,
            tcp_conns,
            emitted,
            log,
            tracing: false,
            hotdrop: false,
        })
    }

    /// The packet's conntrack entry.
    pub fn ct_entry(&self) -> Option<&Entry> {
        self.ct.and_then(|i| self.conntrack.get(i))
    }

    pub fn ct_entry_mut(&mut self) -> Option<&mut Entry> {
        self.ct.and_then(|i| self.conntrack.get_mut(i))
    }

    /// Re-reads the headers after a target rewrote the bytes; false when
    /// the bytes no longer parse (the headers are then the old ones).
    pub fn refresh(&mut self) -> bool {
        match self.pkt.headers() {
            Ok(h) => {
                *self.hdr = h;
                true
            }
            Err(_) => false,
        }
    }

    /// Interface the packet came in on (`-i`), if the hook has one.
    pub fn in_iface(&self) -> Option<&str> {
        self.pkt.meta.in_iface.as_deref()
    }

    pub fn out_iface(&self) -> Option<&str> {
        self.pkt.meta.out_iface.as_deref()
    }

    /// The bytes from the transport header (`par->thoff`) to the end of the
    /// IP packet. In a second or later fragment (`hdr.frag_offset != 0`)
    /// these are the fragment's data, not a transport header.
    pub fn transport(&self) -> &[u8] {
        let end = (self.hdr.total_len as usize).min(self.pkt.data.len());
        self.pkt
            .data
            .get(usize::from(self.hdr.header_len)..end)
            .unwrap_or(&[])
    }
}
