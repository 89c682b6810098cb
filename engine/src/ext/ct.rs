//! `-j CT`: set up connection tracking for a packet before it is tracked
//! (raw table): skip tracking, attach a helper or timeout policy, choose the
//! events reported, or put the connection in a zone.

use super::{CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_NOTRACK: u8 = 0;
const O_HELPER: u8 = 1;
const O_TIMEOUT: u8 = 2;
const O_CTEVENTS: u8 = 3;
const O_EXPEVENTS: u8 = 4;
const O_ZONE: u8 = 5;
const O_ZONE_ORIG: u8 = 6;
const O_ZONE_REPLY: u8 = 7;

pub static INFO: ExtInfo = ExtInfo {
    name: "CT",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::flag("notrack", O_NOTRACK),
        OptSpec::arg("helper", O_HELPER),
        OptSpec::arg("timeout", O_TIMEOUT),
        OptSpec::arg("ctevents", O_CTEVENTS),
        OptSpec::arg("expevents", O_EXPEVENTS),
        OptSpec::arg("zone-orig", O_ZONE_ORIG),
        OptSpec::arg("zone-reply", O_ZONE_REPLY),
        OptSpec::arg("zone", O_ZONE),
    ],
    guided: true,
    help: "CT target options:\n \
--notrack\t\t\tDo not track the connection\n \
--helper name\t\t\tAttach conntrack helper 'name' to the connection\n \
--timeout name \t\tUse timeout policy 'name' for the connection\n \
--ctevents event[,event...]\tReport only these conntrack events\n \
--expevents event[,event...]\tReport only these expectation events\n \
--zone {ID|mark}\t\tPut the connection in zone ID (or the packet mark)\n \
--zone-orig {ID|mark}\t\tLike --zone, for the original direction only\n \
--zone-reply {ID|mark} \tLike --zone, for the reply direction only\n",
    new_match: None,
    new_target: Some(|| Box::new(Ct::default())),
};

/// Conntrack event names by bit (`IPCT_*`), in iptables' print order.
const CT_EVENTS: [(&str, u8); 10] = [
    ("new", 0),
    ("related", 1),
    ("destroy", 2),
    ("reply", 3),
    ("assured", 4),
    ("protoinfo", 5),
    ("helper", 6),
    ("mark", 7),
    ("natseqinfo", 8),
    ("secmark", 9),
];
const EXP_EVENTS: [(&str, u8); 1] = [("new", 0)];

const ZONE_MARK: u8 = 1;
const ZONE_DIR_ORIG: u8 = 2;
const ZONE_DIR_REPL: u8 = 4;

/// Conntrack helpers the kernel has, with the protocol each serves.
const HELPERS: [(&str, u8); 14] = [
    ("ftp", 6),
    ("irc", 6),
    ("sip", 6),
    ("sip", 17),
    ("pptp", 6),
    ("sane", 6),
    ("Q.931", 6),
    ("H.245", 17),
    ("amanda", 17),
    ("tftp", 17),
    ("snmp", 17),
    ("snmp_trap", 17),
    ("netbios-ns", 17),
    ("RAS", 17),
];

