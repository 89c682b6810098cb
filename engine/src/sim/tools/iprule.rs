//! `ip rule` (iproute2 6.1): list, add, del and flush the policy routing
//! rules of a host, with iproute2's texts, messages and exit codes.

use crate::command::Output;
use crate::sim::host::Host;
use crate::sim::rules::{parse_u32, Rule, RuleFilter, TableNames, TABLE_MAIN};
use std::net::Ipv4Addr;

fn invalid(arg: &str, what: &str) -> Output {
    Output::err(
        format!("Error: argument \"{arg}\" is wrong: {what}\n\n"),
        255,
    )
}

fn incomplete() -> Output {
    Output::err("Command line is not complete. Try option \"help\"\n", 255)
}

/// iproute2's `get_prefix` for IPv4: `all`/`default`/`any`, `A.B.C.D[/LEN]`
/// with short forms (`10`, `10.1/16`); length 0 means every address.
pub fn parse_prefix(s: &str) -> Result<Option<(Ipv4Addr, u8)>, Output> {
    if matches!(s, "all" | "default" | "any") {
        return Ok(None);
    }
    let bad = || {
        Output::err(
            format!("Error: any valid prefix is expected rather than \"{s}\".\n"),
            1,
        )
    };
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>().ok().filter(|l| *l <= 32).ok_or_else(bad)?,
        ),
        None => (s, 32),
    };
    let parts: Vec<&str> = a.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return Err(bad());
    }
    let mut octets = [0u8; 4];
    for (k, p) in parts.iter().enumerate() {
        octets[k] = p.parse().map_err(|_| bad())?;
    }
    Ok((len > 0).then_some((Ipv4Addr::from(octets), len)))
}

/// A selector being read: the rule it describes and which fields were given.
struct Parsed {
    rule: Rule,
    filter: RuleFilter,
    /// Any word at all (add and del refuse an empty command line).
    any: bool,
}

fn parse(names: &TableNames, args: &[&str]) -> Result<Parsed, Output> {
    let mut rule = Rule::lookup(0, TABLE_MAIN);
    let mut filter = RuleFilter::default();
    let mut k = 0;
    while k < args.len() {
        let word = args[k];
        let next = || args.get(k + 1).copied().ok_or_else(incomplete);
        match word {
            "not" => {
                rule.invert = true;
                filter.invert = true;
                k += 1;
                continue;
            }
            "from" => {
                rule.from = parse_prefix(next()?)?;
                filter.from = Some(rule.from);
            }
            "to" => {
                rule.to = parse_prefix(next()?)?;
                filter.to = Some(rule.to);
            }
            "tos" | "dsfield" => {
                let v = next()?;
                let t = u8::from_str_radix(v.trim_start_matches("0x"), 16)
                    .map_err(|_| invalid(v, "TOS value is invalid"))?;
                rule.tos = t;
                filter.tos = Some(t);
            }
            "fwmark" => {
                let v = next()?;
                let (m, mask) = match v.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (v, None),
                };
                let mark = parse_u32(m).ok_or_else(|| invalid(m, "fwmark value is invalid"))?;
                let mask = match mask {
                    Some(k) => parse_u32(k).ok_or_else(|| invalid(k, "fwmask value is invalid"))?,
                    // The kernel: a mark without a mask compares every bit.
                    None if mark != 0 => u32::MAX,
                    None => 0,
                };
                rule.mark = mark;
                rule.mask = mask;
                filter.mark = Some((mark, mask));
            }
            "iif" | "dev" => {
                let d = next()?.to_string();
                rule.iif = Some(d.clone());
                filter.iif = Some(d);
            }
            "oif" => {
                let d = next()?.to_string();
                rule.oif = Some(d.clone());
                filter.oif = Some(d);
            }
            "pref" | "preference" | "priority" | "order" => {
                let v = next()?;
                let p = parse_u32(v).ok_or_else(|| invalid(v, "preference value is invalid"))?;
                rule.pref = p;
                filter.pref = Some(p);
            }
            "table" | "lookup" => {
                let v = next()?;
                let t = names.id(v).ok_or_else(|| invalid(v, "invalid table ID"))?;
                rule.table = t;
                filter.table = Some(t);
            }
            "unreachable"
            | "blackhole"
            | "prohibit"
            | "nop"
            | "goto"
            | "realms"
            | "nat"
            | "map-to"
            | "suppress_prefixlength"
            | "suppress_ifgroup"
            | "uidrange"
            | "ipproto"
            | "sport"
            | "dport"
            | "l3mdev"
            | "protocol"
            | "proto" => {
                return Err(Output::err(
                    format!(
                    "ip rule: \"{word}\" is not simulated here (rules that look up a table are)\n"
                ),
                    255,
                ))
            }
            // iproute2 prints this one without the blank line.
            other => {
                return Err(Output::err(
                    format!("Error: argument \"{other}\" is wrong: Failed to parse rule type\n"),
                    255,
                ))
            }
        }
        k += 2;
    }
    Ok(Parsed {
        rule,
        filter,
        any: !args.is_empty(),
    })
}

