//! `ip` (iproute2 6.1): `ip addr` (show, add, del, flush), `ip link` (show,
//! set up/down/mtu), `ip route` (show, add, del, replace, flush, get, in any
//! table) and `ip rule` ([`super::iprule`]), with `-4`, `-br` and iproute2's
//! messages and exit codes.

use crate::command::Output;
use crate::sim::host::Host;
use crate::sim::iface::{mac_text, IfAddr, Iface};
use crate::sim::route::{self, Decision, Route};
use crate::sim::rules::{Flow, TableNames, TABLE_LOCAL, TABLE_MAIN};
use crate::sim::world::World;
use std::net::Ipv4Addr;

fn flags(i: &Iface) -> String {
    if i.is_loopback() {
        return if i.up {
            "<LOOPBACK,UP,LOWER_UP>".into()
        } else {
            "<LOOPBACK>".into()
        };
    }
    match (i.up, i.link.is_some()) {
        (true, true) => "<BROADCAST,MULTICAST,UP,LOWER_UP>".into(),
        (true, false) => "<NO-CARRIER,BROADCAST,MULTICAST,UP>".into(),
        (false, _) => "<BROADCAST,MULTICAST>".into(),
    }
}

fn state(i: &Iface) -> &'static str {
    if i.is_loopback() {
        if i.up {
            "UNKNOWN"
        } else {
            "DOWN"
        }
    } else if i.up && i.link.is_some() {
        "UP"
    } else {
        "DOWN"
    }
}

fn head_line(idx: usize, i: &Iface, link_mode: bool) -> String {
    format!(
        "{idx}: {}: {} mtu {} qdisc {} state {}{} group default qlen 1000\n",
        i.name,
        flags(i),
        if i.is_loopback() { 65536 } else { i.mtu as u32 },
        if i.is_loopback() {
            "noqueue"
        } else {
            "fq_codel"
        },
        state(i),
        if link_mode { " mode DEFAULT" } else { "" }
    )
}

fn link_line(i: &Iface) -> String {
    if i.is_loopback() {
        "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n".into()
    } else {
        format!(
            "    link/ether {} brd ff:ff:ff:ff:ff:ff\n",
            mac_text(&i.mac)
        )
    }
}

/// The IPv6 link-local address Linux derives from a MAC (EUI-64).
fn link_local(mac: &[u8; 6]) -> String {
    let g = [
        u16::from_be_bytes([mac[0] ^ 0x02, mac[1]]),
        u16::from_be_bytes([mac[2], 0xff]),
        u16::from_be_bytes([0xfe, mac[3]]),
        u16::from_be_bytes([mac[4], mac[5]]),
    ];
    let groups: Vec<String> = g.iter().map(|x| format!("{x:x}")).collect();
    // Leading zero groups collapse into "::".
    let first = groups.iter().position(|x| x != "0").unwrap_or(4);
    format!("fe80::{}", groups[first..].join(":"))
}

fn inet_lines(i: &Iface, v4_only: bool) -> String {
    let mut s = String::new();
    for (k, a) in i.addrs.iter().enumerate() {
        let secondary = i.addrs[..k]
            .iter()
            .any(|p| p.prefix == a.prefix && p.contains(a.addr));
        let scope = if a.addr.is_loopback() {
            "host"
        } else {
            "global"
        };
        s.push_str(&format!(
            "    inet {}/{} scope {scope} {}{}\n       valid_lft forever preferred_lft forever\n",
            a.addr,
            a.prefix,
            if secondary { "secondary " } else { "" },
            i.name
        ));
    }
    if !v4_only && i.up {
        if i.is_loopback() {
            s.push_str(
                "    inet6 ::1/128 scope host \n       valid_lft forever preferred_lft forever\n",
            );
        } else if i.link.is_some() {
            s.push_str(&format!(
                "    inet6 {}/64 scope link \n       valid_lft forever preferred_lft forever\n",
                link_local(&i.mac)
            ));
        }
    }
    s
}

struct Flags {
    v4: bool,
    brief: bool,
}

