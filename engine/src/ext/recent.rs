//! `-m recent`: keeps named lists of recently seen addresses; `--set` adds
//! the packet's address, `--rcheck`/`--update`/`--remove` test for it
//! (optionally within `--seconds` and with at least `--hitcount` hits).

use super::{
    bit, xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult,
};
use crate::ext_boilerplate;
use std::net::Ipv4Addr;

const O_SET: u8 = 0;
const O_RCHECK: u8 = 1;
const O_UPDATE: u8 = 2;
const O_REMOVE: u8 = 3;
const O_SECONDS: u8 = 4;
const O_REAP: u8 = 5;
const O_HITCOUNT: u8 = 6;
const O_RTTL: u8 = 7;
const O_NAME: u8 = 8;
const O_RSOURCE: u8 = 9;
const O_RDEST: u8 = 10;
const O_MASK: u8 = 11;
const F_ANY_OP: u64 = bit(O_SET) | bit(O_RCHECK) | bit(O_UPDATE) | bit(O_REMOVE);

/// The kernel keeps at most this many hit stamps per address.
const MAX_NSTAMPS: u32 = 65536;
/// List names hold up to 199 bytes.
const NAME_MAX: usize = 199;

pub static INFO: ExtInfo = ExtInfo {
    name: "recent",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("set", O_SET).inv().excl(F_ANY_OP),
        OptSpec::flag("rcheck", O_RCHECK).inv().excl(F_ANY_OP),
        OptSpec::flag("update", O_UPDATE).inv().excl(F_ANY_OP),
        OptSpec::flag("remove", O_REMOVE).inv().excl(F_ANY_OP),
        OptSpec::arg("seconds", O_SECONDS),
        OptSpec::flag("reap", O_REAP).also(bit(O_SECONDS)),
        OptSpec::arg("hitcount", O_HITCOUNT),
        OptSpec::flag("rttl", O_RTTL).excl(bit(O_SET) | bit(O_REMOVE)),
        OptSpec::arg("name", O_NAME),
        OptSpec::flag("rsource", O_RSOURCE),
        OptSpec::flag("rdest", O_RDEST),
        OptSpec::arg("mask", O_MASK),
    ],
    guided: true,
    help: "recent match options:\n\
[!] --set                       Add the address to the list; always matches.\n\
[!] --rcheck                    Match if the address is on the list.\n\
[!] --update                    Like --rcheck, and refresh its last-seen time.\n\
[!] --remove                    Like --rcheck, and take the address off the list.\n\
\x20   --seconds seconds           With --rcheck/--update: only if seen within this many seconds.\n\
\x20   --reap                      Drop entries older than --seconds (needs --seconds).\n\
\x20   --hitcount hits             With --rcheck/--update: only if seen at least this many times.\n\
\x20   --rttl                      With --rcheck/--update: the TTL must also equal the one stored.\n\
\x20   --name name                 The list to use (DEFAULT when not given).\n\
\x20   --rsource                   Store and test the source address (default).\n\
\x20   --rdest                     Store and test the destination address.\n\
\x20   --mask netmask              Mask applied to addresses before use.\n",
    new_match: Some(|| Box::new(Recent::default())),
    new_target: None,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecentOp {
    #[default]
    None,
    Set,
    Check,
    Update,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    pub op: RecentOp,
    pub invert: bool,
    pub seconds: u32,
    pub reap: bool,
    pub hitcount: u32,
    pub rttl: bool,
    pub name: String,
    /// Test the destination instead of the source.
    pub dest: bool,
    pub mask: Ipv4Addr,
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            op: RecentOp::None,
            invert: false,
            seconds: 0,
            reap: false,
            hitcount: 0,
            rttl: false,
            name: "DEFAULT".into(),
            dest: false,
            mask: Ipv4Addr::BROADCAST,
        }
    }
}

