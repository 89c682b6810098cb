//! `-j LOG`: write a kernel log line about the packet (level, prefix and
//! optional TCP/IP details) and let it continue down the chain.

use super::{
    xtopt, EvalCx, ExtInfo, ExtKind, OptSpec, ParseCx, Target, TargetVerdict, XtError, XtResult,
};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::eval::LogRecord;
use crate::sim::log::{log_line, LogFlags};

const O_TCPSEQ: u8 = 0;
const O_TCPOPTS: u8 = 1;
const O_IPOPTS: u8 = 2;
const O_UID: u8 = 3;
const O_MAC: u8 = 5;
const O_LEVEL: u8 = 6;
const O_PREFIX: u8 = 7;

pub static INFO: ExtInfo = ExtInfo {
    name: "LOG",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("log-level", O_LEVEL),
        OptSpec::arg("log-prefix", O_PREFIX),
        OptSpec::flag("log-tcp-sequence", O_TCPSEQ),
        OptSpec::flag("log-tcp-options", O_TCPOPTS),
        OptSpec::flag("log-ip-options", O_IPOPTS),
        OptSpec::flag("log-uid", O_UID),
        OptSpec::flag("log-macdecode", O_MAC),
    ],
    guided: true,
    help: "LOG target options:\n \
--log-level level\t\tsyslog level of the message (number or name)\n \
--log-prefix prefix\t\tText put in front of each message.\n \
--log-tcp-sequence\t\tInclude TCP sequence numbers.\n \
--log-tcp-options\t\tInclude TCP options.\n \
--log-ip-options\t\tInclude IP options.\n \
--log-uid\t\t\tInclude the UID of the local socket.\n \
--log-macdecode\t\tDecode MAC addresses and protocol.\n",
    new_match: None,
    new_target: Some(|| Box::new(Log::default())),
};

/// Flag bits as the kernel's `xt_log_info.logflags` holds them.
pub const F_TCPSEQ: u8 = 0x01;
pub const F_TCPOPT: u8 = 0x02;
pub const F_IPOPT: u8 = 0x04;
pub const F_UID: u8 = 0x08;
pub const F_MACDECODE: u8 = 0x20;

/// Level used when `--log-level` is not given (warning).
pub const DEFAULT_LEVEL: u8 = 4;

/// Longest prefix kept (the kernel's 30-byte field with its terminating zero).
const PREFIX_MAX: usize = 29;

/// Names accepted by `--log-level` (libxtables' table).
const LEVEL_NAMES: [(&str, u8); 9] = [
    ("alert", 1),
    ("crit", 2),
    ("debug", 7),
    ("emerg", 0),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warning", 4),
];

/// Name printed by `-L` for a level (the first syslog name with that value).
pub fn level_name(level: u8) -> Option<&'static str> {
    Some(match level {
        0 => "emerg",
        1 => "alert",
        2 => "crit",
        3 => "err",
        4 => "warn",
        5 => "notice",
        6 => "info",
        7 => "debug",
        _ => return None,
    })
}

/// `XTTYPE_SYSLOGLEVEL`: a number 0-7 or a level name.
pub fn parse_level(s: &str) -> XtResult<u8> {
    if let Some(v) = xtopt::strtoul_all(s, 0, 7) {
        return Ok(v as u8);
    }
    LEVEL_NAMES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| XtError::new(format!("log level \"{s}\" unknown\n")))
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A log prefix as `--log-prefix` / `--nflog-prefix` take it.
pub fn parse_prefix(s: &str, max: usize) -> XtResult<String> {
    if s.is_empty() {
        return Err(XtError::new(
            "Argument must have a minimum length of 1 characters\n",
        ));
    }
    if s.contains('\n') {
        return Err(XtError::new("Newlines not allowed in --log-prefix"));
    }
    Ok(truncate_bytes(s, max))
}

/// The kernel's log line for the packet at this hook: the hook decides
/// which interfaces the logger sees (no input interface in OUTPUT, no
/// output interface in PREROUTING and INPUT; a forwarded packet still shows
/// where it came in, and its MAC header, in POSTROUTING).
pub fn hook_log_line(prefix: &str, cx: &EvalCx, mut flags: LogFlags) -> String {
    // `--log-macdecode` decodes Ethernet headers only; loopback's header is
    // dumped as plain bytes.
    if cx.in_iface() == Some("lo") {
        flags.macdecode = false;
    }
    let (has_in, has_out) = match cx.hook {
        Hook::Prerouting | Hook::Input => (true, false),
        Hook::Forward | Hook::Postrouting => (true, true),
        Hook::Output => (false, true),
    };
    let meta = &cx.pkt.meta;
    if (has_in || meta.in_iface.is_none()) && (has_out || meta.out_iface.is_none()) {
        return log_line(prefix, cx.pkt, flags);
    }
    let mut p = cx.pkt.clone();
    if !has_in {
        p.meta.in_iface = None;
    }
    if !has_out {
        p.meta.out_iface = None;
    }
    log_line(prefix, &p, flags)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    pub level: u8,
    pub prefix: String,
    pub flags: u8,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: DEFAULT_LEVEL,
            prefix: String::new(),
            flags: 0,
        }
    }
}

