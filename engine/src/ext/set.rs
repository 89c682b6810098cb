//! `-m set --match-set NAME src,dst`: matches packets whose addresses, ports
//! or interfaces are members of an ipset (with counter conditions).

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;
use crate::ipset::{CounterCmp, Dir, PacketFields, TestOpts};

const O_MATCH_SET: u8 = 0;
const O_SET: u8 = 1;
const O_RETURN_NOMATCH: u8 = 2;
const O_UPDATE_COUNTERS: u8 = 3;
const O_PACKETS_EQ: u8 = 4;
const O_PACKETS_LT: u8 = 5;
const O_PACKETS_GT: u8 = 6;
const O_BYTES_EQ: u8 = 7;
const O_BYTES_LT: u8 = 8;
const O_BYTES_GT: u8 = 9;
const O_UPDATE_SUBCOUNTERS: u8 = 10;

/// Most dimensions a flag list may name.
pub const DIM_MAX: usize = 6;

pub static INFO: ExtInfo = ExtInfo {
    name: "set",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("match-set", O_MATCH_SET).inv(),
        OptSpec::arg("set", O_SET).inv(),
        OptSpec::flag("return-nomatch", O_RETURN_NOMATCH),
        OptSpec::flag("update-counters", O_UPDATE_COUNTERS).inv(),
        OptSpec::arg("packets-eq", O_PACKETS_EQ).inv(),
        OptSpec::arg("packets-lt", O_PACKETS_LT),
        OptSpec::arg("packets-gt", O_PACKETS_GT),
        OptSpec::arg("bytes-eq", O_BYTES_EQ).inv(),
        OptSpec::arg("bytes-lt", O_BYTES_LT),
        OptSpec::arg("bytes-gt", O_BYTES_GT),
        OptSpec::flag("update-subcounters", O_UPDATE_SUBCOUNTERS).inv(),
    ],
    guided: false,
    help: "set match options:\n\
 [!] --match-set name flags [--return-nomatch]\n\
   [! --update-counters] [! --update-subcounters]\n\
   [[!] --packets-eq value | --packets-lt value | --packets-gt value\n\
   [[!] --bytes-eq value | --bytes-lt value | --bytes-gt value\n\
\t\t 'name' names the ipset to look the packet up in,\n\
\t\t 'flags' says, per dimension of the set, whether to take\n\
\t\t the packet's 'src' or 'dst' (comma separated).\n",
    new_match: Some(|| Box::new(SetMatch::default())),
    new_target: None,
};

/// A counter condition as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterOp {
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetMatch {
    pub set: String,
    /// Source (true) or destination per dimension.
    pub flags: Vec<bool>,
    pub invert: bool,
    pub return_nomatch: bool,
    pub skip_counter_update: bool,
    pub skip_subcounter_update: bool,
    pub packets: Option<(CounterOp, u64)>,
    pub bytes: Option<(CounterOp, u64)>,
    /// What the last lookup found, kept while tracing for `why_not`.
    pub found: Found,
}

/// The words of the last lookup. Not part of the rule: equal to any other.
#[derive(Debug, Clone, Default)]
pub struct Found(pub Option<String>);

