//! Policy routing state like Linux's: the rule list (`ip rule`), the routing
//! tables other than main (`ip route ... table N`), table names
//! (`/etc/iproute2/rt_tables`) and the rule texts iproute2 prints.

use super::route::Route;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// `RT_TABLE_DEFAULT`, `RT_TABLE_MAIN`, `RT_TABLE_LOCAL`.
pub const TABLE_DEFAULT: u32 = 253;
pub const TABLE_MAIN: u32 = 254;
pub const TABLE_LOCAL: u32 = 255;

/// One policy rule (`ip rule add ...`): the selector and the table to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub pref: u32,
    /// `not`: the rule applies when the selector does not match.
    pub invert: bool,
    /// `from PREFIX` as given (the kernel keeps host bits); `None`: all.
    pub from: Option<(Ipv4Addr, u8)>,
    pub to: Option<(Ipv4Addr, u8)>,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `fwmark MARK[/MASK]`; mask 0 (with mark 0) matches every packet.
    pub mark: u32,
    pub mask: u32,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub table: u32,
}

impl Rule {
    /// A rule matching everything, looking up `table`.
    pub fn lookup(pref: u32, table: u32) -> Rule {
        Rule {
            pref,
            invert: false,
            from: None,
            to: None,
            tos: 0,
            mark: 0,
            mask: 0,
            iif: None,
            oif: None,
            table,
        }
    }

    /// `fib_rule_match` + `fib4_rule_match`: whether the rule applies to a flow.
    pub fn matches(&self, f: &Flow) -> bool {
        let in_prefix = |p: Option<(Ipv4Addr, u8)>, a: Ipv4Addr| {
            p.is_none_or(|(net, len)| {
                let m = crate::ext::xtopt::prefix_mask(len);
                (u32::from(a) ^ u32::from(net)) & m == 0
            })
        };
        let hit = self.iif.as_deref().is_none_or(|i| i == f.iif)
            && self.oif.as_deref().is_none_or(|o| f.oif == Some(o))
            && (f.mark ^ self.mark) & self.mask == 0
            && in_prefix(self.from, f.src)
            && in_prefix(self.to, f.dst)
            && (self.tos == 0 || self.tos == f.tos & 0xfc);
        hit != self.invert
    }

    /// The words of `ip rule add` that make this rule again (table by number).
    pub fn args(&self) -> String {
        let prefix = |(a, l): (Ipv4Addr, u8)| format!("{a}/{l}");
        let mut w = Vec::new();
        if self.invert {
            w.push("not".to_string());
        }
        if let Some(f) = self.from {
            w.push(format!("from {}", prefix(f)));
        }
        if let Some(t) = self.to {
            w.push(format!("to {}", prefix(t)));
        }
        if self.tos != 0 {
            w.push(format!("tos 0x{:02x}", self.tos));
        }
        if self.mark != 0 || self.mask != 0 {
            w.push(format!("fwmark 0x{:x}/0x{:x}", self.mark, self.mask));
        }
        if let Some(i) = &self.iif {
            w.push(format!("iif {i}"));
        }
        if let Some(o) = &self.oif {
            w.push(format!("oif {o}"));
        }
        w.push(format!("pref {} lookup {}", self.pref, self.table));
        w.join(" ")
    }

    /// The line `ip rule list` prints (without the newline).
    pub fn text(&self, names: &TableNames, has_dev: &dyn Fn(&str) -> bool) -> String {
        let prefix = |(a, l): (Ipv4Addr, u8)| {
            if l == 32 {
                a.to_string()
            } else {
                format!("{a}/{l}")
            }
        };
        let mut s = format!("{}:\t", self.pref);
        if self.invert {
            s.push_str("not ");
        }
        s.push_str("from ");
        s.push_str(&self.from.map_or("all".to_string(), prefix));
        if let Some(to) = self.to {
            s.push_str(&format!(" to {}", prefix(to)));
        }
        if self.tos != 0 {
            s.push_str(&format!(" tos 0x{:02x}", self.tos));
        }
        if self.mark != 0 || self.mask != 0 {
            // printf's `%#x`: 0 has no 0x.
            let hex = |v: u32| {
                if v == 0 {
                    "0".to_string()
                } else {
                    format!("{v:#x}")
                }
            };
            s.push_str(&format!(" fwmark {}", hex(self.mark)));
            if self.mask != u32::MAX {
                s.push_str(&format!("/{}", hex(self.mask)));
            }
        }
        for (word, dev) in [("iif", &self.iif), ("oif", &self.oif)] {
            if let Some(d) = dev {
                s.push_str(&format!(" {word} {d}"));
                if !has_dev(d) {
                    s.push_str(" [detached]");
                }
            }
        }
        s.push_str(&format!(" lookup {}", names.name(self.table)));
        s
    }
}