fn no_dev(d: &str) -> Output {
    Output::err(format!("Cannot find device \"{d}\"\n"), 1)
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut f = Flags {
        v4: false,
        brief: false,
    };
    let mut i = 1;
    while i < argv.len() && argv[i].starts_with('-') {
        match argv[i].as_str() {
            "-4" => f.v4 = true,
            "-br" | "-brief" | "--brief" => f.brief = true,
            "-c" | "-color" | "--color" | "-d" | "-s" | "-o" | "-oneline" => {}
            "-6" => return Output::default(),
            o => {
                return Output::err(
                    format!("Option \"{o}\" is unknown, try \"ip -help\".\n"),
                    255,
                )
            }
        }
        i += 1;
    }
    let args: Vec<&str> = argv[i..].iter().map(|s| s.as_str()).collect();
    let Some((obj, rest)) = args.split_first() else {
        return Output::err("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n", 255);
    };
    let matches = |word: &str, full: &str, min: usize| word.len() >= min && full.starts_with(word);
    if matches(obj, "address", 1) {
        addr(world, host, rest, &f)
    } else if matches(obj, "link", 1) {
        link(world, host, rest, &f)
    } else if matches(obj, "route", 1) {
        route_cmd(world, host, rest)
    } else if matches(obj, "rule", 2) {
        super::iprule::run(&mut world.hosts[host], rest)
    } else {
        Output::err(
            format!("Object \"{obj}\" is unknown, try \"ip help\".\n"),
            1,
        )
    }
}

fn dev_arg(rest: &[&str]) -> Option<String> {
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        match *w {
            "dev" => return it.next().map(|s| s.to_string()),
            "show" | "list" | "lst" | "sh" | "ls" | "up" => {}
            other => return Some(other.to_string()),
        }
    }
    None
}

fn addr(world: &mut World, host: usize, rest: &[&str], f: &Flags) -> Output {
    let cmd = rest.first().copied().unwrap_or("show");
    let h = &mut world.hosts[host];
    match cmd {
        "show" | "list" | "lst" | "sh" | "ls" | "s" | "l" => {
            let dev = dev_arg(rest.get(1..).unwrap_or(&[]));
            if let Some(d) = &dev {
                if h.iface(d).is_none() {
                    return Output::err(format!("Device \"{d}\" does not exist.\n"), 1);
                }
            }
            let mut s = String::new();
            for (k, i) in h.ifaces.iter().enumerate() {
                if dev.as_ref().is_some_and(|d| *d != i.name) {
                    continue;
                }
                if f.brief {
                    let mut line = format!("{:<16} {:<14} ", i.name, state(i));
                    for a in &i.addrs {
                        line.push_str(&format!("{}/{} ", a.addr, a.prefix));
                    }
                    if !f.v4 && i.up {
                        if i.is_loopback() {
                            line.push_str("::1/128 ");
                        } else if i.link.is_some() {
                            line.push_str(&format!("{}/64 ", link_local(&i.mac)));
                        }
                    }
                    s.push_str(&line);
                    s.push('\n');
                    continue;
                }
                if f.v4 && i.addrs.is_empty() {
                    continue;
                }
                s.push_str(&head_line(k + 1, i, false));
                if !f.v4 {
                    s.push_str(&link_line(i));
                }
                s.push_str(&inet_lines(i, f.v4));
            }
            Output::ok(s)
        }
        "add" | "a" | "del" | "delete" | "d" => {
            let add = cmd.starts_with('a');
            let mut local = None;
            let mut dev = None;
            let mut k = 1;
            while k < rest.len() {
                match rest[k] {
                    "dev" => {
                        dev = rest.get(k + 1).map(|s| s.to_string());
                        k += 1;
                    }
                    "local" => {
                        local = rest.get(k + 1).map(|s| s.to_string());
                        k += 1;
                    }
                    "brd" | "broadcast" | "label" | "scope" | "valid_lft" | "preferred_lft" => {
                        k += 1
                    }
                    w => {
                        if local.is_none() {
                            local = Some(w.to_string())
                        }
                    }
                }
                k += 1;
            }
            let Some(local) = local else {
                return Output::err("RTNETLINK answers: Operation not supported\n", 2);
            };
            let (a, explicit_len) = match local.split_once('/') {
                Some((a, l)) => (a, l.parse::<u8>().ok().filter(|l| *l <= 32)),
                None => (local.as_str(), Some(32)),
            };
            let (Ok(addr), Some(prefix)) = (a.parse::<Ipv4Addr>(), explicit_len) else {
                return Output::err(
                    format!("Error: any valid prefix is expected rather than \"{local}\".\n"),
                    1,
                );
            };
            let Some(dev) = dev else {
                return Output::err("Not enough information: \"dev\" argument is required.\n", 1);
            };
            let Some(ix) = h.ifaces.iter().position(|i| i.name == dev) else {
                return no_dev(&dev);
            };
            let mut out = Output::default();
            if add {
                if h.ifaces[ix]
                    .addrs
                    .iter()
                    .any(|x| x.addr == addr && x.prefix == prefix)
                {
                    return Output::err("Error: ipv4: Address already assigned.\n", 2);
                }
                h.ifaces[ix].addrs.push(IfAddr { addr, prefix });
            } else {
                let wildcard = !local.contains('/');
                let pos = h.ifaces[ix]
                    .addrs
                    .iter()
                    .position(|x| x.addr == addr && (wildcard || x.prefix == prefix));
                let Some(p) = pos else {
                    return Output::err("Error: ipv4: Address not found.\n", 2);
                };
                if wildcard {
                    out.stderr = format!(
                        "Warning: Executing wildcard deletion to stay compatible with old scripts.\n         Explicitly specify the prefix length ({}/{}) to avoid this warning.\n         This special behaviour is likely to disappear in further releases,\n         fix your scripts!\n",
                        addr, h.ifaces[ix].addrs[p].prefix
                    );
                }
                h.ifaces[ix].addrs.remove(p);
                prune_routes(h);
            }
            out
        }
        "flush" | "f" => {
            let Some(dev) = dev_arg(rest.get(1..).unwrap_or(&[])) else {
                return Output::err("Flush requires arguments.\n", 1);
            };
            let Some(ix) = h.ifaces.iter().position(|i| i.name == dev) else {
                return no_dev(&dev);
            };
            h.ifaces[ix].addrs.clear();
            prune_routes(h);
            Output::default()
        }
        other => Output::err(
            format!("Command \"{other}\" is unknown, try \"ip address help\".\n"),
            1,
        ),
    }
}

