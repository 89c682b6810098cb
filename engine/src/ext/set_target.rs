//! `-j SET --add-set/--del-set NAME src,dst`: adds the packet's addresses or
//! ports to an ipset, or deletes them; `--map-set` copies skbinfo from a set.
//! Non-terminating.

use super::set::{dirs_text, parse_set_and_dirs};
use super::{CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult};
use crate::ext_boilerplate;
use crate::ipset::{Dir, PacketFields, Store};
use crate::ruleset::Hook;

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

fn dirs(flags: &[bool]) -> Vec<Dir> {
    flags
        .iter()
        .map(|s| if *s { Dir::Src } else { Dir::Dst })
        .collect()
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

    /// Applies the target to a packet (add first, then delete, as the kernel does).
    pub fn apply(&self, store: &mut Store, pkt: &PacketFields, now: u64) {
        if let Some(a) = &self.add {
            store.add_packet(&a.name, pkt, &dirs(&a.flags), self.exist, self.timeout, now);
        }
        if let Some(d) = &self.del {
            store.del_packet(&d.name, pkt, &dirs(&d.flags));
        }
    }
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
            let mut s = format!("adds the packet's {} to ipset \"{}\"", side(a), a.name);
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
                "deletes the packet's {} from ipset \"{}\"",
                side(d),
                d.name
            ));
        }
        if let Some(m) = &self.map {
            parts.push(format!(
                "copies the mark/priority/queue stored for the packet's {} in ipset \"{}\"",
                side(m),
                m.name
            ));
        }
        let mut s = parts.join(", then ");
        s.push_str("; the packet continues to the next rule");
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

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
}
