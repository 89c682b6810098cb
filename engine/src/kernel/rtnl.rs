//! rtnetlink, as much as a lab needs: links (veth pairs across namespaces,
//! bridges), link settings (up, MAC, MTU, master), IPv4 addresses and
//! routes (in any table), policy routing rules, and dumps of all of those; plus named network namespaces made
//! and removed the way `ip netns` does (a bind mount under /run/netns).

use super::nla::{self, Attrs};
use super::{Error, KernelRefusal, Result};
use netlink_packet_core::{NetlinkBuffer, NLMSG_DONE, NLMSG_ERROR};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWRULE: u16 = 32;
const RTM_DELRULE: u16 = 33;
const RTM_GETRULE: u16 = 34;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_TABLE: u16 = 15;
const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FR_ACT_TO_TBL: u8 = 1;
const FIB_RULE_INVERT: u32 = 2;

const IFF_UP: u32 = 1;
const AF_INET: u8 = 2;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RTPROT_STATIC: u8 = 4;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;
const ARPHRD_ETHER: u16 = 1;

/// `struct ifinfomsg`.
fn ifinfo(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut v = vec![0u8; 16];
    v[4..8].copy_from_slice(&index.to_ne_bytes());
    v[8..12].copy_from_slice(&flags.to_ne_bytes());
    v[12..16].copy_from_slice(&change.to_ne_bytes());
    v
}

fn ne32(a: &mut Attrs, kind: u16, v: u32) {
    a.bytes(kind, &v.to_ne_bytes());
}

/// An rtnetlink socket (in the namespace it was opened in).
pub struct RtSock {
    sock: Socket,
    seq: u32,
}

fn io(what: &str, e: std::io::Error) -> Error {
    if e.raw_os_error() == Some(libc::EPERM) {
        Error::Permission
    } else {
        Error::Io(what.into(), e)
    }
}