/// Static routes whose device is down or whose gateway is no longer on a
/// link go away, as the kernel flushes them.
fn prune_routes(h: &mut Host) {
    let ifaces = h.ifaces.clone();
    let keep = |r: &Route| {
        let Some(i) = ifaces.iter().find(|i| i.name == r.dev) else {
            return false;
        };
        if !i.up {
            return false;
        }
        match r.via {
            Some(gw) => i.addrs.iter().any(|a| a.contains(gw)),
            None => true,
        }
    };
    h.routes.retain(keep);
    for t in h.policy.tables.values_mut() {
        t.retain(keep);
    }
}

fn link(world: &mut World, host: usize, rest: &[&str], f: &Flags) -> Output {
    let cmd = rest.first().copied().unwrap_or("show");
    let h = &mut world.hosts[host];
    match cmd {
        "show" | "list" | "lst" | "sh" | "ls" | "s" | "l" => {
            let dev = dev_arg(rest.get(1..).unwrap_or(&[]));
            if let Some(d) = &dev {
                if h.iface(d).is_none() {
                    return Output::err(format!("Device \"{d}\" does not exist.\n"), 1);
                }
            }
            let mut s = String::new();
            for (k, i) in h.ifaces.iter().enumerate() {
                if dev.as_ref().is_some_and(|d| *d != i.name) {
                    continue;
                }
                if f.brief {
                    s.push_str(&format!(
                        "{:<16} {:<14} {} {} \n",
                        i.name,
                        state(i),
                        mac_text(&i.mac),
                        flags(i)
                    ));
                    continue;
                }
                s.push_str(&head_line(k + 1, i, true));
                s.push_str(&link_line(i));
            }
            Output::ok(s)
        }
        "set" => {
            let mut dev = None;
            let mut up = None;
            let mut mtu = None;
            let mut k = 1;
            while k < rest.len() {
                match rest[k] {
                    "dev" => {
                        dev = rest.get(k + 1).map(|s| s.to_string());
                        k += 1;
                    }
                    "up" => up = Some(true),
                    "down" => up = Some(false),
                    "mtu" => {
                        mtu = rest.get(k + 1).and_then(|m| m.parse::<u16>().ok());
                        if mtu.is_none() {
                            return Output::err(
                                format!(
                                    "Error: argument \"{}\" is wrong: Invalid \"mtu\" value\n\n",
                                    rest.get(k + 1).unwrap_or(&"")
                                ),
                                255,
                            );
                        }
                        k += 1;
                    }
                    w if dev.is_none() => dev = Some(w.to_string()),
                    w => {
                        return Output::err(
                            format!(
                                "Error: either \"dev\" is duplicate, or \"{w}\" is a garbage.\n"
                            ),
                            255,
                        )
                    }
                }
                k += 1;
            }
            let Some(dev) = dev else {
                return Output::err(
                    "Not enough information: \"dev\" argument is required.\n",
                    255,
                );
            };
            let Some(ix) = h.ifaces.iter().position(|i| i.name == dev) else {
                return no_dev(&dev);
            };
            if let Some(u) = up {
                h.ifaces[ix].up = u;
                if !u {
                    prune_routes(h);
                }
            }
            if let Some(m) = mtu {
                h.ifaces[ix].mtu = m;
            }
            Output::default()
        }
        other => Output::err(
            format!("Command \"{other}\" is unknown, try \"ip link help\".\n"),
            1,
        ),
    }
}