impl PartialEq for Found {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Found {}

/// `parse_dirs`: up to six `src`/`dst` words (only their first three letters count).
pub fn parse_dirs(s: &str) -> XtResult<Vec<bool>> {
    let mut dirs = Vec::new();
    let mut rest = Some(s);
    while dirs.len() < DIM_MAX {
        let Some(r) = rest else { break };
        let (word, tail) = match r.split_once(',') {
            Some((w, t)) => (w, Some(t)),
            None => (r, None),
        };
        rest = tail;
        if word.starts_with("src") {
            dirs.push(true);
        } else if word.starts_with("dst") {
            dirs.push(false);
        } else {
            return Err(XtError::new(
                "You must spefify (the comma separated list of) 'src' or 'dst'.",
            ));
        }
    }
    if rest.is_some() {
        return Err(XtError::new(format!(
            "Can't be more src/dst options than {DIM_MAX}."
        )));
    }
    Ok(dirs)
}

/// `src,dst` text of a flag list.
pub fn dirs_text(flags: &[bool]) -> String {
    flags
        .iter()
        .map(|s| if *s { "src" } else { "dst" })
        .collect::<Vec<_>>()
        .join(",")
}

/// Takes `NAME FLAGS` for `--match-set` / `--add-set` style options.
pub fn parse_set_and_dirs(
    what: &str,
    name: &str,
    cx: &mut ParseCx,
) -> XtResult<(String, Vec<bool>)> {
    let Some(flags) = cx.take_word() else {
        return Err(XtError::new(format!("--{what} requires two args.")));
    };
    if name.len() > crate::ipset::parse::MAXNAMELEN {
        return Err(XtError::new(format!(
            "setname `{name}' too long, max {} characters.",
            crate::ipset::parse::MAXNAMELEN
        )));
    }
    match (cx.sets)(name) {
        None => return Err(XtError::new(format!("Set {name} doesn't exist.\n"))),
        Some(r) if r.inet6 => {
            return Err(XtError::new(format!(
                "The protocol family of set {name} is IPv6, which is not applicable.\n"
            )))
        }
        Some(_) => {}
    }
    Ok((name.to_string(), parse_dirs(&flags)?))
}

fn counter(s: &str) -> XtResult<u64> {
    xtopt::strtoul_all(s, 0, u64::MAX)
        .ok_or_else(|| XtError::new(format!("Cannot parse {s} as a counter value")))
}

fn fmt_counter(out: &mut String, c: &Option<(CounterOp, u64)>, name: &str, sep: &str) {
    if let Some((op, v)) = c {
        let s = match op {
            CounterOp::Eq => format!(" {sep}{name}-eq {v}"),
            CounterOp::Ne => format!(" ! {sep}{name}-eq {v}"),
            CounterOp::Lt => format!(" {sep}{name}-lt {v}"),
            CounterOp::Gt => format!(" {sep}{name}-gt {v}"),
        };
        out.push_str(&s);
    }
}

impl SetMatch {
    fn text(&self, out: &mut String, opt: &str, sep: &str) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" {opt} {} {}", self.set, dirs_text(&self.flags)));
        if self.return_nomatch {
            out.push_str(&format!(" {sep}return-nomatch"));
        }
        if self.skip_counter_update {
            out.push_str(&format!(" ! {sep}update-counters"));
        }
        if self.skip_subcounter_update {
            out.push_str(&format!(" ! {sep}update-subcounters"));
        }
        fmt_counter(out, &self.packets, "packets", sep);
        fmt_counter(out, &self.bytes, "bytes", sep);
    }

    fn set_counter(
        slot: &mut Option<(CounterOp, u64)>,
        which: &str,
        op: CounterOp,
        invert: bool,
        arg: &str,
    ) -> XtResult {
        if slot.is_some() {
            return Err(XtError::new(format!(
                "only one of the --{which}-[eq|lt|gt] is allowed"
            )));
        }
        let op = match (op, invert) {
            (CounterOp::Eq, true) => CounterOp::Ne,
            (CounterOp::Lt, true) => {
                return Err(XtError::new(format!(
                    "--{which}-lt option cannot be inverted"
                )))
            }
            (CounterOp::Gt, true) => {
                return Err(XtError::new(format!(
                    "--{which}-gt option cannot be inverted"
                )))
            }
            (op, _) => op,
        };
        *slot = Some((op, counter(arg)?));
        Ok(())
    }

    /// The kernel's command flags for this match.
    pub fn opts(&self) -> TestOpts {
        let conv = |c: &Option<(CounterOp, u64)>| {
            c.map(|(op, v)| match op {
                CounterOp::Eq => CounterCmp::Eq(v),
                CounterOp::Ne => CounterCmp::Ne(v),
                CounterOp::Lt => CounterCmp::Lt(v),
                CounterOp::Gt => CounterCmp::Gt(v),
            })
        };
        TestOpts {
            return_nomatch: self.return_nomatch,
            skip_counters: self.skip_counter_update,
            skip_subcounters: self.skip_subcounter_update,
            packets: conv(&self.packets),
            bytes: conv(&self.bytes),
        }
    }
}

