//! Lab files: a versioned JSON description of a lab (hosts, interfaces,
//! links, routes, sysctls, services, the name table, the clock and start-up
//! commands), checked with clear messages and loaded into a [`World`].
//! A lab may also teach: an `intro`, numbered `steps` and `checks`
//! ([`teaching`] for the format, [`checks::evaluate`] to evaluate them,
//! [`run_steps`] to follow the steps).
//!
//! ```json
//! {
//!   "version": 1,
//!   "name": "two hosts on a LAN",
//!   "clock": { "start": "2024-05-01T09:00:00Z", "timezone": "UTC" },
//!   "links": [ { "name": "lan" } ],
//!   "hosts": [
//!     { "name": "client",
//!       "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "link": "lan" } ] },
//!     { "name": "server",
//!       "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "link": "lan" } ],
//!       "services": [ { "proto": "tcp", "port": 22, "service": "ssh" } ] }
//!   ]
//! }
//! ```

#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod check_cli;
pub mod checks;
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod cli;
pub mod fragment;
pub mod probe;
pub mod teaching;
pub mod trace_text;

pub use checks::{evaluate, CheckResult, Summary};
pub use teaching::{
    Check, CheckKind, CounterCheck, Expect, LogCheck, OutputCheck, PolicyCheck, ReachCheck,
    RuleCheck, RuleRef, Step,
};

use crate::command::shell::world::run_on_host;
use crate::command::shell::{Mode, Script};
use crate::command::Output;
use crate::sim::host::Listener;
use crate::sim::iface::{IfAddr, Iface};
use crate::sim::route::Route;
use crate::sim::rules::TABLE_MAIN;
use crate::sim::tools::{self, ServiceInfo};
use crate::sim::world::World;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The lab file version this engine reads and writes.
pub const VERSION: u32 = 1;

/// Largest lab file accepted (bytes).
pub const MAX_LAB_BYTES: usize = 1 << 20;
const MAX_HOSTS: usize = 64;
const MAX_IFACES: usize = 16;
const MAX_ITEMS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    pub version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub clock: Option<Clock>,
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    pub hosts: Vec<HostSpec>,
    /// The name table, like `/etc/hosts`: every host resolves these names.
    #[serde(default)]
    pub names: Vec<NameSpec>,
    /// Add each host's name for its first address to the name table (default true).
    #[serde(default = "yes")]
    pub auto_names: bool,
    /// Resolver address `dig` reports (default 127.0.0.53).
    #[serde(default)]
    pub resolver: Option<String>,
    /// The lab's introduction: paragraphs separated by blank lines, `code` in backquotes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub intro: String,
    /// Numbered steps: what to do, the commands to try, what to look at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Facts the engine checks after every command (see [`checks`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    /// RFC 3339 local time with its offset (`2024-05-01T11:00:00+02:00`) or UTC (`…Z`).
    pub start: String,
    /// Time zone abbreviation the tools print (`CEST`); default `UTC`, or the offset.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Seconds the hosts have been up at the start (`dmesg` times), default 3600.
    #[serde(default)]
    pub uptime: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The link also reaches machines outside the lab (an uplink).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub interfaces: Vec<IfaceSpec>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Policy routing rules added at boot, as `ip rule add` takes them
    /// (`"fwmark 2 lookup 2"`), after Linux's three default rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// sysctl settings (`"net.ipv4.ip_forward": "1"`).
    #[serde(default)]
    pub sysctl: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// Commands run on the host when the lab starts (iptables rules …).
    #[serde(default)]
    pub startup: Vec<String>,
    /// Files on the host by path (a web server serves `/var/www/html/...`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub files: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfaceSpec {
    pub name: String,
    /// `ADDRESS/PREFIX`.
    #[serde(default)]
    pub address: Option<String>,
    /// More addresses.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// `aa:bb:cc:dd:ee:ff`; derived from host and interface when absent.
    #[serde(default)]
    pub mac: Option<String>,
    /// The link (L2 segment) the interface is plugged into.
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub mtu: Option<u16>,
    /// Start administratively down.
    #[serde(default)]
    pub down: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `default` or `NET/PREFIX`.
    pub to: String,
    #[serde(default)]
    pub via: Option<String>,
    #[serde(default)]
    pub dev: Option<String>,
    /// The routing table (default: main, 254).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// `tcp` or `udp`.
    #[serde(default = "tcp")]
    pub proto: String,
    pub port: u16,
    /// Service name (`ssh`, `http` …); default from `/etc/services`.
    #[serde(default)]
    pub service: Option<String>,
    /// Listen on one address only.
    #[serde(default)]
    pub address: Option<String>,
    /// Version text for `nmap -sV` (and the `Server:` header of web servers).
    #[serde(default)]
    pub version: Option<String>,
    /// The page a web server sends.
    #[serde(default)]
    pub body: Option<String>,
}

