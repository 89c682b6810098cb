//! A lab's topology built as real network namespaces (`lab up`), taken
//! down again (`lab down`), and a host read back into the same description
//! (`import --lab`).
//!
//! [`LabSpec`] is the small description the namespace builder works from:
//! hosts with interfaces (addresses, MAC, MTU, the link they plug into),
//! routes (in any table), policy routing rules, sysctls, and their
//! iptables rules and ipsets as restore text.
//! Lab files convert into it. A link with two ends is a veth pair between
//! the two hosts; a link with one end or more than two is a bridge in a
//! namespace of its own, each end a veth to it.

use super::plan::{self, ApplyError, ApplyOpts};
use super::rtnl::{self, RtSock};
use super::sock::NfSock;
use super::{live, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    /// Prefix of the namespaces (`NAME-HOST`).
    pub name: String,
    pub hosts: Vec<HostSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    #[serde(default)]
    pub interfaces: Vec<IfaceSpec>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// The whole policy rule list as `ip rule add` words (the default
    /// rules are replaced by it); none: Linux's default rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_rules: Option<Vec<String>>,
    /// `"net.ipv4.ip_forward": "1"`.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// iptables-restore input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    /// `ipset restore` input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipsets: Option<String>,
    /// Base chains (`TABLE CHAIN`) a rule command made on demand: made
    /// without policy counters, as iptables-nft makes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncounted: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfaceSpec {
    pub name: String,
    /// `ADDRESS/PREFIX`.
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The link (L2 segment) it plugs into; none for an unplugged one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default = "yes")]
    pub up: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `default` or `NET/PREFIX`.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// The routing table; none: main.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
}

/// The rules of `ip_rules` as the simulator reads them (its `ip rule`
/// parser, on an empty rule list).
fn policy_rules(host: &str, words: &[String]) -> Result<Vec<crate::sim::rules::Rule>> {
    let mut scratch = crate::sim::host::Host::new(host);
    scratch.policy.rules.clear();
    for w in words {
        crate::sim::tools::iprule::add_rule(&mut scratch, w)
            .map_err(|e| bad(format!("{host}: rule \"{w}\": {e}")))?;
    }
    Ok(scratch.policy.rules)
}

fn bad(msg: String) -> Error {
    Error::Refused(msg)
}

pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8)> {
    let (a, p) = s
        .split_once('/')
        .ok_or_else(|| bad(format!("\"{s}\" is not ADDRESS/PREFIX")))?;
    let a: Ipv4Addr = a
        .parse()
        .map_err(|_| bad(format!("\"{a}\" is not an IPv4 address")))?;
    let p: u8 = p
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| bad(format!("prefix \"{p}\" is not 0 to 32")))?;
    Ok((a, p))
}

fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    let mut m = [0u8; 6];
    if parts.len() != 6 {
        return Err(bad(format!("\"{s}\" is not a MAC address")));
    }
    for (i, p) in parts.iter().enumerate() {
        m[i] =
            u8::from_str_radix(p, 16).map_err(|_| bad(format!("\"{s}\" is not a MAC address")))?;
    }
    Ok(m)
}

fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl LabSpec {
    pub fn from_json(text: &str) -> Result<LabSpec> {
        let spec: LabSpec =
            serde_json::from_str(text).map_err(|e| bad(format!("lab description: {e}")))?;
        spec.check()?;
        Ok(spec)
    }

    /// Names, addresses and links a namespace build can use.
    pub fn check(&self) -> Result<()> {
        if !valid_name(&self.name, 20) {
            return Err(bad(format!(
                "lab name \"{}\": 1 to 20 letters, digits, - _ .",
                self.name
            )));
        }
        let mut hosts = std::collections::BTreeSet::new();
        for h in &self.hosts {
            if !valid_name(&h.name, 30) || !hosts.insert(&h.name) {
                return Err(bad(format!(
                    "host name \"{}\" is not valid or used twice",
                    h.name
                )));
            }
            for i in &h.interfaces {
                if !valid_name(&i.name, 15) || i.name == "lo" {
                    return Err(bad(format!("{}: interface name \"{}\"", h.name, i.name)));
                }
                for a in &i.addresses {
                    parse_cidr(a).map_err(|e| bad(format!("{} {}: {e}", h.name, i.name)))?;
                }
                if let Some(m) = &i.mac {
                    parse_mac(m)?;
                }
            }
            if let Some(words) = &h.ip_rules {
                policy_rules(&h.name, words)?;
            }
            for r in &h.routes {
                if r.to != "default" {
                    parse_cidr(&r.to)?;
                }
                if r.via.is_none() && r.dev.is_none() {
                    return Err(bad(format!(
                        "{}: route to {} needs via or dev",
                        h.name, r.to
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn netns(&self, host: &str) -> String {
        format!("{}-{host}", self.name)
    }

    /// Ends of each link: (host, interface).
    fn links(&self) -> BTreeMap<String, Vec<(String, String)>> {
        let mut m: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for h in &self.hosts {
            for i in &h.interfaces {
                if let Some(l) = &i.link {
                    m.entry(l.clone())
                        .or_default()
                        .push((h.name.clone(), i.name.clone()));
                }
            }
        }
        m
    }
}

/// Where `lab up` records what it made, for `lab down`.
fn record_path(name: &str) -> PathBuf {
    PathBuf::from(super::confirm::DIR).join(format!("lab-{name}"))
}

/// What `lab up` did.
#[derive(Debug, Clone, Default)]
pub struct Built {
    pub namespaces: Vec<String>,
}

/// Builds the lab: namespaces, links, addresses, routes, sysctls, then
/// each host's ipsets and rules in its namespace. On failure whatever was
/// made is taken down again.
pub fn up(spec: &LabSpec) -> Result<Built> {
    spec.check()?;
    if record_path(&spec.name).exists() {
        return Err(bad(format!(
            "lab {} is up already (iptplay kernel lab down {})",
            spec.name, spec.name
        )));
    }
    let mut built = Built::default();
    let r = build(spec, &mut built);
    if let Err(e) = r {
        for ns in built.namespaces.iter().rev() {
            let _ = rtnl::netns_del(ns);
        }
        return Err(e);
    }
    std::fs::create_dir_all(super::confirm::DIR)
        .and_then(|_| std::fs::write(record_path(&spec.name), built.namespaces.join("\n") + "\n"))
        .map_err(|e| Error::Io(record_path(&spec.name).display().to_string(), e))?;
    Ok(built)
}

fn build(spec: &LabSpec, built: &mut Built) -> Result<()> {
    for h in &spec.hosts {
        let ns = spec.netns(&h.name);
        rtnl::netns_add(&ns)?;
        built.namespaces.push(ns);
    }
    let mut root = RtSock::open()?;
    for (link, ends) in spec.links() {
        if ends.len() == 2 {
            let (a, b) = (&ends[0], &ends[1]);
            let fa = rtnl::netns_fd(&spec.netns(&a.0))?;
            let fb = rtnl::netns_fd(&spec.netns(&b.0))?;
            root.add_veth(&a.1, &fa, &b.1, &fb)?;
            continue;
        }
        // A switch: a bridge in a namespace of its own.
        let sw = format!("{}-sw-{link}", spec.name);
        rtnl::netns_add(&sw)?;
        built.namespaces.push(sw.clone());
        let fsw = rtnl::netns_fd(&sw)?;
        let mut s = RtSock::open_in(Some(&sw))?;
        s.add_bridge("br0")?;
        s.set_link("br0", true, None, None, None)?;
        let bridge = s
            .links()?
            .into_iter()
            .find(|l| l.name == "br0")
            .map(|l| l.index)
            .ok_or_else(|| bad("bridge br0 vanished".into()))?;
        for (k, (host, iface)) in ends.iter().enumerate() {
            let fh = rtnl::netns_fd(&spec.netns(host))?;
            let port = format!("p{k}");
            root.add_veth(iface, &fh, &port, &fsw)?;
            s.set_link(&port, true, None, None, Some(bridge))?;
        }
    }
    for h in &spec.hosts {
        let ns = spec.netns(&h.name);
        let mut rt = RtSock::open_in(Some(&ns))?;
        rt.set_link("lo", true, None, None, None)?;
        let links = rt.links()?;
        for i in &h.interfaces {
            if i.link.is_none() && !links.iter().any(|l| l.name == i.name) {
                return Err(bad(format!(
                    "{}: interface {} plugs into no link",
                    h.name, i.name
                )));
            }
            let mac = i.mac.as_deref().map(parse_mac).transpose()?;
            rt.set_link(&i.name, i.up, mac, i.mtu, None)?;
            for a in &i.addresses {
                let (addr, prefix) = parse_cidr(a)?;
                rt.add_addr(&i.name, addr, prefix)?;
            }
        }
        for (k, v) in &h.sysctls {
            rtnl::set_sysctl(&ns, k, v)?;
        }
        for r in &h.routes {
            let (dst, prefix) = if r.to == "default" {
                (Ipv4Addr::UNSPECIFIED, 0)
            } else {
                parse_cidr(&r.to)?
            };
            let table = r.table.unwrap_or(crate::sim::rules::TABLE_MAIN);
            rt.add_route_in(table, dst, prefix, r.via, r.dev.as_deref())?;
        }
        if let Some(words) = &h.ip_rules {
            // Linux's default rules make way for the lab's whole list.
            for r in crate::sim::rules::Policy::default().rules {
                rt.rule(&r, true)?;
            }
            for r in policy_rules(&h.name, words)? {
                rt.rule(&r, false)?;
            }
        }
        if h.rules.is_some() || h.ipsets.is_some() {
            let mut sock = NfSock::open_in_netns(&ns)?;
            let text = h.rules.clone().unwrap_or_default();
            let opts = ApplyOpts {
                sets: h.ipsets.clone(),
                uncounted: h
                    .uncounted
                    .iter()
                    .filter_map(|w| w.split_once(' '))
                    .map(|(t, c)| (t.to_string(), c.to_string()))
                    .collect(),
                ..ApplyOpts::default()
            };
            match plan::apply(&mut sock, &text, opts) {
                Ok(_) => {}
                Err(ApplyError::Kernel(e)) => return Err(e),
                Err(ApplyError::Input(out)) => {
                    return Err(bad(format!(
                        "{}: the rules are refused: {}",
                        h.name,
                        out.stderr.trim_end()
                    )))
                }
            }
        }
    }
    Ok(())
}

/// Takes the lab `name` down: every namespace `lab up` made.
pub fn down(name: &str) -> Result<Vec<String>> {
    let path = record_path(name);
    let text = std::fs::read_to_string(&path).map_err(|_| bad(format!("lab {name} is not up")))?;
    let mut gone = Vec::new();
    for ns in text.lines().filter(|l| !l.is_empty()) {
        if rtnl::netns_del(ns).is_ok() {
            gone.push(ns.to_string());
        }
        super::fast::forget(Some(ns));
    }
    std::fs::remove_file(&path).map_err(|e| Error::Io(path.display().to_string(), e))?;
    Ok(gone)
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The host of `netns` (here when `None`) as a lab host named `name`:
/// its interfaces with addresses, MACs and MTUs, its routes, forwarding,
/// and its rules and ipsets as restore text.
pub fn import_host(name: &str, netns: Option<&str>) -> Result<(HostSpec, Vec<String>)> {
    let mut rt = RtSock::open_in(netns)?;
    let links = rt.links()?;
    let addrs = rt.addrs()?;
    let routes = rt.routes_in_tables()?;
    let (rules, other_rules) = rt.rules()?;
    let by_index = |i: i32| links.iter().find(|l| l.index == i).map(|l| l.name.clone());
    let mut interfaces = Vec::new();
    for l in &links {
        if l.name == "lo" {
            continue;
        }
        interfaces.push(IfaceSpec {
            name: l.name.clone(),
            addresses: addrs
                .iter()
                .filter(|(i, _, _)| *i == l.index)
                .map(|(_, a, p)| format!("{a}/{p}"))
                .collect(),
            mac: l.mac.as_ref().map(mac_text),
            mtu: l.mtu.filter(|m| *m != 1500),
            link: None,
            up: l.up,
        });
    }
    let routes = routes
        .into_iter()
        .map(|(table, (dst, prefix, via, oif))| RouteSpec {
            to: if prefix == 0 {
                "default".to_string()
            } else {
                format!("{dst}/{prefix}")
            },
            via,
            dev: oif.and_then(by_index),
            table: (table != crate::sim::rules::TABLE_MAIN).then_some(table),
        })
        .collect();
    // The rule list when it is not Linux's default one.
    let ip_rules = (rules != crate::sim::rules::Policy::default().rules)
        .then(|| rules.iter().map(|r| r.args()).collect());
    let mut sysctls = BTreeMap::new();
    let fwd = rtnl::get_sysctl(netns, "net.ipv4.ip_forward")?;
    if fwd != "0" {
        sysctls.insert("net.ipv4.ip_forward".to_string(), fwd);
    }
    let mut sock = NfSock::open_at(netns)?;
    let mut lv = live::read(&mut sock)?;
    let uncounted = lv
        .tables
        .iter()
        .flat_map(|t| {
            t.chains
                .iter()
                .filter(|c| c.hook.is_some() && c.counters.is_none())
                .map(move |c| format!("{} {}", t.name, c.name))
        })
        .collect();
    let (rules, problems) = plan::import(&mut lv, None, false, "");
    let rules: String = rules
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let sets = plan::import_sets(&lv);
    let mut notes: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    if other_rules > 0 {
        notes.push(format!(
            "{other_rules} policy rule(s) that do not look up a table (unreachable, goto ...)"
        ));
    }
    notes.extend(lv.set_problems.iter().cloned());
    Ok((
        HostSpec {
            name: name.to_string(),
            interfaces,
            routes,
            ip_rules,
            sysctls,
            rules: (!rules.is_empty()).then_some(rules),
            ipsets: (!sets.is_empty()).then_some(sets),
            uncounted,
        },
        notes,
    ))
}

/// The same lab in the engine's simulator: what `lab up` should behave
/// like (hosts, links, addresses, MACs, routes, sysctls, ipsets, rules).
pub fn to_world(spec: &LabSpec) -> Result<crate::sim::world::World> {
    use crate::sim::iface::IfAddr;
    use crate::sim::route::Route;
    spec.check()?;
    let mut w = crate::sim::world::World::new();
    for h in &spec.hosts {
        let hi = w.add_host(&h.name);
        for i in &h.interfaces {
            let first = i
                .addresses
                .first()
                .cloned()
                .unwrap_or_else(|| "0.0.0.0/0".into());
            let link = i
                .link
                .clone()
                .unwrap_or_else(|| format!("{}-{}-alone", h.name, i.name));
            w.plug(hi, &i.name, &first, &link).map_err(bad)?;
            let host = &mut w.hosts[hi];
            let Some(ifc) = host.ifaces.iter_mut().find(|x| x.name == i.name) else {
                continue;
            };
            if i.addresses.is_empty() {
                ifc.addrs.clear();
            }
            for a in i.addresses.iter().skip(1) {
                let (addr, prefix) = parse_cidr(a)?;
                ifc.addrs.push(IfAddr { addr, prefix });
            }
            if let Some(m) = &i.mac {
                ifc.mac = parse_mac(m)?;
            }
            if let Some(m) = i.mtu {
                ifc.mtu = m.min(u16::MAX as u32) as u16;
            }
            ifc.up = i.up;
        }
        let host = &mut w.hosts[hi];
        for r in &h.routes {
            let (dst, prefix) = if r.to == "default" {
                (Ipv4Addr::UNSPECIFIED, 0)
            } else {
                parse_cidr(&r.to)?
            };
            let dev = match (&r.dev, r.via) {
                (Some(d), _) => d.clone(),
                (None, Some(g)) => host
                    .ifaces
                    .iter()
                    .find(|i| {
                        i.addrs.iter().any(|a| {
                            let m = crate::ext::xtopt::prefix_mask(a.prefix);
                            u32::from(a.addr) & m == u32::from(g) & m
                        })
                    })
                    .map(|i| i.name.clone())
                    .ok_or_else(|| bad(format!("{}: no interface reaches {g}", h.name)))?,
                (None, None) => return Err(bad(format!("{}: route without via or dev", h.name))),
            };
            let route = Route {
                dst,
                prefix,
                via: r.via,
                dev,
                connected: false,
            };
            match r.table.filter(|t| *t != crate::sim::rules::TABLE_MAIN) {
                Some(t) => host.policy.tables.entry(t).or_default().push(route),
                None => host.routes.push(route),
            }
        }
        if let Some(words) = &h.ip_rules {
            host.policy.rules = policy_rules(&h.name, words)?;
            host.policy.custom = true;
        }
        for (k, v) in &h.sysctls {
            host.sysctl.insert(k.clone(), v.clone());
        }
        if let Some(sets) = &h.ipsets {
            let argv = ["ipset".to_string(), "restore".to_string()];
            let out = crate::ipset::cmd::run(host, &argv, Some(sets));
            if out.exit != 0 {
                return Err(bad(format!("{}: {}", h.name, out.stderr.trim_end())));
            }
        }
        if let Some(rules) = &h.rules {
            let out = crate::iptables::restore::run_restore(
                host,
                &["iptables-restore".to_string()],
                rules,
            );
            if out.exit != 0 {
                return Err(bad(format!("{}: {}", h.name, out.stderr.trim_end())));
            }
        }
        for (table, chain) in h.uncounted.iter().filter_map(|w| w.split_once(' ')) {
            let c = host
                .ruleset
                .tables
                .iter_mut()
                .filter(|t| t.name == table)
                .flat_map(|t| t.chains.iter_mut())
                .find(|c| c.name == chain && c.hook.is_some());
            if let Some(c) = c {
                c.counted = false;
            }
        }
    }
    Ok(w)
}

/// The description of a lab the simulator built (a lab file loaded and
/// started): each host's interfaces as the lab gave them (addresses, MACs,
/// MTUs, the links they plug into), its own routes and sysctls, and its
/// rules and ipsets as its start-up commands left them. `name` prefixes
/// the namespaces.
pub fn from_world(name: &str, w: &crate::sim::world::World) -> LabSpec {
    let mut hosts = Vec::new();
    for h in &w.hosts {
        let interfaces = h
            .ifaces
            .iter()
            .filter(|i| i.name != "lo")
            .map(|i| IfaceSpec {
                name: i.name.clone(),
                addresses: i
                    .addrs
                    .iter()
                    .map(|a| format!("{}/{}", a.addr, a.prefix))
                    .collect(),
                mac: Some(mac_text(&i.mac)),
                mtu: (i.mtu != 1500).then_some(i.mtu as u32),
                link: i.link.and_then(|l| w.links.get(l)).map(|l| l.name.clone()),
                up: i.up,
            })
            .collect();
        let main = h.routes.iter().map(|r| (None, r));
        let others = h
            .policy
            .tables
            .iter()
            .flat_map(|(t, rs)| rs.iter().map(move |r| (Some(*t), r)));
        let routes = main
            .chain(others)
            .filter(|(_, r)| !r.connected)
            .map(|(table, r)| RouteSpec {
                to: if r.prefix == 0 {
                    "default".to_string()
                } else {
                    format!("{}/{}", r.dst, r.prefix)
                },
                via: r.via,
                dev: Some(r.dev.clone()),
                table,
            })
            .collect();
        let ip_rules = h
            .policy
            .custom
            .then(|| h.policy.rules.iter().map(|r| r.args()).collect());
        let mut host = h.clone();
        let saved = crate::iptables::save_cmd::run_save(&mut host, &["iptables-save".to_string()]);
        let rules: String = saved
            .stdout
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let sets = {
            use crate::ipset::print::{list, ListOpts, Mode};
            let o = ListOpts {
                mode: Mode::Save,
                terse: false,
                names_only: false,
                sorted: false,
                now: h.clock_ns,
            };
            list(&h.ipsets.sets(), &o, &|_| 0)
        };
        // Only what the lab set: the rest is every namespace's default.
        let defaults = crate::sim::host::Host::new("defaults").sysctl;
        let sysctls = h
            .sysctl
            .iter()
            .filter(|(k, v)| defaults.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let uncounted = h
            .ruleset
            .tables
            .iter()
            .flat_map(|t| {
                t.chains
                    .iter()
                    .filter(|c| c.hook.is_some() && !c.fake && !c.counted)
                    .map(move |c| format!("{} {}", t.name, c.name))
            })
            .collect();
        hosts.push(HostSpec {
            name: h.name.clone(),
            interfaces,
            routes,
            ip_rules,
            sysctls,
            rules: (!rules.is_empty()).then_some(rules),
            ipsets: (!sets.is_empty()).then_some(sets),
            uncounted,
        });
    }
    LabSpec {
        name: name.to_string(),
        hosts,
    }
}

/// A lab name for namespaces from a lab file's name (`dmz-lab.json` ->
/// `dmz-lab`), letters, digits, `-`, `_` and `.` only, at most 20.
pub fn name_from_path(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut n: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(20)
        .collect();
    if n.is_empty() {
        n = "lab".into();
    }
    n
}
