//! What the fuzzer throws at the router: seeded rulesets (every table,
//! user chains, policies, the matches and targets the engine evaluates),
//! the ipsets they use, and packet sequences ("cases": a flow with its
//! replies, ICMP errors, spoofed or dying packets).
//!
//! Choices keep both sides deterministic: no `--random` NAT, no
//! `statistic --mode random`, only slow `limit` rates (a group lasts far
//! less than one refill), `recent --seconds` a day long, no fragments,
//! packets under 552 bytes (PMTU), no conversation past the handshake with
//! a real TCP stack (their sequence numbers are random).

use super::rng::Rng;
use engine::packet::{build_icmp, build_icmp_error, build_tcp, build_udp, IpFields, TcpFields};
use std::net::Ipv4Addr;

/// Addresses and MACs of the topology (the same in the kernel and the simulator).
pub mod net {
    use std::net::Ipv4Addr;

    pub const R0: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
    pub const R1: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 1);
    /// A second address of the router on r1 (a second "ISP" for SNAT).
    pub const R1B: Ipv4Addr = Ipv4Addr::new(10, 2, 1, 1);
    /// The real server: a listener on tcp/80 and udp/53.
    pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 2);
    /// Behind the server (routed to it; it does not forward).
    pub const BEHIND: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 5);
    pub const UNROUTABLE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    pub const OFFNET: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
    pub const R0_MAC: [u8; 6] = [0x02, 0, 0, 1, 0, 0x01];
    pub const R1_MAC: [u8; 6] = [0x02, 0, 0, 2, 0, 0x01];
    pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 2, 0, 0x02];
    /// Phantom clients on r0 (no namespace owns them; permanent neighbours).
    pub const CLIENTS: [(Ipv4Addr, [u8; 6]); 3] = [
        (Ipv4Addr::new(10, 1, 0, 100), [0x02, 0, 0, 1, 0, 0x64]),
        (Ipv4Addr::new(10, 1, 0, 101), [0x02, 0, 0, 1, 0, 0x65]),
        (Ipv4Addr::new(10, 1, 0, 102), [0x02, 0, 0, 1, 0, 0x66]),
    ];
    /// Phantom servers on r1: their replies are ours to script.
    pub const PSERVERS: [(Ipv4Addr, [u8; 6]); 2] = [
        (Ipv4Addr::new(10, 2, 0, 100), [0x02, 0, 0, 2, 0, 0x64]),
        (Ipv4Addr::new(10, 2, 0, 101), [0x02, 0, 0, 2, 0, 0x65]),
    ];

    /// The MAC a frame from `a` carries on its link.
    pub fn mac_of(a: Ipv4Addr) -> Option<[u8; 6]> {
        CLIENTS
            .iter()
            .chain(PSERVERS.iter())
            .find(|(x, _)| *x == a)
            .map(|(_, m)| *m)
            .or((a == SERVER).then_some(SERVER_MAC))
    }

    /// Whether `a` sits on the router's r0 side.
    pub fn client_side(a: Ipv4Addr) -> bool {
        a.octets()[..3] == [10, 1, 0]
    }
}

pub const PRE: u8 = 1;
pub const IN: u8 = 2;
pub const FWD: u8 = 4;
pub const OUT: u8 = 8;
pub const POST: u8 = 16;

/// Stands for the run's LOG prefix tag in generated rules.
pub const TAG: &str = "@T@";

pub const TABLES: [&str; 4] = ["raw", "mangle", "nat", "filter"];

pub fn builtins(table: &str) -> &'static [(&'static str, u8)] {
    match table {
        "raw" => &[("PREROUTING", PRE), ("OUTPUT", OUT)],
        "mangle" => &[
            ("PREROUTING", PRE),
            ("INPUT", IN),
            ("FORWARD", FWD),
            ("OUTPUT", OUT),
            ("POSTROUTING", POST),
        ],
        "nat" => &[
            ("PREROUTING", PRE),
            ("INPUT", IN),
            ("OUTPUT", OUT),
            ("POSTROUTING", POST),
        ],
        _ => &[("INPUT", IN), ("FORWARD", FWD), ("OUTPUT", OUT)],
    }
}

/// Some options of a rule that belong together: `chunks[0]` is the head
/// (`-p tcp`, `-m conntrack`), the rest can go one by one when shrinking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub chunks: Vec<String>,
}

impl Part {
    fn new(chunks: &[String]) -> Part {
        Part {
            chunks: chunks.to_vec(),
        }
    }

    fn one(s: String) -> Part {
        Part { chunks: vec![s] }
    }

    pub fn text(&self) -> String {
        self.chunks.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub table: &'static str,
    pub chain: String,
    pub parts: Vec<Part>,
    pub target: Option<Part>,
    /// Kept by the shrinker ([`CT_USER`]).
    pub pinned: bool,
}

/// Ends every ruleset: a rule that never matches but needs conntrack. The
/// kernel tracks connections in a namespace only while some rule needs
/// them; the simulator always does. With this rule both track.
pub const CT_USER: &str =
    "-d 127.0.0.2/32 -m conntrack --ctstate INVALID -m comment --comment \"needs conntrack\"";

impl Rule {
    pub fn text(&self) -> String {
        let mut s = format!("-A {}", self.chain);
        for p in &self.parts {
            s.push(' ');
            s.push_str(&p.text());
        }
        if let Some(t) = &self.target {
            s.push(' ');
            s.push_str(&t.text());
        }
        s
    }
}

/// A chain declaration: a built-in chain with its policy or a user chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub table: &'static str,
    pub name: String,
    pub policy: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetDef {
    pub name: String,
    /// Type and options after the name (`hash:ip timeout 600`).
    pub create: String,
    pub members: Vec<String>,
    /// Dimensions of a member (`src`, `src,dst`).
    pub dims: usize,
    pub timeout: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ruleset {
    pub chains: Vec<Chain>,
    pub rules: Vec<Rule>,
    pub sets: Vec<SetDef>,
    /// Read from a replay file: (`ipset restore` text, `iptables-restore`
    /// text with [`TAG`]) used as they are.
    pub verbatim: Option<(String, String)>,
    /// Conntrack settings of the router other than the defaults
    /// (`nf_conntrack_tcp_be_liberal`, `nf_conntrack_tcp_loose`).
    pub sysctls: Vec<(String, String)>,
}

impl Ruleset {
    /// `iptables-restore` input, LOG prefixes tagged with `tag`.
    pub fn restore_text(&self, tag: &str) -> String {
        if let Some((_, r)) = &self.verbatim {
            return r.replace(TAG, tag);
        }
        let mut s = String::new();
        for table in TABLES {
            let chains: Vec<&Chain> = self.chains.iter().filter(|c| c.table == table).collect();
            if chains.is_empty() {
                continue;
            }
            s.push_str(&format!("*{table}\n"));
            for c in &chains {
                s.push_str(&format!(":{} {} [0:0]\n", c.name, c.policy.unwrap_or("-")));
            }
            for r in self.rules.iter().filter(|r| r.table == table) {
                s.push_str(&r.text().replace(TAG, tag));
                s.push('\n');
            }
            s.push_str("COMMIT\n");
        }
        s
    }

    /// `ipset restore` input.
    pub fn ipset_text(&self) -> String {
        if let Some((i, _)) = &self.verbatim {
            return i.clone();
        }
        let mut s = String::new();
        for set in &self.sets {
            s.push_str(&format!("create {} {}\n", set.name, set.create));
            for m in &set.members {
                s.push_str(&format!("add {} {m}\n", set.name));
            }
        }
        s
    }

    /// Drops user chains no rule jumps to and sets no rule names (after shrinking).
    pub fn prune(&mut self) {
        if self.verbatim.is_some() {
            return;
        }
        loop {
            let used = |name: &str, table: &str, rules: &[Rule]| {
                rules.iter().any(|r| {
                    r.table == table
                        && r.target.as_ref().is_some_and(|t| {
                            t.chunks[0] == format!("-j {name}")
                                || t.chunks[0] == format!("-g {name}")
                        })
                })
            };
            let before = self.chains.len();
            let rules = self.rules.clone();
            self.chains
                .retain(|c| c.policy.is_some() || used(&c.name, c.table, &rules));
            let chains = self.chains.clone();
            self.rules.retain(|r| {
                chains
                    .iter()
                    .any(|c| c.table == r.table && c.name == r.chain)
            });
            if self.chains.len() == before {
                break;
            }
        }
        let text: String = self.rules.iter().map(|r| r.text() + "\n").collect();
        self.sets.retain(|s| {
            text.contains(&format!("-set {} ", s.name))
                || text.contains(&format!("-set {}\n", s.name))
        });
    }
}

/// Where a step's packet enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A frame arriving on the router's r0.
    Client,
    /// A frame arriving on the router's r1.
    Server,
    /// Sent by the router itself (a raw socket).
    Router,
}

/// One packet of a case. A reply or ICMP error takes its addresses from
/// what the router actually sent for an earlier step, on each side
/// separately (NAT rewrites are the router's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: usize,
    pub case: usize,
    pub origin: Origin,
    pub src_mac: [u8; 6],
    /// The packet as generated.
    pub pkt: Vec<u8>,
    /// Answers step `id` (that step's packet as generated, for the record):
    /// addresses and ports are swapped from what the router sent for it;
    /// not sent when the router sent nothing.
    pub reply_to: Option<(usize, Vec<u8>)>,
    /// An ICMP error quoting what the router sent for step `id`; `true`:
    /// sent by the quoted packet's destination itself.
    pub quote: Option<(usize, Vec<u8>, bool)>,
}

