//! The kernel as an oracle: a real client–router–server topology in network
//! namespaces (veth links, fixed MACs, permanent neighbours), rules loaded
//! with the real `iptables-nft-restore`, frames injected with AF_PACKET on
//! the veth peers and every transmission captured.
#![allow(dead_code)]

pub mod mirror;

use std::ffi::CString;
use std::process::Command;
use std::time::{Duration, Instant};

pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 1, 0, 0x02];
pub const R0_MAC: [u8; 6] = [0x02, 0, 0, 1, 0, 0x01];
pub const R1_MAC: [u8; 6] = [0x02, 0, 0, 2, 0, 0x01];
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 2, 0, 0x02];
/// A source address no namespace owns: the client's kernel never answers for it.
pub const PHANTOM: &str = "10.1.0.100";
pub const PHANTOM_MAC: [u8; 6] = [0x02, 0, 0, 1, 0, 0x64];

/// Where a captured frame was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    /// Sent by the router out of r0 (towards the client side).
    RouterToClient,
    /// Sent by the router out of r1 (towards the server).
    RouterToServer,
    /// Sent by the server.
    ServerToRouter,
}

pub struct Topology {
    pub tag: String,
    inject: i32,
    captures: Vec<(Seen, i32)>,
}

fn sh(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "`{cmd}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Opens an AF_PACKET socket bound to `iface` inside namespace `ns`.
fn packet_socket(ns: &str, iface: &str, ignore_outgoing: bool) -> Result<i32, String> {
    let ns = ns.to_string();
    let iface = iface.to_string();
    std::thread::spawn(move || -> Result<i32, String> {
        unsafe {
            let path = CString::new(format!("/var/run/netns/{ns}")).unwrap();
            let nsfd = libc::open(path.as_ptr(), libc::O_RDONLY);
            if nsfd < 0 {
                return Err(format!("open netns {ns}"));
            }
            if libc::setns(nsfd, libc::CLONE_NEWNET) != 0 {
                libc::close(nsfd);
                return Err("setns failed".into());
            }
            libc::close(nsfd);
            let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, proto);
            if fd < 0 {
                return Err("socket(AF_PACKET) failed".into());
            }
            let name = CString::new(iface.clone()).unwrap();
            let idx = libc::if_nametoindex(name.as_ptr());
            if idx == 0 {
                return Err(format!("no interface {iface}"));
            }
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
            sll.sll_ifindex = idx as i32;
            if libc::bind(
                fd,
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            ) != 0
            {
                return Err("bind(AF_PACKET) failed".into());
            }
            if ignore_outgoing {
                let one: i32 = 1;
                // PACKET_IGNORE_OUTGOING
                libc::setsockopt(
                    fd,
                    libc::SOL_PACKET,
                    23,
                    &one as *const _ as *const libc::c_void,
                    4,
                );
            }
            Ok(fd)
        }
    })
    .join()
    .map_err(|_| "socket thread panicked".to_string())?
}

