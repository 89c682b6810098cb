//! `-m connlimit`: limits how many connections one address (or network) may
//! have open at once, counted by connection tracking.

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext::bit;
use crate::ext_boilerplate;
use crate::sim::conntrack::{status, Conntrack, Entry, TcpState, Tuple};
use std::collections::HashMap;
use std::net::Ipv4Addr;

const O_UPTO: u8 = 0;
const O_ABOVE: u8 = 1;
const O_MASK: u8 = 2;
const O_SADDR: u8 = 3;
const O_DADDR: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "connlimit",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("connlimit-upto", O_UPTO)
            .inv()
            .excl(bit(O_ABOVE)),
        OptSpec::arg("connlimit-above", O_ABOVE)
            .inv()
            .excl(bit(O_UPTO)),
        OptSpec::arg("connlimit-mask", O_MASK),
        OptSpec::flag("connlimit-saddr", O_SADDR).excl(bit(O_DADDR)),
        OptSpec::flag("connlimit-daddr", O_DADDR).excl(bit(O_SADDR)),
    ],
    guided: true,
    help: concat!(
        "connlimit match options:\n",
        "  --connlimit-upto n     match while the group has at most n connections\n",
        "  --connlimit-above n    match once the group has more than n connections\n",
        "  --connlimit-mask n     prefix length that groups addresses (default: 32)\n",
        "  --connlimit-saddr      group connections by source address (default)\n",
        "  --connlimit-daddr      group connections by destination address\n",
    ),
    new_match: Some(|| Box::new(Connlimit::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connlimit {
    pub limit: u32,
    /// `--connlimit-upto` (match while at most `limit`); otherwise above.
    pub upto: bool,
    pub mask: u32,
    /// `--connlimit-mask` was given: libxt_connlimit then fills only the
    /// IPv4 part of the kernel's 16-byte mask, else all of it.
    pub mask_given: bool,
    /// Group by destination instead of source.
    pub daddr: bool,
    /// The connections this rule has counted (nf_conncount's lists, kept
    /// beside the rule): masked address, zone, original tuple.
    pub seen: Vec<(u32, u16, Tuple)>,
    /// Groups whose list a clean-up emptied: the kernel keeps their (empty)
    /// tree node, where a packet of an assured connection counts 0.
    pub emptied: Vec<(u32, u16)>,
    /// The count of the last packet (for the trace).
    pub last: usize,
}

impl Default for Connlimit {
    fn default() -> Self {
        Connlimit {
            limit: 0,
            upto: false,
            mask: u32::MAX,
            mask_given: false,
            daddr: false,
            seen: Vec::new(),
            emptied: Vec::new(),
            last: 0,
        }
    }
}

/// Evictions one look at a list may make (CONNCOUNT_GC_MAX_NODES).
const GC_MAX_NODES: usize = 8;

/// Confirmed connections by both their tuples (what `nf_conntrack_find_get`
/// can find).
fn confirmed(ct: &Conntrack) -> HashMap<Tuple, &Entry> {
    let mut m = HashMap::new();
    for e in ct.iter().filter(|e| e.has(status::CONFIRMED)) {
        m.insert(e.orig, e);
        m.insert(e.reply, e);
    }
    m
}

/// TCP connections on their way out no longer count.
fn closed(e: &Entry) -> bool {
    e.orig.proto == 6 && matches!(e.tcp, TcpState::TimeWait | TcpState::Close)
}

impl Connlimit {
    fn prefix(&self) -> u32 {
        32 - (!self.mask).checked_ilog2().map_or(0, |b| b + 1)
    }

    fn addr(&self, cx: &EvalCx) -> Ipv4Addr {
        if self.daddr {
            cx.hdr.dst
        } else {
            cx.hdr.src
        }
    }

    /// Counts the connections of the packet's group, adding the packet's
    /// own as `nf_conncount_count` does: walks the group's list, drops the
    /// connections that are gone or closing, stops at the packet's own.
    fn count(&mut self, cx: &EvalCx) -> Option<usize> {
        let live = confirmed(cx.conntrack);
        // The packet's connection: attached, or (raw table, before
        // conntrack; an INVALID packet) found by the packet's tuple
        // (`get_ct_or_tuple_from_skb`), which is then the tuple counted: a
        // reply's, when the packet is one.
        let (tuple, zone, assured) = match cx.ct_entry() {
            Some(e) => (
                e.orig,
                e.zone,
                e.has(status::CONFIRMED) && e.has(status::ASSURED),
            ),
            None => {
                let t = Tuple::of(cx.hdr)?;
                match live.get(&t) {
                    Some(e) => (t, e.zone, e.has(status::ASSURED)),
                    None => (t, 0, false),
                }
            }
        };
        let key = u32::from(self.addr(cx)) & self.mask;
        let listed = |seen: &[(u32, u16, Tuple)]| {
            seen.iter()
                .filter(|(k, z, _)| (*k, *z) == (key, zone))
                .count()
        };
        // A packet of an assured connection is not looked for nor added:
        // the list is only cleaned of connections gone or closing, and may
        // end up empty (linux 6.18 `__nf_conncount_add`, -EEXIST), so the
        // last ACK of a closed connection can be dropped. Measured with the
        // kernel fuzzer: a picked-up connection (never assured) is counted
        // the ordinary way to its end.
        if assured && listed(&self.seen) > 0 {
            self.seen.retain(|(k, z, t)| {
                (*k, *z) != (key, zone) || live.get(t).is_some_and(|e| !closed(e))
            });
            let n = listed(&self.seen);
            if n == 0 {
                self.emptied.push((key, zone));
            }
            return Some(n);
        }
        if assured && self.emptied.contains(&(key, zone)) {
            // The emptied node is still there: nothing added, 0 (hotdrop).
            return Some(0);
        }
        self.emptied.retain(|g| *g != (key, zone));
        let mut collected = 0;
        let mut known = false;
        let mut i = 0;
        while i < self.seen.len() {
            if collected > GC_MAX_NODES {
                break;
            }
            let (k, z, t) = self.seen[i];
            if (k, z) != (key, zone) {
                i += 1;
                continue;
            }
            match live.get(&t) {
                None => {
                    self.seen.remove(i);
                    collected += 1;
                }
                Some(_) if t == tuple => {
                    known = true;
                    break;
                }
                Some(e) if closed(e) => {
                    self.seen.remove(i);
                    collected += 1;
                }
                Some(_) => i += 1,
            }
        }
        if !known {
            self.seen.push((key, zone, tuple));
        }
        Some(
            self.seen
                .iter()
                .filter(|(k, z, _)| (*k, *z) == (key, zone))
                .count(),
        )
    }
}

impl Match for Connlimit {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_UPTO | O_ABOVE => {
                let opt = if id == O_UPTO {
                    "connlimit-upto"
                } else {
                    "connlimit-above"
                };
                self.limit = xtopt::uint("connlimit", opt, arg, 0, u32::MAX as u64)? as u32;
                self.upto = (id == O_UPTO) != inv;
            }
            O_MASK => {
                self.mask = xtopt::plenmask("connlimit", "connlimit-mask", arg)?;
                self.mask_given = true;
            }
            O_SADDR => self.daddr = false,
            O_DADDR => self.daddr = true,
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & (bit(O_UPTO) | bit(O_ABOVE)) == 0 {
            return Err(XtError::new(
                "You must specify \"--connlimit-above\" or \"--connlimit-upto\".",
            ));
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        // A packet without a tuple, or whose group counts no connection at
        // all, is dropped by the kernel (hotdrop).
        let n = self.count(cx).unwrap_or(0);
        self.last = n;
        if n == 0 {
            cx.hotdrop = true;
            return Some(false);
        }
        Some((n > self.limit as usize) != self.upto)
    }

    fn reset(&mut self) {
        self.seen.clear();
        self.emptied.clear();
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let net = Ipv4Addr::from(u32::from(self.addr(cx)) & self.mask);
        format!(
            "`{}` did not match: {net}/{} has {} connection{} counted by this rule",
            opt.trim_start(),
            self.prefix(),
            self.last,
            if self.last == 1 { "" } else { "s" }
        )
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --connlimit-{} {} --connlimit-mask {} --connlimit-{}",
            if self.upto { "upto" } else { "above" },
            self.limit,
            self.prefix(),
            if self.daddr { "daddr" } else { "saddr" }
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " #conn {}/{} {} {}",
            if self.daddr { "dst" } else { "src" },
            self.prefix(),
            if self.upto { "<=" } else { ">" },
            self.limit
        ));
    }

    fn explain(&self) -> String {
        format!(
            "Matches while the {} /{} network of the packet has {} {} open connection{} \
             (counting the connections this rule has seen, the packet's own included)",
            if self.daddr { "destination" } else { "source" },
            self.prefix(),
            if self.upto { "at most" } else { "more than" },
            self.limit,
            if self.limit == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, why};

    #[test]
    fn several_connections_per_source() {
        let mut w = lab::world();
        w.hosts[0].listeners.push(crate::sim::host::Listener {
            proto: 6,
            port: 80,
            addr: None,
            service: "http".into(),
        });
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m connlimit --connlimit-above 2 -j DROP",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m connlimit --connlimit-upto 1 --connlimit-mask 24 --connlimit-daddr",
        );
        let syn = |w: &mut crate::sim::world::World, src: &str, port| {
            inject(w, tcp(src, port, "10.0.0.1", 80, "S"))
        };
        let ok = |o: String| o.starts_with("delivered");
        // Two connections from .2 are fine, the third is over the limit.
        assert!(ok(syn(&mut w, "10.0.0.2", 1001)));
        assert!(ok(syn(&mut w, "10.0.0.2", 1002)));
        assert!(!ok(syn(&mut w, "10.0.0.2", 1003)));
        // Another source has its own count.
        assert!(ok(syn(&mut w, "10.0.0.3", 1001)));
        assert_eq!(
            why(&w, "INPUT", 2),
            "`--connlimit-upto 1 --connlimit-mask 24 --connlimit-daddr` did not match: \
             10.0.0.0/24 has 3 connections counted by this rule"
        );
        // The refused connection is gone: the next look forgets it, but
        // two live ones plus the new one is still too many.
        assert!(!ok(syn(&mut w, "10.0.0.2", 1004)));
        // Connections that are gone stop counting.
        w.hosts[0].conntrack.flush();
        assert!(ok(syn(&mut w, "10.0.0.2", 1005)));
        assert!(ok(syn(&mut w, "10.0.0.2", 1006)));
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--connlimit-above 2 --connlimit-mask 32 --connlimit-saddr` did not match: \
             10.0.0.2/32 has 2 connections counted by this rule"
        );
        assert!(!ok(syn(&mut w, "10.0.0.2", 1007)));
        // Grouped by destination network, at most one: the first SYN, and
        // the first after the flush.
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![3, 2]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn inversion_swaps_upto_and_above() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m connlimit ! --connlimit-upto 3 --connlimit-mask 255.255.255.0 --connlimit-daddr",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m connlimit --connlimit-above 3 --connlimit-mask 24 --connlimit-daddr\n"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(
            l.ends_with("0.0.0.0/0            #conn dst/24 > 3\n"),
            "{l}"
        );
    }

    #[test]
    fn own_check_comes_before_guided_ones() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m connlimit --connlimit-saddr --connlimit-daddr",
        );
        assert!(out.stderr.starts_with(
            "iptables v1.8.9 (nf_tables): You must specify \"--connlimit-above\" or \"--connlimit-upto\".\nTry"
        ));
        let out = run(
            &mut h,
            "iptables -A INPUT -m connlimit --connlimit-above 3 --connlimit-upto 4",
        );
        assert!(out.stderr.contains(
            "connlimit: option \"--connlimit-upto\" cannot be used together with \"--connlimit-above\".\n\n"
        ));
    }
}