fn tcp() -> String {
    "tcp".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameSpec {
    pub address: String,
    /// Canonical name first, then aliases.
    pub names: Vec<String>,
}

/// Why a lab file cannot be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError(pub String);

impl std::fmt::Display for LabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, LabError> {
    Err(LabError(msg.into()))
}

/// Reads a lab file (JSON) and checks its version.
pub fn parse(text: &str) -> Result<LabFile, LabError> {
    if text.len() > MAX_LAB_BYTES {
        return err(format!(
            "lab file is {} bytes; the limit is {MAX_LAB_BYTES}",
            text.len()
        ));
    }
    // Straight from the text: deserializing through a `serde_json::Value`
    // would bring a second copy of every lab type's deserializer into the
    // web page. On failure the version is looked at first, so a newer file
    // says so instead of failing on a new field.
    let lab = match serde_json::from_str::<LabFile>(text) {
        Ok(lab) if lab.version == VERSION => lab,
        parsed => {
            version_problem(text)?;
            parsed.map_err(|e| LabError(format!("lab file: {e}")))?
        }
    };
    teaching::validate(&lab)?;
    Ok(lab)
}

/// Why a lab file that did not deserialize is not of this version, if it is not.
fn version_problem(text: &str) -> Result<(), LabError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| LabError(format!("not valid JSON: {e}")))?;
    match v.get("version") {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(VERSION as u64) => Ok(()),
        Some(serde_json::Value::Number(n)) => err(format!(
            "lab file version {n} is not supported (this iptplay reads version {VERSION})"
        )),
        Some(_) => err("\"version\" must be a number"),
        None => err(format!("missing \"version\" (use {VERSION})")),
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn parse_cidr(s: &str, what: &str) -> Result<(Ipv4Addr, u8), LabError> {
    let Some((a, p)) = s.split_once('/') else {
        return err(format!("{what}: \"{s}\" is not ADDRESS/PREFIX"));
    };
    let addr: Ipv4Addr = a
        .parse()
        .map_err(|_| LabError(format!("{what}: \"{a}\" is not an IPv4 address")))?;
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| LabError(format!("{what}: prefix \"{p}\" is not 0 to 32")))?;
    Ok((addr, prefix))
}

fn parse_mac(s: &str, what: &str) -> Result<[u8; 6], LabError> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || {
        LabError(format!(
            "{what}: \"{s}\" is not a MAC address (aa:bb:cc:dd:ee:ff)"
        ))
    };
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut m = [0u8; 6];
    for (k, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return Err(bad());
        }
        m[k] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if m[0] & 1 != 0 {
        return err(format!("{what}: \"{s}\" is a multicast address"));
    }
    Ok(m)
}