fn list(h: &Host, names: &TableNames, filter: &RuleFilter) -> String {
    let has_dev = |d: &str| h.iface(d).is_some();
    let mut s = String::new();
    for r in h.policy.rules.iter().filter(|r| filter.selects(r)) {
        s.push_str(&r.text(names, &has_dev));
        s.push('\n');
    }
    s
}

/// `ip rule add WORDS` on a host (lab files, namespaces read back): the
/// error text when iproute2 would refuse it.
pub fn add_rule(h: &mut Host, words: &str) -> Result<(), String> {
    let mut argv = vec!["add"];
    argv.extend(words.split_whitespace());
    let out = run(h, &argv);
    if out.exit == 0 {
        Ok(())
    } else {
        Err(out.stderr.trim_end().to_string())
    }
}

pub fn run(h: &mut Host, rest: &[&str]) -> Output {
    let names = TableNames::of(&h.files);
    let cmd = rest.first().copied().unwrap_or("list");
    let args = rest.get(1..).unwrap_or(&[]);
    match cmd {
        "list" | "show" | "lst" | "sh" | "ls" | "s" | "l" => match parse(&names, args) {
            Ok(p) => Output::ok(list(h, &names, &p.filter)),
            Err(e) => e,
        },
        "add" | "a" | "delete" | "del" | "d" => {
            let adding = cmd.starts_with('a');
            let p = match parse(&names, args) {
                Ok(p) => p,
                Err(e) => return e,
            };
            if !p.any {
                let word = if adding { "add" } else { "del" };
                return Output::err(format!("\"ip rule {word}\" requires arguments.\n"), 1);
            }
            if adding {
                let mut rule = p.rule;
                if p.filter.pref.is_none() {
                    rule.pref = h.policy.default_pref();
                }
                if p.filter.tos.is_some_and(|t| t & 3 != 0) {
                    return Output::err("Error: Invalid dsfield (tos): ECN bits must be 0.\n", 2);
                }
                if rule.tos & !0x1e != 0 {
                    return Output::err("Error: Invalid tos.\n", 2);
                }
                // Table 0: the kernel makes a new, empty table.
                if rule.table == 0 {
                    let Some(t) = (1..u32::MAX).find(|t| !h.policy.has_table(*t)) else {
                        return Output::err("RTNETLINK answers: No buffer space available\n", 2);
                    };
                    h.policy.tables.insert(t, Vec::new());
                    rule.table = t;
                }
                if h.policy.add(rule) {
                    Output::default()
                } else {
                    Output::err("RTNETLINK answers: File exists\n", 2)
                }
            } else {
                match h.policy.rules.iter().position(|r| p.filter.selects(r)) {
                    Some(i) => {
                        h.policy.rules.remove(i);
                        h.policy.custom = true;
                        Output::default()
                    }
                    None => Output::err("RTNETLINK answers: No such file or directory\n", 2),
                }
            }
        }
        "flush" | "f" => {
            // Every rule but the ones of preference 0.
            h.policy.rules.retain(|r| r.pref == 0);
            h.policy.custom = true;
            Output::default()
        }
        other => Output::err(
            format!("Command \"{other}\" is unknown, try \"ip rule help\".\n"),
            255,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(h: &mut Host, line: &str) -> Output {
        let words: Vec<&str> = line.split_whitespace().collect();
        run(h, &words)
    }

    #[test]
    fn add_list_del_like_iproute2() {
        let mut h = Host::new("r");
        assert_eq!(
            ip(&mut h, "list").stdout,
            "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n"
        );
        for c in [
            "add fwmark 2 table 2",
            "add from 10.0.0.0/24 lookup 100",
            "add not to 1.2.3.4 iif eth0 oif eth1 tos 0x10 pref 500 table main",
            "add fwmark 0x3/0xff table default",
            "add from all table local pref 10",
            "add fwmark 2",
            "add from 10 table 3",
            "add to 10.1/16 table 3",
            "add to 0.0.0.0/0 dsfield 8 table 4",
        ] {
            let o = ip(&mut h, c);
            assert_eq!((o.exit, o.stderr.as_str()), (0, ""), "{c}");
        }
        assert_eq!(
            ip(&mut h, "show").stdout,
            "0:\tfrom all lookup local\n\
             6:\tfrom all tos 0x08 lookup 4\n\
             7:\tfrom all to 10.1.0.0/16 lookup 3\n\
             8:\tfrom 10.0.0.0 lookup 3\n\
             9:\tfrom all fwmark 0x2 lookup main\n\
             10:\tfrom all lookup local\n\
             499:\tfrom all fwmark 0x3/0xff lookup default\n\
             500:\tnot from all to 1.2.3.4 tos 0x10 iif eth0 [detached] oif eth1 [detached] lookup main\n\
             32764:\tfrom 10.0.0.0/24 lookup 100\n\
             32765:\tfrom all fwmark 0x2 lookup 2\n\
             32766:\tfrom all lookup main\n\
             32767:\tfrom all lookup default\n"
        );
        let o = ip(&mut h, "add fwmark 2 table 2 pref 32765");
        assert_eq!(
            (o.exit, o.stderr.as_str()),
            (2, "RTNETLINK answers: File exists\n")
        );
        assert_eq!(
            ip(&mut h, "show table 3").stdout,
            "7:\tfrom all to 10.1.0.0/16 lookup 3\n8:\tfrom 10.0.0.0 lookup 3\n"
        );
        // del takes the first rule with the fields given.
        assert_eq!(ip(&mut h, "del fwmark 2").exit, 0);
        assert_eq!(
            ip(&mut h, "show fwmark 2").stdout,
            "32765:\tfrom all fwmark 0x2 lookup 2\n"
        );
        let o = ip(&mut h, "del table 99");
        assert_eq!(
            (o.exit, o.stderr.as_str()),
            (2, "RTNETLINK answers: No such file or directory\n")
        );
        assert_eq!(ip(&mut h, "flush").exit, 0);
        assert_eq!(ip(&mut h, "").stdout, "0:\tfrom all lookup local\n");
        assert_eq!(ip(&mut h, "add fwmark 5 table 5").exit, 0);
        assert_eq!(
            ip(&mut h, "").stdout,
            "0:\tfrom all lookup local\n0:\tfrom all fwmark 0x5 lookup 5\n"
        );
    }

    #[test]
    fn errors_like_iproute2() {
        let mut h = Host::new("r");
        for (c, code, err) in [
            ("add", 1, "\"ip rule add\" requires arguments.\n"),
            ("del", 1, "\"ip rule del\" requires arguments.\n"),
            (
                "add from",
                255,
                "Command line is not complete. Try option \"help\"\n",
            ),
            (
                "add fwmark bogus table 2",
                255,
                "Error: argument \"bogus\" is wrong: fwmark value is invalid\n\n",
            ),
            (
                "add fwmark 1/zz table 3",
                255,
                "Error: argument \"zz\" is wrong: fwmask value is invalid\n\n",
            ),
            (
                "add from 10.0.0.0/33 table 2",
                1,
                "Error: any valid prefix is expected rather than \"10.0.0.0/33\".\n",
            ),
            (
                "add pref x table 2",
                255,
                "Error: argument \"x\" is wrong: preference value is invalid\n\n",
            ),
            (
                "add table foo",
                255,
                "Error: argument \"foo\" is wrong: invalid table ID\n\n",
            ),
            (
                "add tos 300 table 5",
                255,
                "Error: argument \"300\" is wrong: TOS value is invalid\n\n",
            ),
            ("add tos 0x20 table 3", 2, "Error: Invalid tos.\n"),
            (
                "add tos 0x03 table 3",
                2,
                "Error: Invalid dsfield (tos): ECN bits must be 0.\n",
            ),
            (
                "add blah table 9",
                255,
                "Error: argument \"blah\" is wrong: Failed to parse rule type\n",
            ),
            (
                "foo",
                255,
                "Command \"foo\" is unknown, try \"ip rule help\".\n",
            ),
        ] {
            let o = ip(&mut h, c);
            assert_eq!((o.exit, o.stderr.as_str()), (code, err), "{c}");
        }
        assert_eq!(h.policy.rules.len(), 3);
        // A rule's own words make it again.
        let mut other = Host::new("o");
        other.policy.rules.clear();
        for r in &h.policy.rules {
            add_rule(&mut other, &r.args()).unwrap();
        }
        assert_eq!(other.policy.rules, h.policy.rules);
        let odd = Rule {
            invert: true,
            from: Some(([10, 0, 0, 5].into(), 24)),
            tos: 0x10,
            mark: 2,
            mask: 0xff,
            iif: Some("eth0".into()),
            oif: Some("eth1".into()),
            ..Rule::lookup(77, 1000)
        };
        add_rule(&mut other, &odd.args()).unwrap();
        assert!(other.policy.rules.contains(&odd), "{}", odd.args());
        assert_eq!(
            add_rule(&mut other, "fwmark x"),
            Err("Error: argument \"x\" is wrong: fwmark value is invalid".into())
        );
        // Table 0 makes the first free table.
        assert_eq!(ip(&mut h, "add table 0").exit, 0);
        assert_eq!(
            ip(&mut h, "list pref 32765").stdout,
            "32765:\tfrom all lookup 1\n"
        );
    }
}