impl Match for Recent {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let op = |me: &mut Recent, op| {
            me.op = op;
            if inv {
                me.invert = true;
            }
        };
        match id {
            O_SET => op(self, RecentOp::Set),
            O_RCHECK => op(self, RecentOp::Check),
            O_UPDATE => op(self, RecentOp::Update),
            O_REMOVE => op(self, RecentOp::Remove),
            O_SECONDS => {
                self.seconds = xtopt::uint("recent", "seconds", arg, 1, u32::MAX as u64)? as u32
            }
            O_REAP => self.reap = true,
            O_HITCOUNT => {
                self.hitcount = xtopt::uint("recent", "hitcount", arg, 0, u32::MAX as u64)? as u32
            }
            O_RTTL => self.rttl = true,
            O_NAME => self.name = arg.chars().take(NAME_MAX).collect(),
            O_RSOURCE => self.dest = false,
            O_RDEST => self.dest = true,
            _ => {
                // Names would need the resolver; the lab has no DNS.
                self.mask = xtopt::parse_ipv4(arg).ok_or_else(|| {
                    XtError::new("getaddrinfo: Temporary failure in name resolution")
                })?;
            }
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & F_ANY_OP == 0 {
            return Err(XtError::new(
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
            ));
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        let modifies = matches!(self.op, RecentOp::Set | RecentOp::Remove);
        if modifies && (self.seconds != 0 || self.hitcount != 0 || self.rttl || self.reap) {
            return Err(KernelError::Invalid);
        }
        if self.reap && self.seconds == 0 {
            return Err(KernelError::Invalid);
        }
        if self.hitcount >= MAX_NSTAMPS || self.name.is_empty() || self.name.contains('/') {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(match self.op {
            RecentOp::Set => " --set",
            RecentOp::Check => " --rcheck",
            RecentOp::Update => " --update",
            RecentOp::Remove => " --remove",
            RecentOp::None => "",
        });
        if self.seconds != 0 {
            out.push_str(&format!(" --seconds {}", self.seconds));
        }
        if self.reap {
            out.push_str(" --reap");
        }
        if self.hitcount != 0 {
            out.push_str(&format!(" --hitcount {}", self.hitcount));
        }
        if self.rttl {
            out.push_str(" --rttl");
        }
        out.push_str(&format!(" --name {} --mask {}", self.name, self.mask));
        out.push_str(if self.dest { " --rdest" } else { " --rsource" });
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" recent:");
        out.push_str(match self.op {
            RecentOp::Set => " SET",
            RecentOp::Check => " CHECK",
            RecentOp::Update => " UPDATE",
            RecentOp::Remove => " REMOVE",
            RecentOp::None => "",
        });
        if self.seconds != 0 {
            out.push_str(&format!(" seconds: {}", self.seconds));
        }
        if self.reap {
            out.push_str(" reap");
        }
        if self.hitcount != 0 {
            out.push_str(&format!(" hit_count: {}", self.hitcount));
        }
        if self.rttl {
            out.push_str(" TTL-Match");
        }
        out.push_str(&format!(" name: {}", self.name));
        out.push_str(if self.dest {
            " side: dest"
        } else {
            " side: source"
        });
        out.push_str(&format!(" mask: {}", self.mask));
    }

    fn explain(&self) -> String {
        let side = if self.dest { "destination" } else { "source" };
        let mut s = match self.op {
            RecentOp::Set => format!(
                "add the {side} address to list {} (always matches)",
                self.name
            ),
            RecentOp::Check => format!("{side} address is on list {}", self.name),
            RecentOp::Update => format!(
                "{side} address is on list {} (and refresh its time)",
                self.name
            ),
            RecentOp::Remove => format!("{side} address is on list {} (and remove it)", self.name),
            RecentOp::None => String::new(),
        };
        if self.seconds != 0 {
            s.push_str(&format!(", seen in the last {} s", self.seconds));
        }
        if self.hitcount != 0 {
            s.push_str(&format!(", at least {} times", self.hitcount));
        }
        if self.invert {
            format!("not: {s}")
        } else {
            s
        }
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
    fn defaults_in_save_and_list() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A INPUT -m recent --set").exit, 0);
        let r = "iptables -A INPUT -m recent ! --rcheck --seconds 5 --reap --hitcount 3 --rttl --name foo --rdest --mask 255.255.0.0";
        assert_eq!(run(&mut h, r).exit, 0);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n\
-A INPUT -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource\n\
-A INPUT -m recent ! --rcheck --seconds 5 --reap --hitcount 3 --rttl --name foo --mask 255.255.0.0 --rdest\n"
        );
        assert!(run(&mut h, "iptables -L INPUT").stdout.ends_with(
            "  ! recent: CHECK seconds: 5 reap hit_count: 3 TTL-Match name: foo side: dest mask: 255.255.0.0\n"
        ));
    }

    #[test]
    fn option_rules() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -A INPUT -m recent --set --rttl");
        assert!(o
            .stderr
            .contains("recent: option \"--rttl\" cannot be used together with \"--set\".\n\nTry"));
        let o = run(&mut h, "iptables -A INPUT -m recent --update --reap");
        assert!(o
            .stderr
            .contains("recent: option \"--reap\" also requires \"--seconds\"."));
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m recent --rcheck --hitcount 65536"
            )
            .exit,
            4
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m recent --set --seconds 5").exit,
            4
        );
        let o = run(&mut h, "iptables -A INPUT -m recent");
        assert!(o.stderr.contains("recent: you must specify one of"));
    }
}