impl RtSock {
    pub fn open() -> Result<RtSock> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| io("rtnetlink socket", e))?;
        sock.bind_auto().map_err(|e| io("rtnetlink bind", e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| io("rtnetlink connect", e))?;
        let _ = sock.set_ext_ack(true);
        Ok(RtSock { sock, seq: 1 })
    }

    /// A socket inside the namespace `/run/netns/NAME`.
    pub fn open_in(netns: Option<&str>) -> Result<RtSock> {
        match netns {
            None => RtSock::open(),
            Some(n) => in_netns(n, RtSock::open),
        }
    }

    /// Sends one message (header `payload` + attributes) and returns the
    /// answers' payloads (all parts of a dump), or the kernel's refusal.
    fn request(
        &mut self,
        kind: u16,
        flags: u16,
        payload: &[u8],
        what: &str,
    ) -> Result<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let len = 16 + payload.len();
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&(len as u32).to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(payload);
        self.sock.send(&b, 0).map_err(|e| io("rtnetlink send", e))?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        let mut buf = Vec::with_capacity(1 << 16);
        loop {
            buf.clear();
            self.sock
                .recv(&mut buf, 0)
                .map_err(|e| io("rtnetlink receive", e))?;
            let mut off = 0;
            while off + 16 <= buf.len() {
                let nl = NetlinkBuffer::new_checked(&buf[off..])
                    .map_err(|e| Error::Decode(e.to_string()))?;
                let mlen = nl.length() as usize;
                if nl.sequence_number() == seq {
                    match nl.message_type() {
                        NLMSG_DONE => return Ok(out),
                        NLMSG_ERROR => {
                            let p = nl.payload();
                            let code = p
                                .get(..4)
                                .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                                .unwrap_or(-libc::EIO);
                            if code == 0 {
                                return Ok(out);
                            }
                            if -code == libc::EPERM {
                                return Err(Error::Permission);
                            }
                            return Err(Error::Kernel(KernelRefusal {
                                errno: -code,
                                msg: None,
                                what: what.to_string(),
                            }));
                        }
                        _ => {
                            out.push(nl.payload().to_vec());
                            if !dump {
                                return Ok(out);
                            }
                        }
                    }
                }
                if mlen == 0 {
                    break;
                }
                off += (mlen + 3) & !3;
            }
        }
    }

    fn create(&mut self, kind: u16, payload: Vec<u8>, what: &str) -> Result<()> {
        self.request(kind, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &payload, what)
            .map(|_| ())
    }

    /// A veth pair: `a` in namespace `ns_a`, its peer `b` in `ns_b`.
    pub fn add_veth(&mut self, a: &str, ns_a: &OwnedFd, b: &str, ns_b: &OwnedFd) -> Result<()> {
        let mut p = ifinfo(0, 0, 0);
        let mut at = Attrs::new();
        at.str(IFLA_IFNAME, a);
        ne32(&mut at, IFLA_NET_NS_FD, ns_a.as_raw_fd() as u32);
        at.nested(IFLA_LINKINFO, |li| {
            li.str(IFLA_INFO_KIND, "veth");
            li.nested(IFLA_INFO_DATA, |d| {
                let mut peer = ifinfo(0, 0, 0);
                let mut pa = Attrs::new();
                pa.str(IFLA_IFNAME, b);
                ne32(&mut pa, IFLA_NET_NS_FD, ns_b.as_raw_fd() as u32);
                peer.extend_from_slice(&pa.buf);
                d.bytes(VETH_INFO_PEER, &peer);
            });
        });
        p.extend_from_slice(&at.buf);
        self.create(RTM_NEWLINK, p, &format!("veth {a} <-> {b}"))
    }

    /// A bridge named `name` (in this socket's namespace).
    pub fn add_bridge(&mut self, name: &str) -> Result<()> {
        let mut p = ifinfo(0, 0, 0);
        let mut at = Attrs::new();
        at.str(IFLA_IFNAME, name);
        at.nested(IFLA_LINKINFO, |li| {
            li.str(IFLA_INFO_KIND, "bridge");
        });
        p.extend_from_slice(&at.buf);
        self.create(RTM_NEWLINK, p, &format!("bridge {name}"))
    }

    /// Changes a link: up or down, MAC, MTU, bridge it is a port of.
    pub fn set_link(
        &mut self,
        name: &str,
        up: bool,
        mac: Option<[u8; 6]>,
        mtu: Option<u32>,
        master: Option<i32>,
    ) -> Result<()> {
        let index = self.index(name)?;
        let mut p = ifinfo(index, if up { IFF_UP } else { 0 }, IFF_UP);
        let mut at = Attrs::new();
        if let Some(m) = mac {
            at.bytes(IFLA_ADDRESS, &m);
        }
        if let Some(m) = mtu {
            ne32(&mut at, IFLA_MTU, m);
        }
        if let Some(m) = master {
            ne32(&mut at, IFLA_MASTER, m as u32);
        }
        p.extend_from_slice(&at.buf);
        self.request(RTM_NEWLINK, NLM_F_ACK, &p, &format!("link {name}"))
            .map(|_| ())
    }

    /// An IPv4 address with its prefix on a link.
    pub fn add_addr(&mut self, name: &str, addr: Ipv4Addr, prefix: u8) -> Result<()> {
        let index = self.index(name)?;
        let mut p = vec![AF_INET, prefix, 0, RT_SCOPE_UNIVERSE];
        p.extend_from_slice(&(index as u32).to_ne_bytes());
        let mut at = Attrs::new();
        at.bytes(IFA_LOCAL, &addr.octets())
            .bytes(IFA_ADDRESS, &addr.octets());
        p.extend_from_slice(&at.buf);
        self.create(
            RTM_NEWADDR,
            p,
            &format!("address {addr}/{prefix} on {name}"),
        )
    }

    /// A route in the main table: to `dst/prefix`, through `via` and/or `dev`.
    pub fn add_route(
        &mut self,
        dst: Ipv4Addr,
        prefix: u8,
        via: Option<Ipv4Addr>,
        dev: Option<&str>,
    ) -> Result<()> {
        self.add_route_in(RT_TABLE_MAIN as u32, dst, prefix, via, dev)
    }

    /// A policy routing rule (`ip rule add`): the same message iproute2
    /// sends; `delete` removes the rule with these fields instead.
    pub fn rule(&mut self, r: &crate::sim::rules::Rule, delete: bool) -> Result<()> {
        let len = |p: Option<(Ipv4Addr, u8)>| p.map_or(0, |(_, l)| l);
        let table = r.table;
        let mut p = vec![
            AF_INET,
            len(r.to),
            len(r.from),
            r.tos,
            if table < 256 { table as u8 } else { 0 },
            0,
            0,
            FR_ACT_TO_TBL,
        ];
        let flags = if r.invert { FIB_RULE_INVERT } else { 0 };
        p.extend_from_slice(&flags.to_ne_bytes());
        let mut at = Attrs::new();
        ne32(&mut at, FRA_PRIORITY, r.pref);
        ne32(&mut at, FRA_TABLE, table);
        if let Some((a, _)) = r.to {
            at.bytes(FRA_DST, &a.octets());
        }
        if let Some((a, _)) = r.from {
            at.bytes(FRA_SRC, &a.octets());
        }
        if r.mark != 0 || r.mask != 0 {
            ne32(&mut at, FRA_FWMARK, r.mark);
            ne32(&mut at, FRA_FWMASK, r.mask);
        }
        if let Some(i) = &r.iif {
            at.str(FRA_IIFNAME, i);
        }
        if let Some(o) = &r.oif {
            at.str(FRA_OIFNAME, o);
        }
        p.extend_from_slice(&at.buf);
        let what = format!("rule {}", r.args());
        if delete {
            self.request(RTM_DELRULE, NLM_F_ACK, &p, &what).map(|_| ())
        } else {
            self.create(RTM_NEWRULE, p, &what)
        }
    }

    /// A route in table `table` (`ip route add ... table N`).
    pub fn add_route_in(
        &mut self,
        table: u32,
        dst: Ipv4Addr,
        prefix: u8,
        via: Option<Ipv4Addr>,
        dev: Option<&str>,
    ) -> Result<()> {
        let scope = if via.is_some() {
            RT_SCOPE_UNIVERSE
        } else {
            RT_SCOPE_LINK
        };
        let mut p = vec![
            AF_INET,
            prefix,
            0,
            0,
            if table < 256 { table as u8 } else { 0 },
            RTPROT_BOOT,
            scope,
            RTN_UNICAST,
        ];
        p.extend_from_slice(&0u32.to_ne_bytes());
        let mut at = Attrs::new();
        if table != RT_TABLE_MAIN as u32 {
            ne32(&mut at, RTA_TABLE, table);
        }
        if prefix > 0 {
            at.bytes(RTA_DST, &dst.octets());
        }
        if let Some(g) = via {
            at.bytes(RTA_GATEWAY, &g.octets());
        }
        if let Some(d) = dev {
            let i = self.index(d)?;
            ne32(&mut at, RTA_OIF, i as u32);
        }
        p.extend_from_slice(&at.buf);
        self.create(RTM_NEWROUTE, p, &format!("route to {dst}/{prefix}"))
    }

    /// The links: (index, name, MAC, MTU, up, bridge index, type).
    pub fn links(&mut self) -> Result<Vec<LinkInfo>> {
        let mut p = ifinfo(0, 0, 0);
        p[0] = 0;
        let answers = self.request(RTM_GETLINK, NLM_F_DUMP, &p, "link dump")?;
        let mut out = Vec::new();
        for a in answers {
            if a.len() < 16 {
                continue;
            }
            let index = i32::from_ne_bytes([a[4], a[5], a[6], a[7]]);
            let kind = u16::from_ne_bytes([a[2], a[3]]);
            let flags = u32::from_ne_bytes([a[8], a[9], a[10], a[11]]);
            let attrs = nla::parse(&a[16..])?;
            let name = nla::find(&attrs, IFLA_IFNAME)
                .map(|x| x.str())
                .unwrap_or_default();
            let mac = nla::find(&attrs, IFLA_ADDRESS)
                .filter(|x| x.value.len() == 6 && kind == ARPHRD_ETHER)
                .map(|x| {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(x.value);
                    m
                });
            let mtu = nla::find(&attrs, IFLA_MTU)
                .and_then(|x| Some(u32::from_ne_bytes(x.value.get(..4)?.try_into().ok()?)));
            let master = nla::find(&attrs, IFLA_MASTER)
                .and_then(|x| Some(i32::from_ne_bytes(x.value.get(..4)?.try_into().ok()?)));
            let info_kind = match nla::find(&attrs, IFLA_LINKINFO) {
                Some(li) => nla::find(&li.nested()?, IFLA_INFO_KIND).map(|k| k.str()),
                None => None,
            };
            out.push(LinkInfo {
                index,
                name,
                mac,
                mtu,
                up: flags & IFF_UP != 0,
                master,
                kind: info_kind,
            });
        }
        Ok(out)
    }

    fn index(&mut self, name: &str) -> Result<i32> {
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| Error::Refused(format!("no interface {name}")))
    }

    /// IPv4 addresses: (link index, address, prefix).
    pub fn addrs(&mut self) -> Result<Vec<(i32, Ipv4Addr, u8)>> {
        let p = vec![AF_INET, 0, 0, 0, 0, 0, 0, 0];
        let answers = self.request(RTM_GETADDR, NLM_F_DUMP, &p, "address dump")?;
        let mut out = Vec::new();
        for a in answers {
            if a.len() < 8 || a[0] != AF_INET {
                continue;
            }
            let index = u32::from_ne_bytes([a[4], a[5], a[6], a[7]]) as i32;
            let attrs = nla::parse(&a[8..])?;
            let v = nla::find(&attrs, IFA_LOCAL).or_else(|| nla::find(&attrs, IFA_ADDRESS));
            if let Some(v) = v.filter(|v| v.value.len() == 4) {
                out.push((
                    index,
                    Ipv4Addr::new(v.value[0], v.value[1], v.value[2], v.value[3]),
                    a[1],
                ));
            }
        }
        Ok(out)
    }

    /// The policy rules that look up a table, in the kernel's order; the
    /// count of the others (unreachable, goto ...), which a lab cannot hold.
    pub fn rules(&mut self) -> Result<(Vec<crate::sim::rules::Rule>, usize)> {
        let p = vec![AF_INET, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let answers = self.request(RTM_GETRULE, NLM_F_DUMP, &p, "rule dump")?;
        let mut out = Vec::new();
        let mut others = 0;
        for a in answers {
            if a.len() < 12 || a[0] != AF_INET {
                continue;
            }
            let (dst_len, src_len, tos, table, action) = (a[1], a[2], a[3], a[4], a[7]);
            let flags = u32::from_ne_bytes([a[8], a[9], a[10], a[11]]);
            let attrs = nla::parse(&a[12..])?;
            let u32_of = |k: u16| {
                nla::find(&attrs, k)
                    .and_then(|x| Some(u32::from_ne_bytes(x.value.get(..4)?.try_into().ok()?)))
            };
            let ip = |k: u16| {
                nla::find(&attrs, k)
                    .filter(|v| v.value.len() == 4)
                    .map(|v| Ipv4Addr::new(v.value[0], v.value[1], v.value[2], v.value[3]))
            };
            let name = |k: u16| {
                nla::find(&attrs, k).map(|v| {
                    String::from_utf8_lossy(v.value)
                        .trim_end_matches('\0')
                        .to_string()
                })
            };
            if action != FR_ACT_TO_TBL {
                others += 1;
                continue;
            }
            let prefix =
                |k: u16, len: u8| (len > 0).then(|| (ip(k).unwrap_or(Ipv4Addr::UNSPECIFIED), len));
            let mut r = crate::sim::rules::Rule::lookup(
                u32_of(FRA_PRIORITY).unwrap_or(0),
                u32_of(FRA_TABLE).unwrap_or(table as u32),
            );
            r.invert = flags & FIB_RULE_INVERT != 0;
            r.from = prefix(FRA_SRC, src_len);
            r.to = prefix(FRA_DST, dst_len);
            r.tos = tos;
            r.mark = u32_of(FRA_FWMARK).unwrap_or(0);
            r.mask = u32_of(FRA_FWMASK).unwrap_or(0);
            r.iif = name(FRA_IIFNAME);
            r.oif = name(FRA_OIFNAME);
            out.push(r);
        }
        Ok((out, others))
    }

    /// Routes of the main table a user made (not the ones addresses
    /// bring): (destination, prefix, gateway, link index).
    pub fn routes(&mut self) -> Result<Vec<RouteInfo>> {
        Ok(self
            .routes_in_tables()?
            .into_iter()
            .filter(|(t, _)| *t == RT_TABLE_MAIN as u32)
            .map(|(_, r)| r)
            .collect())
    }

    /// The unicast routes a user made in every table, with their table
    /// (the local table's own entries and the addresses' routes left out).
    pub fn routes_in_tables(&mut self) -> Result<Vec<(u32, RouteInfo)>> {
        let p = vec![AF_INET, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let answers = self.request(RTM_GETROUTE, NLM_F_DUMP, &p, "route dump")?;
        let mut out = Vec::new();
        for a in answers {
            if a.len() < 12 || a[0] != AF_INET {
                continue;
            }
            let (dst_len, table, proto, kind) = (a[1], a[4], a[5], a[7]);
            let attrs = nla::parse(&a[12..])?;
            let table = nla::find(&attrs, RTA_TABLE)
                .and_then(|x| Some(u32::from_ne_bytes(x.value.get(..4)?.try_into().ok()?)))
                .unwrap_or(table as u32);
            // The kernel's own routes (proto kernel) come with the addresses.
            if kind != RTN_UNICAST
                || !(proto == RTPROT_BOOT || proto == RTPROT_STATIC || proto > RTPROT_STATIC)
            {
                continue;
            }
            let ip = |k: u16| {
                nla::find(&attrs, k)
                    .filter(|v| v.value.len() == 4)
                    .map(|v| Ipv4Addr::new(v.value[0], v.value[1], v.value[2], v.value[3]))
            };
            let oif = nla::find(&attrs, RTA_OIF)
                .and_then(|x| Some(u32::from_ne_bytes(x.value.get(..4)?.try_into().ok()?) as i32));
            out.push((
                table,
                (
                    ip(RTA_DST).unwrap_or(Ipv4Addr::UNSPECIFIED),
                    dst_len,
                    ip(RTA_GATEWAY),
                    oif,
                ),
            ));
        }
        Ok(out)
    }
}

/// A route of a dump: destination, prefix, gateway, output link index.
pub type RouteInfo = (Ipv4Addr, u8, Option<Ipv4Addr>, Option<i32>);

/// One link of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: i32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    pub up: bool,
    pub master: Option<i32>,
    /// `veth`, `bridge`, ... (none for physical and loopback links).
    pub kind: Option<String>,
}

