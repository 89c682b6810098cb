//! `-j DNAT`: rewrite the destination address (and port) of a new connection
//! (nat table, PREROUTING and OUTPUT). Also holds the address/port range
//! parser that SNAT, MASQUERADE and REDIRECT share.

use super::{CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::ruleset::check::hooks_outside;
use crate::ruleset::Hook;
use crate::sim::eval::Manip;
use crate::sim::nat;
use std::net::Ipv4Addr;

const O_TO_DEST: u8 = 0;
const O_RANDOM: u8 = 3;
const O_PERSISTENT: u8 = 5;

pub static INFO: ExtInfo = ExtInfo {
    name: "DNAT",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("to-destination", O_TO_DEST).mand(),
        OptSpec::flag("random", O_RANDOM),
        OptSpec::flag("persistent", O_PERSISTENT),
    ],
    guided: true,
    help: "DNAT target options:\n \
--to-destination [<ipaddr>[-<ipaddr>]][:port[-port[/port]]]\n\
\t\t\t\tNew destination address (range) and port (range).\n\
[--random] [--persistent]\n",
    new_match: None,
    new_target: Some(|| Box::new(Dnat::default())),
};

/// An address and port range as the NAT targets keep it (`nf_nat_range2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatRange {
    /// Addresses given (`NF_NAT_RANGE_MAP_IPS`).
    pub map_ips: bool,
    pub min_ip: Option<Ipv4Addr>,
    pub max_ip: Option<Ipv4Addr>,
    /// Ports given (`NF_NAT_RANGE_PROTO_SPECIFIED`).
    pub ports: bool,
    pub min_port: u16,
    pub max_port: u16,
    /// Shifted port map `/base` (`NF_NAT_RANGE_PROTO_OFFSET`).
    pub offset: bool,
    pub base_port: u16,
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
}

/// Whether ports may be given for the rule's `-p` (TCP, UDP, SCTP, DCCP, ICMP).
pub fn ports_allowed(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132 | 33 | 1)
}

/// `xtables_strtoui` with an end pointer: a number at the start of `s`
/// (leading blanks, `+`, base 0) within `min..=max`, and the rest.
fn leading_uint(s: &str, min: u64, max: u64) -> Option<(u16, &str)> {
    let (v, rest) = super::xtopt::strtoul(s, min, max)?;
    Some((v as u16, rest))
}

/// `getservbyname(name, NULL)`: a service of any protocol.
fn service_any(name: &str) -> Option<u16> {
    ["tcp", "udp", "sctp", "dccp"]
        .iter()
        .find_map(|p| crate::netdb::service_port(name, p))
}

fn bad_port(s: &str) -> XtError {
    XtError::new(format!("Port `{s}' not valid"))
}

impl NatRange {
    /// `port[-port[/port]]` after `--to-ports` or the `:` of `--to-destination`.
    pub fn parse_ports(&mut self, arg: &str, portok: bool) -> XtResult {
        if !portok {
            return Err(XtError::new(
                "Need TCP, UDP, SCTP or DCCP with port specification",
            ));
        }
        self.ports = true;
        let (port, end) = match leading_uint(arg, 0, 65535) {
            Some(v) => v,
            None => (service_any(arg).ok_or_else(|| bad_port(arg))?, ""),
        };
        let arg = match end.as_bytes().first() {
            None => {
                self.min_port = port;
                self.max_port = port;
                return Ok(());
            }
            Some(b'-') => &end[1..],
            Some(b':') => return Err(XtError::new("Invalid port:port syntax - use dash")),
            Some(_) => return Err(XtError::new(format!("Garbage after port value: `{end}'"))),
        };
        let (maxport, end) = leading_uint(arg, 0, 65535).ok_or_else(|| bad_port(arg))?;
        if maxport < port {
            return Err(XtError::new(format!("Port range `{arg}' funky")));
        }
        self.min_port = port;
        self.max_port = maxport;
        let arg = match end.as_bytes().first() {
            None => return Ok(()),
            Some(b'/') => &end[1..],
            Some(_) => return Err(XtError::new(format!("Garbage after port range: `{end}'"))),
        };
        let base = match leading_uint(arg, 1, 65535) {
            Some((b, _)) => b,
            None => service_any(arg).ok_or_else(|| bad_port(arg))?,
        };
        self.offset = true;
        self.base_port = base;
        Ok(())
    }