/// `2024-05-01T09:00:00Z` or with `+02:00`: (ns since the epoch, offset minutes).
pub fn parse_time(s: &str) -> Result<(u64, i32), LabError> {
    let bad = || {
        LabError(format!(
            "clock.start: \"{s}\" is not a time like 2024-05-01T09:00:00Z or 2024-05-01T11:00:00+02:00"
        ))
    };
    let (date, rest) = s.split_once('T').ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 {
        return Err(bad());
    }
    let (y, mo, dd): (i64, u32, u32) = (
        d[0].parse().map_err(|_| bad())?,
        d[1].parse().map_err(|_| bad())?,
        d[2].parse().map_err(|_| bad())?,
    );
    let (time, offset) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0i32)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':').ok_or_else(bad)?;
        let oh: i32 = oh.parse().map_err(|_| bad())?;
        let om: i32 = om.parse().map_err(|_| bad())?;
        if oh > 14 || om > 59 {
            return Err(bad());
        }
        (t, sign * (oh * 60 + om))
    } else {
        return Err(bad());
    };
    let t: Vec<&str> = time.split(':').collect();
    if t.len() != 3 {
        return Err(bad());
    }
    let (h, mi, sec): (u32, u32, u32) = (
        t[0].parse().map_err(|_| bad())?,
        t[1].parse().map_err(|_| bad())?,
        t[2].split('.')
            .next()
            .unwrap_or("")
            .parse()
            .map_err(|_| bad())?,
    );
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&dd)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return Err(bad());
    }
    let days = tools::util::days_from_civil(y, mo, dd);
    let local = days * 86400 + (h * 3600 + mi * 60 + sec) as i64;
    let utc = local - offset as i64 * 60;
    if utc < 0 {
        return Err(bad());
    }
    Ok((utc as u64 * 1_000_000_000, offset))
}

