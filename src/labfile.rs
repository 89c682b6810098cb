//! Interim reader of lab files (the `engine::lab` JSON format: version,
//! links, hosts with interfaces, routes, sysctls, services and start-up
//! commands, the name table, the clock) until `engine::lab` reaches main.
//! Only [`crate::adapter`] uses it; switching to `engine::lab::load` removes
//! this file.

use engine::command::script::parse_script;
use engine::command::Output;
use engine::sim::host::Listener;
use engine::sim::route::Route;
use engine::sim::world::World;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Debug, Deserialize)]
pub struct LabFile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub clock: Option<Clock>,
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    #[serde(default)]
    pub names: Vec<NameSpec>,
}

#[derive(Debug, Deserialize)]
pub struct Clock {
    pub start: String,
}

#[derive(Debug, Deserialize)]
pub struct HostSpec {
    pub name: String,
    #[serde(default)]
    pub interfaces: Vec<IfaceSpec>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    #[serde(default)]
    pub sysctl: BTreeMap<String, String>,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub startup: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct IfaceSpec {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RouteSpec {
    pub to: String,
    #[serde(default)]
    pub via: Option<String>,
    #[serde(default)]
    pub dev: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ServiceSpec {
    #[serde(default)]
    pub proto: Option<String>,
    pub port: u16,
    #[serde(default)]
    pub service: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NameSpec {
    pub address: String,
    pub names: Vec<String>,
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `2024-05-01T09:00:00Z` or `…+02:00` to nanoseconds since the epoch.
pub fn parse_time(s: &str) -> Result<u64, String> {
    let bad = || format!("clock.start: \"{s}\" is not a time like 2024-05-01T09:00:00Z");
    let (date, rest) = s.split_once('T').ok_or_else(bad)?;
    let d: Vec<u32> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3 || !(1..=12).contains(&d[1]) || !(1..=31).contains(&d[2]) {
        return Err(bad());
    }
    let (time, offset_min) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0i64)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':').ok_or_else(bad)?;
        let oh: i64 = oh.parse().map_err(|_| bad())?;
        let om: i64 = om.parse().map_err(|_| bad())?;
        (t, sign * (oh * 60 + om))
    } else {
        return Err(bad());
    };
    let t: Vec<u32> = time
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if t.len() != 3 || t[0] > 23 || t[1] > 59 || t[2] > 60 {
        return Err(bad());
    }
    let days = days_from_civil(d[0] as i64, d[1], d[2]);
    let secs = days * 86400 + t[0] as i64 * 3600 + t[1] as i64 * 60 + t[2] as i64 - offset_min * 60;
    if secs < 0 {
        return Err(bad());
    }
    Ok(secs as u64 * 1_000_000_000)
}

fn cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let (a, p) = s
        .split_once('/')
        .ok_or_else(|| format!("\"{s}\" is not ADDRESS/PREFIX"))?;
    let a: Ipv4Addr = a
        .parse()
        .map_err(|_| format!("\"{a}\" is not an IPv4 address"))?;
    let p: u8 = p
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| format!("prefix \"{p}\" is not 0 to 32"))?;
    Ok((a, p))
}

/// What loading a lab gave: the world and the start-up commands' output.
pub struct Built {
    pub world: World,
    pub name: String,
    pub description: String,
    pub startup: Vec<(String, String, Output)>,
}