fn prefix_text(r: &Route) -> String {
    if r.prefix == 0 && r.dst.is_unspecified() {
        "default".into()
    } else if r.prefix == 32 {
        r.dst.to_string()
    } else {
        format!("{}/{}", r.dst, r.prefix)
    }
}

/// A route as `ip route show` prints it; `table` is ` table NAME` in a
/// listing of every table (empty for main and a one-table listing).
fn route_text(r: &Route, h: &Host, table: &str) -> String {
    let mut s = prefix_text(r);
    if let Some(gw) = r.via {
        s.push_str(&format!(" via {gw}"));
    }
    s.push_str(&format!(" dev {}{table}", r.dev));
    if r.connected {
        let src = h
            .iface(&r.dev)
            .and_then(|i| {
                i.addrs
                    .iter()
                    .find(|a| a.network() == r.dst && a.prefix == r.prefix)
            })
            .map(|a| a.addr);
        s.push_str(" proto kernel scope link");
        if let Some(src) = src {
            s.push_str(&format!(" src {src}"));
        }
    } else if r.via.is_none() {
        s.push_str(" scope link");
    }
    s.push_str(" \n");
    s
}

/// `10.0.0.0/24`, `default`, `10.0.0.1` (a /32).
fn parse_prefix(s: &str) -> Result<(Ipv4Addr, u8), Output> {
    if s == "default" || s == "all" {
        return Ok((Ipv4Addr::UNSPECIFIED, 0));
    }
    let bad = || {
        Output::err(
            format!("Error: any valid prefix is expected rather than \"{s}\".\n"),
            1,
        )
    };
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().map_err(|_| bad())?),
        None => (s, 32),
    };
    if l > 32 {
        return Err(bad());
    }
    let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
    Ok((addr, l))
}

