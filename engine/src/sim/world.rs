//! The lab's world: hosts joined by links (L2 segments), and the packet loop
//! that carries packets through each host's routing, netfilter hooks and
//! stack, onto links and into other hosts, recording a trace per packet.

use super::eval::Emit;
use super::host::Host;
use super::netfilter::{run_hook, run_output, CtRef, Fate, OutRoute};
use super::route::{self, Decision};
use super::rules::{self, Flow};
use super::stack;
use super::trace::{Event, Trace};
use crate::packet::pcap::{ethernet, Frame};
use crate::packet::Packet;
use crate::ruleset::Hook;
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

/// An L2 segment: the interfaces plugged into it (host index, interface name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub ends: Vec<(usize, String)>,
    /// The link also reaches machines outside the lab (an uplink): every
    /// address no lab host owns answers ARP there, and frames to it leave.
    pub outside: bool,
}

/// What happened to one packet, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Host where this packet's journey started.
    pub host: String,
    pub trace: Trace,
    /// Where it ended: `delivered to HOST`, `dropped on HOST at HOOK`, `sent out IF` …
    pub outcome: String,
}

/// One packet put on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireEvent {
    pub host: String,
    pub iface: String,
    /// The IPv4 packet (without the Ethernet header).
    pub packet: Vec<u8>,
}

/// A packet waiting to be processed.
enum Job {
    /// Made by a host's stack or a tool.
    LocalOut { host: usize, pkt: Packet },
    /// The sender's own copy of a broadcast or multicast it sent out of
    /// `iface` (`ip_mc_output`): through POSTROUTING, then back in on
    /// `iface` with the original's connection (`dev_loopback_xmit`).
    Looped {
        host: usize,
        iface: String,
        pkt: Packet,
        ct: CtRef,
    },
    /// Arrived on an interface.
    Receive {
        host: usize,
        iface: String,
        pkt: Packet,
    },
}

/// Packets delivered to a host's own stack during a run, for tools to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub host: usize,
    pub pkt: Packet,
    /// Lab clock when the stack got it.
    pub time_ns: u64,
}

/// Time a frame takes to cross a link (wire and driver), so replies come
/// after requests on the lab clock.
pub const LINK_DELAY_NS: u64 = 20_000;

/// The MAC that answers for machines outside the lab on an uplink.
pub const OUTSIDE_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0xff, 0xfe];

/// How long ARP tries before the kernel gives up on a neighbour (3 probes, 1 s apart).
pub const ARP_TIMEOUT_NS: u64 = 3_000_000_000;

#[derive(Debug, Clone, Default)]
pub struct World {
    pub hosts: Vec<Host>,
    pub links: Vec<Link>,
    /// Lab clock in nanoseconds since the Unix epoch.
    pub now_ns: u64,
    /// Frames seen per (host, interface), for tcpdump and pcap export.
    pub captures: BTreeMap<(String, String), Vec<Frame>>,
    /// Every transmission in order: which host sent which IPv4 packet out of which interface.
    pub wire: Vec<WireEvent>,
    /// Whether to record traces.
    pub tracing: bool,
    /// Reports of the packets of the last run.
    pub reports: Vec<Report>,
    /// Packets the hosts' stacks received during the last run.
    pub delivered: Vec<Delivery>,
    /// Limit on packets per run, so loops (TEE, routing) always end.
    pub max_packets: usize,
    /// What the tools (`ping`, `nmap`, `tcpdump` …) keep about the lab.
    pub tools: super::tools::ToolEnv,
    /// Time the current run has spent waiting on failed ARP: later frames and
    /// deliveries of the run are stamped this much after the lab clock,
    /// which itself stays put (tools decide how their time passes).
    pub run_delay_ns: u64,
}

impl World {
    pub fn new() -> World {
        World {
            max_packets: 10_000,
            tracing: true,
            ..Default::default()
        }
    }