/// A ruleset and the packets sent through it.
#[derive(Debug, Clone)]
pub struct Group {
    pub ruleset: Ruleset,
    pub steps: Vec<Step>,
}

// ---------------------------------------------------------------- rules

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Any,
    Tcp,
    Udp,
    Icmp,
    Other,
}

struct RuleCx<'a> {
    table: &'static str,
    hooks: u8,
    jumps: Vec<String>,
    sets: &'a [SetDef],
}

impl RuleCx<'_> {
    /// Every hook reaching the chain is one of `allowed`.
    fn only(&self, allowed: u8) -> bool {
        self.hooks & !allowed == 0
    }
}

const ADDRS: [&str; 18] = [
    "10.1.0.100",
    "10.1.0.101",
    "10.1.0.0/24",
    "10.1.0.96/28",
    "10.1.0.100/31",
    "10.2.0.2",
    "10.2.0.100",
    "10.2.0.0/24",
    "10.2.0.0/16",
    "10.0.0.0/8",
    "10.1.0.1",
    "10.2.0.1",
    "127.0.0.0/8",
    "192.0.2.0/24",
    "10.3.0.0/16",
    "10.2.0.64/26",
    "10.1.0.0/255.255.255.0",
    "10.2.1.1",
];

const PORTS: [&str; 14] = [
    "80",
    "81",
    "22",
    "53",
    "9",
    "443",
    "8080",
    "1:1023",
    "1024:65535",
    "80:90",
    ":100",
    "60000:",
    "http",
    "8000:8010",
];

fn mark_value(rng: &mut Rng) -> String {
    let v = *rng.pick(&["0x0", "0x1", "0x2", "0x3", "0x5", "0xff", "0x10"]);
    if rng.pct(30) {
        format!(
            "{v}/{}",
            rng.pick(&["0x1", "0x3", "0xf", "0xff", "0xffffffff"])
        )
    } else {
        v.to_string()
    }
}

/// A packet most rules are built around, so that they match now and then:
/// one the cases send, or the answer to it.
#[derive(Debug, Clone)]
pub struct Model {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ports: Option<(u16, u16)>,
    icmp: Option<(u8, u8)>,
    flags: u8,
    len: u16,
    ttl: u8,
    mac: Option<[u8; 6]>,
    iin: Option<&'static str>,
    iout: Option<&'static str>,
}

/// The router's interface towards an address (none for its own).
fn towards(a: Ipv4Addr) -> Option<&'static str> {
    if [net::R0, net::R1, net::R1B].contains(&a) || a.is_loopback() {
        None
    } else if net::client_side(a) {
        Some("r0")
    } else {
        Some("r1")
    }
}

impl Model {
    /// Whether the packet passes one of `hooks` on the router.
    fn fits(&self, hooks: u8) -> bool {
        let path = match (self.iin, self.iout) {
            (Some(_), Some(_)) => PRE | FWD | POST,
            (Some(_), None) => PRE | IN,
            (None, Some(_)) => OUT | POST,
            (None, None) => OUT | POST | PRE | IN,
        };
        path & hooks != 0
    }
}

fn models(steps: &[Step]) -> Vec<Model> {
    let mut v = Vec::new();
    for st in steps {
        let Ok(h) = engine::packet::parse(&st.pkt, true) else {
            continue;
        };
        let (flags, icmp) = match &h.l4 {
            engine::packet::L4::Tcp(t) => (t.flags, None),
            engine::packet::L4::Icmp(i) => (0, Some((i.icmp_type, i.code))),
            _ => (0, None),
        };
        let m = Model {
            src: h.src,
            dst: h.dst,
            proto: h.proto,
            ports: h.ports(),
            icmp,
            flags,
            len: h.total_len,
            ttl: h.ttl,
            mac: (st.origin != Origin::Router && st.src_mac != [0; 6]).then_some(st.src_mac),
            iin: match st.origin {
                Origin::Client => Some("r0"),
                Origin::Server => Some("r1"),
                Origin::Router => None,
            },
            iout: towards(h.dst),
        };
        // The answer from the other end.
        let back = Model {
            src: m.dst,
            dst: m.src,
            ports: m.ports.map(|(a, b)| (b, a)),
            icmp: match m.icmp {
                Some((8, c)) => Some((0, c)),
                other => other,
            },
            flags: if m.flags == S { S | A } else { m.flags },
            ttl: 64,
            mac: net::mac_of(m.dst),
            iin: m.iout,
            iout: m.iin,
            ..m.clone()
        };
        v.push(m);
        v.push(back);
    }
    v
}

/// An address option value that holds `a`: itself, its /24 or 10/8.
fn addr_of(rng: &mut Rng, a: Ipv4Addr) -> String {
    let o = a.octets();
    match rng.below(4) {
        0 | 1 => a.to_string(),
        2 => format!("{}.{}.{}.0/24", o[0], o[1], o[2]),
        _ if o[0] == 10 => "10.0.0.0/8".into(),
        _ => a.to_string(),
    }
}

/// A port option value that holds `p`.
fn port_of(rng: &mut Rng, p: u16) -> String {
    match rng.below(4) {
        0 | 1 => p.to_string(),
        2 => format!("{}:{}", p.saturating_sub(5), p.saturating_add(5)),
        _ if p >= 1024 => "1024:65535".into(),
        _ => "0:1023".into(),
    }
}

