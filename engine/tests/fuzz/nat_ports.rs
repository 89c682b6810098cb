//! Source ports NAT picks at random: when a source manip must move a port
//! (its tuple is taken), the kernel adds a random offset
//! (`nf_nat_l4proto_unique_tuple`, `get_random_u16` for every source
//! manip), where the simulator picks another free port. Such a port is a
//! random value: each of the kernel's is renamed to the simulator's, one to
//! one for the whole group, and only when both sides moved the source port
//! of the same connection and the kernel's lies in the range the kernel
//! draws from. A rename belongs to the address NAT moved the port on: the
//! same number with another address (a service port) stays as it is.

use std::collections::HashMap;

/// A port on an address (as the observations print the address).
type AddrPort = (String, u16);

#[derive(Debug, Clone, Default)]
pub struct NatPorts {
    kernel_to_sim: HashMap<AddrPort, u16>,
    sim_to_kernel: HashMap<AddrPort, u16>,
    /// The source port ranges of the ruleset's SNAT and MASQUERADE rules.
    ranges: Vec<(u16, u16)>,
}

/// The ports the kernel draws a moved source port from when the rule gave
/// no range: below 512 from 1-511, below 1024 from 600-1023, else above 1023.
fn default_range(orig: u16) -> (u16, u16) {
    match orig {
        0..=511 => (1, 511),
        512..=1023 => (600, 1023),
        _ => (1024, 65535),
    }
}

fn within(p: u16, (lo, hi): (u16, u16)) -> bool {
    (lo..=hi).contains(&p)
}

/// A connection line of `observe::conntrack`: the original tuple (the
/// key), its source port, the reply tuple's destination address and port.
fn source_ports(line: &str) -> Option<(&str, u16, &str, u16)> {
    let (orig, reply) = line.split_once(" reply ")?;
    let port = |part: &str, key: &str| {
        part.split(' ')
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse::<u16>().ok())
    };
    let addr = reply.split(' ').find_map(|w| w.strip_prefix("dst="))?;
    Some((orig, port(orig, "sport=")?, addr, port(reply, "dport=")?))
}

/// `A` or `A-B` as a range.
fn range(text: &str) -> Option<(u16, u16)> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The addresses of a frame's `SRC>DST` word (`[` of a quoted packet
/// left out), if `w` is one.
fn addresses(w: &str) -> Option<(&str, &str)> {
    let (a, b) = w.trim_start_matches('[').split_once('>')?;
    (a.contains('.') && b.contains('.')).then_some((a, b))
}

/// Two frame lines that differ only in the source port of their TCP or
/// UDP header (`tcp SPORT>DPORT`): the source address and both source
/// ports.
fn source_port_pair(kernel: &str, sim: &str) -> Option<(String, u16, u16)> {
    let (kw, sw): (Vec<&str>, Vec<&str>) = (kernel.split(' ').collect(), sim.split(' ').collect());
    if kw.len() != sw.len() {
        return None;
    }
    let mut pair = None;
    let mut src = None;
    for (i, (k, s)) in kw.iter().zip(&sw).enumerate() {
        if let Some((a, _)) = addresses(k) {
            src = Some(a);
        }
        if k == s {
            continue;
        }
        let header = i > 0 && matches!(kw[i - 1], "tcp" | "udp");
        let (Some((ka, kb)), Some((sa, sb))) = (k.split_once('>'), s.split_once('>')) else {
            return None;
        };
        if !header || kb != sb || pair.is_some() {
            return None;
        }
        pair = Some((src?.to_string(), ka.parse().ok()?, sa.parse().ok()?));
    }
    pair
}

impl NatPorts {
    /// For a ruleset (`iptables-restore` text): the port ranges its source
    /// NAT rules give (`--to-source ADDR:PORTS`, MASQUERADE `--to-ports`).
    pub fn for_rules(restore: &str) -> NatPorts {
        let mut ranges = Vec::new();
        for line in restore.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            for pair in words.windows(2) {
                let ports = match pair[0] {
                    "--to-source" => pair[1].split_once(':').map(|(_, p)| p),
                    "--to-ports" if line.contains("-j MASQUERADE") => Some(pair[1]),
                    _ => None,
                };
                ranges.extend(ports.and_then(range));
            }
        }
        NatPorts {
            ranges,
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kernel_to_sim.is_empty()
    }

    /// The renames so far, `kernel>simulator`, sorted.
    pub fn words(&self) -> Vec<String> {
        let mut v: Vec<(&AddrPort, &u16)> = self.kernel_to_sim.iter().collect();
        v.sort();
        v.iter().map(|((a, k), s)| format!("{a}:{k}>{s}")).collect()
    }