fn route_cmd(world: &mut World, host: usize, rest: &[&str]) -> Output {
    let cmd = rest.first().copied().unwrap_or("show");
    match cmd {
        "show" | "list" | "lst" | "sh" | "ls" | "s" | "l" => {
            let h = &world.hosts[host];
            let names = TableNames::of(&h.files);
            let table = match table_arg(
                rest.get(1..).unwrap_or(&[]),
                &names,
                "table id value is invalid",
            ) {
                Ok(t) => t.unwrap_or(TABLE_MAIN),
                Err(e) => return e,
            };
            if table != 0 && !h.policy.has_table(table) {
                return Output::err(
                    "Error: ipv4: FIB table does not exist.\nDump terminated\n",
                    2,
                );
            }
            if table != 0 {
                return Output::ok(table_listing(h, table, ""));
            }
            // Every table, in the kernel's hash order.
            let mut ids: Vec<u32> = h.policy.tables.keys().copied().collect();
            ids.push(TABLE_MAIN);
            crate::sort::sort_by_key(&mut ids, |t| (t & 255, *t));
            let mut s = String::new();
            for t in ids {
                let word = if t == TABLE_MAIN {
                    String::new()
                } else {
                    format!(" table {}", names.name(t))
                };
                s.push_str(&table_listing(h, t, &word));
            }
            Output::ok(s)
        }
        "get" | "g" => route_get(world, host, &rest[1..]),
        "add" | "a" | "del" | "delete" | "d" | "replace" | "change" | "append" => {
            let mut dst = None;
            let mut via = None;
            let mut dev = None;
            let mut table = TABLE_MAIN;
            let mut k = 1;
            while k < rest.len() {
                match rest[k] {
                    "via" | "gw" => {
                        via = rest.get(k + 1).copied();
                        k += 1;
                    }
                    "dev" | "oif" => {
                        dev = rest.get(k + 1).map(|s| s.to_string());
                        k += 1;
                    }
                    "table" => {
                        let names = TableNames::of(&world.hosts[host].files);
                        match table_arg(&rest[k..], &names, "\"table\" value is invalid") {
                            Ok(t) => table = t.filter(|t| *t != 0).unwrap_or(TABLE_MAIN),
                            Err(e) => return e,
                        }
                        k += 1;
                    }
                    "metric" | "proto" | "scope" | "src" | "mtu" | "onlink" | "preference"
                    | "priority" => {
                        if rest[k] != "onlink" {
                            k += 1;
                        }
                    }
                    "to" => {
                        dst = rest.get(k + 1).copied();
                        k += 1;
                    }
                    w if dst.is_none() => dst = Some(w),
                    w => {
                        return Output::err(
                            format!(
                                "Error: either \"to\" is duplicate, or \"{w}\" is a garbage.\n"
                            ),
                            255,
                        )
                    }
                }
                k += 1;
            }
            let Some(dst_text) = dst else {
                return Output::err("RTNETLINK answers: No such device\n", 2);
            };
            let (addr, prefix) = match parse_prefix(dst_text) {
                Ok(x) => x,
                Err(e) => return e,
            };
            let mask = crate::ext::xtopt::prefix_mask(prefix);
            if u32::from(addr) & !mask != 0 {
                return Output::err("Error: Invalid prefix for given prefix length.\n", 2);
            }
            let gw = match via {
                Some(v) => match v.parse::<Ipv4Addr>() {
                    Ok(g) => Some(g),
                    Err(_) => {
                        return Output::err(
                            format!("Error: inet prefix is expected rather than \"{v}\".\n"),
                            1,
                        )
                    }
                },
                None => None,
            };
            let h = &mut world.hosts[host];
            if let Some(d) = &dev {
                if h.iface(d).is_none() {
                    return no_dev(d);
                }
            }
            let deleting = cmd.starts_with('d');
            if deleting {
                if !h.policy.has_table(table) {
                    return Output::err("Error: FIB table does not exist.\n", 2);
                }
                let list = table_routes(h, table);
                let pos = list.iter().position(|r| {
                    r.dst == addr
                        && r.prefix == prefix
                        && gw.is_none_or(|g| r.via == Some(g))
                        && dev.as_ref().is_none_or(|d| *d == r.dev)
                });
                return match pos {
                    Some(p) => {
                        list.remove(p);
                        Output::default()
                    }
                    None => Output::err("RTNETLINK answers: No such process\n", 2),
                };
            }
            // The gateway must be on a link of the device.
            let dev = match (dev, gw) {
                (Some(d), Some(g)) => {
                    let ok = h
                        .iface(&d)
                        .is_some_and(|i| i.up && i.addrs.iter().any(|a| a.contains(g)));
                    if !ok {
                        return Output::err("Error: Nexthop has invalid gateway.\n", 2);
                    }
                    d
                }
                (None, Some(g)) => {
                    let found = h.ifaces.iter().find(|i| {
                        i.up && !i.is_loopback() && i.addrs.iter().any(|a| a.contains(g))
                    });
                    match found {
                        Some(i) => i.name.clone(),
                        None => return Output::err("Error: Nexthop has invalid gateway.\n", 2),
                    }
                }
                (Some(d), None) => d,
                (None, None) => return Output::err("RTNETLINK answers: No such device\n", 2),
            };
            let list = table_routes(h, table);
            let existing = list
                .iter()
                .position(|r| r.dst == addr && r.prefix == prefix);
            let new = Route {
                dst: addr,
                prefix,
                via: gw,
                dev,
                connected: false,
            };
            match (cmd, existing) {
                ("replace" | "change", Some(p)) => list[p] = new,
                ("change", None) => {
                    return Output::err("RTNETLINK answers: No such file or directory\n", 2)
                }
                (_, Some(_)) if cmd != "append" => {
                    return Output::err("RTNETLINK answers: File exists\n", 2)
                }
                _ => list.push(new),
            }
            Output::default()
        }
        "flush" => {
            if rest.len() < 2 {
                return Output::err("\"ip route flush\" requires arguments.\n", 1);
            }
            let h = &mut world.hosts[host];
            match rest[1] {
                "dev" => {
                    let d = rest.get(2).copied().unwrap_or("");
                    if h.iface(d).is_none() {
                        return no_dev(d);
                    }
                    h.routes.retain(|r| r.dev != d);
                }
                "table" => {
                    let names = TableNames::of(&h.files);
                    let t = match table_arg(&rest[1..], &names, "table id value is invalid") {
                        Ok(t) => t.unwrap_or(TABLE_MAIN),
                        Err(e) => return e,
                    };
                    if t == 0 {
                        h.routes.clear();
                        h.policy.tables.values_mut().for_each(Vec::clear);
                    } else if !h.policy.has_table(t) {
                        return Output::err(
                            "Error: ipv4: FIB table does not exist.\nFlush terminated\n",
                            2,
                        );
                    } else {
                        table_routes(h, t).clear();
                    }
                }
                _ => h.routes.clear(),
            }
            Output::default()
        }
        other => Output::err(
            format!("Command \"{other}\" is unknown, try \"ip route help\".\n"),
            1,
        ),
    }
}