impl Match for SetMatch {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, invert: bool, cx: &mut ParseCx) -> XtResult {
        let a = arg.unwrap_or_default();
        match id {
            O_UPDATE_SUBCOUNTERS => self.skip_subcounter_update |= invert,
            O_UPDATE_COUNTERS => self.skip_counter_update |= invert,
            O_RETURN_NOMATCH => {
                if invert {
                    return Err(XtError::new("--return-nomatch flag cannot be inverted"));
                }
                self.return_nomatch = true;
            }
            O_PACKETS_EQ => {
                Self::set_counter(&mut self.packets, "packets", CounterOp::Eq, invert, a)?
            }
            O_PACKETS_LT => {
                Self::set_counter(&mut self.packets, "packets", CounterOp::Lt, invert, a)?
            }
            O_PACKETS_GT => {
                Self::set_counter(&mut self.packets, "packets", CounterOp::Gt, invert, a)?
            }
            O_BYTES_EQ => Self::set_counter(&mut self.bytes, "bytes", CounterOp::Eq, invert, a)?,
            O_BYTES_LT => Self::set_counter(&mut self.bytes, "bytes", CounterOp::Lt, invert, a)?,
            O_BYTES_GT => Self::set_counter(&mut self.bytes, "bytes", CounterOp::Gt, invert, a)?,
            _ => {
                if id == O_SET {
                    cx.warnings
                        .push("--set option deprecated, please use --match-set".into());
                }
                if !self.flags.is_empty() {
                    return Err(XtError::new("--match-set can be specified only once"));
                }
                self.invert = invert;
                let (name, flags) = parse_set_and_dirs("match-set", a, cx)?;
                self.set = name;
                self.flags = flags;
            }
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        if self.flags.is_empty() {
            return Err(XtError::new(
                "You must specify `--match-set' with proper arguments",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.text(out, "--match-set", "--");
    }

    /// `set_match_v4`: the set's answer (counter conditions are checked
    /// inside it, on the member hit), then `!`.
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let p = PacketFields::of(cx.pkt, cx.hdr);
        let dirs = Dir::list(&self.flags);
        let t = cx
            .ipsets
            .test_packet(&self.set, &p, &dirs, &self.opts(), cx.now_ns);
        let (hit, why) = match t {
            Some(t) => (t.matched, t.why),
            None => (false, format!("set {} does not exist", self.set)),
        };
        if cx.tracing {
            self.found = Found(Some(why));
        }
        Some(hit != self.invert)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        format!(
            "`{}--match-set {} {}` did not match: {}",
            if self.invert { "! " } else { "" },
            self.set,
            dirs_text(&self.flags),
            self.found.0.as_deref().unwrap_or("no lookup was made")
        )
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.text(out, "match-set", "");
    }

    fn explain(&self) -> String {
        let mut s = format!(
            "whose {} {} in ipset \"{}\"",
            self.flags
                .iter()
                .map(|s| if *s { "source" } else { "destination" })
                .collect::<Vec<_>>()
                .join("/"),
            match (self.invert, self.flags.len() > 1) {
                (false, false) => "address is",
                (true, false) => "address is not",
                (false, true) => "pair is",
                (true, true) => "pair is not",
            },
            self.set
        );
        if self.return_nomatch {
            s.push_str(" (entries marked nomatch count as matches)");
        }
        if let Some((op, v)) = self.packets {
            s.push_str(&format!(", with a packet counter {} {v}", op_word(op)));
        }
        if let Some((op, v)) = self.bytes {
            s.push_str(&format!(", with a byte counter {} {v}", op_word(op)));
        }
        s
    }
}

fn op_word(op: CounterOp) -> &'static str {
    match op {
        CounterOp::Eq => "equal to",
        CounterOp::Ne => "not equal to",
        CounterOp::Lt => "below",
        CounterOp::Gt => "above",
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::packet::spec::{L4Spec, PacketSpec};
    use crate::sim::host::Host;
    use crate::sim::world::World;

    fn sh(h: &mut Host, s: &str) -> crate::command::Output {
        let argv: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &argv, None)
    }

    #[test]
    fn missing_set_and_args() {
        let mut h = Host::new("h");
        let o = sh(&mut h, "iptables -A INPUT -m set --match-set foo src,dst");
        assert_eq!(o.exit, 2);
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): Set foo doesn't exist.\n\nTry `iptables -h' or 'iptables --help' for more information.\n"
        );
        let o = sh(&mut h, "iptables -A INPUT -m set --match-set foo");
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): --match-set requires two args.\nTry `iptables -h' or 'iptables --help' for more information.\n"
        );
        let o = sh(&mut h, "iptables -A INPUT -m set");
        assert!(o
            .stderr
            .contains("You must specify `--match-set' with proper arguments"));
    }

    #[test]
    fn save_and_list_texts() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create s2 hash:ip,port");
        let o = sh(
            &mut h,
            "iptables -A INPUT -m set ! --match-set s2 srcx,dst --return-nomatch ! --update-counters ! --packets-eq 1 --bytes-gt 4 -j ACCEPT",
        );
        assert_eq!(o.exit, 0, "{}", o.stderr);
        let o = sh(&mut h, "iptables -S INPUT");
        assert_eq!(
            o.stdout,
            "-P INPUT ACCEPT\n-A INPUT -m set ! --match-set s2 src,dst --return-nomatch ! --update-counters ! --packets-eq 1 --bytes-gt 4 -j ACCEPT\n"
        );
        let o = sh(&mut h, "iptables -L INPUT -n");
        assert!(o.stdout.contains(
            "! match-set s2 src,dst return-nomatch ! update-counters ! packets-eq 1 bytes-gt 4"
        ));
        let o = sh(&mut h, "iptables -A INPUT -m set --set s2 src");
        assert_eq!(
            o.stderr,
            "--set option deprecated, please use --match-set\n"
        );
        assert_eq!(o.exit, 0);
    }

    /// A router with eth0 10.0.0.1/24 on a link, tracing.
    fn world() -> World {
        let mut w = World::new();
        let r = w.add_host("r");
        w.plug(r, "eth0", "10.0.0.1/24", "lan").unwrap();
        w
    }

    fn syn_from(src: &str) -> crate::packet::Packet {
        PacketSpec {
            src: src.parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
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

    /// Injects a SYN from `src`; the first report's outcome and the first failed condition.
    fn hit(w: &mut World, src: &str) -> (String, Option<String>) {
        let r = w.inject(0, "eth0", syn_from(src))[0].clone();
        let failed = r.trace.steps.iter().find_map(|s| s.failed.clone());
        (r.outcome, failed)
    }

    #[test]
    fn seed_blocklist_drops_listed_sources() {
        let mut w = world();
        let h = &mut w.hosts[0];
        for c in [
            "ipset -N MYNEWSET hash:ip",
            "ipset -A MYNEWSET 1.1.1.1",
            "ipset -A MYNEWSET 2.2.2.2",
            "ipset -A MYNEWSET 8.8.8.8",
            "iptables -A INPUT -m set --match-set MYNEWSET src -j DROP",
        ] {
            assert_eq!(sh(h, c).exit, 0, "{c}");
        }
        for src in ["1.1.1.1", "2.2.2.2", "8.8.8.8"] {
            assert_eq!(hit(&mut w, src).0, "dropped on r in INPUT");
        }
        let (outcome, why) = hit(&mut w, "9.9.9.9");
        assert!(outcome.starts_with("delivered to r"), "{outcome}");
        assert_eq!(
            why.as_deref(),
            Some("`--match-set MYNEWSET src` did not match: 9.9.9.9 (hash:ip) is not in set MYNEWSET")
        );
        let o = sh(&mut w.hosts[0], "iptables -L INPUT -v -n -x");
        assert!(
            o.stdout.contains("       3      132 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set MYNEWSET src\n"),
            "{}",
            o.stdout
        );
    }

    #[test]
    fn inversion_nomatch_and_return_nomatch() {
        let mut w = world();
        let h = &mut w.hosts[0];
        for c in [
            "ipset create nets hash:net",
            "ipset add nets 10.0.0.0/24",
            "ipset add nets 10.0.0.128/25 nomatch",
            "iptables -N NOMATCH",
            "iptables -A INPUT -m set --match-set nets src --return-nomatch -j NOMATCH",
            "iptables -A INPUT -m set ! --match-set nets src -j DROP",
            "iptables -A NOMATCH -j DROP",
        ] {
            assert_eq!(sh(h, c).exit, 0, "{c}");
        }
        // Outside the net: not in the set.
        let (outcome, why) = hit(&mut w, "10.0.1.9");
        assert_eq!(outcome, "dropped on r in INPUT");
        assert_eq!(
            why.as_deref(),
            Some("`--match-set nets src` did not match: 10.0.1.9 (hash:net) is not in set nets")
        );
        // The nomatch half counts with --return-nomatch.
        assert_eq!(hit(&mut w, "10.0.0.200").0, "dropped on r in INPUT");
        // A plain member passes both rules.
        let r = w.inject(0, "eth0", syn_from("10.0.0.9"))[0].clone();
        assert!(r.outcome.starts_with("delivered"), "{}", r.outcome);
        let failed: Vec<String> = r
            .trace
            .steps
            .iter()
            .filter_map(|s| s.failed.clone())
            .collect();
        assert_eq!(
            failed,
            [
                "`--match-set nets src` did not match: 10.0.0.9 (hash:net) is in set nets as 10.0.0.0/24, and --return-nomatch counts only nomatch members",
                "`! --match-set nets src` did not match: 10.0.0.9 (hash:net) is in set nets as 10.0.0.0/24"
            ]
        );
        let o = sh(&mut w.hosts[0], "iptables -L NOMATCH -v -n -x");
        assert!(
            o.stdout.contains("\n       1       44 DROP "),
            "{}",
            o.stdout
        );
    }

    #[test]
    fn counter_conditions_see_the_packet_counted() {
        let mut w = world();
        let h = &mut w.hosts[0];
        for c in [
            "ipset create c hash:ip counters",
            "ipset add c 10.0.0.5",
            "iptables -A INPUT -m set --match-set c src ! --update-counters --packets-eq 0",
            "iptables -A INPUT -m set --match-set c src --packets-gt 2 -j DROP",
        ] {
            assert_eq!(sh(h, c).exit, 0, "{c}");
        }
        assert!(hit(&mut w, "10.0.0.5").0.starts_with("delivered"));
        let (outcome, why) = hit(&mut w, "10.0.0.5");
        assert!(outcome.starts_with("delivered"));
        assert_eq!(
            why.as_deref(),
            Some("`--match-set c src` did not match: 10.0.0.5 (hash:ip) hits 10.0.0.5 in set c, but its counters (packets 1, bytes 44) fail --packets-eq 0")
        );
        assert_eq!(hit(&mut w, "10.0.0.5").0, "dropped on r in INPUT");
        let o = sh(&mut w.hosts[0], "ipset list c");
        assert!(
            o.stdout.ends_with("\n10.0.0.5 packets 3 bytes 132\n"),
            "{}",
            o.stdout
        );
    }

    #[test]
    fn counter_errors() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create s1 hash:ip");
        let o = sh(
            &mut h,
            "iptables -A INPUT -m set --match-set s1 src --packets-eq 1 --packets-lt 3",
        );
        assert!(o.stderr.starts_with(
            "iptables v1.8.9 (nf_tables): only one of the --packets-[eq|lt|gt] is allowed\nTry"
        ));
        let o = sh(
            &mut h,
            "iptables -A INPUT -m set --match-set s1 src ! --bytes-gt 1",
        );
        assert!(o.stderr.contains("--bytes-gt option cannot be inverted\n"));
        let o = sh(
            &mut h,
            "iptables -A INPUT -m set --match-set s1 src,dst,src,dst,src,dst,src",
        );
        assert!(o.stderr.contains("Can't be more src/dst options than 6.\n"));
    }
}