    /// `[ipaddr[-ipaddr]][:port[-port[/port]]]` of `--to-destination` / `--to-source`.
    pub fn parse_to(&mut self, arg: &str, portok: bool) -> XtResult {
        // The characters looked for are ASCII: bytes will do.
        let b = arg.as_bytes();
        if b.contains(&b'[') {
            return Err(XtError::new("Invalid address format"));
        }
        let mut colon = b.iter().position(|c| *c == b':');
        if let Some(c) = colon {
            if b[c + 1..].contains(&b':') {
                colon = None;
            }
        }
        let mut addrs = arg;
        if let Some(c) = colon {
            self.parse_ports(&arg[c + 1..], portok)?;
            // Nothing before the colon (or, as iptables checks, two characters).
            if c == 0 || c == 2 {
                return Ok(());
            }
            addrs = &arg[..c];
        }
        self.map_ips = true;
        let (lo, hi) = match addrs.bytes().position(|c| c == b'-') {
            Some(i) => (&addrs[..i], Some(&addrs[i + 1..])),
            None => (addrs, None),
        };
        let bad = |s: &str| XtError::new(format!("Bad IP address \"{s}\""));
        let min = inet_pton(lo).ok_or_else(|| bad(lo))?;
        let max = match hi {
            Some(h) => inet_pton(h).ok_or_else(|| bad(h))?,
            None => min,
        };
        self.min_ip = Some(min);
        self.max_ip = Some(max);
        Ok(())
    }

    /// The range text (`1.1.1.1-1.1.1.9:80-90/100`), empty when nothing was given.
    pub fn text(&self) -> String {
        let mut s = String::new();
        if self.map_ips {
            if let (Some(lo), Some(hi)) = (self.min_ip, self.max_ip) {
                s.push_str(&lo.to_string());
                if hi != lo {
                    s.push('-');
                    s.push_str(&hi.to_string());
                }
            }
        }
        if self.ports {
            s.push_str(&format!(":{}", self.min_port));
            if self.max_port != self.min_port {
                s.push_str(&format!("-{}", self.max_port));
            }
            if self.offset {
                s.push_str(&format!("/{}", self.base_port));
            }
        }
        s
    }

    /// Save or `-L` text: ` OPT RANGE` and the flags with `flag_prefix` (`--` or nothing).
    pub fn write(&self, out: &mut String, rangeopt: &str, flag_prefix: &str, skip_colon: bool) {
        let text = self.text();
        if !text.is_empty() {
            let t = if skip_colon {
                text.strip_prefix(':').unwrap_or(&text)
            } else {
                &text
            };
            out.push(' ');
            out.push_str(rangeopt);
            out.push_str(t);
        }
        if self.random {
            out.push_str(&format!(" {flag_prefix}random"));
        }
        if self.random_fully {
            out.push_str(&format!(" {flag_prefix}random-fully"));
        }
        if self.persistent {
            out.push_str(&format!(" {flag_prefix}persistent"));
        }
    }

    /// Plain-English description of the ports part.
    pub fn ports_text(&self) -> Option<String> {
        if !self.ports {
            return None;
        }
        Some(if self.min_port == self.max_port {
            format!("port {}", self.min_port)
        } else {
            format!("a port in {}-{}", self.min_port, self.max_port)
        })
    }

    /// Plain-English description of the address part.
    pub fn addrs_text(&self) -> Option<String> {
        match (self.map_ips, self.min_ip, self.max_ip) {
            (true, Some(lo), Some(hi)) if lo == hi => Some(lo.to_string()),
            (true, Some(lo), Some(hi)) => Some(format!("an address in {lo}-{hi}")),
            _ => None,
        }
    }

    /// Plain-English flags (`, choosing ports at random`).
    pub fn flags_text(&self) -> String {
        let mut s = String::new();
        if self.random {
            s.push_str(", picking source ports at random");
        }
        if self.random_fully {
            s.push_str(", picking ports fully at random");
        }
        if self.persistent {
            s.push_str(", keeping the same address for a client");
        }
        s
    }
}

impl NatRange {
    /// The range as `sim::nat::setup` takes it (`nf_nat_range2`); `addr`
    /// replaces the addresses for targets that pick their own (MASQUERADE,
    /// REDIRECT).
    pub fn to_sim(&self, addr: Option<Ipv4Addr>) -> crate::sim::eval::NatRange {
        let (map_ips, min_addr, max_addr) = match addr {
            Some(a) => (true, a, a),
            None => {
                let lo = self.min_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
                (self.map_ips, lo, self.max_ip.unwrap_or(lo))
            }
        };
        crate::sim::eval::NatRange {
            min_addr,
            max_addr,
            map_ips,
            proto_specified: self.ports,
            min_port: self.min_port,
            max_port: self.max_port,
            random: self.random,
            random_fully: self.random_fully,
            persistent: self.persistent,
            offset: self.offset,
            base_port: self.base_port,
        }
    }
}

/// `inet_pton(AF_INET)`: exactly four decimal parts 0-255 without leading zeros.
pub fn inet_pton(s: &str) -> Option<Ipv4Addr> {
    crate::iptables::addr::plain_dotted_quad(s)
}

