//! `-j SET --add-set/--del-set NAME src,dst`: adds the packet's addresses or
//! ports to an ipset, or deletes them; `--map-set` copies skbinfo from a set.
//! Non-terminating.

use super::set::{dirs_text, parse_set_and_dirs};
use super::{
    CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext_boilerplate;
use crate::ipset::{Dir, PacketFields, TestOpts};
use crate::ruleset::Hook;
use crate::sim::eval::LogRecord;

const O_ADD: u8 = 0;
const O_DEL: u8 = 1;
const O_EXIST: u8 = 2;
const O_TIMEOUT: u8 = 3;
const O_MAP: u8 = 4;
const O_MAP_MARK: u8 = 5;
const O_MAP_PRIO: u8 = 6;
const O_MAP_QUEUE: u8 = 7;

pub static INFO: ExtInfo = ExtInfo {
    name: "SET",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("add-set", O_ADD),
        OptSpec::arg("del-set", O_DEL),
        OptSpec::flag("exist", O_EXIST),
        OptSpec::arg("timeout", O_TIMEOUT),
        OptSpec::arg("map-set", O_MAP),
        OptSpec::flag("map-mark", O_MAP_MARK),
        OptSpec::flag("map-prio", O_MAP_PRIO),
        OptSpec::flag("map-queue", O_MAP_QUEUE),
    ],
    guided: false,
    help: "SET target options:\n\
 --add-set name flags [--exist] [--timeout n]\n\
 --del-set name flags\n\
 --map-set name flags [--map-mark] [--map-prio] [--map-queue]\n\
\t\tput the packet's src/dst address or port into the named set,\n\
\t\ttake it out, or copy the matching entry's skbinfo to the packet;\n\
\t\tflags are 'src' and 'dst', comma separated, one per dimension.\n",
    new_match: None,
    new_target: Some(|| Box::new(SetTarget::default())),
};

/// One set reference of the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetSpec {
    pub name: String,
    pub flags: Vec<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetTarget {
    pub add: Option<SetSpec>,
    pub del: Option<SetSpec>,
    pub map: Option<SetSpec>,
    pub exist: bool,
    pub timeout: Option<u32>,
    pub map_mark: bool,
    pub map_prio: bool,
    pub map_queue: bool,
}

impl SetTarget {
    /// Sets this target refers to, one entry per reference.
    pub fn set_names(&self) -> Vec<&str> {
        [&self.add, &self.del, &self.map]
            .into_iter()
            .flatten()
            .map(|s| s.name.as_str())
            .collect()
    }

    fn text(&self, out: &mut String, sep: &str) {
        let one = |out: &mut String, what: &str, s: &Option<SetSpec>| {
            if let Some(s) = s {
                out.push_str(&format!(" {sep}{what} {} {}", s.name, dirs_text(&s.flags)));
            }
        };
        one(out, "add-set", &self.add);
        if self.exist {
            out.push_str(&format!(" {sep}exist"));
        }
        if let Some(t) = self.timeout {
            out.push_str(&format!(" {sep}timeout {t}"));
        }
        one(out, "del-set", &self.del);
        one(out, "map-set", &self.map);
        if self.map_mark {
            out.push_str(&format!(" {sep}map-mark"));
        }
        if self.map_prio {
            out.push_str(&format!(" {sep}map-prio"));
        }
        if self.map_queue {
            out.push_str(&format!(" {sep}map-queue"));
        }
    }
}

/// `net_ratelimit()` for the "Set ... is full" warning: 10 messages per 5 s.
#[derive(Debug, Clone, Default)]
struct FullWarnings {
    window_start_ns: u64,
    printed: u32,
}

fn full_warning_allowed(cx: &mut EvalCx) -> bool {
    let now = cx.now_ns;
    let st = cx.ext.get_mut::<FullWarnings>("SET");
    if st.printed == 0 || now.saturating_sub(st.window_start_ns) >= 5_000_000_000 {
        st.window_start_ns = now;
        st.printed = 0;
    }
    if st.printed >= 10 {
        return false;
    }
    st.printed += 1;
    true
}