    pub fn host_index(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.name == name)
    }

    /// Sends a packet made on a host (a tool, the stack) and processes
    /// everything it causes. Returns the reports of this run.
    pub fn send(&mut self, host: usize, pkt: Packet) -> &[Report] {
        self.run(Job::LocalOut { host, pkt })
    }

    /// A packet arriving on a host's interface from outside the lab (as if
    /// sent by a machine on that link), and everything it causes.
    pub fn inject(&mut self, host: usize, iface: &str, pkt: Packet) -> &[Report] {
        self.run(Job::Receive {
            host,
            iface: iface.to_string(),
            pkt,
        })
    }

    /// Sets every host's clock to the lab clock. Packets are evaluated at
    /// `now_ns`; commands run on a host read its clock (`ipset list` shows
    /// timeouts left), so both must agree.
    /// A world whose clock was never set (0) leaves the hosts' own clocks.
    pub fn sync_clocks(&mut self) {
        let now = self.now_ns;
        if now == 0 {
            return;
        }
        for h in &mut self.hosts {
            h.clock_ns = now;
        }
    }

    /// Moves the lab clock forward by `ns` nanoseconds (hosts follow).
    pub fn advance(&mut self, ns: u64) {
        self.now_ns = self.now_ns.saturating_add(ns);
        self.sync_clocks();
    }

    fn run(&mut self, first: Job) -> &[Report] {
        self.sync_clocks();
        self.reports.clear();
        self.delivered.clear();
        self.run_delay_ns = 0;
        let mut queue = VecDeque::new();
        queue.push_back(first);
        let mut count = 0;
        while let Some(job) = queue.pop_front() {
            count += 1;
            if count > self.max_packets {
                break;
            }
            let report = match job {
                Job::LocalOut { host, pkt } => {
                    let attached = pkt.meta.nfct;
                    let r = self.local_out(host, pkt, None, &mut queue);
                    if let Some(a) = attached {
                        self.hosts[host].conntrack.release(a.idx);
                    }
                    r
                }
                Job::Looped {
                    host,
                    iface,
                    pkt,
                    ct,
                } => self.looped(host, &iface, pkt, ct, &mut queue),
                Job::Receive { host, iface, pkt } => self.receive(host, &iface, pkt, &mut queue),
            };
            self.reports.push(report);
        }
        self.sync_clocks();
        &self.reports
    }

    fn new_trace(&self, pkt: &Packet) -> Option<Trace> {
        if self.tracing {
            Some(Trace {
                headers: pkt.headers().ok(),
                ..Default::default()
            })
        } else {
            None
        }
    }

    fn finish(&self, host: usize, trace: Option<Trace>, outcome: String) -> Report {
        Report {
            host: self.hosts[host].name.clone(),
            trace: trace.unwrap_or_default(),
            outcome,
        }
    }

    /// Queues what targets emitted: replies go out through OUTPUT. Clones
    /// (untracked, not cloned again) are sent at once towards their
    /// gateway, before the original goes on, as `nf_dup_ipv4` sends them
    /// from inside the target: what a copy logs is moved before what the
    /// original logged after TEE fired.
    fn queue_emitted(&mut self, host: usize, emitted: Vec<Emit>, queue: &mut VecDeque<Job>) {
        let mut moved_lines = 0;
        for e in emitted {
            match e {
                Emit::Local(p) => queue.push_back(Job::LocalOut { host, pkt: p }),
                Emit::Clone {
                    mut pkt,
                    gateway,
                    oif,
                    log_at,
                } => {
                    pkt.meta.tee_clone = true;
                    pkt.meta.nfct = None;
                    let before = self.hosts[host].kmsg.len();
                    let report = self.local_out(host, pkt, Some((gateway, oif)), queue);
                    self.reports.push(report);
                    let kmsg = &mut self.hosts[host].kmsg;
                    let at = log_at + moved_lines;
                    let logged = kmsg.len().saturating_sub(before);
                    if at <= before && before <= kmsg.len() {
                        kmsg[at..].rotate_right(logged);
                        moved_lines += logged;
                    }
                }
            }
        }
    }

    /// A packet dies on a host outside netfilter (no route, TTL, forwarding
    /// off): the connection it created goes with it.
    fn discard(&mut self, hi: usize, ct: &CtRef) {
        if let Some(i) = ct.idx {
            self.hosts[hi].conntrack.drop_unconfirmed(i);
        }
    }

    /// A packet the host sends: a tool's, the stack's, a reply made by a
    /// target, or a TEE clone (`via`: the gateway and interface it must take).
    fn local_out(
        &mut self,
        hi: usize,
        mut pkt: Packet,
        via: Option<(Ipv4Addr, Option<String>)>,
        queue: &mut VecDeque<Job>,
    ) -> Report {
        let mut trace = self.new_trace(&pkt);
        let now = self.now_ns;
        let Ok(hdr) = pkt.headers() else {
            return self.finish(hi, trace, "malformed packet".into());
        };
        let host = &self.hosts[hi];
        // The route by the policy rules, with the packet's source and mark.
        let mark = pkt.meta.mark;
        let decision = match &via {
            None => {
                let flow = Flow {
                    dst: hdr.dst,
                    src: hdr.src,
                    mark,
                    tos: hdr.tos,
                    iif: "lo",
                    oif: None,
                };
                route::lookup_flow(&host.ifaces, &host.routes, &host.policy, &flow).0
            }
            // The route to the gateway, the gateway as next hop when it is
            // on the link (`FLOWI_FLAG_KNOWN_NH`).
            Some((gw, oif)) => match (route::lookup(&host.ifaces, &host.routes, *gw), oif) {
                (Decision::Out { dev, next_hop }, Some(o)) if dev == *o => {
                    Decision::Out { dev, next_hop }
                }
                (_, Some(o)) if host.iface(o).is_some() => Decision::Out {
                    dev: o.clone(),
                    next_hop: *gw,
                },
                (Decision::Out { dev, next_hop }, None) => Decision::Out { dev, next_hop },
                _ => Decision::Unreachable,
            },
        };
        let (dev, next_hop) = match decision {
            Decision::Local => ("lo".to_string(), hdr.dst),
            // A broadcast goes onto the link, to no gateway.
            Decision::Out { dev, .. } if route::is_broadcast(&host.ifaces, hdr.dst) => {
                (dev, hdr.dst)
            }
            Decision::Out { dev, next_hop } => (dev, next_hop),
            Decision::Unreachable => {
                return self.finish(hi, trace, format!("{}: no route to host", host.name));
            }
        };
        pkt.meta.out_iface = Some(dev.clone());
        pkt.meta.in_iface = None;
        let mut ct = CtRef::attached(&self.hosts[hi], &pkt);
        let mut emitted = Vec::new();
        let mut route = OutRoute {
            dev,
            next_hop,
            unroutable_after: None,
        };
        let fate = run_output(
            &mut self.hosts[hi],
            &mut pkt,
            &mut ct,
            now,
            &mut emitted,
            trace.as_mut(),
            &mut route,
        );
        self.queue_emitted(hi, std::mem::take(&mut emitted), queue);
        if let Some(after) = route.unroutable_after {
            return self.finish(hi, trace, format!("no route to host after {after}"));
        }
        if fate != Fate::Accept {
            let name = self.hosts[hi].name.clone();
            return self.finish(hi, trace, format!("dropped on {name} in OUTPUT"));
        }
        let OutRoute { dev, next_hop, .. } = route;
        pkt.meta.out_iface = Some(dev.clone());
        // A broadcast, or multicast to a group the device joined, comes
        // back to the sender too. The kernel's copy passes POSTROUTING just
        // before the original; here just after, so that the original
        // confirms the connection both share.
        let own_copy = (dev != "lo"
            && !pkt.meta.tee_clone
            && pkt
                .headers()
                .is_ok_and(|h| route::is_for_all(&self.hosts[hi].ifaces, &dev, h.dst)))
        .then(|| (pkt.clone(), ct));
        // A TEE copy keeps the device its route set (`nf_dup_ipv4_route`):
        // POSTROUTING sees it as the input device too.
        if pkt.meta.tee_clone {
            pkt.meta.in_iface = Some(dev.clone());
        }
        let host = &mut self.hosts[hi];
        let fate = run_hook(
            host,
            Hook::Postrouting,
            &mut pkt,
            &mut ct,
            now,
            &mut emitted,
            trace.as_mut(),
        );
        pkt.meta.in_iface = None;
        self.queue_emitted(hi, emitted, queue);
        if fate != Fate::Accept {
            let name = self.hosts[hi].name.clone();
            return self.finish(hi, trace, format!("dropped on {name} in POSTROUTING"));
        }
        if let Some((pkt, ct)) = own_copy {
            queue.push_back(Job::Looped {
                host: hi,
                iface: dev.clone(),
                pkt,
                ct,
            });
        }
        if dev == "lo" {
            // Loopback: the packet comes back in on lo, keeping its connection.
            let outcome = self.loopback_in(hi, pkt, ct, trace.as_mut(), queue);
            return self.finish(hi, trace, outcome);
        }
        if let Some(t) = trace.as_mut() {
            t.events.push(Event::Sent {
                host: self.hosts[hi].name.clone(),
                iface: dev.clone(),
            });
        }
        let copy = pkt.clone();
        if !self.transmit(hi, &dev, next_hop, pkt, queue) {
            return self.neighbour_failed(hi, &dev, next_hop, &copy, trace, queue);
        }
        let name = self.hosts[hi].name.clone();
        self.finish(hi, trace, format!("sent by {name} out {dev}"))
    }

    /// The sender's copy of its broadcast or multicast: POSTROUTING, then
    /// back in on the device it left by, without a link-layer header.
    fn looped(
        &mut self,
        hi: usize,
        dev: &str,
        mut pkt: Packet,
        mut ct: CtRef,
        queue: &mut VecDeque<Job>,
    ) -> Report {
        let mut trace = self.new_trace(&pkt);
        let mut emitted = Vec::new();
        let fate = run_hook(
            &mut self.hosts[hi],
            Hook::Postrouting,
            &mut pkt,
            &mut ct,
            self.now_ns,
            &mut emitted,
            trace.as_mut(),
        );
        self.queue_emitted(hi, emitted, queue);
        if fate != Fate::Accept {
            let name = self.hosts[hi].name.clone();
            return self.finish(hi, trace, format!("dropped on {name} in POSTROUTING"));
        }
        pkt.meta.src_mac = None;
        pkt.meta.dst_mac = None;
        pkt.meta.looped = true;
        let outcome = self.back_in(hi, dev, pkt, ct, trace.as_mut(), queue);
        self.finish(hi, trace, outcome)
    }

    fn loopback_in(
        &mut self,
        hi: usize,
        mut pkt: Packet,
        ct: CtRef,
        trace: Option<&mut Trace>,
        queue: &mut VecDeque<Job>,
    ) -> String {
        // The loopback device's all-zero Ethernet header.
        pkt.meta.src_mac = Some([0; 6]);
        pkt.meta.dst_mac = Some([0; 6]);
        // A TEE clone is received anew (it stays untracked): TEE's guard
        // against copying a copy holds only while the copy is being sent.
        pkt.meta.tee_clone = false;
        self.back_in(hi, "lo", pkt, ct, trace, queue)
    }

    /// A packet of the host's own comes in on `dev` keeping its connection:
    /// PREROUTING, INPUT, the stack.
    fn back_in(
        &mut self,
        hi: usize,
        dev: &str,
        mut pkt: Packet,
        mut ct: CtRef,
        mut trace: Option<&mut Trace>,
        queue: &mut VecDeque<Job>,
    ) -> String {
        let now = self.now_ns;
        pkt.meta.in_iface = Some(dev.into());
        pkt.meta.out_iface = None;
        let mut emitted = Vec::new();
        let host = &mut self.hosts[hi];
        let fate = run_hook(
            host,
            Hook::Prerouting,
            &mut pkt,
            &mut ct,
            now,
            &mut emitted,
            trace.as_deref_mut(),
        );
        if fate != Fate::Accept {
            self.queue_emitted(hi, emitted, queue);
            return format!("dropped on {} in PREROUTING", self.hosts[hi].name);
        }
        let host = &mut self.hosts[hi];
        let fate = run_hook(
            host,
            Hook::Input,
            &mut pkt,
            &mut ct,
            now,
            &mut emitted,
            trace.as_deref_mut(),
        );
        self.queue_emitted(hi, emitted, queue);
        if fate != Fate::Accept {
            return format!("dropped on {} in INPUT", self.hosts[hi].name);
        }
        self.deliver(hi, pkt, ct, trace, queue)
    }

    /// No host answered ARP for the next hop: after the ARP timeout the
    /// kernel drops the packet and reports host unreachable to its sender
    /// (`ipv4_link_failure`), also when the sender is this host.
    fn neighbour_failed(
        &mut self,
        hi: usize,
        dev: &str,
        next_hop: Ipv4Addr,
        pkt: &Packet,
        mut trace: Option<Trace>,
        queue: &mut VecDeque<Job>,
    ) -> Report {
        let name = self.hosts[hi].name.clone();
        if let Some(t) = trace.as_mut() {
            t.events.push(Event::Dropped {
                host: name.clone(),
                reason: format!("no ARP reply from {next_hop} on {dev}"),
            });
        }
        self.run_delay_ns += ARP_TIMEOUT_NS;
        let about_error = pkt
            .headers()
            .ok()
            .and_then(|h| h.icmp().map(|i| i.is_error()))
            .unwrap_or(false);
        if !about_error {
            self.icmp_error(hi, pkt, &CtRef::default(), 3, 1, queue);
        }
        self.finish(
            hi,
            trace,
            format!("dropped on {name}: {next_hop} does not answer ARP on {dev}"),
        )
    }

    /// Puts a packet on the wire of `dev`, addressed to the host owning
    /// `next_hop` on that link. Returns false when no host on the link owns
    /// `next_hop` (ARP fails) and the destination is not a broadcast.
    fn transmit(
        &mut self,
        hi: usize,
        dev: &str,
        next_hop: Ipv4Addr,
        mut pkt: Packet,
        queue: &mut VecDeque<Job>,
    ) -> bool {
        let Some(iface) = self.hosts[hi].iface(dev).cloned() else {
            return true;
        };
        let Some(link) = iface.link else {
            return true;
        };
        self.now_ns += LINK_DELAY_NS;
        // ARP: the interface on this link that owns the next hop.
        let peer = self.links.get(link).and_then(|l| {
            l.ends.iter().find(|(h, i)| {
                *h != hi
                    && self.hosts[*h]
                        .iface(i)
                        .is_some_and(|x| x.up && x.addrs.iter().any(|a| a.addr == next_hop))
            })
        });
        let broadcast =
            next_hop.is_broadcast() || route::is_broadcast(std::slice::from_ref(&iface), next_hop);
        let multicast = next_hop.is_multicast();
        let outside = self.links.get(link).is_some_and(|l| l.outside);
        if peer.is_none() && !broadcast && !multicast && !outside {
            // Nobody answers: the wire sees only the ARP requests, one a second.
            let arp = crate::packet::pcap::arp_request(
                iface.mac,
                iface.primary().unwrap_or(Ipv4Addr::UNSPECIFIED),
                next_hop,
            );
            let ends = self
                .links
                .get(link)
                .map(|l| l.ends.clone())
                .unwrap_or_default();
            for k in 0..3u64 {
                for (h, i) in &ends {
                    if self.hosts[*h].iface(i).is_some_and(|x| x.up) {
                        self.captures
                            .entry((self.hosts[*h].name.clone(), i.clone()))
                            .or_default()
                            .push(Frame {
                                time_ns: self.now_ns + self.run_delay_ns + k * 1_000_000_000,
                                bytes: arp.clone(),
                            });
                    }
                }
            }
            return false;
        }
        let dst_mac = match peer {
            Some((h, i)) => self.hosts[*h].iface(i).map_or([0xff; 6], |x| x.mac),
            // 01:00:5e and the group's low 23 bits (`ip_eth_mc_map`).
            None if multicast => {
                let o = next_hop.octets();
                [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
            }
            None if outside && !broadcast => OUTSIDE_MAC,
            None => [0xff; 6],
        };
        let frame = Frame {
            time_ns: self.now_ns + self.run_delay_ns,
            bytes: ethernet(dst_mac, iface.mac, &pkt.data),
        };
        self.wire.push(WireEvent {
            host: self.hosts[hi].name.clone(),
            iface: dev.to_string(),
            packet: pkt.data.clone(),
        });
        self.captures
            .entry((self.hosts[hi].name.clone(), dev.to_string()))
            .or_default()
            .push(frame.clone());
        // The frame leaves the host: nothing of its netfilter state goes along.
        let on_wire = Packet {
            data: std::mem::take(&mut pkt.data),
            meta: crate::packet::Meta {
                src_mac: Some(iface.mac),
                dst_mac: Some(dst_mac),
                ..Default::default()
            },
        };
        // A broadcast or multicast frame reaches every other interface on
        // the link, and each of those hosts receives it.
        let receivers: Vec<(usize, String)> = match peer {
            Some(p) => vec![p.clone()],
            None if broadcast || multicast => self
                .links
                .get(link)
                .map(|l| l.ends.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|(h, i)| *h != hi && self.hosts[*h].iface(i).is_some_and(|x| x.up))
                .collect(),
            None => vec![],
        };
        for (h, i) in receivers {
            self.captures
                .entry((self.hosts[h].name.clone(), i.clone()))
                .or_default()
                .push(frame.clone());
            queue.push_back(Job::Receive {
                host: h,
                iface: i,
                pkt: on_wire.clone(),
            });
        }
        true
    }

    fn receive(
        &mut self,
        hi: usize,
        iface: &str,
        mut pkt: Packet,
        queue: &mut VecDeque<Job>,
    ) -> Report {
        let mut trace = self.new_trace(&pkt);
        let now = self.now_ns;
        pkt.meta.in_iface = Some(iface.to_string());
        // A unicast frame for another MAC (PACKET_OTHERHOST): ip_rcv drops
        // it before PREROUTING.
        let own_mac = self.hosts[hi].iface(iface).map(|i| i.mac);
        if let (Some(dst), Some(own)) = (pkt.meta.dst_mac, own_mac) {
            if dst[0] & 1 == 0 && dst != own {
                let name = self.hosts[hi].name.clone();
                if let Some(t) = trace.as_mut() {
                    t.events.push(Event::Dropped {
                        host: name.clone(),
                        reason: "the frame is for another MAC address".into(),
                    });
                }
                return self.finish(hi, trace, format!("ignored by {name}: not its MAC"));
            }
        }
        let mut ct = CtRef::default();
        let mut emitted = Vec::new();
        let host = &mut self.hosts[hi];
        let fate = run_hook(
            host,
            Hook::Prerouting,
            &mut pkt,
            &mut ct,
            now,
            &mut emitted,
            trace.as_mut(),
        );
        self.queue_emitted(hi, std::mem::take(&mut emitted), queue);
        let name = self.hosts[hi].name.clone();
        if fate != Fate::Accept {
            return self.finish(hi, trace, format!("dropped on {name} in PREROUTING"));
        }
        let Ok(hdr) = pkt.headers() else {
            return self.finish(hi, trace, "malformed packet".into());
        };
        let host = &self.hosts[hi];
        if let Some(why) = route::martian_of(&host.ifaces, hdr.src, hdr.dst, hdr.proto) {
            if let Some(t) = trace.as_mut() {
                t.events.push(Event::Dropped {
                    host: name.clone(),
                    reason: format!("{why} (routing refuses it)"),
                });
            }
            self.discard(hi, &ct);
            return self.finish(hi, trace, format!("dropped on {name}: {why}"));
        }
        if hdr.dst.is_multicast() && !route::is_member(&host.ifaces, iface, hdr.dst) {
            // A group this interface did not join: no multicast routing
            // here, so `ip_route_input` refuses it.
            if let Some(t) = trace.as_mut() {
                t.events.push(Event::Dropped {
                    host: name.clone(),
                    reason: format!("{iface} is not a member of group {}", hdr.dst),
                });
            }
            self.discard(hi, &ct);
            return self.finish(
                hi,
                trace,
                format!("dropped on {name}: not a member of {}", hdr.dst),
            );
        }
        let (decision, table) = if route::is_for_all(&host.ifaces, iface, hdr.dst) {
            (Decision::Local, rules::TABLE_LOCAL)
        } else {
            // Routing after PREROUTING: a mark set there steers the packet.
            let flow = Flow {
                dst: hdr.dst,
                src: hdr.src,
                mark: pkt.meta.mark,
                tos: hdr.tos,
                iif: iface,
                oif: None,
            };
            route::lookup_flow(&host.ifaces, &host.routes, &host.policy, &flow)
        };
        if let Some(t) = trace.as_mut() {
            t.events.push(Event::Routed {
                host: name.clone(),
                decision: match &decision {
                    Decision::Local => "local delivery (INPUT)".into(),
                    // A table other than main was chosen by a policy rule.
                    Decision::Out { dev, next_hop } if table != rules::TABLE_MAIN => {
                        let names = rules::TableNames::of(&host.files);
                        format!(
                            "forward via {next_hop} dev {dev} (table {})",
                            names.name(table)
                        )
                    }
                    Decision::Out { dev, next_hop } => format!("forward via {next_hop} dev {dev}"),
                    Decision::Unreachable => "no route".into(),
                },
            });
        }
        match decision {
            Decision::Local => {
                let host = &mut self.hosts[hi];
                let fate = run_hook(
                    host,
                    Hook::Input,
                    &mut pkt,
                    &mut ct,
                    now,
                    &mut emitted,
                    trace.as_mut(),
                );
                self.queue_emitted(hi, emitted, queue);
                if fate != Fate::Accept {
                    return self.finish(hi, trace, format!("dropped on {name} in INPUT"));
                }
                let outcome = self.deliver(hi, pkt, ct, trace.as_mut(), queue);
                self.finish(hi, trace, outcome)
            }
            Decision::Unreachable => {
                // No route: ip_error answers ENETUNREACH with net unreachable.
                if self.hosts[hi].forwarding() {
                    self.icmp_error(hi, &pkt, &ct, 3, 0, queue);
                }
                self.discard(hi, &ct);
                self.finish(hi, trace, format!("{name}: no route to host"))
            }
            Decision::Out { dev, next_hop } => {
                if !self.hosts[hi].forwarding() {
                    if let Some(t) = trace.as_mut() {
                        t.events.push(Event::Dropped {
                            host: name.clone(),
                            reason: "net.ipv4.ip_forward is 0".into(),
                        });
                    }
                    self.discard(hi, &ct);
                    return self.finish(hi, trace, format!("dropped on {name}: forwarding is off"));
                }
                // ip_forward only forwards frames sent to this host's MAC.
                if pkt.meta.dst_mac.is_some_and(|m| m[0] & 1 != 0) {
                    if let Some(t) = trace.as_mut() {
                        t.events.push(Event::Dropped {
                            host: name.clone(),
                            reason: "a link-layer broadcast or multicast is not forwarded".into(),
                        });
                    }
                    return self.finish(
                        hi,
                        trace,
                        format!("dropped on {name}: not forwarded (link-layer broadcast)"),
                    );
                }
                if hdr.ttl <= 1 {
                    self.icmp_error(hi, &pkt, &ct, 11, 0, queue);
                    self.discard(hi, &ct);
                    return self.finish(hi, trace, format!("dropped on {name}: TTL exceeded"));
                }
                pkt.set_ttl(hdr.ttl - 1);
                pkt.meta.out_iface = Some(dev.clone());
                let host = &mut self.hosts[hi];
                let fate = run_hook(
                    host,
                    Hook::Forward,
                    &mut pkt,
                    &mut ct,
                    now,
                    &mut emitted,
                    trace.as_mut(),
                );
                self.queue_emitted(hi, std::mem::take(&mut emitted), queue);
                if fate != Fate::Accept {
                    return self.finish(hi, trace, format!("dropped on {name} in FORWARD"));
                }
                let host = &mut self.hosts[hi];
                let fate = run_hook(
                    host,
                    Hook::Postrouting,
                    &mut pkt,
                    &mut ct,
                    now,
                    &mut emitted,
                    trace.as_mut(),
                );
                self.queue_emitted(hi, emitted, queue);
                if fate != Fate::Accept {
                    return self.finish(hi, trace, format!("dropped on {name} in POSTROUTING"));
                }
                if let Some(t) = trace.as_mut() {
                    t.events.push(Event::Sent {
                        host: name.clone(),
                        iface: dev.clone(),
                    });
                }
                let copy = pkt.clone();
                if !self.transmit(hi, &dev, next_hop, pkt, queue) {
                    return self.neighbour_failed(hi, &dev, next_hop, &copy, trace, queue);
                }
                self.finish(hi, trace, format!("forwarded by {name} out {dev}"))
            }
        }
    }

    /// An ICMP error from this host about `orig` (routing errors, TTL),
    /// carrying `orig`'s connection as `icmp_send` does (`nf_ct_attach`).
    fn icmp_error(
        &mut self,
        hi: usize,
        orig: &Packet,
        ct: &CtRef,
        icmp_type: u8,
        code: u8,
        queue: &mut VecDeque<Job>,
    ) {
        let host = &mut self.hosts[hi];
        let id = host.take_ip_id();
        // icmp_send: from the address routing picks towards the sender (not
        // the inbound interface's); none about an ICMP error or a broadcast.
        let Some(mut p) =
            super::reject::icmp_unreach(orig, icmp_type, code, &host.ifaces, &host.routes, id)
        else {
            return;
        };
        p.meta.nfct = super::reject::attach(&mut host.conntrack, ct.idx, ct.dir, true);
        queue.push_back(Job::LocalOut { host: hi, pkt: p });
    }

    /// The host's stack takes the packet: answers like Linux and records it for tools.
    fn deliver(
        &mut self,
        hi: usize,
        pkt: Packet,
        ct: CtRef,
        trace: Option<&mut Trace>,
        queue: &mut VecDeque<Job>,
    ) -> String {
        let name = self.hosts[hi].name.clone();
        let answer = stack::answer(&mut self.hosts[hi], &pkt);
        if let Some(t) = trace {
            t.events.push(Event::Delivered {
                host: name.clone(),
                to: answer.to.clone(),
            });
        }
        for mut p in answer.replies {
            // A protocol unreachable goes through `icmp_send` with the
            // packet's connection still on it, which attaches it as RELATED:
            // even the raw table sees that state. UDP drops the connection
            // (`nf_reset_ct`) before its port unreachable.
            let protocol_unreachable = p
                .headers()
                .is_ok_and(|h| h.icmp().is_some_and(|i| i.icmp_type == 3 && i.code == 2));
            if protocol_unreachable {
                let host = &mut self.hosts[hi];
                p.meta.nfct = super::reject::attach(&mut host.conntrack, ct.idx, ct.dir, true);
            }
            queue.push_back(Job::LocalOut { host: hi, pkt: p });
        }
        self.delivered.push(Delivery {
            host: hi,
            pkt,
            time_ns: self.now_ns + self.run_delay_ns,
        });
        format!("delivered to {name} ({})", answer.to)
    }
}