    /// Learns renames from both sides' connections (lines of
    /// `observe::conntrack`, the kernel's with the renames so far applied).
    pub fn learn(&mut self, kernel: &[String], sim: &[String]) {
        let ours: HashMap<&str, (u16, &str, u16)> = sim
            .iter()
            .filter_map(|l| source_ports(l))
            .map(|(key, o, a, r)| (key, (o, a, r)))
            .collect();
        for (key, orig, addr, kport) in kernel.iter().filter_map(|l| source_ports(l)) {
            let Some(&(sorig, saddr, sport)) = ours.get(key) else {
                continue;
            };
            let both_moved = orig == sorig && addr == saddr && kport != orig && sport != sorig;
            if both_moved && kport != sport {
                self.add(addr, kport, sport, orig);
            }
        }
    }

    /// Learns renames from the frames of one injected packet whose source
    /// port was `sent`, for connections gone before they could be read (a
    /// SYN answered by a RST): a kernel and a simulator frame alike but for
    /// their source ports, both moved away from `sent`.
    pub fn learn_frames(&mut self, kernel: &[String], sim: &[String], sent: u16) {
        for k in kernel.iter().filter(|l| !sim.contains(l)) {
            for s in sim.iter().filter(|l| !kernel.contains(l)) {
                if let Some((addr, kport, sport)) = source_port_pair(k, s) {
                    if kport != sent && sport != sent {
                        self.add(&addr, kport, sport, sent);
                    }
                }
            }
        }
    }

    fn add(&mut self, addr: &str, kport: u16, sport: u16, orig: u16) {
        // The kernel's port lies in the default range or a rule's.
        let allowed =
            within(kport, default_range(orig)) || self.ranges.iter().any(|r| within(kport, *r));
        let (kkey, skey) = ((addr.to_string(), kport), (addr.to_string(), sport));
        let free = self.kernel_to_sim.get(&kkey).is_none_or(|s| *s == sport)
            && self.sim_to_kernel.get(&skey).is_none_or(|k| *k == kport);
        if allowed && free {
            self.kernel_to_sim.insert(kkey, sport);
            self.sim_to_kernel.insert(skey, kport);
        }
    }

    /// The simulator's name for the kernel's port `p` on `addr`.
    fn port(&self, addr: Option<&str>, p: &str) -> Option<String> {
        let n: u16 = p.parse().ok()?;
        self.kernel_to_sim
            .get(&(addr?.to_string(), n))
            .map(|s| s.to_string())
    }

