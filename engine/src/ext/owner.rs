//! `-m owner`: matches locally generated packets by the socket that sent
//! them (user id, group id, or whether there is a socket at all).

use super::{
    CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult,
};
use crate::ext::bit;
use crate::ext_boilerplate;
use crate::packet::Sender;
use crate::ruleset::{check::hooks_outside, Hook};

const O_UID: u8 = 0;
const O_GID: u8 = 1;
const O_SOCKET: u8 = 2;
const O_SUPPL: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "owner",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("uid-owner", O_UID).inv(),
        OptSpec::arg("gid-owner", O_GID).inv(),
        OptSpec::flag("socket-exists", O_SOCKET).inv(),
        OptSpec::flag("suppl-groups", O_SUPPL),
    ],
    guided: true,
    help: concat!(
        "owner match options:\n",
        "[!] --uid-owner userid[-userid]      Sending socket's user (name, id or id range)\n",
        "[!] --gid-owner groupid[-groupid]    Sending socket's group (name, id or id range)\n",
        "[!] --socket-exists                  The packet has a local socket\n",
        "    --suppl-groups                   --gid-owner also looks at supplementary groups\n",
    ),
    new_match: Some(|| Box::new(Owner::default())),
    new_target: None,
};

/// Users of a fresh Debian system (`/etc/passwd`).
const USERS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("sync", 4),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("list", 38),
    ("irc", 39),
    ("_apt", 42),
    ("nobody", 65534),
];

/// Groups of a fresh Debian system (`/etc/group`).
const GROUPS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