/// Table and hook restriction shared by the NAT targets.
pub fn nat_check(cx: &CheckCx, hooks: &[Hook]) -> Result<(), KernelError> {
    if cx.table != "nat" || hooks_outside(cx.hooks, hooks) {
        return Err(KernelError::Invalid);
    }
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dnat {
    pub range: NatRange,
}

impl Target for Dnat {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, cx: &mut ParseCx) -> XtResult {
        match id {
            O_TO_DEST => self
                .range
                .parse_to(arg.unwrap_or_default(), ports_allowed(cx.proto))?,
            O_RANDOM => self.range.random = true,
            O_PERSISTENT => self.range.persistent = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        nat_check(cx, &[Hook::Prerouting, Hook::Output])
    }

    fn save(&self, out: &mut String) {
        self.range.write(out, "--to-destination ", "--", false);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.range.write(out, "to:", "", false);
    }

    /// `xt_dnat_target`: binds the new connection's destination
    /// (`nf_nat_setup_info`); conntrack rewrites its packets both ways.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(nat::setup(cx, Manip::Dst, self.range.to_sim(None)))
    }

    fn keeps_bytes(&self) -> bool {
        true
    }

    fn explain(&self) -> String {
        let mut s = "Forwards".to_string();
        match self.range.addrs_text() {
            Some(a) if a.starts_with("an address in ") => s.push_str(&format!(
                " to a new destination in {}",
                &a["an address in ".len()..]
            )),
            Some(a) => s.push_str(&format!(" to new destination {a}")),
            None => {}
        }
        if let Some(p) = self.range.ports_text() {
            s.push_str(&format!(
                "{} {p}",
                match (
                    self.range.map_ips,
                    self.range.min_port == self.range.max_port
                ) {
                    (true, true) => "",
                    (true, false) => ",",
                    (false, _) => " to",
                }
            ));
            if self.range.offset {
                s.push_str(&format!(
                    " (shifted so that port {} maps to the start of the range)",
                    self.range.base_port
                ));
            }
        }
        s.push_str(&self.range.flags_text());
        s.push_str(
            " (DNAT: the connection's destination is rewritten, replies are translated back)",
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    /// `inet_pton` takes what the standard library's strict dotted quad
    /// takes (four parts of 0-255, no leading zero, nothing else).
    #[test]
    fn inet_pton_like_the_strict_parser() {
        for s in [
            "1.2.3.4",
            "255.255.255.255",
            "0.0.0.0",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1..2.3",
            "1.2.3.4 ",
            " 1.2.3.4",
            "+1.2.3.4",
            "1.2.3.0x1",
            "",
            "1.2.3.",
            "1.2.3.1000",
            "0.0.0.00",
            "1.2.3.-4",
        ] {
            assert_eq!(inet_pton(s), s.parse::<Ipv4Addr>().ok(), "{s:?}");
        }
        crate::bytescan::random_texts(b"0129.5.1.", |b| {
            let s = std::str::from_utf8(b).expect("ASCII");
            assert_eq!(inet_pton(s), s.parse::<Ipv4Addr>().ok(), "{s:?}");
        });
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    fn err(s: &str, portok: bool) -> String {
        let mut r = NatRange::default();
        r.parse_to(s, portok).unwrap_err().msg
    }

    #[test]
    fn range_parser_errors() {
        assert_eq!(
            err("1.1.1.1:5", false),
            "Need TCP, UDP, SCTP or DCCP with port specification"
        );
        assert_eq!(err("1.1.1.1:5:6", true), "Bad IP address \"1.1.1.1:5:6\"");
        assert_eq!(err("1.1.1.1:5x", true), "Garbage after port value: `x'");
        assert_eq!(err("1.1.1.1:6-5/7", true), "Port range `5/7' funky");
        assert_eq!(err("1.1.1.1:5:", true), "Bad IP address \"1.1.1.1:5:\"");
        assert_eq!(err("1.1.1.1:1-2/0", true), "Port `0' not valid");
        assert_eq!(err("1.1.1.01", true), "Bad IP address \"1.1.1.01\"");
        assert_eq!(err("1.1.1.1:echo-ssh", true), "Port `echo-ssh' not valid");
        let mut r = NatRange::default();
        r.parse_to("12:5", true).unwrap();
        assert_eq!(r.text(), ":5");
        let mut r = NatRange::default();
        r.parse_to("1.1.1.1:10-20/ftp", true).unwrap();
        assert_eq!(r.text(), "1.1.1.1:10-20/21");
    }

    #[test]
    fn hooks_and_listing() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.1.1.1:ssh --random").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t nat -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -p tcp -j DNAT --to-destination 1.1.1.1:22 --random\n"
        );
        assert!(run(&mut h, "iptables -t nat -L PREROUTING")
            .stdout
            .contains("anywhere             to:1.1.1.1:22 random\n"));
        let o = run(
            &mut h,
            "iptables -t nat -A INPUT -j DNAT --to-destination 1.1.1.1",
        );
        assert_eq!(o.exit, 4);
        // A user chain is checked with the hooks that reach it.
        assert_eq!(run(&mut h, "iptables -t nat -N U").exit, 0);
        assert_eq!(
            run(
                &mut h,
                "iptables -t nat -A U -j DNAT --to-destination 1.1.1.1"
            )
            .exit,
            0
        );
        let o = run(&mut h, "iptables -t nat -A POSTROUTING -j U");
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain POSTROUTING\n"
        );
        assert_eq!(run(&mut h, "iptables -t nat -A OUTPUT -j U").exit, 0);
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j DNAT --to-destination 1.1.1.1").exit,
            4
        );
    }

    use crate::ext::targets_testkit::{ip, ping, tcp, udp, Lab};

    #[test]
    fn port_forward_with_replies_un_natted() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t nat -A PREROUTING -d 10.0.1.1 -p tcp -j DNAT --to-destination 10.0.0.2:80
             iptables -t nat -A PREROUTING -d 10.0.1.1 -p udp -j DNAT --to-destination 10.0.0.2
             iptables -t nat -A PREROUTING -d 10.0.1.1 -p icmp -j DNAT --to-destination 10.0.0.2",
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.1.1", 4000, 8080, "S"));
        let at_server = lab.got(lab.server);
        assert_eq!(at_server[0].dst, ip("10.0.0.2"));
        assert_eq!(at_server[0].ports(), Some((4000, 80)));
        // The SYN-ACK reaches the client as if from 10.0.1.1:8080.
        let back = lab.got(lab.client);
        assert_eq!(back[0].src, ip("10.0.1.1"));
        assert_eq!(back[0].ports(), Some((8080, 4000)));
        assert_eq!(back[0].tcp().unwrap().flags, 0x12);
        // The server's ICMP error is translated too, the quoted packet as well.
        lab.send(lab.client, udp("10.0.1.2", "10.0.1.1", 4001, 53));
        let back = lab.got(lab.client);
        assert_eq!(back[0].src, ip("10.0.1.1"));
        let inner = back[0].icmp().unwrap().inner.clone().unwrap();
        assert_eq!((inner.src, inner.dst), (ip("10.0.1.2"), ip("10.0.1.1")));
        assert_eq!(inner.ports(), Some((4001, 53)));
        // Pings too (the echo id is NAT's port for ICMP).
        lab.send(lab.client, ping("10.0.1.2", "10.0.1.1", 77));
        let back = lab.got(lab.client);
        assert_eq!(back[0].src, ip("10.0.1.1"));
        assert_eq!(back[0].icmp().unwrap().id(), 77);
        assert_eq!(lab.count(r, "nat", "-p tcp -j DNAT"), 1);
    }

    #[test]
    fn ranges_and_port_maps() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t nat -A PREROUTING -d 10.9.0.0/16 -p tcp -j DNAT --to-destination 10.0.0.2:1000-1010
             iptables -t nat -A PREROUTING -d 10.8.0.0/16 -p tcp -j DNAT --to-destination 10.0.0.2:1000-1999/500
             iptables -t nat -A PREROUTING -d 10.7.0.0/16 -p tcp -j DNAT --to-destination 10.0.0.20-10.0.0.200",
        );
        let port = |lab: &Lab| lab.got(lab.server)[0].ports().unwrap().1;
        // In range and free: kept. Out of range: the first free port.
        lab.send(lab.client, tcp("10.0.1.2", "10.9.0.1", 4000, 1005, "S"));
        assert_eq!(port(&lab), 1005);
        lab.send(lab.client, tcp("10.0.1.2", "10.9.0.1", 4001, 80, "S"));
        assert_eq!(port(&lab), 1000);
        // The same again from the same client port: the first mapping holds.
        lab.send(lab.client, tcp("10.0.1.2", "10.9.0.1", 4002, 80, "S"));
        assert_eq!(port(&lab), 1000);
        // Shifted: 600 - 500 = 100 into 1000-1999.
        lab.send(lab.client, tcp("10.0.1.2", "10.8.0.1", 4003, 600, "S"));
        assert_eq!(port(&lab), 1100);
        // An address range: the kernel's hash of source and destination.
        lab.send(lab.client, tcp("10.0.1.2", "10.7.0.1", 4004, 80, "S"));
        let sent = lab.sent(r);
        let to = sent.iter().find(|(i, _)| i == "eth1").unwrap().1.dst;
        assert!(to >= ip("10.0.0.20") && to <= ip("10.0.0.200"));
        lab.send(lab.client, tcp("10.0.1.2", "10.7.0.1", 4005, 80, "S"));
        assert_eq!(
            lab.sent(r).iter().find(|(i, _)| i == "eth1").unwrap().1.dst,
            to
        );
    }
}