/// Runs `f` on a thread inside `/run/netns/NAME`.
pub fn in_netns<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let file = std::fs::File::open(format!("/run/netns/{name}"))
        .map_err(|e| Error::Netns(name.to_string(), e))?;
    let owned = name.to_string();
    std::thread::spawn(move || -> Result<T> {
        // SAFETY: setns on a valid namespace fd affects only this thread.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(Error::Netns(owned, std::io::Error::last_os_error()));
        }
        f()
    })
    .join()
    .map_err(|_| Error::Netns(name.to_string(), std::io::Error::other("thread failed")))?
}

const NETNS_DIR: &str = "/run/netns";

/// An open handle on the namespace `/run/netns/NAME`.
pub fn netns_fd(name: &str) -> Result<OwnedFd> {
    std::fs::File::open(format!("{NETNS_DIR}/{name}"))
        .map(OwnedFd::from)
        .map_err(|e| Error::Netns(name.to_string(), e))
}

/// Makes the named namespace `/run/netns/NAME`, as `ip netns add` does:
/// a thread unshares its network namespace and the namespace is bind
/// mounted on the name.
pub fn netns_add(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Error::Netns(
            name.into(),
            std::io::Error::from_raw_os_error(libc::EINVAL),
        ));
    }
    std::fs::create_dir_all(NETNS_DIR).map_err(|e| Error::Io(NETNS_DIR.into(), e))?;
    let path = format!("{NETNS_DIR}/{name}");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::Netns(name.into(), e))?;
    let p = path.clone();
    let r = std::thread::spawn(move || -> std::io::Result<()> {
        // SAFETY: unshare affects only this thread (CLONE_NEWNET).
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        let src = std::ffi::CString::new(format!("/proc/self/task/{tid}/ns/net"))?;
        let dst = std::ffi::CString::new(p)?;
        // SAFETY: a bind mount of two valid NUL-terminated paths.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    })
    .join()
    .map_err(|_| Error::Netns(name.into(), std::io::Error::other("thread failed")))?;
    if let Err(e) = r {
        let _ = std::fs::remove_file(&path);
        return Err(Error::Netns(name.into(), e));
    }
    Ok(())
}

/// Removes the named namespace (its links go with it once unused).
pub fn netns_del(name: &str) -> Result<()> {
    let path = format!("{NETNS_DIR}/{name}");
    let c =
        std::ffi::CString::new(path.clone()).map_err(|e| Error::Netns(name.into(), e.into()))?;
    // SAFETY: umount2 of a valid NUL-terminated path.
    unsafe {
        libc::umount2(c.as_ptr(), libc::MNT_DETACH);
    }
    std::fs::remove_file(&path).map_err(|e| Error::Netns(name.into(), e))
}

/// Writes a sysctl (`net.ipv4.ip_forward` = `1`) inside the namespace.
pub fn set_sysctl(netns: &str, key: &str, value: &str) -> Result<()> {
    if key.contains("..") || key.starts_with('/') {
        return Err(Error::Refused(format!("bad sysctl name {key}")));
    }
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let v = value.to_string();
    in_netns(netns, move || {
        std::fs::write(&path, format!("{v}\n")).map_err(|e| Error::Io(path.clone(), e))
    })
}

/// Reads a sysctl inside the namespace (here when `None`).
pub fn get_sysctl(netns: Option<&str>, key: &str) -> Result<String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let read = move || {
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::Io(path.clone(), e))
    };
    match netns {
        None => read(),
        Some(n) => in_netns(n, read),
    }
}