/// Building a world by hand (lab files use the same calls).
impl World {
    /// Adds a host with only `lo` and returns its index.
    pub fn add_host(&mut self, name: &str) -> usize {
        let mut h = Host::new(name);
        h.clock_ns = self.now_ns;
        self.hosts.push(h);
        self.hosts.len() - 1
    }

    /// Marks a link as an uplink to machines outside the lab (see [`Link::outside`]).
    pub fn set_outside(&mut self, link: &str) -> Result<(), String> {
        let l = self
            .links
            .iter_mut()
            .find(|l| l.name == link)
            .ok_or_else(|| format!("no link {link}"))?;
        l.outside = true;
        Ok(())
    }

    /// Adds an interface with an address (`10.0.0.1/24`) to a host and plugs it into link `link`
    /// (created when new). MACs are derived from host and interface order.
    pub fn plug(&mut self, host: usize, iface: &str, cidr: &str, link: &str) -> Result<(), String> {
        let (addr, prefix) = cidr
            .split_once('/')
            .ok_or_else(|| format!("{cidr}: want ADDRESS/PREFIX"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| format!("{addr}: bad address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{prefix}: bad prefix"))?;
        let li = match self.links.iter().position(|l| l.name == link) {
            Some(i) => i,
            None => {
                self.links.push(Link {
                    name: link.to_string(),
                    ends: vec![],
                    outside: false,
                });
                self.links.len() - 1
            }
        };
        let h = &mut self.hosts[host];
        if h.iface(iface).is_some() {
            return Err(format!("{}: interface {iface} exists", h.name));
        }
        let n = h.ifaces.len() as u8;
        h.ifaces.push(super::iface::Iface {
            name: iface.to_string(),
            mac: [0x02, 0x00, 0x00, host as u8 + 1, 0x00, n],
            addrs: vec![super::iface::IfAddr { addr, prefix }],
            up: true,
            link: Some(li),
            mtu: 1500,
        });
        self.links[li].ends.push((host, iface.to_string()));
        Ok(())
    }
}