/// The table of `table T` in `args` (`all` is 0); `None` without one.
fn table_arg(args: &[&str], names: &TableNames, what: &str) -> Result<Option<u32>, Output> {
    let Some(k) = args.iter().position(|w| *w == "table") else {
        return Ok(None);
    };
    let Some(v) = args.get(k + 1) else {
        return Err(Output::err(
            "Command line is not complete. Try option \"help\"\n",
            255,
        ));
    };
    if *v == "all" {
        return Ok(Some(0));
    }
    names
        .id(v)
        .map(Some)
        .ok_or_else(|| Output::err(format!("Error: argument \"{v}\" is wrong: {what}\n\n"), 255))
}

/// The static routes of a table, made when missing (main: `Host::routes`).
fn table_routes(h: &mut Host, table: u32) -> &mut Vec<Route> {
    if table == TABLE_MAIN {
        &mut h.routes
    } else {
        h.policy.tables.entry(table).or_default()
    }
}

/// One table as `ip route show table T` lists it, `word` after each device.
fn table_listing(h: &Host, table: u32, word: &str) -> String {
    let mut lines: Vec<((u32, u8), String)> = Vec::new();
    let routes: Vec<Route> = match table {
        // No prefix route for a /32 address (`fib_add_ifaddr`).
        TABLE_MAIN => route::all_routes(&h.ifaces, &h.routes)
            .into_iter()
            .filter(|r| !(r.connected && r.prefix == 32))
            .collect(),
        t => h.policy.tables.get(&t).cloned().unwrap_or_default(),
    };
    for r in &routes {
        lines.push(((u32::from(r.dst), r.prefix), route_text(r, h, word)));
    }
    if table == TABLE_LOCAL {
        // The kernel's own entries: each address (a secondary one with its
        // primary as source), the network of a loopback address, and the
        // broadcast address of each primary one on an interface that is up.
        for i in &h.ifaces {
            for (k, a) in i.addrs.iter().enumerate() {
                let primary = i.addrs[..k]
                    .iter()
                    .find(|p| p.prefix == a.prefix && p.contains(a.addr));
                let src = primary.map_or(a.addr, |p| p.addr);
                let tail = |kind: &str, what: String, scope: &str| {
                    format!(
                        "{kind} {what} dev {}{word} proto kernel scope {scope} src {src} \n",
                        i.name
                    )
                };
                if i.is_loopback() && a.prefix < 32 {
                    lines.push((
                        (u32::from(a.network()), a.prefix),
                        tail("local", format!("{}/{}", a.network(), a.prefix), "host"),
                    ));
                }
                lines.push((
                    (u32::from(a.addr), 32),
                    tail("local", a.addr.to_string(), "host"),
                ));
                if a.prefix < 31 && i.up && primary.is_none() {
                    lines.push((
                        (u32::from(a.broadcast()), 32),
                        tail("broadcast", a.broadcast().to_string(), "link"),
                    ));
                }
            }
        }
    }
    crate::sort::sort_by(&mut lines, |a, b| {
        a.0 .0.cmp(&b.0 .0).then(b.0 .1.cmp(&a.0 .1))
    });
    lines.dedup_by(|a, b| a.1 == b.1);
    lines.into_iter().map(|(_, l)| l).collect()
}