/// Builds the world a lab file describes (start-up commands not run yet).
pub fn build(lab: &LabFile) -> Result<World, LabError> {
    if lab.hosts.is_empty() {
        return err("a lab needs at least one host");
    }
    teaching::validate(lab)?;
    if lab.hosts.len() > MAX_HOSTS {
        return err(format!(
            "{} hosts; the limit is {MAX_HOSTS}",
            lab.hosts.len()
        ));
    }
    let mut world = World::new();
    // Clock.
    let (start_ns, offset) = match &lab.clock {
        Some(c) => parse_time(&c.start)?,
        None => parse_time("2024-01-01T12:00:00Z")?,
    };
    world.now_ns = start_ns;
    let uptime = lab.clock.as_ref().and_then(|c| c.uptime).unwrap_or(3600);
    world.tools.boot_ns = start_ns.saturating_sub(uptime.saturating_mul(1_000_000_000));
    world.tools.tz_name = match lab.clock.as_ref().and_then(|c| c.timezone.clone()) {
        Some(tz) => {
            if tz.is_empty() || tz.len() > 16 || !tz.chars().all(|c| c.is_ascii_graphic()) {
                return err(format!(
                    "clock.timezone: \"{tz}\" is not a time zone abbreviation"
                ));
            }
            tz
        }
        None if offset == 0 => "UTC".into(),
        None => format!(
            "{}{:02}{}",
            if offset < 0 { '-' } else { '+' },
            offset.abs() / 60,
            if offset % 60 != 0 {
                format!("{:02}", offset.abs() % 60)
            } else {
                String::new()
            }
        ),
    };
    // Links.
    let mut links = BTreeSet::new();
    for l in &lab.links {
        if !valid_name(&l.name) {
            return err(format!("link name \"{}\" is not valid", l.name));
        }
        if !links.insert(l.name.clone()) {
            return err(format!("link \"{}\" is declared twice", l.name));
        }
    }
    // Hosts and interfaces.
    let mut names = BTreeSet::new();
    for (hi, h) in lab.hosts.iter().enumerate() {
        if !valid_name(&h.name) {
            return err(format!(
                "host name \"{}\" is not valid (letters, digits, '-', '_', '.')",
                h.name
            ));
        }
        if !names.insert(h.name.clone()) {
            return err(format!("host \"{}\" is declared twice", h.name));
        }
        let idx = world.add_host(&h.name);
        debug_assert_eq!(idx, hi);
        world.hosts[idx].tz_minutes = offset;
        if h.interfaces.len() > MAX_IFACES {
            return err(format!(
                "host {}: {} interfaces; the limit is {MAX_IFACES}",
                h.name,
                h.interfaces.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for i in &h.interfaces {
            let what = format!("host {} interface {}", h.name, i.name);
            if i.name.is_empty()
                || i.name.len() > 15
                || i.name == "lo"
                || !i
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
            {
                return err(format!(
                    "host {}: interface name \"{}\" is not valid",
                    h.name, i.name
                ));
            }
            if !seen.insert(i.name.clone()) {
                return err(format!("{what} is declared twice"));
            }
            let mut addrs = Vec::new();
            for a in i.address.iter().chain(i.addresses.iter()) {
                let (addr, prefix) = parse_cidr(a, &what)?;
                addrs.push(IfAddr { addr, prefix });
            }
            let link = match &i.link {
                Some(l) => {
                    if !links.contains(l) {
                        let known: Vec<&str> = links.iter().map(|s| s.as_str()).collect();
                        return err(format!(
                            "{what}: unknown link \"{l}\" (declared links: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ));
                    }
                    Some(l.clone())
                }
                None => None,
            };
            let n = world.hosts[idx].ifaces.len() as u8;
            let mac = match &i.mac {
                Some(m) => parse_mac(m, &what)?,
                None => [0x02, 0x00, 0x00, idx as u8 + 1, 0x00, n],
            };
            let link_idx = link.map(|l| match world.links.iter().position(|x| x.name == l) {
                Some(p) => p,
                None => {
                    let outside = lab.links.iter().any(|x| x.name == l && x.outside);
                    world.links.push(crate::sim::world::Link {
                        name: l,
                        ends: vec![],
                        outside,
                    });
                    world.links.len() - 1
                }
            });
            world.hosts[idx].ifaces.push(Iface {
                name: i.name.clone(),
                mac,
                addrs,
                up: !i.down,
                link: link_idx,
                mtu: i.mtu.unwrap_or(1500),
            });
            if let Some(li) = link_idx {
                world.links[li].ends.push((idx, i.name.clone()));
            }
        }
    }
    // Declared links nobody plugs into still exist (for later use).
    for l in &lab.links {
        if !world.links.iter().any(|x| x.name == l.name) {
            world.links.push(crate::sim::world::Link {
                name: l.name.clone(),
                ends: vec![],
                outside: l.outside,
            });
        }
    }
    // Duplicate addresses on one link confuse ARP: refuse them.
    for link in &world.links {
        let mut owners: Vec<(Ipv4Addr, String)> = Vec::new();
        for (h, i) in &link.ends {
            if let Some(f) = world.hosts[*h].iface(i) {
                for a in &f.addrs {
                    if let Some((_, other)) = owners.iter().find(|(x, _)| *x == a.addr) {
                        return err(format!(
                            "address {} is on {} and on {} {} (link {})",
                            a.addr, other, world.hosts[*h].name, i, link.name
                        ));
                    }
                    owners.push((a.addr, format!("{} {}", world.hosts[*h].name, i)));
                }
            }
        }
    }
    // Routes, sysctls, services.
    for (idx, h) in lab.hosts.iter().enumerate() {
        if h.routes.len() > MAX_ITEMS || h.services.len() > MAX_ITEMS || h.startup.len() > MAX_ITEMS
        {
            return err(format!(
                "host {}: too many routes, services or commands",
                h.name
            ));
        }
        for r in &h.routes {
            let what = format!("host {} route to {}", h.name, r.to);
            let (dst, prefix) = if r.to == "default" {
                (Ipv4Addr::UNSPECIFIED, 0)
            } else {
                parse_cidr(&r.to, &what)?
            };
            let mask = crate::ext::xtopt::prefix_mask(prefix);
            if u32::from(dst) & !mask != 0 {
                return err(format!(
                    "{what}: host bits are set (did you mean {}/{prefix}?)",
                    Ipv4Addr::from(u32::from(dst) & mask)
                ));
            }
            let via = match &r.via {
                Some(v) => Some(v.parse::<Ipv4Addr>().map_err(|_| {
                    LabError(format!("{what}: via \"{v}\" is not an IPv4 address"))
                })?),
                None => None,
            };
            let host = &world.hosts[idx];
            let dev = match (&r.dev, via) {
                (Some(d), _) => {
                    if host.iface(d).is_none() {
                        return err(format!("{what}: no interface \"{d}\""));
                    }
                    d.clone()
                }
                (None, Some(g)) => match host
                    .ifaces
                    .iter()
                    .find(|i| !i.is_loopback() && i.addrs.iter().any(|a| a.contains(g)))
                {
                    Some(i) => i.name.clone(),
                    None => {
                        return err(format!(
                            "{what}: gateway {g} is not on a network of {}",
                            h.name
                        ))
                    }
                },
                (None, None) => return err(format!("{what}: needs \"via\" or \"dev\"")),
            };
            if let Some(g) = via {
                let on_link = host
                    .iface(&dev)
                    .is_some_and(|i| i.addrs.iter().any(|a| a.contains(g)));
                if !on_link {
                    return err(format!("{what}: gateway {g} is not on a network of {dev}"));
                }
            }
            let table = r.table.filter(|t| *t != 0).unwrap_or(TABLE_MAIN);
            let h_mut = &mut world.hosts[idx];
            let list = if table == TABLE_MAIN {
                &mut h_mut.routes
            } else {
                h_mut.policy.tables.entry(table).or_default()
            };
            if list.iter().any(|x| x.dst == dst && x.prefix == prefix) {
                return err(format!("{what}: declared twice"));
            }
            list.push(Route {
                dst,
                prefix,
                via,
                dev,
                connected: false,
            });
        }
        for (path, text) in &h.files {
            if path.is_empty() || path.ends_with('/') || h.files.len() > MAX_ITEMS {
                return err(format!(
                    "host {}: file \"{path}\" needs a file name",
                    h.name
                ));
            }
            world.hosts[idx].files.insert(path.clone(), text.clone());
        }
        if h.rules.len() > MAX_ITEMS {
            return err(format!("host {}: too many rules", h.name));
        }
        for r in &h.rules {
            tools::iprule::add_rule(&mut world.hosts[idx], r)
                .map_err(|e| LabError(format!("host {} rule \"{r}\": {e}", h.name)))?;
        }
        for (k, v) in &h.sysctl {
            match tools::sysctl::set(&mut world.hosts[idx], k, v) {
                Ok(_) => {}
                Err(tools::sysctl::SetError::NoSuchKey) => {
                    return err(format!("host {}: unknown sysctl \"{k}\"", h.name))
                }
                Err(tools::sysctl::SetError::Invalid) => {
                    return err(format!(
                        "host {}: sysctl {k}: \"{v}\" is not a valid value",
                        h.name
                    ))
                }
                Err(tools::sysctl::SetError::ReadOnly) => {
                    return err(format!("host {}: sysctl {k} cannot be set", h.name))
                }
            }
        }
        for s in &h.services {
            let what = format!("host {} service {}/{}", h.name, s.port, s.proto);
            let proto = match s.proto.as_str() {
                "tcp" => 6,
                "udp" => 17,
                other => return err(format!("{what}: protocol \"{other}\" is not tcp or udp")),
            };
            if s.port == 0 {
                return err(format!("{what}: port 0"));
            }
            let addr = match &s.address {
                Some(a) => {
                    let a: Ipv4Addr = a
                        .parse()
                        .map_err(|_| LabError(format!("{what}: \"{a}\" is not an IPv4 address")))?;
                    let owned = world.hosts[idx]
                        .ifaces
                        .iter()
                        .any(|i| i.addrs.iter().any(|x| x.addr == a));
                    if !owned {
                        return err(format!("{what}: {a} is not an address of {}", h.name));
                    }
                    Some(a)
                }
                None => None,
            };
            let service = s.service.clone().unwrap_or_else(|| {
                tools::util::service(s.port, &s.proto)
                    .unwrap_or("unknown")
                    .to_string()
            });
            if world.hosts[idx]
                .listeners
                .iter()
                .any(|l| l.proto == proto && l.port == s.port)
            {
                return err(format!("{what}: declared twice"));
            }
            world.hosts[idx].listeners.push(Listener {
                proto,
                port: s.port,
                addr,
                service,
            });
            if s.version.is_some() || s.body.is_some() {
                world.tools.services.insert(
                    (h.name.clone(), proto, s.port),
                    ServiceInfo {
                        version: s.version.clone().unwrap_or_default(),
                        body: s.body.clone(),
                    },
                );
            }
        }
    }
    // The name table.
    let mut table: Vec<(Ipv4Addr, Vec<String>)> = Vec::new();
    for n in &lab.names {
        let a: Ipv4Addr = n
            .address
            .parse()
            .map_err(|_| LabError(format!("names: \"{}\" is not an IPv4 address", n.address)))?;
        if n.names.is_empty() {
            return err(format!("names: {a} has no names"));
        }
        for name in &n.names {
            if !valid_name(name) {
                return err(format!("names: \"{name}\" is not a valid host name"));
            }
        }
        table.push((a, n.names.clone()));
    }
    if lab.auto_names {
        for h in &world.hosts {
            let known = table.iter().any(|(_, ns)| ns.contains(&h.name));
            let first = h
                .ifaces
                .iter()
                .filter(|i| !i.is_loopback())
                .flat_map(|i| i.addrs.iter())
                .next();
            if let (false, Some(a)) = (known, first) {
                table.push((a.addr, vec![h.name.clone()]));
            }
        }
    }
    for h in &mut world.hosts {
        for (a, ns) in &table {
            for n in ns {
                h.names.entry(n.clone()).or_default().push(*a);
            }
        }
    }
    world.tools.hosts_file = table;
    world.tools.resolver = match &lab.resolver {
        Some(r) => Some(
            r.parse()
                .map_err(|_| LabError(format!("resolver: \"{r}\" is not an IPv4 address")))?,
        ),
        None => None,
    };
    world.sync_clocks();
    Ok(world)
}

/// What one start-up command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupRun {
    pub host: String,
    pub command: String,
    pub output: Output,
}

/// Runs every host's start-up commands (hosts in file order) and returns their outputs.
pub fn startup(world: &mut World, lab: &LabFile) -> Vec<StartupRun> {
    let mut runs = Vec::new();
    for (idx, h) in lab.hosts.iter().enumerate() {
        for line in &h.startup {
            let script = match Script::parse(line) {
                Ok(c) => c,
                Err(e) => {
                    runs.push(StartupRun {
                        host: h.name.clone(),
                        command: line.clone(),
                        output: Output::err(format!("iptplay: {}\n", e.msg), 2),
                    });
                    continue;
                }
            };
            for item in &script.items {
                let r = run_on_host(world, idx, item, None, Mode::Script);
                runs.push(StartupRun {
                    host: h.name.clone(),
                    command: item.text.clone(),
                    output: r.output(),
                });
                if r.stop {
                    break;
                }
            }
        }
    }
    runs
}

/// Runs the lab's steps: each step's commands on its host, in order, as
/// typed in the host's terminal, and returns what each command printed
/// (`host` is the step's host). No packet reports are kept.
pub fn run_steps(world: &mut World, lab: &LabFile) -> Vec<StartupRun> {
    let mut runs = Vec::new();
    for step in &lab.steps {
        let Some(idx) = world.host_index(&step.host) else {
            for line in &step.commands {
                runs.push(StartupRun {
                    host: step.host.clone(),
                    command: line.clone(),
                    output: Output::err(format!("iptplay: no host \"{}\"\n", step.host), 2),
                });
            }
            continue;
        };
        for line in &step.commands {
            let script = match Script::parse(line) {
                Ok(c) => c,
                Err(e) => {
                    runs.push(StartupRun {
                        host: step.host.clone(),
                        command: line.clone(),
                        output: Output::err(format!("-bash: {}\n", e.msg), 2),
                    });
                    continue;
                }
            };
            for item in &script.items {
                let r = run_on_host(world, idx, item, None, Mode::Terminal);
                tools::take_journal(world);
                world.reports.clear();
                runs.push(StartupRun {
                    host: step.host.clone(),
                    command: item.text.clone(),
                    output: r.output(),
                });
            }
        }
    }
    runs
}

/// Parses, builds and starts a lab.
pub fn load(text: &str) -> Result<(World, LabFile, Vec<StartupRun>), LabError> {
    let lab = parse(text)?;
    let mut world = build(&lab)?;
    let runs = startup(&mut world, &lab);
    Ok((world, lab, runs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let (ns, off) = parse_time("2026-11-29T12:27:21Z").unwrap();
        assert_eq!((ns / 1_000_000_000, off), (1_795_955_241, 0));
        let (ns2, off) = parse_time("2026-11-29T13:27:21+01:00").unwrap();
        assert_eq!((ns2, off), (ns, 60));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:aa:00:00:00:01", "x").unwrap(),
            [2, 0xaa, 0, 0, 0, 1]
        );
        assert!(parse_mac("01:00:00:00:00:00", "x").is_err());
        assert!(parse_mac("zz", "x").is_err());
    }
}