/// What a route lookup knows about the packet (the kernel's `flowi4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow<'a> {
    pub dst: Ipv4Addr,
    /// `0.0.0.0` when the source is not chosen yet.
    pub src: Ipv4Addr,
    pub mark: u32,
    pub tos: u8,
    /// The input interface; `lo` for a packet of the host itself.
    pub iif: &'a str,
    /// The interface the sender is bound to (`SO_BINDTODEVICE`, `ip route get oif`).
    pub oif: Option<&'a str>,
}

impl<'a> Flow<'a> {
    /// A packet the host sends to `dst` from an unchosen source, unmarked.
    pub fn output(dst: Ipv4Addr) -> Flow<'a> {
        Flow {
            dst,
            src: Ipv4Addr::UNSPECIFIED,
            mark: 0,
            tos: 0,
            iif: "lo",
            oif: None,
        }
    }
}

/// The host's policy routing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// In the kernel's order: by preference, equal ones as added.
    pub rules: Vec<Rule>,
    /// Routes of every table but main (which is `Host::routes` plus the
    /// connected routes), by table; a table once made stays, even empty.
    pub tables: BTreeMap<u32, Vec<Route>>,
    /// The rules were changed once: the kernel has split the local table
    /// from main for good (`ip route get` then says `table local`).
    pub custom: bool,
}

impl Default for Policy {
    /// Linux's rules: `0 local`, `32766 main`, `32767 default`; the local
    /// and main tables exist.
    fn default() -> Policy {
        Policy {
            rules: vec![
                Rule::lookup(0, TABLE_LOCAL),
                Rule::lookup(32766, TABLE_MAIN),
                Rule::lookup(32767, TABLE_DEFAULT),
            ],
            tables: BTreeMap::from([(TABLE_LOCAL, Vec::new())]),
            custom: false,
        }
    }
}

impl Policy {
    /// Whether routing needs more than the local and main tables: rules
    /// were changed or the default table has routes.
    pub fn is_plain(&self) -> bool {
        !self.custom
            && self.tables.get(&TABLE_DEFAULT).is_none_or(|t| t.is_empty())
            && self.tables.get(&TABLE_LOCAL).is_none_or(|t| t.is_empty())
    }

    /// `fib_default_rule_pref`: one less than the preference of the second
    /// rule when that is not 0, else 0.
    pub fn default_pref(&self) -> u32 {
        match self.rules.get(1) {
            Some(r) if r.pref != 0 => r.pref - 1,
            _ => 0,
        }
    }

    /// Adds a rule after every rule of lower or equal preference; false
    /// when the same rule is there already (`File exists`).
    pub fn add(&mut self, rule: Rule) -> bool {
        if self.rules.contains(&rule) {
            return false;
        }
        let at = self
            .rules
            .iter()
            .position(|r| r.pref > rule.pref)
            .unwrap_or(self.rules.len());
        self.rules.insert(at, rule);
        self.custom = true;
        true
    }

    /// Whether a table exists (main always does).
    pub fn has_table(&self, t: u32) -> bool {
        t == TABLE_MAIN || self.tables.contains_key(&t)
    }
}

/// A selector as `ip rule del` / `ip rule show` take it: only the fields
/// given are compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleFilter {
    pub pref: Option<u32>,
    pub invert: bool,
    pub from: Option<Option<(Ipv4Addr, u8)>>,
    pub to: Option<Option<(Ipv4Addr, u8)>>,
    pub tos: Option<u8>,
    pub mark: Option<(u32, u32)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub table: Option<u32>,
}