impl Topology {
    /// Builds the three namespaces. `tag` keeps parallel runs apart.
    pub fn new(tag: &str) -> Result<Topology, String> {
        let (c, r, s) = (format!("{tag}-c"), format!("{tag}-r"), format!("{tag}-s"));
        for ns in [&c, &r, &s] {
            let _ = sh(&format!("ip netns del {ns} 2>/dev/null"));
            sh(&format!("ip netns add {ns}"))?;
        }
        let script = format!(
            "set -e
ip link add c0 netns {c} type veth peer name r0 netns {r}
ip link add r1 netns {r} type veth peer name s0 netns {s}
ip -n {c} link set c0 address {cm}
ip -n {r} link set r0 address {r0m}
ip -n {r} link set r1 address {r1m}
ip -n {s} link set s0 address {sm}
for ns in {c} {r} {s}; do
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.icmp_ratemask=0 net.ipv4.tcp_synack_retries=0
  ip -n $ns link set lo up
done
ip -n {c} addr add 10.1.0.2/24 dev c0
ip -n {r} addr add 10.1.0.1/24 dev r0
ip -n {r} addr add 10.2.0.1/24 dev r1
ip -n {s} addr add 10.2.0.2/24 dev s0
ip -n {c} link set c0 up
ip -n {r} link set r0 up
ip -n {r} link set r1 up
ip -n {s} link set s0 up
ip netns exec {r} sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.r0.rp_filter=0 net.ipv4.conf.r1.rp_filter=0
ip -n {c} route add default via 10.1.0.1
ip -n {s} route add default via 10.2.0.1
ip -n {r} neigh replace 10.1.0.2 lladdr {cm} dev r0 nud permanent
ip -n {r} neigh replace {ph} lladdr {phm} dev r0 nud permanent
ip -n {r} neigh replace 10.2.0.2 lladdr {sm} dev r1 nud permanent
ip -n {s} neigh replace 10.2.0.1 lladdr {r1m} dev s0 nud permanent
ip -n {c} neigh replace 10.1.0.1 lladdr {r0m} dev c0 nud permanent
for pair in {c}:c0 {r}:r0 {r}:r1 {s}:s0; do
  ip netns exec ${{pair%%:*}} ethtool -K ${{pair#*:}} tx off >/dev/null 2>&1 || true
done
",
            c = c,
            r = r,
            s = s,
            cm = mac(&CLIENT_MAC),
            r0m = mac(&R0_MAC),
            r1m = mac(&R1_MAC),
            sm = mac(&SERVER_MAC),
            ph = PHANTOM,
            phm = mac(&PHANTOM_MAC),
        );
        // Dropping `topo` on an error path removes the namespaces again.
        let mut topo = Topology {
            tag: tag.to_string(),
            inject: -1,
            captures: Vec::new(),
        };
        sh(&script)?;
        topo.inject = packet_socket(&c, "c0", true)?;
        topo.captures = vec![
            (Seen::RouterToClient, packet_socket(&c, "c0", true)?),
            (Seen::RouterToServer, packet_socket(&s, "s0", true)?),
            (Seen::ServerToRouter, packet_socket(&r, "r1", true)?),
        ];
        Ok(topo)
    }

    pub fn router(&self) -> String {
        format!("{}-r", self.tag)
    }

    pub fn server(&self) -> String {
        format!("{}-s", self.tag)
    }

    /// Loads a ruleset into the router with the real iptables-nft-restore.
    pub fn load_router_rules(&self, restore: &str) -> Result<(), String> {
        let path = std::env::temp_dir().join(format!("{}-rules", self.tag));
        std::fs::write(&path, restore).map_err(|e| e.to_string())?;
        sh(&format!(
            "ip netns exec {} iptables-nft-restore < {}",
            self.router(),
            path.display()
        ))?;
        Ok(())
    }

    /// Runs a shell command in a namespace.
    pub fn exec(&self, ns: &str, cmd: &str) -> Result<String, String> {
        sh(&format!("ip netns exec {ns} sh -c '{cmd}'"))
    }

    /// Sends a frame from the client side into the router's r0 and returns
    /// every frame captured afterwards (in capture order per point).
    pub fn inject(&self, ip_packet: &[u8]) -> Vec<(Seen, Vec<u8>)> {
        self.inject_frame(R0_MAC, PHANTOM_MAC, ip_packet)
    }

    /// Like [`Topology::inject`] with the frame's destination and source MACs given.
    pub fn inject_frame(
        &self,
        dst: [u8; 6],
        src: [u8; 6],
        ip_packet: &[u8],
    ) -> Vec<(Seen, Vec<u8>)> {
        self.drain();
        let mut frame = Vec::with_capacity(14 + ip_packet.len());
        frame.extend_from_slice(&dst);
        frame.extend_from_slice(&src);
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(ip_packet);
        unsafe {
            libc::send(
                self.inject,
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
            );
        }
        std::thread::sleep(Duration::from_millis(2));
        self.drain()
    }

    /// Reads everything queued on the capture sockets (IPv4 only, without the Ethernet header).
    pub fn drain(&self) -> Vec<(Seen, Vec<u8>)> {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(50);
        for (seen, fd) in &self.captures {
            let mut buf = [0u8; 2048];
            loop {
                let n =
                    unsafe { libc::recv(*fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
                if n <= 0 || Instant::now() > deadline {
                    break;
                }
                let n = n as usize;
                if n > 14 && buf[12] == 0x08 && buf[13] == 0x00 {
                    out.push((*seen, buf[14..n].to_vec()));
                }
            }
        }
        out
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for (_, fd) in &self.captures {
            unsafe { libc::close(*fd) };
        }
        if self.inject >= 0 {
            unsafe { libc::close(self.inject) };
        }
        for part in ["c", "r", "s"] {
            let _ = sh(&format!("ip netns del {}-{part} 2>/dev/null", self.tag));
        }
    }
}