/// Reads, checks and builds a lab.
pub fn load(text: &str) -> Result<Built, String> {
    if text.len() > 1 << 20 {
        return Err(format!(
            "lab file is {} bytes; the limit is 1048576",
            text.len()
        ));
    }
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    match v.get("version").and_then(|n| n.as_u64()) {
        Some(1) => {}
        Some(n) => {
            return Err(format!(
                "lab file version {n} is not supported (version 1 is)"
            ))
        }
        None => return Err("missing \"version\" (use 1)".into()),
    }
    let lab: LabFile = serde_json::from_value(v).map_err(|e| format!("lab file: {e}"))?;
    if lab.hosts.is_empty() || lab.hosts.len() > 64 {
        return Err("a lab has 1 to 64 hosts".into());
    }
    let mut world = World::new();
    world.now_ns = match &lab.clock {
        Some(c) => parse_time(&c.start)?,
        None => parse_time("2024-05-01T09:00:00Z")?,
    };
    for h in &lab.hosts {
        if world.host_index(&h.name).is_some() {
            return Err(format!("host \"{}\" appears twice", h.name));
        }
        let hi = world.add_host(&h.name);
        for i in &h.interfaces {
            let link = i
                .link
                .clone()
                .unwrap_or_else(|| format!("{}-{}", h.name, i.name));
            let addr = i.address.clone().unwrap_or_else(|| "0.0.0.0/32".into());
            cidr(&addr).map_err(|e| format!("host {}: {}: {e}", h.name, i.name))?;
            world
                .plug(hi, &i.name, &addr, &link)
                .map_err(|e| format!("host {}: {e}", h.name))?;
        }
        let host = &mut world.hosts[hi];
        for r in &h.routes {
            let (dst, prefix) = if r.to == "default" {
                (Ipv4Addr::UNSPECIFIED, 0)
            } else {
                cidr(&r.to).map_err(|e| format!("host {}: route: {e}", h.name))?
            };
            let via: Option<Ipv4Addr> = match &r.via {
                Some(v) => Some(
                    v.parse()
                        .map_err(|_| format!("host {}: route via \"{v}\"", h.name))?,
                ),
                None => None,
            };
            let dev = match (&r.dev, via) {
                (Some(d), _) => d.clone(),
                (None, Some(gw)) => host
                    .ifaces
                    .iter()
                    .find(|i| !i.is_loopback() && i.addrs.iter().any(|a| a.contains(gw)))
                    .map(|i| i.name.clone())
                    .ok_or_else(|| format!("host {}: gateway {gw} is on no link", h.name))?,
                (None, None) => return Err(format!("host {}: route needs via or dev", h.name)),
            };
            host.routes.push(Route {
                dst,
                prefix,
                via,
                dev,
                connected: false,
            });
        }
        for (k, v) in &h.sysctl {
            host.sysctl.insert(k.clone(), v.clone());
        }
        for s in &h.services {
            let proto = match s.proto.as_deref().unwrap_or("tcp") {
                "tcp" => 6,
                "udp" => 17,
                p => return Err(format!("host {}: service proto \"{p}\"", h.name)),
            };
            host.listeners.push(Listener {
                proto,
                port: s.port,
                addr: None,
                service: s.service.clone().unwrap_or_default(),
            });
        }
    }
    // The name table: host names for their first address, then the lab's names.
    let mut names: Vec<(String, Ipv4Addr)> = Vec::new();
    for h in &world.hosts {
        if let Some(a) = h
            .ifaces
            .iter()
            .find_map(|i| if i.is_loopback() { None } else { i.primary() })
        {
            names.push((h.name.clone(), a));
        }
    }
    for n in &lab.names {
        let a: Ipv4Addr = n
            .address
            .parse()
            .map_err(|_| format!("names: \"{}\" is not an address", n.address))?;
        for name in &n.names {
            names.push((name.clone(), a));
        }
    }
    for h in &mut world.hosts {
        for (n, a) in &names {
            h.names.entry(n.clone()).or_default().push(*a);
        }
    }
    world.sync_clocks();
    let mut startup = Vec::new();
    for (hi, h) in lab.hosts.iter().enumerate() {
        for line in &h.startup {
            let cmds = parse_script(line).map_err(|e| format!("host {}: {}", h.name, e.msg))?;
            for c in cmds {
                let out = crate::adapter::run_cmd(&mut world, hi, &c);
                startup.push((h.name.clone(), c.text.clone(), out));
            }
        }
    }
    Ok(Built {
        world,
        name: lab.name,
        description: lab.description,
        startup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_time("2024-05-01T11:00:00+02:00").unwrap(),
            parse_time("2024-05-01T09:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time("2024-05-01T09:00:00Z").unwrap() / 1_000_000_000,
            1714554000
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn loads_and_refuses() {
        let b = load(
            r#"{"version":1,"name":"x","hosts":[{"name":"a","interfaces":[{"name":"eth0","address":"10.0.0.1/24","link":"l"}],
               "startup":["iptables -P INPUT DROP"]},{"name":"b","interfaces":[{"name":"eth0","address":"10.0.0.2/24","link":"l"}],
               "routes":[{"to":"default","via":"10.0.0.1"}]}]}"#,
        )
        .unwrap();
        assert_eq!(b.world.hosts.len(), 2);
        assert_eq!(b.startup.len(), 1);
        assert_eq!(b.world.hosts[1].routes[0].dev, "eth0");
        assert!(load("{").is_err());
        assert!(load(r#"{"version":2,"hosts":[]}"#)
            .err()
            .unwrap()
            .contains("version 2"));
        assert!(load(r#"{"version":1,"hosts":[]}"#).is_err());
    }
}