impl RuleFilter {
    /// The kernel's `rule_find` for deletion (a given field must be equal).
    pub fn selects(&self, r: &Rule) -> bool {
        self.pref.is_none_or(|p| p == r.pref)
            && (!self.invert || r.invert)
            && self.from.is_none_or(|f| f == r.from)
            && self.to.is_none_or(|t| t == r.to)
            && self.tos.is_none_or(|t| t == r.tos)
            && self.mark.is_none_or(|(m, k)| m == r.mark && k == r.mask)
            && self.iif.as_ref().is_none_or(|i| r.iif.as_ref() == Some(i))
            && self.oif.as_ref().is_none_or(|o| r.oif.as_ref() == Some(o))
            && self.table.is_none_or(|t| t == r.table)
    }
}

/// Table names: iproute2's defaults and a host's `/etc/iproute2/rt_tables`.
#[derive(Debug, Clone, Default)]
pub struct TableNames {
    extra: Vec<(u32, String)>,
}

impl TableNames {
    /// The names a host knows, reading its `/etc/iproute2/rt_tables` if any.
    pub fn of(files: &BTreeMap<String, String>) -> TableNames {
        let extra = files
            .get("/etc/iproute2/rt_tables")
            .map(|text| {
                text.lines()
                    .filter_map(|l| {
                        let l = l.split('#').next().unwrap_or("");
                        let mut w = l.split_whitespace();
                        let id = parse_u32(w.next()?)?;
                        let name = w.next()?;
                        Some((id, name.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        TableNames { extra }
    }

    pub fn name(&self, t: u32) -> String {
        match t {
            TABLE_LOCAL => "local".into(),
            TABLE_MAIN => "main".into(),
            TABLE_DEFAULT => "default".into(),
            _ => self
                .extra
                .iter()
                .find(|(id, _)| *id == t)
                .map_or_else(|| t.to_string(), |(_, n)| n.clone()),
        }
    }

    /// `rtnl_rttable_a2n`: a name or a number (decimal, `0x` hex, `0` octal).
    pub fn id(&self, s: &str) -> Option<u32> {
        match s {
            "local" => Some(TABLE_LOCAL),
            "main" => Some(TABLE_MAIN),
            "default" => Some(TABLE_DEFAULT),
            "unspec" => Some(0),
            _ => self
                .extra
                .iter()
                .find(|(_, n)| n == s)
                .map(|(id, _)| *id)
                .or_else(|| parse_u32(s)),
        }
    }
}

/// `strtoul(s, NULL, 0)` on the whole word.
pub fn parse_u32(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(dst: [u8; 4], src: [u8; 4], mark: u32, iif: &str) -> Flow<'_> {
        Flow {
            dst: dst.into(),
            src: src.into(),
            mark,
            tos: 0,
            iif,
            oif: None,
        }
    }

    #[test]
    fn preferences_follow_the_kernel() {
        let mut p = Policy::default();
        assert_eq!(p.default_pref(), 32765);
        assert!(p.add(Rule::lookup(p.default_pref(), 2)));
        assert_eq!(p.default_pref(), 32764);
        let mut r = Rule::lookup(10, 7);
        r.mark = 2;
        r.mask = u32::MAX;
        assert!(p.add(r.clone()));
        // The same rule again: File exists.
        assert!(!p.add(r));
        assert_eq!(p.default_pref(), 9);
        // An equal preference goes after the ones there.
        assert!(p.add(Rule::lookup(32766, 3)));
        let prefs: Vec<(u32, u32)> = p.rules.iter().map(|r| (r.pref, r.table)).collect();
        assert_eq!(
            prefs,
            [
                (0, 255),
                (10, 7),
                (32765, 2),
                (32766, 254),
                (32766, 3),
                (32767, 253)
            ]
        );
        // Only `0 local` left: new rules get 0.
        p.rules.retain(|r| r.pref == 0);
        assert_eq!(p.default_pref(), 0);
        // No rule 0: the second rule's preference minus one.
        p.rules = vec![Rule::lookup(5, 1), Rule::lookup(100, 2)];
        assert_eq!(p.default_pref(), 99);
    }

    #[test]
    fn selectors_match_like_fib_rule_match() {
        let mut r = Rule::lookup(100, 2);
        r.mark = 0x10;
        r.mask = 0xf0;
        r.from = Some(([10, 0, 0, 5].into(), 24));
        assert!(r.matches(&flow([8, 8, 8, 8], [10, 0, 0, 9], 0x1f, "eth0")));
        assert!(!r.matches(&flow([8, 8, 8, 8], [10, 0, 0, 9], 0x20, "eth0")));
        assert!(!r.matches(&flow([8, 8, 8, 8], [10, 0, 1, 9], 0x10, "eth0")));
        r.iif = Some("lo".into());
        assert!(!r.matches(&flow([8, 8, 8, 8], [10, 0, 0, 9], 0x10, "eth0")));
        assert!(r.matches(&flow([8, 8, 8, 8], [10, 0, 0, 9], 0x10, "lo")));
        r.invert = true;
        assert!(!r.matches(&flow([8, 8, 8, 8], [10, 0, 0, 9], 0x10, "lo")));
        // oif rules never match a flow without an output interface.
        let mut o = Rule::lookup(1, 2);
        o.oif = Some("eth1".into());
        assert!(!o.matches(&flow([8, 8, 8, 8], [0; 4], 0, "lo")));
        let mut f = flow([8, 8, 8, 8], [0; 4], 0, "lo");
        f.oif = Some("eth1");
        assert!(o.matches(&f));
        let mut t = Rule::lookup(1, 2);
        t.tos = 0x10;
        f.tos = 0x10;
        assert!(t.matches(&f));
        f.tos = 0x12;
        assert!(t.matches(&f), "ECN bits do not count");
        f.tos = 0x08;
        assert!(!t.matches(&f));
    }

    #[test]
    fn texts_are_iproute2s() {
        let names = TableNames::of(&BTreeMap::from([(
            "/etc/iproute2/rt_tables".to_string(),
            "# comment\n2\tisp2\n".to_string(),
        )]));
        let none = |_: &str| false;
        let some = |_: &str| true;
        let p = Policy::default();
        let lines: Vec<String> = p.rules.iter().map(|r| r.text(&names, &some)).collect();
        assert_eq!(
            lines,
            [
                "0:\tfrom all lookup local",
                "32766:\tfrom all lookup main",
                "32767:\tfrom all lookup default"
            ]
        );
        let mut r = Rule::lookup(32765, 2);
        r.mark = 2;
        r.mask = u32::MAX;
        assert_eq!(
            r.text(&TableNames::default(), &some),
            "32765:\tfrom all fwmark 0x2 lookup 2"
        );
        assert_eq!(
            r.text(&names, &some),
            "32765:\tfrom all fwmark 0x2 lookup isp2"
        );
        let r = Rule {
            invert: true,
            to: Some(([1, 2, 3, 4].into(), 32)),
            tos: 0x10,
            iif: Some("eth0".into()),
            oif: Some("eth1".into()),
            ..Rule::lookup(500, TABLE_MAIN)
        };
        assert_eq!(
            r.text(&names, &none),
            "500:\tnot from all to 1.2.3.4 tos 0x10 iif eth0 [detached] oif eth1 [detached] lookup main"
        );
        let r = Rule {
            from: Some(([10, 0, 0, 2].into(), 32)),
            to: Some(([8, 8, 8, 0].into(), 24)),
            mark: 0x10,
            mask: 0xf0,
            ..Rule::lookup(100, 8)
        };
        assert_eq!(
            r.text(&names, &some),
            "100:\tfrom 10.0.0.2 to 8.8.8.0/24 fwmark 0x10/0xf0 lookup 8"
        );
        let r = Rule {
            mark: 0,
            mask: 0xff,
            ..Rule::lookup(13, 2)
        };
        assert_eq!(
            r.text(&names, &some),
            "13:\tfrom all fwmark 0/0xff lookup isp2"
        );
        assert_eq!(names.id("isp2"), Some(2));
        assert_eq!(names.id("0x10"), Some(16));
        assert_eq!(names.id("foo"), None);
    }
}