fn take(slot: &mut Option<SetSpec>, what: &str, name: &str, cx: &mut ParseCx) -> XtResult {
    if slot.is_some() {
        return Err(XtError::new(format!("--{what} can be specified only once")));
    }
    let (name, flags) = parse_set_and_dirs(what, name, cx)?;
    *slot = Some(SetSpec { name, flags });
    Ok(())
}

impl Target for SetTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _invert: bool, cx: &mut ParseCx) -> XtResult {
        let a = arg.unwrap_or_default();
        match id {
            O_ADD => take(&mut self.add, "add-set", a, cx)?,
            O_DEL => take(&mut self.del, "del-set", a, cx)?,
            O_MAP => take(&mut self.map, "map-set", a, cx)?,
            O_EXIST => self.exist = true,
            O_TIMEOUT => {
                let v = super::xtopt::strtoul_all(a, 0, u32::MAX as u64 - 1).ok_or_else(|| {
                    XtError::new(format!(
                        "Invalid value for option --timeout or out of range 0-{}",
                        u32::MAX - 1
                    ))
                })?;
                self.timeout = Some(v as u32);
            }
            O_MAP_MARK => self.map_mark = true,
            O_MAP_PRIO => self.map_prio = true,
            _ => self.map_queue = true,
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        if self.add.is_none() && self.del.is_none() && self.map.is_none() {
            return Err(XtError::new(
                "You must specify either `--add-set' or `--del-set' or `--map-set'",
            ));
        }
        if self.add.is_none() {
            if self.exist {
                return Err(XtError::new(
                    "Flag `--exist' can be used with `--add-set' only",
                ));
            }
            if self.timeout.is_some() {
                return Err(XtError::new(
                    "Option `--timeout' can be used with `--add-set' only",
                ));
            }
        }
        if self.map.is_none() {
            for (on, name) in [
                (self.map_mark, "map-mark"),
                (self.map_prio, "map-prio"),
                (self.map_queue, "map-queue"),
            ] {
                if on {
                    return Err(XtError::new(format!(
                        "Flag `--{name}' can be used with `--map-set' only"
                    )));
                }
            }
        } else if !(self.map_mark || self.map_prio || self.map_queue) {
            return Err(XtError::new(
                "You must specify flags `--map-mark' or '--map-prio` or `--map-queue'",
            ));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if self.map.is_some() {
            if cx.table != "mangle" {
                return Err(KernelError::Invalid);
            }
            if (self.map_prio || self.map_queue)
                && crate::ruleset::check::hooks_outside(
                    cx.hooks,
                    &[Hook::Forward, Hook::Output, Hook::Postrouting],
                )
            {
                return Err(KernelError::Invalid);
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.text(out, "--");
    }

    /// `set_target_v3`: add, then delete, then map; always continues.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let p = PacketFields::of(cx.pkt, cx.hdr);
        let now = cx.now_ns;
        let mut warnings = Vec::new();
        if let Some(a) = &self.add {
            let dirs = Dir::list(&a.flags);
            // Errors (already there, full, no key) are the kernel's silent -E*.
            let _ = cx.ipsets.add_packet(
                &a.name,
                &p,
                &dirs,
                self.exist,
                self.timeout,
                now,
                &mut warnings,
            );
        }
        if let Some(d) = &self.del {
            let _ = cx.ipsets.del_packet(&d.name, &p, &Dir::list(&d.flags), now);
        }
        if let Some(m) = &self.map {
            let dirs = Dir::list(&m.flags);
            let found = cx
                .ipsets
                .test_packet(&m.name, &p, &dirs, &TestOpts::default(), now);
            if let Some(t) = found.filter(|t| t.matched) {
                let skb = t.skbinfo;
                if self.map_mark {
                    cx.pkt.meta.mark = (cx.pkt.meta.mark & !skb.mark.1) ^ skb.mark.0;
                }
                if self.map_prio {
                    cx.pkt.meta.priority = skb.prio;
                }
                // --map-queue picks a transmit queue only when the device has
                // more than the value; simulated devices have one queue.
            }
        }
        for w in warnings {
            if full_warning_allowed(cx) {
                cx.log.push(LogRecord {
                    time_ns: now,
                    level: 4,
                    text: w,
                });
            }
        }
        Some(TargetVerdict::Continue)
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.text(out, "");
    }

    fn explain(&self) -> String {
        let side = |s: &SetSpec| {
            s.flags
                .iter()
                .map(|f| if *f { "source" } else { "destination" })
                .collect::<Vec<_>>()
                .join("/")
        };
        let mut parts = Vec::new();
        if let Some(a) = &self.add {
            let mut s = format!("their {} to ipset \"{}\"", side(a), a.name);
            if let Some(t) = self.timeout {
                s.push_str(&format!(" for {t} seconds"));
            }
            if self.exist {
                s.push_str(" (refreshing an existing entry)");
            }
            parts.push(s);
        }
        if let Some(d) = &self.del {
            parts.push(format!(
                "removes their {} from ipset \"{}\"",
                side(d),
                d.name
            ));
        }
        if let Some(m) = &self.map {
            parts.push(format!(
                "copies the mark/priority/queue stored for their {} in ipset \"{}\"",
                side(m),
                m.name
            ));
        }
        let mut s = if self.add.is_some() {
            format!("Takes , adds {}", parts.join(", then "))
        } else {
            format!("Takes , {}", parts.join(", then "))
        };
        s.push_str(", and lets them go on to the next rule");
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::ipset::set::SEC;
    use crate::packet::spec::{L4Spec, PacketSpec};
    use crate::sim::host::Host;
    use crate::sim::world::World;

    fn sh(h: &mut Host, s: &str) -> crate::command::Output {
        let argv: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &argv, None)
    }

    #[test]
    fn parse_save_and_checks() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create s1 hash:ip");
        sh(&mut h, "ipset create s2 hash:ip,port");
        let o = sh(
            &mut h,
            "iptables -A INPUT -j SET --add-set s1 src --exist --timeout 10",
        );
        assert_eq!(o.exit, 0, "{}", o.stderr);
        let o = sh(
            &mut h,
            "iptables -A INPUT -j SET --add-set s1 src --del-set s2 src,dst",
        );
        assert_eq!(o.exit, 0, "{}", o.stderr);
        let o = sh(&mut h, "iptables -S INPUT");
        assert_eq!(
            o.stdout,
            "-P INPUT ACCEPT\n-A INPUT -j SET --add-set s1 src --exist --timeout 10\n-A INPUT -j SET --add-set s1 src --del-set s2 src,dst\n"
        );
        let o = sh(
            &mut h,
            "iptables -A INPUT -j SET --map-set s1 src --map-mark",
        );
        assert_eq!(o.exit, 4);
        let o = sh(
            &mut h,
            "iptables -t mangle -A INPUT -j SET --map-set s1 src --map-mark",
        );
        assert_eq!(o.exit, 0);
        let o = sh(
            &mut h,
            "iptables -t mangle -A INPUT -j SET --map-set s1 src --map-prio",
        );
        assert_eq!(o.exit, 4);
        let o = sh(&mut h, "iptables -A INPUT -j SET");
        assert!(o
            .stderr
            .contains("You must specify either `--add-set' or `--del-set' or `--map-set'"));
        let o = sh(&mut h, "iptables -A INPUT -j SET --del-set s1 src --exist");
        assert!(o
            .stderr
            .contains("Flag `--exist' can be used with `--add-set' only"));
        let o = sh(&mut h, "iptables -A INPUT -j SET --add-set nosuch src");
        assert!(o.stderr.contains("Set nosuch doesn't exist.\n\nTry"));
    }

    /// A router with eth0 10.0.0.1/24 on a link.
    fn world() -> World {
        let mut w = World::new();
        w.now_ns = 1_700_000_000 * SEC;
        let r = w.add_host("r");
        w.plug(r, "eth0", "10.0.0.1/24", "lan").unwrap();
        w.set_outside("lan").unwrap();
        w
    }

    fn syn(src: &str, dst: &str) -> crate::packet::Packet {
        PacketSpec {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4: L4Spec::Tcp {
                sport: 40000,
                dport: 80,
                flags: "S".into(),
                seq: 1,
                ack: 0,
                window: 64240,
            },
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len: 0,
        }
        .build()
        .unwrap()
    }

    fn inject(w: &mut World, src: &str) -> String {
        w.inject(0, "eth0", syn(src, "10.0.0.1"))[0].outcome.clone()
    }

    fn run(w: &mut World, cmds: &[&str]) {
        for c in cmds {
            let o = sh(&mut w.hosts[0], c);
            assert_eq!(o.exit, 0, "{c}: {}", o.stderr);
        }
    }

    fn members(w: &mut World, set: &str) -> String {
        let o = sh(&mut w.hosts[0], &format!("ipset list {set}"));
        o.stdout
            .split_once("Members:\n")
            .map(|(_, m)| m.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn seed_auto_blocked_client_is_blocked_afterwards() {
        let mut w = world();
        // The seed's rules (with -p tcp alone: --dport is the tcp match's job).
        run(
            &mut w,
            &[
                "ipset -N auto_blocked iphash",
                "iptables -I INPUT -p tcp -j SET --add-set auto_blocked src",
                "iptables -I INPUT -m set --match-set auto_blocked src -j DROP",
            ],
        );
        assert!(inject(&mut w, "10.0.0.5").starts_with("delivered to r"));
        assert_eq!(members(&mut w, "auto_blocked"), "10.0.0.5\n");
        assert_eq!(inject(&mut w, "10.0.0.5"), "dropped on r in INPUT");
        assert!(inject(&mut w, "10.0.0.6").starts_with("delivered to r"));
        let o = sh(&mut w.hosts[0], "iptables-save -c");
        assert!(o.stdout.contains(
            "[1:44] -A INPUT -m set --match-set auto_blocked src -j DROP\n[2:88] -A INPUT -p tcp -j SET --add-set auto_blocked src\n"
        ), "{}", o.stdout);
    }

    #[test]
    fn timeouts_follow_the_lab_clock() {
        let mut w = world();
        run(
            &mut w,
            &[
                "ipset create t hash:ip timeout 10 counters",
                "iptables -A INPUT -m set --match-set t src -j DROP",
                "iptables -A INPUT -j SET --add-set t src",
            ],
        );
        let added = w.now_ns;
        assert!(inject(&mut w, "10.0.0.5").starts_with("delivered"));
        assert_eq!(
            members(&mut w, "t"),
            "10.0.0.5 timeout 9 packets 1 bytes 44\n"
        );
        w.advance(5 * SEC + SEC / 2);
        assert_eq!(
            members(&mut w, "t"),
            "10.0.0.5 timeout 4 packets 1 bytes 44\n"
        );
        assert_eq!(inject(&mut w, "10.0.0.5"), "dropped on r in INPUT");
        // Alive through its last instant (10 s after the add), gone after.
        w.advance(added + 10 * SEC - w.now_ns);
        assert_eq!(
            members(&mut w, "t"),
            "10.0.0.5 timeout 1 packets 2 bytes 88\n"
        );
        w.advance(1);
        assert_eq!(members(&mut w, "t"), "");
        // The next packet is not matched and adds it again.
        assert!(inject(&mut w, "10.0.0.5").starts_with("delivered"));
        assert_eq!(
            members(&mut w, "t"),
            "10.0.0.5 timeout 9 packets 1 bytes 44\n"
        );
    }

    #[test]
    fn exist_refreshes_and_timeout_overrides() {
        let mut w = world();
        run(
            &mut w,
            &[
                "ipset create t hash:ip timeout 10 counters comment",
                "ipset add t 10.0.0.5 timeout 100 packets 7 bytes 700 comment x",
                "iptables -A INPUT -s 10.0.0.5 -j SET --add-set t src --timeout 30",
                "iptables -A INPUT -s 10.0.0.6 -j SET --add-set t src --exist --timeout 30",
                "iptables -A INPUT -s 10.0.0.7 -j SET --add-set t src --timeout 0",
            ],
        );
        // Without --exist a member that is there stays as it was.
        inject(&mut w, "10.0.0.5");
        assert_eq!(
            members(&mut w, "t"),
            "10.0.0.5 timeout 99 packets 7 bytes 700 comment \"x\"\n"
        );
        inject(&mut w, "10.0.0.6");
        inject(&mut w, "10.0.0.7");
        run(&mut w, &["ipset add t 10.0.0.5 -exist timeout 100"]);
        run(
            &mut w,
            &["iptables -R INPUT 1 -s 10.0.0.5 -j SET --add-set t src --exist"],
        );
        inject(&mut w, "10.0.0.5");
        assert_eq!(
            sh(&mut w.hosts[0], "ipset save t")
                .stdout
                .lines()
                .skip(1)
                .collect::<Vec<_>>(),
            [
                "add t 10.0.0.5 timeout 9 packets 1 bytes 44",
                "add t 10.0.0.6 timeout 29 packets 1 bytes 44",
                "add t 10.0.0.7 timeout 0 packets 1 bytes 44",
            ]
        );
    }

    #[test]
    fn del_set_and_dimensions() {
        let mut w = world();
        run(
            &mut w,
            &[
                "ipset create p hash:ip,port",
                "ipset add p 10.0.0.5,tcp:40000",
                "ipset add p 10.0.0.6,tcp:40000",
                "iptables -A INPUT -j SET --del-set p src,src",
                // One flag for a two-dimension set: the kernel refuses quietly.
                "iptables -A INPUT -j SET --add-set p dst",
            ],
        );
        inject(&mut w, "10.0.0.5");
        assert_eq!(members(&mut w, "p"), "10.0.0.6,tcp:40000\n");
    }

    #[test]
    fn map_set_copies_mark_and_priority() {
        let mut w = world();
        run(
            &mut w,
            &[
                "ipset create m hash:ip skbinfo counters",
                "ipset add m 10.0.0.5 skbmark 0x10/0xff",
                "ipset add m 10.0.0.1 skbprio 1:2",
                "ipset create all hash:net skbinfo",
                "ipset add all 10.0.0.0/24 skbmark 0x1ff",
                "iptables -t mangle -A PREROUTING -j SET --map-set all src --map-mark",
                "iptables -t mangle -A INPUT -j SET --map-set m src --map-mark",
                "iptables -t mangle -A OUTPUT -j SET --map-set m dst --map-prio",
            ],
        );
        // 0x1ff, then (0x1ff & !0xff) ^ 0x10.
        inject(&mut w, "10.0.0.5");
        let d = w.delivered.first().expect("delivered").pkt.meta.clone();
        assert_eq!(d.mark, 0x110);
        // Sent to itself: OUTPUT maps the priority of the destination's member.
        w.send(0, syn("10.0.0.1", "10.0.0.1"));
        let d = w.delivered.first().expect("delivered").pkt.meta.clone();
        assert_eq!(d.priority, 0x0001_0002);
        // Each lookup counts: the SYNs and the stack's RSTs, in INPUT and OUTPUT.
        assert_eq!(
            members(&mut w, "m"),
            "10.0.0.5 packets 2 bytes 84 skbmark 0x10/0xff\n10.0.0.1 packets 4 bytes 168 skbprio 1:2\n"
        );
    }

    #[test]
    fn a_full_set_warns_in_the_kernel_log() {
        let mut w = world();
        run(
            &mut w,
            &[
                "ipset create f hash:ip maxelem 1",
                "iptables -A INPUT -j SET --add-set f src",
            ],
        );
        inject(&mut w, "10.0.0.5");
        inject(&mut w, "10.0.0.6");
        let log: Vec<(u8, &str)> = w.hosts[0]
            .kmsg
            .iter()
            .map(|r| (r.level, r.text.as_str()))
            .collect();
        assert_eq!(log, [(4, "Set f is full, maxelem 1 reached")]);
    }
}