    /// A kernel line with its renamed ports: `sport=`/`dport=` of
    /// connections, `SPT=`/`DPT=` of LOG lines, `SPORT>DPORT` of frames,
    /// each with the address before it (`src=`/`dst=`, `SRC=`/`DST=`, the
    /// frame's or quoted packet's `SRC>DST`).
    pub fn apply(&self, line: &str) -> String {
        if self.is_empty() {
            return line.to_string();
        }
        let (mut src, mut dst): (Option<&str>, Option<&str>) = (None, None);
        let mut words: Vec<String> = Vec::new();
        for w in line.split(' ') {
            if let Some((a, b)) = addresses(w) {
                (src, dst) = (Some(a), Some(b));
            }
            for (key, is_src) in [
                ("src=", true),
                ("SRC=", true),
                ("dst=", false),
                ("DST=", false),
            ] {
                if let Some(v) = w.trim_start_matches('[').strip_prefix(key) {
                    if is_src {
                        src = Some(v);
                    } else {
                        dst = Some(v);
                    }
                }
            }
            let mut renamed = None;
            for (key, addr) in [
                ("sport=", src),
                ("SPT=", src),
                ("dport=", dst),
                ("DPT=", dst),
            ] {
                if let Some(v) = w.strip_prefix(key) {
                    renamed = Some(match self.port(addr, v) {
                        Some(p) => format!("{key}{p}"),
                        None => w.to_string(),
                    });
                }
            }
            let renamed = renamed.unwrap_or_else(|| match w.split_once('>') {
                Some((a, b))
                    if !a.is_empty()
                        && !b.is_empty()
                        && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) =>
                {
                    let a = self.port(src, a).unwrap_or_else(|| a.to_string());
                    let b = self.port(dst, b).unwrap_or_else(|| b.to_string());
                    format!("{a}>{b}")
                }
                _ => w.to_string(),
            });
            words.push(renamed);
        }
        words.join(" ")
    }

    /// [`NatPorts::apply`] on every line, sorted again.
    pub fn apply_all(&self, lines: &[String]) -> Vec<String> {
        let mut v: Vec<String> = lines.iter().map(|l| self.apply(l)).collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(orig_sport: u16, reply_dport: u16) -> String {
        format!(
            "tcp ESTABLISHED orig src=10.2.0.2 dst=10.1.0.100 sport={orig_sport} dport=56236 reply src=10.2.0.2 dst=10.2.0.2 sport=81 dport={reply_dport} UNREPLIED mark=0 zone=0"
        )
    }

    #[test]
    fn a_port_both_sides_moved_is_renamed_one_to_one() {
        let mut n = NatPorts::default();
        n.learn(&[ct(81, 105)], &[ct(81, 24)]);
        assert_eq!(n.words(), vec!["10.2.0.2:105>24"]);
        assert_eq!(
            n.apply("r1> 10.2.0.2>10.2.0.2 ttl=63 tcp 105>81 A SPT=105 dport=105"),
            "r1> 10.2.0.2>10.2.0.2 ttl=63 tcp 24>81 A SPT=24 dport=24"
        );
        // Another kernel port for the same simulator port is not a rename.
        n.learn(&[ct(80, 106)], &[ct(80, 24)]);
        assert_eq!(n.words(), vec!["10.2.0.2:105>24"]);
    }

    #[test]
    fn a_rule_range_allows_its_ports() {
        let rules = "-A POSTROUTING -j SNAT --to-source 10.2.0.1:40000-40009\n\
                     -A POSTROUTING -o r1 -j MASQUERADE --to-ports 30000-30009\n";
        let mut n = NatPorts::for_rules(rules);
        n.learn(&[ct(81, 40007)], &[ct(81, 40000)]);
        n.learn(&[ct(82, 30003)], &[ct(82, 30000)]);
        n.learn(&[ct(83, 50000)], &[ct(83, 30001)]);
        assert_eq!(
            n.words(),
            vec!["10.2.0.2:30003>30000", "10.2.0.2:40007>40000"]
        );
    }

    #[test]
    fn frames_alike_but_for_a_moved_source_port_rename_it() {
        let mut n =
            NatPorts::for_rules("-A POSTROUTING -j SNAT --to-source 10.2.0.1:40000-40009\n");
        let k = "r1> 10.2.0.1>10.2.0.2 ttl=63 len=40 DF tcp 40002>22 S seq=1 ack=0".to_string();
        let s = "r1> 10.2.0.1>10.2.0.2 ttl=63 len=40 DF tcp 40003>22 S seq=1 ack=0".to_string();
        // Kept by the simulator: a real difference.
        let kept = "r1> 10.2.0.1>10.2.0.2 ttl=63 len=40 DF tcp 55003>22 S seq=1 ack=0".to_string();
        n.learn_frames(std::slice::from_ref(&k), &[kept], 55003);
        assert!(n.is_empty());
        // Another field differs too: not only the port.
        let ttl = s.replace("ttl=63", "ttl=64");
        n.learn_frames(std::slice::from_ref(&k), &[ttl], 55003);
        assert!(n.is_empty());
        n.learn_frames(&[k], &[s], 55003);
        assert_eq!(n.words(), vec!["10.2.0.1:40002>40003"]);
    }

    #[test]
    fn the_same_number_on_another_address_is_not_renamed() {
        let mut n = NatPorts::default();
        n.learn(&[ct(53, 25)], &[ct(53, 24)]);
        assert_eq!(n.words(), vec!["10.2.0.2:25>24"]);
        // A SYN to port 25 of another host keeps its port.
        let syn = "r1> 10.1.0.100>10.2.0.100 ttl=63 tcp 9067>25 S";
        assert_eq!(n.apply(syn), syn);
        let conn = "tcp SYN_SENT orig src=10.1.0.100 dst=10.2.0.100 sport=9067 dport=25 reply src=10.2.0.100 dst=10.1.0.100 sport=25 dport=9067";
        assert_eq!(n.apply(conn), conn);
        // The moved port itself is renamed, in a frame and in a LOG line.
        assert_eq!(
            n.apply("r0> 10.1.0.100>10.2.0.2 [10.2.0.2>10.1.0.100 udp 25>53 len=8]"),
            "r0> 10.1.0.100>10.2.0.2 [10.2.0.2>10.1.0.100 udp 24>53 len=8]"
        );
        assert_eq!(
            n.apply("SRC=10.2.0.2 DST=10.1.0.100 PROTO=UDP SPT=25 DPT=25"),
            "SRC=10.2.0.2 DST=10.1.0.100 PROTO=UDP SPT=24 DPT=25"
        );
    }

    #[test]
    fn unmoved_or_out_of_range_ports_stay_differences() {
        let mut n = NatPorts::default();
        // The simulator kept the port: a real difference.
        n.learn(&[ct(81, 105)], &[ct(81, 81)]);
        // The kernel's port outside the range it draws from.
        n.learn(&[ct(81, 700)], &[ct(81, 24)]);
        assert!(n.is_empty());
    }
}