/// Whether the packet already has its conntrack (`skb->_nfct`): a
/// connection (looped back, or a reply attached to one), untracked, or a
/// template from an earlier CT rule.
pub fn has_conntrack(cx: &EvalCx) -> bool {
    cx.ct.is_some()
        || cx.ct_state == crate::sim::conntrack::CtState::Untracked
        || cx.pkt.meta.untracked
        || cx.pkt.meta.tee_clone
        || cx.pkt.meta.ct_template.is_some()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ct {
    pub notrack: bool,
    pub helper: String,
    pub timeout: String,
    pub ct_events: u32,
    pub exp_events: u32,
    pub zone: u16,
    pub zone_flags: u8,
}

fn parse_events(table: &[(&str, u8)], arg: &str) -> XtResult<u32> {
    let mut mask = 0;
    for t in arg.split(',') {
        let (_, b) = table
            .iter()
            .find(|(n, _)| *n == t)
            .ok_or_else(|| XtError::new(format!("Unknown event type \"{t}\"")))?;
        mask |= 1 << b;
    }
    Ok(mask)
}

fn events_text(table: &[(&str, u8)], mask: u32) -> String {
    table
        .iter()
        .filter(|(_, b)| mask & (1 << b) != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

impl Ct {
    /// Save and `-L` text (`dashes` is `--` or nothing).
    fn write(&self, out: &mut String, dashes: &str) {
        if self.notrack {
            out.push_str(&format!(" {dashes}notrack"));
        }
        if !self.helper.is_empty() {
            out.push_str(&format!(" {dashes}helper {}", self.helper));
        }
        if !self.timeout.is_empty() {
            out.push_str(&format!(" {dashes}timeout {}", self.timeout));
        }
        if self.ct_events != 0 {
            out.push_str(&format!(
                " {dashes}ctevents {}",
                events_text(&CT_EVENTS, self.ct_events)
            ));
        }
        if self.exp_events != 0 {
            out.push_str(&format!(
                " {dashes}expevents {}",
                events_text(&EXP_EVENTS, self.exp_events)
            ));
        }
        if self.zone_flags & ZONE_MARK != 0 || self.zone != 0 {
            out.push_str(&format!(" {dashes}zone"));
            match self.zone_flags & (ZONE_DIR_ORIG | ZONE_DIR_REPL) {
                ZONE_DIR_ORIG => out.push_str("-orig"),
                ZONE_DIR_REPL => out.push_str("-reply"),
                _ => {}
            }
            if self.zone_flags & ZONE_MARK != 0 {
                out.push_str(" mark");
            } else {
                out.push_str(&format!(" {}", self.zone));
            }
        }
    }
}

impl Target for Ct {
    fn needs_conntrack(&self) -> bool {
        !self.notrack
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_NOTRACK => self.notrack = true,
            O_HELPER => self.helper = super::log::truncate_bytes(arg, 15),
            O_TIMEOUT => self.timeout = super::log::truncate_bytes(arg, 31),
            O_CTEVENTS => self.ct_events = parse_events(&CT_EVENTS, arg)?,
            O_EXPEVENTS => self.exp_events = parse_events(&EXP_EVENTS, arg)?,
            O_ZONE | O_ZONE_ORIG | O_ZONE_REPLY => {
                if id == O_ZONE_ORIG {
                    self.zone_flags |= ZONE_DIR_ORIG;
                }
                if id == O_ZONE_REPLY {
                    self.zone_flags |= ZONE_DIR_REPL;
                }
                self.zone = 0;
                if arg.eq_ignore_ascii_case("mark") {
                    self.zone_flags |= ZONE_MARK;
                } else {
                    self.zone = super::xtopt::strtoul_all(arg, 0, 65535)
                        .ok_or_else(|| XtError::new(format!("Cannot parse {arg} as a zone ID")))?
                        as u16;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "raw" {
            return Err(KernelError::Invalid);
        }
        if self.notrack {
            return Ok(());
        }
        let proto = if cx.proto_invert { 0 } else { cx.proto };
        if !self.helper.is_empty() && !HELPERS.contains(&(self.helper.as_str(), proto)) {
            return Err(KernelError::NoEntry);
        }
        if !self.timeout.is_empty() {
            // A timeout policy needs a protocol; none are defined (nfct timeout add).
            return Err(if proto == 0 {
                KernelError::Invalid
            } else {
                KernelError::NoEntry
            });
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" CT");
        self.write(out, "");
    }

    /// `xt_ct_target`: a packet that has its conntrack already (looped
    /// back, or an earlier CT rule) is left alone; `--notrack` makes it
    /// UNTRACKED, else the template's zone is used when conntrack looks it
    /// up (`--zone mark`: the packet mark's low 16 bits). Helpers, timeout
    /// policies and event masks change nothing the simulator shows. A
    /// zone for one direction only (`--zone-orig`, `--zone-reply`) is used
    /// for both.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        if has_conntrack(cx) {
            return Some(TargetVerdict::Continue);
        }
        if self.notrack {
            cx.pkt.meta.untracked = true;
        } else {
            let zone = if self.zone_flags & ZONE_MARK != 0 {
                cx.pkt.meta.mark as u16
            } else {
                self.zone
            };
            cx.pkt.meta.ct_template = Some(zone);
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        if self.notrack {
            return "do not track this packet's connection (it stays UNTRACKED)".to_string();
        }
        let mut parts = Vec::new();
        if !self.helper.is_empty() {
            parts.push(format!("attach the {} helper", self.helper));
        }
        if !self.timeout.is_empty() {
            parts.push(format!("use the timeout policy {}", self.timeout));
        }
        if self.ct_events != 0 {
            parts.push(format!(
                "report only the events {}",
                events_text(&CT_EVENTS, self.ct_events)
            ));
        }
        if self.zone_flags & ZONE_MARK != 0 {
            parts.push("put the connection in the zone given by the packet mark".to_string());
        } else if self.zone != 0 {
            parts.push(format!("put the connection in zone {}", self.zone));
        }
        if parts.is_empty() {
            return "track the connection with default settings".to_string();
        }
        format!("for the new connection: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn saves_and_lists() {
        let mut h = Host::new("h");
        for o in [
            "-j CT --notrack",
            "-j CT --ctevents mark,new,natseqinfo",
            "-j CT --zone-orig 5 --zone-reply 6",
            "-j CT --zone-reply mark",
            "-p tcp -j CT --helper ftp",
            "-j CT --zone 0",
        ] {
            assert_eq!(
                run(&mut h, &format!("iptables -t raw -A OUTPUT {o}")).exit,
                0,
                "{o}"
            );
        }
        assert_eq!(
            run(&mut h, "iptables -t raw -S OUTPUT").stdout,
            "-P OUTPUT ACCEPT\n\
-A OUTPUT -j CT --notrack\n\
-A OUTPUT -j CT --ctevents new,mark,natseqinfo\n\
-A OUTPUT -j CT --zone 6\n\
-A OUTPUT -j CT --zone-reply mark\n\
-A OUTPUT -p tcp -j CT --helper ftp\n\
-A OUTPUT -j CT\n"
        );
        assert!(run(&mut h, "iptables -t raw -L OUTPUT")
            .stdout
            .contains("CT helper ftp\n"));
    }

    #[test]
    fn kernel_refusals() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A OUTPUT -j CT --notrack").exit, 4);
        let o = run(&mut h, "iptables -t raw -A OUTPUT -j CT --helper ftp");
        assert!(o.stderr.contains("(No such file or directory)"));
        assert_eq!(
            run(
                &mut h,
                "iptables -t raw -A OUTPUT -p udp -j CT --helper ftp"
            )
            .exit,
            4
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -t raw -A OUTPUT -j CT --notrack --helper ftp"
            )
            .exit,
            0
        );
        let o = run(&mut h, "iptables -t raw -A OUTPUT -j CT --zone 65536");
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): Cannot parse 65536 as a zone ID\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
    }

    use crate::ext::targets_testkit::{ip, ping, tcp, udp, Lab};

    #[test]
    fn notrack_leaves_the_packet_untracked_and_un_natted() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t raw -A PREROUTING -p udp -j CT --notrack
             iptables -t raw -A PREROUTING -p udp -j CT --zone 3
             iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE",
        );
        lab.send(lab.client, udp("10.0.1.2", "10.0.0.2", 4000, 53));
        // Not tracked, so not NATed: the server sees the client's address.
        assert_eq!(lab.got(lab.server)[0].src, ip("10.0.1.2"));
        assert!(lab.w.hosts[r].conntrack.iter().all(|e| e.orig.proto != 17));
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.server)[0].src, ip("10.0.0.1"));
    }

    #[test]
    fn zones_keep_connections_apart() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t raw -A PREROUTING -i eth0 -j CT --zone 7
             iptables -t raw -A PREROUTING -i eth1 -j CT --zone 7
             iptables -t raw -A PREROUTING -i eth0 -j CT --notrack",
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4000, 80, "S"));
        let e = lab.w.hosts[r].conntrack.iter().next().unwrap().clone();
        // The first CT rule set the template; the later --notrack changed nothing.
        assert_eq!(e.zone, 7);
        // The SYN-ACK came back in the same zone and found its connection.
        assert!(e.has(crate::sim::conntrack::status::SEEN_REPLY));
        // --zone mark takes the packet mark (16 bits) when conntrack runs.
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t raw -A PREROUTING -p udp -j MARK --set-mark 0x10009
             iptables -t raw -A PREROUTING -p udp -j CT --zone mark",
        );
        lab.send(lab.client, udp("10.0.1.2", "10.0.0.2", 4000, 53));
        let e = lab.w.hosts[r].conntrack.iter().next().unwrap().clone();
        assert_eq!(e.zone, 9);
        // The server's port unreachable came back in zone 0: not RELATED to it.
        assert!(!e.has(crate::sim::conntrack::status::SEEN_REPLY));
    }
}