fn flag_names(f: u8) -> String {
    let names = [
        (F, "FIN"),
        (S, "SYN"),
        (R, "RST"),
        (P, "PSH"),
        (A, "ACK"),
        (U, "URG"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "NONE".into()
    } else {
        v.join(",")
    }
}

/// The protocol part for a model packet (with its ports, flags or type).
fn proto_of(rng: &mut Rng, m: &Model) -> (Proto, Option<Part>) {
    let mut c = Vec::new();
    let p = match m.proto {
        6 | 17 => {
            let tcp = m.proto == 6;
            c.push(format!("-p {}", if tcp { "tcp" } else { "udp" }));
            if let Some((sp, dp)) = m.ports {
                if rng.pct(60) {
                    c.push(format!("--dport {}", port_of(rng, dp)));
                }
                if rng.pct(20) {
                    c.push(format!("--sport {}", port_of(rng, sp)));
                }
            }
            if tcp && rng.pct(35) {
                c.push(if m.flags == S && rng.pct(50) {
                    "--syn".into()
                } else {
                    format!("--tcp-flags ALL {}", flag_names(m.flags))
                });
            }
            if tcp {
                Proto::Tcp
            } else {
                Proto::Udp
            }
        }
        1 => {
            c.push("-p icmp".into());
            if let (Some((t, code)), true) = (m.icmp, rng.pct(60)) {
                c.push(format!("--icmp-type {t}/{code}"));
            }
            Proto::Icmp
        }
        other => {
            c.push(format!("-p {other}"));
            Proto::Other
        }
    };
    (p, Some(Part::new(&c)))
}

/// A match that holds for the model packet, when one of that kind fits.
fn match_of(
    rng: &mut Rng,
    cx: &RuleCx,
    proto: Proto,
    m: &Model,
    used: &mut Vec<u64>,
) -> Option<Part> {
    let s = |v: String| Some(Part::one(v));
    let kind = rng.below(10);
    let key = match kind {
        0 => Some(0),
        1 => Some(2),
        2 => Some(4),
        3 => Some(5),
        _ => None,
    };
    if let Some(k) = key {
        if used.contains(&k) {
            return None;
        }
        used.push(k);
    }
    match kind {
        0 => s(format!("-s {}", addr_of(rng, m.src))),
        1 => s(format!("-d {}", addr_of(rng, m.dst))),
        2 if cx.only(PRE | IN | FWD) => m.iin.map(|i| Part::one(format!("-i {i}"))),
        3 if cx.only(FWD | OUT | POST) => m.iout.map(|i| Part::one(format!("-o {i}"))),
        4 if matches!(proto, Proto::Tcp | Proto::Udp) => m
            .ports
            .map(|(_, dp)| Part::one(format!("-m multiport --dports {dp},7,9000:9010"))),
        5 if cx.only(PRE | IN | FWD) => m.mac.map(|mac| {
            Part::one(format!(
                "-m mac --mac-source {}",
                mac.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            ))
        }),
        6 => {
            let a = u32::from(m.src);
            s(format!(
                "-m iprange --src-range {}-{}",
                Ipv4Addr::from(a.saturating_sub(2)),
                Ipv4Addr::from(a.saturating_add(3))
            ))
        }
        7 => s(format!(
            "-m length --length {}:{}",
            m.len.saturating_sub(8),
            m.len.saturating_add(8)
        )),
        8 => s(format!("-m ttl --ttl-gt {}", m.ttl.saturating_sub(4))),
        _ => cx
            .sets
            .iter()
            .find(|set| set.dims == 1 && !set.create.starts_with("bitmap"))
            .map(|set| {
                Part::one(format!(
                    "-m set --match-set {} {}",
                    set.name,
                    rng.pick(&["src", "dst"])
                ))
            }),
    }
}

fn proto_part(rng: &mut Rng) -> (Proto, Option<Part>) {
    let p = match rng.below(100) {
        0..=39 => Proto::Any,
        40..=64 => Proto::Tcp,
        65..=82 => Proto::Udp,
        83..=95 => Proto::Icmp,
        _ => Proto::Other,
    };
    if p == Proto::Any {
        return (p, None);
    }
    if rng.pct(6) {
        let name = match p {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            _ => "gre",
        };
        return (Proto::Any, Some(Part::one(format!("! -p {name}"))));
    }
    let mut c = Vec::new();
    match p {
        Proto::Tcp | Proto::Udp => {
            c.push(format!(
                "-p {}",
                if p == Proto::Tcp { "tcp" } else { "udp" }
            ));
            if rng.pct(50) {
                c.push(format!("{}--dport {}", rng.not(15), rng.pick(&PORTS)));
            }
            if rng.pct(20) {
                c.push(format!("{}--sport {}", rng.not(15), rng.pick(&PORTS)));
            }
            if p == Proto::Tcp && rng.pct(35) {
                c.push(match rng.below(4) {
                    0 => format!("{}--syn", rng.not(30)),
                    1 => format!("--tcp-option {}", rng.pick(&["2", "4", "8"])),
                    _ => format!(
                        "{}--tcp-flags {}",
                        rng.not(15),
                        rng.pick(&[
                            "SYN,ACK,FIN,RST SYN",
                            "ALL NONE",
                            "ALL FIN,PSH,URG",
                            "SYN,RST SYN,RST",
                            "ACK ACK",
                            "FIN,ACK FIN",
                            "SYN,FIN SYN,FIN",
                            "RST RST",
                            "SYN,ACK SYN,ACK",
                        ])
                    ),
                });
            }
        }
        Proto::Icmp => {
            c.push("-p icmp".into());
            if rng.pct(60) {
                c.push(format!(
                    "{}--icmp-type {}",
                    rng.not(15),
                    rng.pick(&[
                        "echo-request",
                        "echo-reply",
                        "8",
                        "0",
                        "destination-unreachable",
                        "port-unreachable",
                        "3/3",
                        "time-exceeded",
                        "any",
                        "host-unreachable",
                        "11/0",
                        "fragmentation-needed",
                        "network-unreachable",
                    ])
                ));
            }
        }
        _ => c.push(rng.pick(&["-p gre", "-p 47", "-p esp"]).to_string()),
    }
    (p, Some(Part::new(&c)))
}

/// A match for the rule; `used` holds the kinds of address and interface
/// options already in it (each may appear once).
fn match_part(rng: &mut Rng, cx: &RuleCx, proto: Proto, used: &mut Vec<u64>) -> Option<Part> {
    let s = |v: String| Some(Part::one(v));
    let mut kind = rng.below(24);
    // -s, -d, -i, -o: once per rule.
    let key = match kind {
        0 | 1 => Some(0),
        2 | 3 => Some(2),
        4 => Some(4),
        5 => Some(5),
        _ => None,
    };
    if let Some(k) = key {
        if used.contains(&k) {
            return None;
        }
        used.push(k);
        kind = k;
    }
    match kind {
        0 => s(format!("{}-s {}", rng.not(15), rng.pick(&ADDRS))),
        2 => s(format!("{}-d {}", rng.not(15), rng.pick(&ADDRS))),
        4 if cx.only(PRE | IN | FWD) => s(format!(
            "{}-i {}",
            rng.not(15),
            rng.pick(&["r0", "r1", "r+", "lo", "eth0", "r0+"])
        )),
        5 if cx.only(FWD | OUT | POST) => s(format!(
            "{}-o {}",
            rng.not(15),
            rng.pick(&["r0", "r1", "r+", "lo", "eth0"])
        )),
        6 if matches!(proto, Proto::Tcp | Proto::Udp) => s(format!(
            "-m multiport {}--{} {}",
            rng.not(15),
            rng.pick(&["dports", "sports", "ports"]),
            rng.pick(&[
                "22,80,8080",
                "80:90,443",
                "53,9,1024:65535",
                "81",
                "1:79,81:65535"
            ])
        )),
        7 if cx.only(PRE | IN | FWD) => {
            let mac = net::CLIENTS[rng.below(3) as usize].1;
            let m = if rng.pct(20) { net::SERVER_MAC } else { mac };
            s(format!(
                "-m mac {}--mac-source {}",
                rng.not(20),
                m.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            ))
        }
        8 => s(format!(
            "-m iprange {}--{} {}",
            rng.not(15),
            rng.pick(&["src-range", "dst-range"]),
            rng.pick(&[
                "10.1.0.90-10.1.0.100",
                "10.1.0.101-10.1.0.200",
                "10.2.0.1-10.2.0.99",
                "10.2.0.100-10.2.0.101",
                "10.0.0.0-10.255.255.255"
            ])
        )),
        9 => {
            let types = [
                "LOCAL",
                "UNICAST",
                "BROADCAST",
                "MULTICAST",
                "UNREACHABLE",
                "LOCAL,BROADCAST",
                "BLACKHOLE",
                "UNSPEC",
            ];
            let mut c = vec!["-m addrtype".to_string()];
            let which = rng.below(3);
            if which != 1 {
                c.push(format!("{}--src-type {}", rng.not(15), rng.pick(&types)));
            }
            if which != 0 {
                c.push(format!("{}--dst-type {}", rng.not(15), rng.pick(&types)));
            }
            if rng.pct(25) {
                if cx.only(PRE | IN | FWD) {
                    c.push("--limit-iface-in".into());
                } else if cx.only(OUT | POST | FWD) {
                    c.push("--limit-iface-out".into());
                }
            }
            Some(Part::new(&c))
        }
        10 | 11 => s(format!(
            "-m state {}--state {}",
            rng.not(15),
            rng.pick(&[
                "NEW",
                "ESTABLISHED",
                "RELATED,ESTABLISHED",
                "INVALID",
                "UNTRACKED",
                "NEW,RELATED",
                "ESTABLISHED,RELATED,NEW"
            ])
        )),
        12 => {
            let mut c = vec!["-m conntrack".to_string()];
            let n = rng.range(1, 2);
            for _ in 0..n {
                c.push(match rng.below(8) {
                    0 | 1 => format!(
                        "{}--ctstate {}",
                        rng.not(15),
                        rng.pick(&[
                            "NEW",
                            "ESTABLISHED",
                            "RELATED",
                            "INVALID",
                            "DNAT",
                            "SNAT",
                            "UNTRACKED",
                            "NEW,ESTABLISHED"
                        ])
                    ),
                    2 => format!("--ctdir {}", rng.pick(&["ORIGINAL", "REPLY"])),
                    3 => format!(
                        "{}--ctstatus {}",
                        rng.not(15),
                        rng.pick(&["ASSURED", "SEEN_REPLY", "CONFIRMED", "NONE", "EXPECTED"])
                    ),
                    4 => format!(
                        "{}--{} {}",
                        rng.not(15),
                        rng.pick(&["ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst"]),
                        rng.pick(&ADDRS)
                    ),
                    5 => format!(
                        "--ctproto {} --ctorigdstport {}",
                        rng.pick(&["tcp", "udp"]),
                        rng.pick(&["80", "53", "81", "1:1000"])
                    ),
                    6 => format!(
                        "{}--ctproto {}",
                        rng.not(15),
                        rng.pick(&["tcp", "udp", "icmp"])
                    ),
                    _ => format!(
                        "--ctproto {} {}--ctreplsrcport {}",
                        rng.pick(&["tcp", "udp"]),
                        rng.not(15),
                        rng.pick(&["80", "53", "8080", "1024:65535"])
                    ),
                });
            }
            // Each option once (`--ctproto` may come with a port option).
            let mut seen: Vec<String> = Vec::new();
            c.retain(|chunk| {
                let opts: Vec<String> = chunk
                    .split(' ')
                    .filter(|w| w.starts_with("--"))
                    .map(String::from)
                    .collect();
                if opts.iter().any(|o| seen.contains(o)) {
                    return false;
                }
                seen.extend(opts);
                true
            });
            Some(Part::new(&c))
        }
        13 if !cx.sets.is_empty() => {
            let set = rng.pick(cx.sets);
            let dirs = match set.dims {
                1 => rng.pick(&["src", "dst"]).to_string(),
                _ => rng
                    .pick(&["src,dst", "dst,dst", "src,src", "dst,src"])
                    .to_string(),
            };
            let mut c = vec![format!(
                "-m set {}--match-set {} {dirs}",
                rng.not(20),
                set.name
            )];
            if rng.pct(10) {
                c.push("--return-nomatch".into());
            }
            Some(Part::new(&c))
        }
        14 => s(format!(
            "-m {} {}--mark {}",
            rng.pick(&["mark", "connmark"]),
            rng.not(20),
            mark_value(rng)
        )),
        15 => {
            let every = rng.range(1, 4);
            s(format!(
                "-m statistic --mode nth {}--every {every} --packet {}",
                rng.not(15),
                rng.below(every)
            ))
        }
        16 => s(format!(
            "-m length {}--length {}",
            rng.not(15),
            rng.pick(&["0:60", "61:", "84", "28:100", "40", "100:1500", "52:"])
        )),
        17 => s(match rng.below(3) {
            0 => format!(
                "-m ttl {}--ttl-eq {}",
                rng.not(25),
                rng.pick(&["64", "63", "1", "2"])
            ),
            1 => format!("-m ttl --ttl-gt {}", rng.pick(&["1", "62", "63"])),
            _ => format!("-m ttl --ttl-lt {}", rng.pick(&["2", "63", "64"])),
        }),
        18 => s(format!(
            "-m comment --comment \"{}\"",
            rng.pick(&["fuzz", "allow web", "x", "a \\\"quoted\\\" word"])
        )),
        19 => s(format!(
            "-m limit --limit {} --limit-burst {}",
            rng.pick(&["1/min", "2/minute", "3/hour", "1/day", "10/hour"]),
            rng.range(1, 5)
        )),
        20 => s(format!(
            "-m quota {}--quota {}",
            rng.not(15),
            rng.pick(&["0", "40", "100", "200", "500", "1500"])
        )),
        21 => {
            let name = rng.pick(&["L1", "L2"]);
            let mut c = vec![format!("-m recent --name {name}")];
            let op = *rng.pick(&[
                "--set", "--rcheck", "--update", "--remove", "--rcheck", "--update",
            ]);
            c.push(format!(
                "{}{op}",
                if op == "--set" { "" } else { rng.not(15) }
            ));
            if rng.pct(30) {
                c.push(rng.pick(&["--rdest", "--rsource"]).to_string());
            }
            if op != "--set" && op != "--remove" {
                if rng.pct(40) {
                    c.push(format!("--hitcount {}", rng.range(1, 4)));
                }
                if rng.pct(25) {
                    c.push("--seconds 86400".into());
                    if rng.pct(30) {
                        c.push("--reap".into());
                    }
                }
            }
            if rng.pct(15) {
                c.push("--mask 255.255.255.0".into());
            }
            Some(Part::new(&c))
        }
        // Not in a user chain reached from two hooks: a packet met twice in
        // one journey skips conncount's duplicate check within the jiffy.
        22 if cx.hooks.count_ones() == 1 => {
            let mut c = vec![format!(
                "-m connlimit --connlimit-{} {}",
                rng.pick(&["above", "upto"]),
                rng.range(0, 3)
            )];
            // Not 0 (or 8): one group for both sides, and a real stack's
            // answer meets the rule in the same jiffy as the packet
            // (conncount then skips its duplicate check).
            if rng.pct(40) {
                c.push(format!(
                    "--connlimit-mask {}",
                    rng.pick(&["24", "16", "32"])
                ));
            }
            if rng.pct(30) {
                c.push(
                    rng.pick(&["--connlimit-daddr", "--connlimit-saddr"])
                        .to_string(),
                );
            }
            Some(Part::new(&c))
        }
        23 => {
            let mut c = vec!["-m time".to_string()];
            let hm = |rng: &mut Rng| format!("{:02}:{:02}", rng.below(24), rng.below(60));
            match rng.below(5) {
                0 | 1 => {
                    let (a, b) = (hm(rng), hm(rng));
                    c.push(format!("--timestart {a}"));
                    c.push(format!("--timestop {b}"));
                    // iptables allows it only for windows across midnight.
                    if b < a && rng.pct(30) {
                        c.push("--contiguous".into());
                    }
                }
                2 => c.push(format!(
                    "{}--weekdays {}",
                    rng.not(20),
                    rng.subset(&["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], 4)
                        .join(",")
                )),
                3 => c.push(format!(
                    "{}--monthdays {}",
                    rng.not(20),
                    rng.subset(&(1..=31).map(|d| d.to_string()).collect::<Vec<_>>(), 10)
                        .join(",")
                )),
                _ => {
                    let y = rng.range(2019, 2035);
                    c.push(format!("--datestart {y}-{:02}-01", rng.range(1, 12)));
                    if rng.pct(60) {
                        c.push(format!("--datestop {}-01-01T00:00:00", y + rng.range(0, 3)));
                    }
                }
            }
            Some(Part::new(&c))
        }
        _ => None,
    }
}

fn target_part(rng: &mut Rng, cx: &RuleCx, proto: Proto, builtin: bool) -> Option<Part> {
    let ports = matches!(proto, Proto::Tcp | Proto::Udp);
    let s = |v: String| Some(Part::one(v));
    loop {
        let t = match rng.below(30) {
            0..=3 => return None,
            4..=7 => s("-j ACCEPT".into()),
            // iptables-nft refuses DROP in nat ("not intended for filtering").
            8..=10 if cx.table != "nat" => s("-j DROP".into()),
            11 if !builtin || rng.pct(30) => s("-j RETURN".into()),
            12..=14 if !cx.jumps.is_empty() => s(format!(
                "-{} {}",
                if rng.pct(25) { "g" } else { "j" },
                rng.pick(&cx.jumps)
            )),
            15 | 16 if cx.table == "filter" => {
                let mut kinds = vec![
                    "icmp-net-unreachable",
                    "icmp-host-unreachable",
                    "icmp-port-unreachable",
                    "icmp-proto-unreachable",
                    "icmp-net-prohibited",
                    "icmp-host-prohibited",
                    "icmp-admin-prohibited",
                    "",
                ];
                if proto == Proto::Tcp {
                    kinds.extend(["tcp-reset", "tcp-reset"]);
                }
                let k = *rng.pick(&kinds);
                if k.is_empty() {
                    s("-j REJECT".into())
                } else {
                    Some(Part::new(&[
                        "-j REJECT".into(),
                        format!("--reject-with {k}"),
                    ]))
                }
            }
            17 | 18 => {
                let mut c = vec![
                    "-j LOG".to_string(),
                    format!("--log-prefix \"{TAG}{} \"", rng.below(100)),
                ];
                if rng.pct(40) {
                    c.push(format!(
                        "--log-level {}",
                        rng.pick(&["0", "1", "3", "6", "7", "info", "debug", "warning", "alert"])
                    ));
                }
                for opt in [
                    "--log-tcp-sequence",
                    "--log-tcp-options",
                    "--log-ip-options",
                    "--log-macdecode",
                    "--log-uid",
                ] {
                    if rng.pct(15) {
                        c.push(opt.into());
                    }
                }
                Some(Part::new(&c))
            }
            19 => {
                let op = match rng.below(6) {
                    0 | 1 => format!("--set-mark {}", mark_value(rng)),
                    2 => format!("--set-xmark {}", mark_value(rng)),
                    3 => format!("--and-mark {}", rng.pick(&["0x1", "0xfe", "0x0"])),
                    4 => format!("--or-mark {}", rng.pick(&["0x1", "0x4", "0x10"])),
                    _ => format!("--xor-mark {}", rng.pick(&["0x1", "0x3"])),
                };
                Some(Part::new(&["-j MARK".into(), op]))
            }
            20 => {
                let op = match rng.below(5) {
                    0 | 1 => format!("--set-mark {}", mark_value(rng)),
                    2 => "--save-mark".to_string(),
                    3 => "--restore-mark".to_string(),
                    _ => format!("--set-xmark {}", mark_value(rng)),
                };
                Some(Part::new(&["-j CONNMARK".into(), op]))
            }
            21 if !cx.sets.is_empty() => {
                let set = rng.pick(cx.sets);
                let dirs = match set.dims {
                    1 => rng.pick(&["src", "dst"]).to_string(),
                    _ => rng.pick(&["src,dst", "dst,dst", "src,src"]).to_string(),
                };
                let op = if rng.pct(70) { "add" } else { "del" };
                let mut c = vec![
                    "-j SET".to_string(),
                    format!("--{op}-set {} {dirs}", set.name),
                ];
                if op == "add" && rng.pct(30) {
                    c.push("--exist".into());
                }
                if op == "add" && set.timeout && rng.pct(40) {
                    c.push("--timeout 600".into());
                }
                Some(Part::new(&c))
            }
            22..=24 if cx.table == "nat" && cx.only(PRE | OUT) => {
                if rng.pct(25) {
                    let mut c = vec!["-j REDIRECT".to_string()];
                    if ports && rng.pct(70) {
                        // Not the router's listener (8080): see the TCP cases.
                        c.push(format!("--to-ports {}", rng.pick(&["8081", "8081-8082"])));
                    }
                    Some(Part::new(&c))
                } else {
                    let mut dsts = vec![
                        "10.2.0.100",
                        "10.2.0.101",
                        "10.2.0.100-10.2.0.101",
                        "10.1.0.1",
                        "10.3.0.5",
                    ];
                    if ports {
                        dsts.extend([
                            "10.2.0.2:81",
                            "10.2.0.100:8000-8010",
                            "10.2.0.101:53",
                            "10.1.0.1:8081",
                        ]);
                    }
                    s(format!("-j DNAT --to-destination {}", rng.pick(&dsts)))
                }
            }
            25..=27 if cx.table == "nat" && cx.only(POST | IN) => {
                if cx.only(POST) && rng.pct(35) {
                    // A port range for source NAT is entered at a random
                    // offset (get_random_u16): the comparison renames the
                    // kernel's port (fuzz/nat_ports.rs).
                    let mut c = vec!["-j MASQUERADE".to_string()];
                    if ports && rng.pct(40) {
                        c.push(
                            rng.pick(&["--to-ports 30000", "--to-ports 30000-30009"])
                                .to_string(),
                        );
                    }
                    Some(Part::new(&c))
                } else {
                    let mut srcs = vec!["10.2.0.1", "10.2.1.1", "10.2.0.1-10.2.0.1", "10.9.9.9"];
                    if ports {
                        srcs.extend(["10.2.0.1:40000", "10.2.1.1:1000", "10.2.0.1:40000-40009"]);
                    }
                    let mut c = vec![format!("-j SNAT --to-source {}", rng.pick(&srcs))];
                    if rng.pct(10) {
                        c.push("--persistent".into());
                    }
                    Some(Part::new(&c))
                }
            }
            // A conversation tracked one way only meets window tracking:
            // its later segments may look out of window.
            28 if cx.table == "raw" => s(rng.pick(&["-j NOTRACK", "-j CT --notrack"]).to_string()),
            29 if cx.table == "mangle" => s(format!(
                "-j TEE --gateway {}",
                rng.pick(&["10.2.0.100", "10.1.0.101", "10.2.0.2"])
            )),
            _ => continue,
        };
        return t;
    }
}

fn gen_sets(rng: &mut Rng, models: &[Model]) -> Vec<SetDef> {
    let mut sets = Vec::new();
    let n = match rng.below(10) {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    };
    for i in 0..n {
        let name = format!("s{}", i + 1);
        let (create, dims, pool): (&str, usize, &[&str]) = match rng.below(5) {
            0 => (
                "hash:ip",
                1,
                &[
                    "10.1.0.100",
                    "10.1.0.101",
                    "10.2.0.2",
                    "10.2.0.100",
                    "10.1.0.1",
                ],
            ),
            1 => (
                "hash:net",
                1,
                &["10.1.0.96/28", "10.2.0.0/24", "10.3.0.0/16", "10.1.0.101"],
            ),
            2 => (
                "hash:ip,port",
                2,
                &[
                    "10.2.0.100,tcp:80",
                    "10.2.0.2,udp:53",
                    "10.1.0.100,tcp:8080",
                    "10.2.0.100,udp:9",
                ],
            ),
            3 => ("bitmap:port range 0-1024", 1, &["22", "53", "80", "9"]),
            _ => (
                "hash:net,iface",
                2,
                &["10.1.0.0/24,r0", "10.2.0.0/16,r1", "10.0.0.0/8,r0"],
            ),
        };
        let timeout = rng.pct(30) && !create.starts_with("bitmap");
        let mut members: Vec<String> = if rng.pct(20) {
            Vec::new()
        } else {
            rng.subset(pool, 3).iter().map(|m| m.to_string()).collect()
        };
        // Members the model packets carry.
        for _ in 0..rng.below(3) {
            if models.is_empty() {
                break;
            }
            let m = rng.pick(models).clone();
            let a = if rng.pct(50) { m.src } else { m.dst };
            // No loopback, multicast or broadcast members (0.0.0.0 is
            // allowed: hash:ip and hash:ip,port refuse it).
            let odd = |a: Ipv4Addr| a.is_loopback() || a.is_multicast() || a.is_broadcast();
            if odd(a) || odd(m.dst) {
                continue;
            }
            let o = a.octets();
            let member = match create {
                "hash:ip" => Some(a.to_string()),
                "hash:net" => Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2])),
                "hash:ip,port" => match (m.proto, m.ports) {
                    (6, Some((_, dp))) => Some(format!("{},tcp:{dp}", m.dst)),
                    (17, Some((_, dp))) => Some(format!("{},udp:{dp}", m.dst)),
                    _ => None,
                },
                "hash:net,iface" => {
                    towards(a).map(|i| format!("{}.{}.{}.0/24,{i}", o[0], o[1], o[2]))
                }
                _ => m
                    .ports
                    .map(|(_, dp)| dp)
                    .filter(|p| *p <= 1024)
                    .map(|p| p.to_string()),
            };
            if let Some(x) = member {
                if !members.contains(&x) {
                    members.push(x);
                }
            }
        }
        sets.push(SetDef {
            name,
            create: if timeout {
                format!("{create} timeout 600")
            } else {
                create.to_string()
            },
            members: if timeout {
                members
                    .into_iter()
                    .map(|m| format!("{m} timeout 600"))
                    .collect()
            } else {
                members
            },
            dims,
            timeout,
        });
    }
    sets
}