fn by_name(table: &[(&str, u32)], name: &str) -> Option<u32> {
    table.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

fn by_id(table: &[(&'static str, u32)], id: u32) -> Option<&'static str> {
    table.iter().find(|(_, i)| *i == id).map(|(n, _)| *n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub min: u32,
    pub max: u32,
    pub inv: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    pub uid: Option<IdRange>,
    pub gid: Option<IdRange>,
    /// `--socket-exists` and its inversion.
    pub socket: Option<bool>,
    pub suppl_groups: bool,
}

fn bad(opt: &str, arg: &str) -> XtError {
    XtError::new(format!(
        "owner: Bad value for \"--{opt}\" option: \"{arg}\""
    ))
}

/// `id`, `id-id` or `id:id`; ids up to 4294967294 (-1 is reserved).
fn parse_range(s: &str, opt: &str) -> XtResult<(u32, u32)> {
    let max = u32::MAX as u64 - 1;
    let (from, rest) = super::xtopt::strtoul(s, 0, max).ok_or_else(|| bad(opt, s))?;
    let mut to = from;
    let mut rest = rest;
    if let Some(r) = rest.strip_prefix('-').or_else(|| rest.strip_prefix(':')) {
        let (t, r2) = super::xtopt::strtoul(r, 0, max).ok_or_else(|| bad(opt, s))?;
        to = t;
        rest = r2;
    }
    if !rest.is_empty() {
        return Err(bad(opt, s));
    }
    Ok((from as u32, to as u32))
}

fn item(out: &mut String, label: &str, r: &IdRange, names: &[(&'static str, u32)], numeric: bool) {
    if r.inv {
        out.push_str(" !");
    }
    out.push(' ');
    out.push_str(label);
    if r.min != r.max {
        out.push_str(&format!(" {}-{}", r.min, r.max));
    } else if let Some(n) = (!numeric).then(|| by_id(names, r.min)).flatten() {
        out.push_str(&format!(" {n}"));
    } else {
        out.push_str(&format!(" {}", r.min));
    }
}

/// Why an owner match failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    NoSocket,
    HasSocket,
    Uid,
    Gid,
    KernelSocket,
}

impl Owner {
    /// A packet without a socket: only options that are all inverted match.
    fn without_socket(&self) -> Option<Miss> {
        let all_inverted = self.socket.is_none_or(|i| i)
            && self.uid.is_none_or(|r| r.inv)
            && self.gid.is_none_or(|r| r.inv)
            && !self.suppl_groups;
        if all_inverted {
            None
        } else {
            Some(Miss::NoSocket)
        }
    }

    /// The first failing test, in `owner_mt`'s order. Locally generated
    /// packets (OUTPUT, POSTROUTING, no input interface) carry their
    /// socket's user and group; every other packet has no socket.
    fn miss(&self, cx: &EvalCx) -> Option<Miss> {
        let local =
            matches!(cx.hook, Hook::Output | Hook::Postrouting) && cx.pkt.meta.in_iface.is_none();
        if !local {
            return self.without_socket();
        }
        match cx.pkt.meta.sender {
            Sender::NoSocket => return self.without_socket(),
            _ if self.socket == Some(true) => return Some(Miss::HasSocket),
            // A socket without a file: only inverted user and group options pass.
            Sender::Kernel if self.uid.is_some_and(|r| !r.inv) => return Some(Miss::KernelSocket),
            Sender::Kernel if self.gid.is_some_and(|r| !r.inv) => return Some(Miss::KernelSocket),
            Sender::Kernel => return None,
            Sender::User | Sender::Request => {}
        }
        let inside = |r: &IdRange, id: u32| id >= r.min && id <= r.max;
        if let Some(r) = &self.uid {
            if inside(r, cx.pkt.meta.uid) == r.inv {
                return Some(Miss::Uid);
            }
        }
        if let Some(r) = &self.gid {
            if inside(r, cx.pkt.meta.gid) == r.inv {
                return Some(Miss::Gid);
            }
        }
        None
    }
}

impl Match for Owner {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_UID | O_GID => {
                let (opt, names) = if id == O_UID {
                    ("uid-owner", USERS)
                } else {
                    ("gid-owner", GROUPS)
                };
                let (min, max) = match by_name(names, arg) {
                    Some(v) => (v, v),
                    None => parse_range(arg, opt)?,
                };
                let r = Some(IdRange { min, max, inv });
                if id == O_UID {
                    self.uid = r;
                } else {
                    self.gid = r;
                }
            }
            O_SOCKET => self.socket = Some(inv),
            O_SUPPL => {
                if self.gid.is_none() {
                    return Err(bad("suppl-groups", "you need to use --gid-owner first"));
                }
                self.suppl_groups = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & (bit(O_UID) | bit(O_GID) | bit(O_SOCKET)) == 0 {
            return Err(XtError::new(
                "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required",
            ));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if hooks_outside(cx.hooks, &[Hook::Output, Hook::Postrouting]) {
            return Err(KernelError::Invalid);
        }
        for r in [&self.uid, &self.gid].into_iter().flatten() {
            if r.max < r.min {
                return Err(KernelError::Invalid);
            }
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.miss(cx).is_none())
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let opt = opt.trim_start();
        let why = match self.miss(cx) {
            None => return "-m owner matched".into(),
            Some(Miss::NoSocket) => "the packet has no local socket (not sent by this host)".into(),
            Some(Miss::HasSocket) => "the packet comes from a local socket".into(),
            Some(Miss::KernelSocket) => {
                "the packet comes from the kernel's own socket (no user)".into()
            }
            Some(Miss::Uid) => format!("the sender's user id is {}", cx.pkt.meta.uid),
            Some(Miss::Gid) => format!("the sender's group id is {}", cx.pkt.meta.gid),
        };
        format!("`{opt}` did not match: {why}")
    }

    fn save(&self, out: &mut String) {
        if let Some(inv) = self.socket {
            out.push_str(if inv {
                " ! --socket-exists"
            } else {
                " --socket-exists"
            });
        }
        if let Some(r) = &self.uid {
            item(out, "--uid-owner", r, USERS, true);
        }
        if let Some(r) = &self.gid {
            item(out, "--gid-owner", r, GROUPS, true);
        }
        if self.suppl_groups {
            out.push_str(" --suppl-groups");
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        if let Some(inv) = self.socket {
            out.push_str(if inv {
                " ! owner socket exists"
            } else {
                " owner socket exists"
            });
        }
        if let Some(r) = &self.uid {
            item(out, "owner UID match", r, USERS, numeric);
        }
        if let Some(r) = &self.gid {
            item(out, "owner GID match", r, GROUPS, numeric);
        }
        if self.suppl_groups {
            out.push_str(" incl. suppl. groups");
        }
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        if let Some(inv) = self.socket {
            parts.push(if inv {
                "the packet has no local socket".to_string()
            } else {
                "the packet comes from a local socket".to_string()
            });
        }
        let range = |r: &IdRange| {
            if r.min == r.max {
                r.min.to_string()
            } else {
                format!("in {}-{}", r.min, r.max)
            }
        };
        if let Some(r) = &self.uid {
            parts.push(format!(
                "the sending user id is {}{}",
                if r.inv { "not " } else { "" },
                range(r)
            ));
        }
        if let Some(r) = &self.gid {
            parts.push(format!(
                "the sending {}group id is {}{}",
                if self.suppl_groups {
                    "(or a supplementary) "
                } else {
                    ""
                },
                if r.inv { "not " } else { "" },
                range(r)
            ));
        }
        format!("Matches when {}", parts.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn locally_generated_packets_only() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A OUTPUT -m owner --uid-owner root");
        sh(
            &mut w,
            0,
            "iptables -A OUTPUT -m owner --uid-owner 1000-2000",
        );
        sh(
            &mut w,
            0,
            "iptables -A OUTPUT -m owner ! --gid-owner 0 ! --socket-exists",
        );
        sh(&mut w, 0, "iptables -A OUTPUT -m owner --socket-exists");
        sh(
            &mut w,
            0,
            "iptables -A POSTROUTING -t mangle -m owner ! --uid-owner 1500",
        );
        w.send(0, udp("10.0.0.1", 1, "10.0.0.2", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "OUTPUT"), vec![1, 0, 0, 1]);
        assert_eq!(
            why(&w, "OUTPUT", 2),
            "`--uid-owner 1000-2000` did not match: the sender's user id is 0"
        );
        assert_eq!(
            why(&w, "OUTPUT", 3),
            "`! --socket-exists ! --gid-owner 0` did not match: the packet comes from a local socket"
        );
        let mut p = udp("10.0.0.1", 1, "10.0.0.2", 2, 0);
        p.meta.uid = 1500;
        p.meta.gid = 100;
        w.send(0, p);
        assert_eq!(lab::counts(&w, "filter", "OUTPUT"), vec![1, 1, 0, 2]);
        assert_eq!(lab::counts(&w, "mangle", "POSTROUTING"), vec![1]);
    }

    #[test]
    fn forwarded_packets_have_no_socket() {
        let mut w = lab::world();
        w.plug(0, "eth1", "10.0.1.1/24", "wan").unwrap();
        w.set_outside("wan").unwrap();
        w.hosts[0]
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        sh(
            &mut w,
            0,
            "iptables -t mangle -A POSTROUTING -m owner --uid-owner 0",
        );
        sh(
            &mut w,
            0,
            "iptables -t mangle -A POSTROUTING -m owner ! --uid-owner 0 ! --socket-exists",
        );
        sh(&mut w, 0, "iptables -t mangle -A POSTROUTING -m owner ! --uid-owner 0 ! --gid-owner 0 --suppl-groups");
        inject(&mut w, udp("10.0.0.2", 1, "10.0.1.2", 2, 0));
        assert_eq!(lab::counts(&w, "mangle", "POSTROUTING"), vec![0, 1, 0]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn names_ranges_and_lists() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -t mangle -A OUTPUT -m owner --gid-owner 0 --uid-owner games --socket-exists",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A OUTPUT -m owner ! --gid-owner 10:20 --suppl-groups"
            )
            .exit,
            0
        );
        let s = run(&mut h, "iptables -t mangle -S OUTPUT").stdout;
        assert!(s.contains("-A OUTPUT -m owner --socket-exists --uid-owner 5 --gid-owner 0\n"));
        assert!(s.contains("-A OUTPUT -m owner ! --gid-owner 10-20 --suppl-groups\n"));
        let l = run(&mut h, "iptables -t mangle -L OUTPUT").stdout;
        assert!(l.contains("owner socket exists owner UID match games owner GID match root\n"));
        assert!(l.contains("! owner GID match 10-20 incl. suppl. groups\n"));
        let l = run(&mut h, "iptables -t mangle -L OUTPUT -n").stdout;
        assert!(l.contains("owner socket exists owner UID match 5 owner GID match 0\n"));
    }

    #[test]
    fn errors_and_kernel() {
        let mut h = Host::new("h");
        let add = |h: &mut Host, a: &str| run(h, &format!("iptables -t mangle -A {a}"));
        assert!(add(&mut h, "OUTPUT -m owner --uid-owner nosuchuser")
            .stderr
            .contains("owner: Bad value for \"--uid-owner\" option: \"nosuchuser\"\n"));
        assert!(add(&mut h, "OUTPUT -m owner --uid-owner 4294967295")
            .stderr
            .contains("Bad value"));
        assert!(add(&mut h, "OUTPUT -m owner --suppl-groups")
            .stderr
            .contains("\"you need to use --gid-owner first\"\n"));
        assert!(add(&mut h, "OUTPUT -m owner")
            .stderr
            .contains("At least one of"));
        assert_eq!(add(&mut h, "OUTPUT -m owner --uid-owner 10-5").exit, 4);
        assert_eq!(add(&mut h, "INPUT -m owner --uid-owner 0").exit, 4);
        assert_eq!(add(&mut h, "POSTROUTING -m owner --uid-owner 0").exit, 0);
    }
}