impl Target for Log {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_LEVEL => self.level = parse_level(arg)?,
            O_PREFIX => self.prefix = parse_prefix(arg, PREFIX_MAX)?,
            O_TCPSEQ | O_TCPOPTS | O_IPOPTS | O_UID | O_MAC => self.flags |= 1 << id,
            _ => {}
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if !self.prefix.is_empty() {
            out.push_str(" --log-prefix ");
            out.push_str(&xtopt::save_string(&self.prefix));
        }
        if self.level != DEFAULT_LEVEL {
            out.push_str(&format!(" --log-level {}", self.level));
        }
        for (bit, name) in [
            (F_TCPSEQ, "tcp-sequence"),
            (F_TCPOPT, "tcp-options"),
            (F_IPOPT, "ip-options"),
            (F_UID, "uid"),
            (F_MACDECODE, "macdecode"),
        ] {
            if self.flags & bit != 0 {
                out.push_str(" --log-");
                out.push_str(name);
            }
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" LOG");
        if numeric {
            out.push_str(&format!(" flags {} level {}", self.flags, self.level));
        } else {
            match level_name(self.level) {
                Some(n) => out.push_str(&format!(" level {n}")),
                None => out.push_str(&format!(" UNKNOWN level {}", self.level)),
            }
            for (bit, name) in [
                (F_TCPSEQ, "tcp-sequence"),
                (F_TCPOPT, "tcp-options"),
                (F_IPOPT, "ip-options"),
                (F_UID, "uid"),
                (F_MACDECODE, "macdecode"),
            ] {
                if self.flags & bit != 0 {
                    out.push(' ');
                    out.push_str(name);
                }
            }
        }
        if !self.prefix.is_empty() {
            out.push_str(&format!(" prefix \"{}\"", self.prefix));
        }
    }

    /// `log_tg`: one line in the kernel log (`nf_log_packet`), then on.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let flags = LogFlags {
            tcp_sequence: self.flags & F_TCPSEQ != 0,
            tcp_options: self.flags & F_TCPOPT != 0,
            ip_options: self.flags & F_IPOPT != 0,
            uid: self.flags & F_UID != 0,
            macdecode: self.flags & F_MACDECODE != 0,
        };
        let text = hook_log_line(&self.prefix, cx, flags);
        cx.log.push(LogRecord {
            time_ns: cx.now_ns,
            level: self.level,
            text,
        });
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        let mut s = format!(
            "Logs to the kernel log (level {}",
            level_name(self.level).unwrap_or("?")
        );
        if !self.prefix.is_empty() {
            s.push_str(&format!(", prefix \"{}\"", self.prefix));
        }
        s.push(')');
        let mut extra = Vec::new();
        for (bit, what) in [
            (F_TCPSEQ, "TCP sequence numbers"),
            (F_TCPOPT, "TCP options"),
            (F_IPOPT, "IP options"),
            (F_UID, "the socket's UID"),
            (F_MACDECODE, "decoded MAC addresses"),
        ] {
            if self.flags & bit != 0 {
                extra.push(what);
            }
        }
        if !extra.is_empty() {
            s.push_str(&format!(", including {}", extra.join(", ")));
        }
        s.push_str(" and lets them go on to the next rule");
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, a: &[&str]) -> crate::command::Output {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_order_and_levels() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            &[
                "iptables",
                "-A",
                "INPUT",
                "-j",
                "LOG",
                "--log-macdecode",
                "--log-uid",
                "--log-level",
                "alert",
                "--log-prefix",
                "a b",
            ],
        );
        assert_eq!(o.exit, 0);
        run(
            &mut h,
            &[
                "iptables",
                "-A",
                "INPUT",
                "-j",
                "LOG",
                "--log-level",
                "warning",
            ],
        );
        assert_eq!(
            run(&mut h, &["iptables", "-S", "INPUT"]).stdout,
            "-P INPUT ACCEPT\n\
-A INPUT -j LOG --log-prefix \"a b\" --log-level 1 --log-uid --log-macdecode\n\
-A INPUT -j LOG\n"
        );
        let l = run(&mut h, &["iptables", "-L", "INPUT"]).stdout;
        assert!(l.contains("LOG level alert uid macdecode prefix \"a b\"\n"));
        assert!(l.contains("LOG level warn\n"));
        let l = run(&mut h, &["iptables", "-L", "INPUT", "-n"]).stdout;
        assert!(l.contains("LOG flags 40 level 1 prefix \"a b\"\n"));
    }

    #[test]
    fn prefix_is_cut_and_bad_levels_fail() {
        let mut h = Host::new("h");
        let long = "x".repeat(40);
        assert_eq!(
            run(
                &mut h,
                &[
                    "iptables",
                    "-A",
                    "INPUT",
                    "-j",
                    "LOG",
                    "--log-prefix",
                    &long
                ]
            )
            .exit,
            0
        );
        assert!(run(&mut h, &["iptables", "-S", "INPUT"])
            .stdout
            .contains(&format!("--log-prefix {}\n", "x".repeat(29))));
        let o = run(
            &mut h,
            &["iptables", "-A", "INPUT", "-j", "LOG", "--log-level", "err"],
        );
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): log level \"err\" unknown\n\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let o = run(
            &mut h,
            &["iptables", "-A", "INPUT", "-j", "LOG", "--log-prefix", ""],
        );
        assert_eq!(o.exit, 2);
        assert!(o
            .stderr
            .contains("Argument must have a minimum length of 1 characters\n\n"));
    }

    use crate::ext::targets_testkit::{ping, tcp, Lab};

    #[test]
    fn lines_in_the_routers_kernel_log() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            r#"iptables -A FORWARD -j LOG --log-prefix "FWD: " --log-level 6
               iptables -A FORWARD -p tcp -j LOG --log-prefix "SEQ: " --log-tcp-sequence --log-tcp-options --log-macdecode
               iptables -t mangle -A POSTROUTING -p icmp -j LOG --log-prefix "POST: "
               iptables -A INPUT -j LOG --log-prefix "IN: "
               iptables -A OUTPUT -j LOG --log-prefix "OUT: ""#,
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 7));
        // The packet went on: the server answered and the client got the reply.
        assert_eq!(lab.got(lab.client).len(), 1);
        let log = lab.kmsg(r);
        assert_eq!(
            log,
            vec![
                "FWD: IN=eth0 OUT=eth1 MAC=02:00:00:02:00:01:02:00:00:01:00:01:08:00 SRC=10.0.1.2 DST=10.0.0.2 LEN=36 TOS=0x00 PREC=0x00 TTL=63 ID=1 PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1 ",
                "POST: IN=eth0 OUT=eth1 MAC=02:00:00:02:00:01:02:00:00:01:00:01:08:00 SRC=10.0.1.2 DST=10.0.0.2 LEN=36 TOS=0x00 PREC=0x00 TTL=63 ID=1 PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1 ",
                "FWD: IN=eth1 OUT=eth0 MAC=02:00:00:02:00:02:02:00:00:03:00:01:08:00 SRC=10.0.0.2 DST=10.0.1.2 LEN=36 TOS=0x00 PREC=0x00 TTL=63 ID=1 PROTO=ICMP TYPE=0 CODE=0 ID=7 SEQ=1 ",
                "POST: IN=eth1 OUT=eth0 MAC=02:00:00:02:00:02:02:00:00:03:00:01:08:00 SRC=10.0.0.2 DST=10.0.1.2 LEN=36 TOS=0x00 PREC=0x00 TTL=63 ID=1 PROTO=ICMP TYPE=0 CODE=0 ID=7 SEQ=1 ",
            ]
        );
        assert!(lab.w.hosts[r].kmsg.iter().take(1).all(|rec| rec.level == 6));
        assert_eq!(lab.w.hosts[r].kmsg[1].level, 4);
        // TCP flags, the router's own packets (no IN=, no MAC) and its input.
        lab.w.hosts[r].kmsg.clear();
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4000, 80, "S"));
        let log = lab.kmsg(r);
        assert!(log.iter().any(|l| l.starts_with("SEQ: IN=eth0 OUT=eth1 MACSRC=02:00:00:01:00:01 MACDST=02:00:00:02:00:01 MACPROTO=0800 SRC=10.0.1.2 ") && l.ends_with("PROTO=TCP SPT=4000 DPT=80 SEQ=1000 ACK=0 WINDOW=64240 RES=0x00 SYN URGP=0 OPT (020405B4) ")));
        lab.w.hosts[r].kmsg.clear();
        lab.send(lab.client, ping("10.0.1.2", "10.0.1.1", 8));
        let log = lab.kmsg(r);
        assert!(log[0].starts_with("IN: IN=eth0 OUT= MAC="));
        assert!(log[1].starts_with("OUT: IN= OUT=eth0 SRC=10.0.1.1 DST=10.0.1.2 "));
    }

    #[test]
    fn the_mark_is_logged() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            r#"iptables -t mangle -A PREROUTING -j MARK --set-mark 0x2a
               iptables -A FORWARD -j LOG --log-prefix "M: ""#,
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert!(lab.kmsg(r)[0].ends_with("ID=1 SEQ=1 MARK=0x2a "));
    }
}