/// A ruleset; most rules are built around one of `models` (three in four).
pub fn ruleset(rng: &mut Rng, models: &[Model]) -> Ruleset {
    let mut rs = Ruleset {
        sets: gen_sets(rng, models),
        ..Default::default()
    };
    let mut budget = rng.range(3, 16);
    // User chains reached from OUTPUT, from POSTROUTING.
    let mut out_users: Vec<(&'static str, String)> = Vec::new();
    let mut post_users: Vec<(&'static str, String)> = Vec::new();
    for table in TABLES {
        let wanted = match table {
            "filter" => 100,
            "nat" => 55,
            "mangle" => 40,
            _ => 30,
        };
        if !rng.pct(wanted) {
            continue;
        }
        let bi = builtins(table);
        for (name, _) in bi {
            let drop = match table {
                "filter" => rng.pct(25),
                "nat" => false,
                _ => rng.pct(4),
            };
            rs.chains.push(Chain {
                table,
                name: name.to_string(),
                policy: Some(if drop { "DROP" } else { "ACCEPT" }),
            });
        }
        // User chains: each may be reached from a few hooks only.
        let nuser = *rng.pick(&[0, 0, 1, 1, 2, 3]);
        let mut users: Vec<(String, u8)> = Vec::new();
        for i in 0..nuser {
            let mut hooks = 0;
            for _ in 0..rng.range(1, 2) {
                hooks |= rng.pick(bi).1;
            }
            users.push((format!("U{}", i + 1), hooks));
            if hooks & OUT != 0 {
                out_users.push((table, format!("U{}", i + 1)));
            }
            if hooks & POST != 0 {
                post_users.push((table, format!("U{}", i + 1)));
            }
            rs.chains.push(Chain {
                table,
                name: format!("U{}", i + 1),
                policy: None,
            });
        }
        let mut chains: Vec<(String, u8, bool)> =
            bi.iter().map(|(n, h)| (n.to_string(), *h, true)).collect();
        chains.extend(users.iter().map(|(n, h)| (n.clone(), *h, false)));
        for (ci, (chain, hooks, builtin)) in chains.iter().enumerate() {
            let n = if budget == 0 {
                0
            } else {
                rng.below(4).min(budget)
            };
            budget -= n;
            // Jumps go "down" the user chains only: no loops.
            let jumps: Vec<String> = users
                .iter()
                .enumerate()
                .filter(|(ui, (_, uh))| {
                    let below = *builtin || bi.len() + ui > ci;
                    below && hooks & !uh == 0
                })
                .map(|(_, (n, _))| n.clone())
                .collect();
            let cx = RuleCx {
                table,
                hooks: *hooks,
                jumps,
                sets: &rs.sets,
            };
            for _ in 0..n {
                let fitting: Vec<&Model> = models.iter().filter(|m| m.fits(*hooks)).collect();
                let model =
                    (!fitting.is_empty() && rng.pct(75)).then(|| (*rng.pick(&fitting)).clone());
                let (proto, pp) = match &model {
                    Some(m) if rng.pct(85) => proto_of(rng, m),
                    _ => proto_part(rng),
                };
                let mut parts: Vec<Part> = pp.into_iter().collect();
                let mut used = Vec::new();
                for _ in 0..*rng.pick(&[0, 1, 1, 1, 2, 2, 3]) {
                    let part = match &model {
                        Some(m) if rng.pct(70) => match_of(rng, &cx, proto, m, &mut used),
                        _ => match_part(rng, &cx, proto, &mut used),
                    };
                    if let Some(p) = part {
                        parts.push(p);
                    }
                }
                // Keep the protocol first (other matches may need it).
                let target = target_part(rng, &cx, proto, *builtin);
                rs.rules.push(Rule {
                    table,
                    chain: chain.clone(),
                    parts,
                    target,
                    pinned: false,
                });
            }
        }
    }
    let tee = rs.rules.iter().any(|r| {
        r.target
            .as_ref()
            .is_some_and(|t| t.chunks[0].starts_with("-j TEE"))
    });
    if tee {
        // A clone meets the same connlimit rule as its original in the same
        // jiffy, which skips conncount's duplicate check: not both.
        // The kernel sends a clone through OUTPUT and POSTROUTING while
        // its original is still inside the TEE rule's chain; the simulator
        // after the original's hook. Set and recent-list changes made on
        // the clone's way out would be seen in a different order: not both.
        for r in rs.rules.iter_mut() {
            let output = r.chain == "OUTPUT" || out_users.contains(&(r.table, r.chain.clone()));
            let post = r.chain == "POSTROUTING" || post_users.contains(&(r.table, r.chain.clone()));
            r.parts.retain(|p| {
                !(p.chunks[0].starts_with("-m connlimit")
                    || ((output || post) && p.chunks[0].starts_with("-m recent")))
            });
        }
        rs.rules.retain(|r| {
            let target = |name: &str| r.target.as_ref().is_some_and(|t| t.chunks[0] == name);
            let output = r.chain == "OUTPUT" || out_users.contains(&(r.table, r.chain.clone()));
            let post = r.chain == "POSTROUTING" || post_users.contains(&(r.table, r.chain.clone()));
            let set_on_way_out = target("-j SET") && (output || post);
            !set_on_way_out
        });
    }
    rs.rules.push(Rule {
        table: "filter",
        chain: "OUTPUT".into(),
        parts: vec![Part::one(CT_USER.to_string())],
        target: None,
        pinned: true,
    });
    rs
}

// -------------------------------------------------------------- packets

/// Builds the steps of a group; ids are assigned in order.
struct Steps {
    steps: Vec<Step>,
    case: usize,
}

struct Ip {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    tos: u8,
    id: u16,
    df: bool,
}

impl Ip {
    fn fields(&self) -> IpFields {
        IpFields {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            tos: self.tos,
            id: self.id,
            df: self.df,
        }
    }
}

fn payload(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(0x41))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    ip: &Ip,
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
    opts: &[u8],
) -> Vec<u8> {
    build_tcp(
        &ip.fields(),
        &TcpFields {
            sport,
            dport,
            seq,
            ack,
            flags,
            window: 64240,
            options: opts.to_vec(),
        },
        &payload(len),
    )
    .data
}

fn udp(ip: &Ip, sport: u16, dport: u16, len: usize) -> Vec<u8> {
    build_udp(&ip.fields(), sport, dport, &payload(len)).data
}

fn icmp(ip: &Ip, t: u8, code: u8, id: u16, seq: u16, len: usize) -> Vec<u8> {
    let mut rest = [0u8; 4];
    rest[..2].copy_from_slice(&id.to_be_bytes());
    rest[2..].copy_from_slice(&seq.to_be_bytes());
    build_icmp(&ip.fields(), t, code, rest, &payload(len)).data
}

fn raw(ip: &Ip, proto: u8, len: usize) -> Vec<u8> {
    // An IPv4 header of another protocol with a payload.
    let mut p = build_udp(&ip.fields(), 0, 0, &payload(len.saturating_sub(8)));
    p.data[9] = proto;
    p.fix_checksums();
    p.data
}

const F: u8 = 0x01;
const S: u8 = 0x02;
const R: u8 = 0x04;
const P: u8 = 0x08;
const A: u8 = 0x10;
const U: u8 = 0x20;

impl Steps {
    fn push(&mut self, origin: Origin, src_mac: [u8; 6], pkt: Vec<u8>) -> usize {
        let id = self.steps.len();
        self.steps.push(Step {
            id,
            case: self.case,
            origin,
            src_mac,
            pkt,
            reply_to: None,
            quote: None,
        });
        id
    }

    /// A reply (from the other side) to step `to`.
    fn reply(&mut self, to: usize, pkt: Vec<u8>) -> usize {
        let origin = match self.steps[to].origin {
            Origin::Client => Origin::Server,
            _ => Origin::Client,
        };
        let peer = self.steps[to].pkt.clone();
        let id = self.push(origin, [0; 6], pkt);
        self.steps[id].reply_to = Some((to, peer));
        id
    }

    fn error(&mut self, about: usize, from_dest: bool, pkt: Vec<u8>) -> usize {
        let origin = match self.steps[about].origin {
            Origin::Client => Origin::Server,
            _ => Origin::Client,
        };
        let peer = self.steps[about].pkt.clone();
        let id = self.push(origin, [0; 6], pkt);
        self.steps[id].quote = Some((about, peer, from_dest));
        id
    }
}

fn client(rng: &mut Rng) -> (Ipv4Addr, [u8; 6]) {
    *rng.pick(&net::CLIENTS)
}

fn ip(rng: &mut Rng, src: Ipv4Addr, dst: Ipv4Addr) -> Ip {
    Ip {
        src,
        dst,
        ttl: match rng.below(100) {
            0..=6 => 1,
            7..=9 => 2,
            10..=14 => 63,
            _ => 64,
        },
        tos: *rng.pick(&[0, 0, 0, 0, 0x10, 0x02, 0xb8]),
        id: rng.range(1, 65535) as u16,
        df: rng.pct(60),
    }
}

/// Later packets of a flow: ordinary TTL, a fresh IP ID.
fn again(rng: &mut Rng, i: &Ip) -> Ip {
    Ip {
        src: i.src,
        dst: i.dst,
        ttl: 64,
        tos: i.tos,
        id: rng.range(1, 65535) as u16,
        df: i.df,
    }
}

fn back(rng: &mut Rng, i: &Ip) -> Ip {
    Ip {
        src: i.dst,
        dst: i.src,
        ttl: 64,
        tos: i.tos,
        id: rng.range(1, 65535) as u16,
        df: i.df,
    }
}

fn port(rng: &mut Rng) -> u16 {
    if rng.pct(8) {
        *rng.pick(&[53, 80, 1023, 8080, 22])
    } else {
        rng.range(1024, 65000) as u16
    }
}

/// One case: a flow and what answers it.
fn case(rng: &mut Rng, st: &mut Steps) {
    let (c, cmac) = client(rng);
    let (ps, _) = *rng.pick(&net::PSERVERS);
    let sp = port(rng);
    match rng.below(13) {
        // A scripted TCP conversation with a phantom server, now and then
        // with odd flags and inexact numbers (window tracking judges them).
        0..=2 => {
            let dst = if rng.pct(85) { ps } else { net::BEHIND };
            // Now and then a port a real stack listens on (80 on the server,
            // 8080 on the router): its half-open connection judges the ACKs.
            let dport = *rng.pick(&[22, 443, 81, 9000, 25, 8000, 80, 8080]);
            let i = ip(rng, c, dst);
            let (mut cs, mut ss) = (rng.next() as u32, rng.next() as u32);
            let opts: &[u8] = if rng.pct(20) { &[2, 4, 5, 0xb4] } else { &[] };
            // Picked up mid-stream (no handshake seen) now and then.
            let first = if rng.pct(15) { 2 } else { 0 };
            let last = rng.range(first + 1, 8);
            let data = rng.range(1, 40) as usize;
            let odd = |rng: &mut Rng, f: u8| {
                if rng.pct(10) {
                    *rng.pick(&[0, F, S | F, R, A, S | A, F | P | U, R | A])
                } else {
                    f
                }
            };
            let mut syn = None;
            for k in first..last {
                let client = !matches!(k, 1 | 4 | 6);
                let b = if client {
                    again(rng, &i)
                } else {
                    back(rng, &i)
                };
                let b = if k == first {
                    Ip { ttl: i.ttl, ..b }
                } else {
                    b
                };
                let (flags, seq, ack, len, o): (u8, u32, u32, usize, &[u8]) = match k {
                    0 => (S, cs, 0, 0, opts),
                    1 => (S | A, ss, cs, 0, opts),
                    2 => (A, cs, ss, 0, &[]),
                    3 => (P | A, cs, ss, data, &[]),
                    4 => (A, ss, cs, 0, &[]),
                    5 => (F | A, cs, ss, 0, &[]),
                    6 => (F | A, ss, cs, 0, &[]),
                    _ => (A, cs, ss, 0, &[]),
                };
                let flags = odd(rng, flags);
                let pkt = if client {
                    tcp(&b, sp, dport, flags, seq, ack, len, o)
                } else {
                    tcp(&b, dport, sp, flags, seq, ack, len, o)
                };
                // What the segment consumes of the sequence space.
                let used = len as u32 + u32::from(k == 0 || k == 1) + u32::from(k == 5 || k == 6);
                if client {
                    cs = cs.wrapping_add(used);
                } else {
                    ss = ss.wrapping_add(used);
                }
                let id = match (client, syn) {
                    (false, Some(q)) => st.reply(q, pkt),
                    (false, None) => st.push(
                        Origin::Server,
                        net::mac_of(dst).unwrap_or(net::SERVER_MAC),
                        pkt,
                    ),
                    (true, _) => st.push(Origin::Client, cmac, pkt),
                };
                if client && syn.is_none() {
                    syn = Some(id);
                }
            }
            if rng.pct(15) {
                // Reset by one side, at the exact sequence number or one below.
                let slack = if rng.pct(50) { 1 } else { 0 };
                if rng.pct(50) || syn.is_none() {
                    let pkt = tcp(
                        &again(rng, &i),
                        sp,
                        dport,
                        R,
                        cs.wrapping_sub(slack),
                        0,
                        0,
                        &[],
                    );
                    st.push(Origin::Client, cmac, pkt);
                } else if let Some(q) = syn {
                    let pkt = tcp(
                        &back(rng, &i),
                        dport,
                        sp,
                        R | A,
                        ss.wrapping_sub(slack),
                        cs,
                        0,
                        &[],
                    );
                    st.reply(q, pkt);
                }
            }
        }
        // A SYN to the real server (listening, closed), maybe reset again.
        3 => {
            let dport = *rng.pick(&[80, 80, 81, 22]);
            let i = ip(rng, c, net::SERVER);
            let ci = rng.next() as u32;
            st.push(Origin::Client, cmac, tcp(&i, sp, dport, S, ci, 0, 0, &[]));
            if rng.pct(40) {
                st.push(
                    Origin::Client,
                    cmac,
                    tcp(&again(rng, &i), sp, dport, R, ci.wrapping_add(1), 0, 0, &[]),
                );
            }
        }
        // Odd TCP flags to anyone.
        4 => {
            let dst = *rng.pick(&[
                net::SERVER,
                ps,
                net::R0,
                net::R1,
                net::BEHIND,
                net::UNROUTABLE,
            ]);
            let i = ip(rng, c, dst);
            let f = *rng.pick(&[0, F, S | F, R, A, S | A, F | P | U, R | A, F | A, S | R]);
            let dport = *rng.pick(&[80, 81, 22, 8080]);
            st.push(
                Origin::Client,
                cmac,
                tcp(
                    &i,
                    sp,
                    dport,
                    f,
                    rng.next() as u32,
                    rng.next() as u32,
                    0,
                    &[],
                ),
            );
        }
        // UDP: a phantom server answers; the real one listens on 53, not on 9.
        5 | 6 => {
            let dst = *rng.pick(&[ps, ps, net::SERVER, net::R0, net::R1, net::BEHIND]);
            let dport = if dst == net::SERVER {
                *rng.pick(&[53, 9])
            } else {
                *rng.pick(&[53, 9, 123, 5353])
            };
            let i = ip(rng, c, dst);
            let len = rng.range(0, 60) as usize;
            let q = st.push(Origin::Client, cmac, udp(&i, sp, dport, len));
            if dst == ps || dst == net::BEHIND {
                for _ in 0..rng.range(0, 2) {
                    st.reply(q, udp(&back(rng, &i), dport, sp, rng.range(0, 80) as usize));
                }
                if rng.pct(35) {
                    // The server answers the tuple the client sent, whatever
                    // NAT made of it: after a REDIRECT or DNAT its reply
                    // tuple is the client's connection's original one.
                    let mac = net::mac_of(dst).unwrap_or(net::SERVER_MAC);
                    let len = rng.range(0, 80) as usize;
                    st.push(Origin::Server, mac, udp(&back(rng, &i), dport, sp, len));
                }
                if rng.pct(40) {
                    st.push(Origin::Client, cmac, udp(&again(rng, &i), sp, dport, len));
                }
            } else if rng.pct(30) {
                st.push(Origin::Client, cmac, udp(&again(rng, &i), sp, dport, len));
            }
        }
        // Pings.
        7 | 8 => {
            let dst = *rng.pick(&[
                net::SERVER,
                ps,
                net::R0,
                net::R1,
                net::R1B,
                net::UNROUTABLE,
                net::BEHIND,
            ]);
            let i = ip(rng, c, dst);
            let id = rng.range(1, 65535) as u16;
            let len = rng.range(0, 56) as usize;
            let q = st.push(Origin::Client, cmac, icmp(&i, 8, 0, id, 1, len));
            if dst == ps && rng.pct(70) {
                st.reply(q, icmp(&back(rng, &i), 0, 0, id, 1, len));
            }
            if rng.pct(40) {
                st.push(
                    Origin::Client,
                    cmac,
                    icmp(&again(rng, &i), 8, 0, id, 2, len),
                );
            }
        }
        // The server side starts: a phantom server or the real one towards a client or the router.
        9 => {
            let (src, smac) = if rng.pct(70) {
                *rng.pick(&net::PSERVERS)
            } else {
                (net::SERVER, net::SERVER_MAC)
            };
            let dst = if rng.pct(75) {
                c
            } else {
                *rng.pick(&[net::R1, net::R0, net::R1B])
            };
            let i = ip(rng, src, dst);
            let dport = *rng.pick(&[22, 53, 80, 5000]);
            let isn = rng.next() as u32;
            let first = match rng.below(3) {
                0 => udp(&i, sp, dport, rng.range(0, 40) as usize),
                1 => tcp(&i, sp, dport, S, isn, 0, 0, &[]),
                _ => icmp(&i, 8, 0, sp, 1, 8),
            };
            let proto = first[9];
            let q = st.push(Origin::Server, smac, first);
            if dst == c && rng.pct(60) {
                let b = back(rng, &i);
                let ack = if rng.pct(30) { 1 } else { isn.wrapping_add(1) };
                let r = match proto {
                    17 => udp(&b, dport, sp, 4),
                    6 => tcp(&b, dport, sp, S | A, 777, ack, 0, &[]),
                    _ => icmp(&b, 0, 0, sp, 1, 8),
                };
                st.reply(q, r);
            }
        }
        // ICMP errors from the server side about a client's packet (or about nothing).
        10 => {
            let dst = *rng.pick(&[ps, ps, net::BEHIND]);
            let i = ip(rng, c, dst);
            let orig = if rng.pct(60) {
                udp(&i, sp, *rng.pick(&[53, 9]), 10)
            } else {
                tcp(&i, sp, 80, S, rng.next() as u32, 0, 0, &[])
            };
            let orphan = rng.pct(15);
            let about = if orphan {
                None
            } else {
                Some(st.push(Origin::Client, cmac, orig.clone()))
            };
            let (t, code, rest) = *rng.pick(&[
                (3u8, 3u8, 0u32),
                (3, 1, 0),
                (3, 13, 0),
                (11, 0, 0),
                (3, 4, 1400),
                (3, 0, 0),
            ]);
            let from_dest = t == 3 && code == 3;
            let router = if dst == net::BEHIND || !from_dest {
                net::SERVER
            } else {
                dst
            };
            let e = Ip {
                src: router,
                dst: c,
                ttl: 64,
                tos: 0,
                id: rng.range(1, 65535) as u16,
                df: false,
            };
            let err = build_icmp_error(&e.fields(), t, code, rest.to_be_bytes(), &orig).data;
            match about {
                Some(a) => {
                    st.error(a, from_dest, err);
                }
                None => {
                    let mac = net::mac_of(router).unwrap_or(net::SERVER_MAC);
                    st.push(Origin::Server, mac, err);
                }
            }
        }
        // Spoofed or martian sources from the client side.
        11 => {
            // An off-net source: after SNAT in nat INPUT the answer is
            // un-NATed to it and unroutable, dropped right after nat OUTPUT.
            let src = *rng.pick(&[
                net::R0,
                net::R1,
                Ipv4Addr::new(127, 0, 0, 1),
                net::SERVER,
                net::OFFNET,
                Ipv4Addr::new(0, 0, 0, 0),
                Ipv4Addr::new(10, 2, 0, 100),
                Ipv4Addr::new(224, 0, 0, 5),
                Ipv4Addr::new(10, 1, 0, 255),
            ]);
            // Broadcasts and groups too: the all-hosts group is received,
            // another group is not.
            let dst = *rng.pick(&[
                net::SERVER,
                ps,
                net::R0,
                net::R1,
                Ipv4Addr::new(10, 1, 0, 255),
                Ipv4Addr::new(255, 255, 255, 255),
                Ipv4Addr::new(127, 0, 0, 1),
                Ipv4Addr::new(224, 0, 0, 1),
                Ipv4Addr::new(224, 0, 0, 5),
            ]);
            let i = ip(rng, src, dst);
            let pkt = match rng.below(3) {
                0 => udp(&i, sp, 53, 8),
                1 => tcp(&i, sp, 80, S, rng.next() as u32, 0, 0, &[]),
                _ => icmp(&i, 8, 0, sp, 1, 8),
            };
            st.push(Origin::Client, cmac, pkt);
        }
        // The router's own packets, and answers to them; other protocols.
        _ => {
            if rng.pct(70) {
                let src = *rng.pick(&[net::R1, net::R0, net::R1B]);
                let dst = *rng.pick(&[net::SERVER, ps, c, net::BEHIND, net::UNROUTABLE]);
                let mut i = ip(rng, src, dst);
                i.ttl = 64;
                let dport = *rng.pick(&[53, 80, 81, 9]);
                let isn = rng.next() as u32;
                let first = match rng.below(3) {
                    0 => udp(&i, sp, dport, rng.range(0, 30) as usize),
                    1 => tcp(&i, sp, dport, S, isn, 0, 0, &[]),
                    _ => icmp(&i, 8, 0, sp, 1, 16),
                };
                let proto = first[9];
                let q = st.push(Origin::Router, [0; 6], first);
                if (dst == ps || dst == c) && rng.pct(60) {
                    let b = back(rng, &i);
                    let ack = if rng.pct(30) { 1 } else { isn.wrapping_add(1) };
                    let r = match proto {
                        17 => udp(&b, dport, sp, 4),
                        6 => tcp(&b, dport, sp, S | A, 4242, ack, 0, &[]),
                        _ => icmp(&b, 0, 0, sp, 1, 16),
                    };
                    let id = st.reply(q, r);
                    if net::client_side(dst) {
                        st.steps[id].origin = Origin::Client;
                    } else {
                        st.steps[id].origin = Origin::Server;
                    }
                }
            } else {
                let dst = *rng.pick(&[ps, net::R0, net::SERVER]);
                let i = ip(rng, c, dst);
                let proto = *rng.pick(&[47u8, 50]);
                let q = st.push(
                    Origin::Client,
                    cmac,
                    raw(&i, proto, rng.range(8, 40) as usize),
                );
                if dst == ps && rng.pct(50) {
                    st.reply(q, raw(&back(rng, &i), proto, 12));
                }
            }
        }
    }
}

/// A group: a ruleset and `cases` cases of packets.
pub fn group(seed: u64, cases: usize) -> Group {
    let mut rng = Rng::new(seed);
    let mut st = Steps {
        steps: Vec::new(),
        case: 0,
    };
    for c in 0..cases {
        st.case = c;
        case(&mut rng, &mut st);
    }
    let mut ruleset = ruleset(&mut rng, &models(&st.steps));
    // Window tracking's two switches, each off its default in one group of four.
    if rng.pct(25) {
        ruleset.sysctls.push((
            "net.netfilter.nf_conntrack_tcp_be_liberal".into(),
            "1".into(),
        ));
    }
    if rng.pct(25) {
        ruleset
            .sysctls
            .push(("net.netfilter.nf_conntrack_tcp_loose".into(), "0".into()));
    }
    Group {
        ruleset,
        steps: st.steps,
    }
}