/// `ip route get ADDR [from ADDR] [iif IF] [oif IF] [mark M] [tos T]`:
/// the route the host's rules and tables give, printed as iproute2 does.
fn route_get(world: &World, host: usize, args: &[&str]) -> Output {
    let h = &world.hosts[host];
    let (mut dst, mut from, mut iif, mut oif, mut mark, mut tos) =
        (None, None, None, None, 0u32, 0u8);
    let mut k = 0;
    while k < args.len() {
        let w = args[k];
        let Some(v) = args.get(k + 1).copied() else {
            if dst.is_none() && !matches!(w, "from" | "iif" | "oif" | "mark" | "to" | "tos") {
                dst = Some(w);
                break;
            }
            return Output::err("Command line is not complete. Try option \"help\"\n", 255);
        };
        match w {
            "from" => from = Some(v),
            "iif" => iif = Some(v),
            "oif" => oif = Some(v),
            "to" => dst = Some(v),
            "mark" => match crate::sim::rules::parse_u32(v) {
                Some(m) => mark = m,
                None => {
                    return Output::err(format!("Error: argument \"{v}\" is wrong: mark\n\n"), 255)
                }
            },
            "tos" | "dsfield" => match u8::from_str_radix(v.trim_start_matches("0x"), 16) {
                Ok(t) => tos = t,
                Err(_) => {
                    return Output::err(
                        format!("Error: argument \"{v}\" is wrong: TOS value is invalid\n\n"),
                        255,
                    )
                }
            },
            _ => {
                dst = Some(w);
                k += 1;
                continue;
            }
        }
        k += 2;
    }
    let Some(target) = dst else {
        return Output::err("need at least a destination address\n", 1);
    };
    let dst = match parse_prefix(target) {
        Ok((a, _)) => a,
        Err(e) => return e,
    };
    let src = match from.map(parse_prefix) {
        Some(Ok((a, _))) => Some(a),
        Some(Err(e)) => return e,
        None => None,
    };
    for d in [iif, oif].into_iter().flatten() {
        if h.iface(d).is_none() {
            return no_dev(d);
        }
    }
    let flow = Flow {
        dst,
        src: src.unwrap_or(Ipv4Addr::UNSPECIFIED),
        mark,
        tos,
        iif: iif.unwrap_or("lo"),
        oif,
    };
    let (decision, table) = route::lookup_flow(&h.ifaces, &h.routes, &h.policy, &flow);
    let names = TableNames::of(&h.files);
    // `table local` once the rules split it from main.
    let tw = if table == TABLE_MAIN || (table == TABLE_LOCAL && !h.policy.custom) {
        String::new()
    } else {
        format!(" table {}", names.name(table))
    };
    // iproute2 prints small marks in decimal, the others in hex.
    let mark_text = match mark {
        0 => String::new(),
        1..=15 => format!(" mark {mark}"),
        _ => format!(" mark 0x{mark:x}"),
    };
    let unreachable = || Output::err("RTNETLINK answers: Network is unreachable\n", 2);
    if let Some(iif) = iif {
        // A packet arriving on `iif` (ip_route_input).
        let Some(src) = src.filter(|s| route::martian(&h.ifaces, *s, dst).is_none()) else {
            return Output::err("RTNETLINK answers: Invalid argument\n", 2);
        };
        return match decision {
            Decision::Local => Output::ok(format!(
                "local {dst} from {src} dev lo{tw}{mark_text} \n    cache <local> iif {iif} \n"
            )),
            Decision::Out { .. } if !h.forwarding() => {
                Output::err("RTNETLINK answers: No route to host\n", 2)
            }
            Decision::Out { dev, next_hop } => {
                let via = if next_hop != dst {
                    format!(" via {next_hop}")
                } else {
                    String::new()
                };
                // Back out of the interface it came in by, between two
                // neighbours on that link: the kernel would send a redirect.
                let on_link = |a: Ipv4Addr| {
                    h.iface(&dev)
                        .is_some_and(|i| i.addrs.iter().any(|x| x.contains(a)))
                };
                let redirect = if dev == iif && on_link(src) && on_link(next_hop) {
                    "<redirect> "
                } else {
                    ""
                };
                Output::ok(format!(
                    "{dst} from {src}{via} dev {dev}{tw}{mark_text} \n    cache {redirect}iif {iif} \n"
                ))
            }
            Decision::Unreachable => unreachable(),
        };
    }
    if src.is_some_and(|s| !route::is_local(&h.ifaces, s)) {
        return unreachable();
    }
    let from_text = src.map_or(String::new(), |s| format!(" from {s}"));
    match decision {
        Decision::Local => {
            let chosen = if dst.is_loopback() {
                Ipv4Addr::LOCALHOST
            } else {
                dst
            };
            let src_text = if src.is_some() {
                String::new()
            } else {
                format!(" src {chosen}")
            };
            Output::ok(format!(
                "local {dst}{from_text} dev lo{tw}{src_text}{mark_text} uid 0 \n    cache <local> \n"
            ))
        }
        Decision::Out { dev, next_hop } => {
            // A broadcast address: the local table's broadcast route (of
            // the interface with that network) or the limited broadcast.
            let net_bcast = h.ifaces.iter().find(|i| {
                i.up && i
                    .addrs
                    .iter()
                    .any(|a| a.prefix < 31 && a.broadcast() == dst)
            });
            if dst.is_broadcast() || net_bcast.is_some() {
                let dev = net_bcast.map_or(dev, |i| i.name.clone());
                let tw = match net_bcast {
                    Some(_) if h.policy.custom => " table local".to_string(),
                    Some(_) => String::new(),
                    None => tw,
                };
                let src_text = match (src, route::source_on(&h.ifaces, &dev, dst)) {
                    (None, Some(s)) => format!(" src {s}"),
                    _ => String::new(),
                };
                return Output::ok(format!(
                    "broadcast {dst}{from_text} dev {dev}{tw}{src_text}{mark_text} uid 0 \n    cache <local,brd> \n"
                ));
            }
            let via = if next_hop != dst {
                format!(" via {next_hop}")
            } else {
                String::new()
            };
            let src_text = match (src, route::source_on(&h.ifaces, &dev, next_hop)) {
                (None, Some(s)) => format!(" src {s}"),
                (None, None) => return unreachable(),
                (Some(_), _) => String::new(),
            };
            Output::ok(format!(
                "{dst}{from_text}{via} dev {dev}{tw}{src_text}{mark_text} uid 0 \n    cache \n"
            ))
        }
        Decision::Unreachable => unreachable(),
    }
}

#[cfg(test)]
mod tests {
    use super::link_local;

    #[test]
    fn eui64() {
        assert_eq!(
            link_local(&[0xb2, 0xcd, 0xcc, 0x98, 0x5d, 0x08]),
            "fe80::b0cd:ccff:fe98:5d08"
        );
        assert_eq!(link_local(&[2, 0, 0, 1, 0, 1]), "fe80::ff:fe01:1");
    }
}
