//! `sysctl` (procps-ng 4.0.2) and the files under `/proc/sys` (`cat`,
//! `echo 1 > /proc/sys/net/ipv4/ip_forward`): the network settings the
//! simulator reads (forwarding, TTL, echo replies, conntrack) and the
//! usual neighbours, with Linux defaults.

use crate::command::Output;
use crate::sim::conntrack::TcpPolicy;
use crate::sim::host::Host;
use crate::sim::world::World;

/// Defaults of the global keys a lab host has.
const GLOBAL: &[(&str, &str)] = &[
    ("kernel.printk", "4\t4\t1\t7"),
    ("net.core.somaxconn", "4096"),
    ("net.ipv4.icmp_echo_ignore_all", "0"),
    ("net.ipv4.icmp_echo_ignore_broadcasts", "1"),
    ("net.ipv4.icmp_ratelimit", "1000"),
    ("net.ipv4.icmp_ratemask", "6168"),
    ("net.ipv4.ip_default_ttl", "64"),
    ("net.ipv4.ip_forward", "0"),
    ("net.ipv4.ip_local_port_range", "32768\t60999"),
    ("net.ipv4.ip_nonlocal_bind", "0"),
    ("net.ipv4.tcp_fin_timeout", "60"),
    ("net.ipv4.tcp_syn_retries", "6"),
    ("net.ipv4.tcp_syncookies", "1"),
    ("net.ipv6.conf.all.disable_ipv6", "0"),
    ("net.netfilter.nf_conntrack_acct", "0"),
    ("net.netfilter.nf_conntrack_generic_timeout", "600"),
    ("net.netfilter.nf_conntrack_icmp_timeout", "30"),
    ("net.netfilter.nf_conntrack_log_invalid", "0"),
    ("net.netfilter.nf_conntrack_max", "262144"),
    ("net.netfilter.nf_conntrack_tcp_be_liberal", "0"),
    ("net.netfilter.nf_conntrack_tcp_ignore_invalid_rst", "0"),
    ("net.netfilter.nf_conntrack_tcp_loose", "1"),
    ("net.netfilter.nf_conntrack_tcp_max_retrans", "3"),
    (
        "net.netfilter.nf_conntrack_tcp_timeout_established",
        "432000",
    ),
    ("net.netfilter.nf_conntrack_udp_timeout", "30"),
    ("net.netfilter.nf_conntrack_udp_timeout_stream", "120"),
];

/// Per-interface keys (`net.ipv4.conf.IF.KEY`) and their defaults.
const CONF: &[(&str, &str)] = &[
    ("accept_redirects", "1"),
    ("accept_source_route", "0"),
    ("arp_announce", "0"),
    ("arp_ignore", "0"),
    ("forwarding", "0"),
    ("log_martians", "0"),
    ("proxy_arp", "0"),
    ("route_localnet", "0"),
    ("rp_filter", "0"),
    ("send_redirects", "1"),
];

/// Keys whose value the kernel computes.
const READ_ONLY: &[&str] = &["net.netfilter.nf_conntrack_count"];

/// Every key of a host, sorted.
pub fn keys(host: &Host) -> Vec<String> {
    let mut v: Vec<String> = GLOBAL.iter().map(|(k, _)| k.to_string()).collect();
    v.push("kernel.hostname".into());
    v.extend(READ_ONLY.iter().map(|k| k.to_string()));
    let mut ifs = vec!["all".to_string(), "default".to_string()];
    ifs.extend(host.ifaces.iter().map(|i| i.name.clone()));
    for i in ifs {
        for (k, _) in CONF {
            v.push(format!("net.ipv4.conf.{i}.{k}"));
        }
    }
    crate::sort::sort(&mut v);
    v.dedup();
    v
}

/// The value of a key (`None`: no such key).
pub fn get(host: &Host, key: &str) -> Option<String> {
    if key == "kernel.hostname" {
        return Some(host.name.clone());
    }
    if key == "net.netfilter.nf_conntrack_count" {
        return Some(host.conntrack.len().to_string());
    }
    if let Some(v) = host.sysctl.get(key) {
        if known(host, key) {
            return Some(v.clone());
        }
    }
    if let Some((_, v)) = GLOBAL.iter().find(|(k, _)| *k == key) {
        return Some(v.to_string());
    }
    let rest = key.strip_prefix("net.ipv4.conf.")?;
    let (iface, k) = rest.rsplit_once('.')?;
    if iface != "all" && iface != "default" && host.iface(iface).is_none() {
        return None;
    }
    CONF.iter()
        .find(|(n, _)| *n == k)
        .map(|(_, v)| v.to_string())
}

fn known(host: &Host, key: &str) -> bool {
    GLOBAL.iter().any(|(k, _)| *k == key)
        || key
            .strip_prefix("net.ipv4.conf.")
            .and_then(|r| r.rsplit_once('.'))
            .is_some_and(|(i, k)| {
                (i == "all" || i == "default" || host.iface(i).is_some())
                    && CONF.iter().any(|(n, _)| *n == k)
            })
}

/// Why a write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    NoSuchKey,
    Invalid,
    ReadOnly,
}

/// Writes a key as the kernel would (numbers only; forwarding keys linked).
pub fn set(host: &mut Host, key: &str, value: &str) -> Result<String, SetError> {
    let value = value.trim();
    // The host name names the host in the lab; it stays fixed.
    if READ_ONLY.contains(&key) || key == "kernel.hostname" {
        return Err(SetError::ReadOnly);
    }
    if !known(host, key) {
        return Err(SetError::NoSuchKey);
    }
    let stored = if key == "net.ipv4.ip_local_port_range" || key == "kernel.printk" {
        let nums: Vec<&str> = value.split_whitespace().collect();
        if nums.is_empty() || nums.iter().any(|n| n.parse::<i64>().is_err()) {
            return Err(SetError::Invalid);
        }
        nums.join("\t")
    } else {
        let n: i64 = value.parse().map_err(|_| SetError::Invalid)?;
        n.to_string()
    };
    host.sysctl.insert(key.to_string(), stored.clone());
    if key.starts_with("net.netfilter.nf_conntrack_tcp_") {
        host.conntrack.tcp_policy = tcp_policy(host);
    }
    // ip_forward and conf.all.forwarding are one switch; both reach every interface.
    if key == "net.ipv4.ip_forward" || key == "net.ipv4.conf.all.forwarding" {
        let on = if stored == "0" { "0" } else { "1" };
        host.sysctl
            .insert("net.ipv4.ip_forward".into(), stored.clone());
        host.sysctl
            .insert("net.ipv4.conf.all.forwarding".into(), on.into());
        let names: Vec<String> = host.ifaces.iter().map(|i| i.name.clone()).collect();
        for i in names {
            host.sysctl
                .insert(format!("net.ipv4.conf.{i}.forwarding"), on.into());
        }
    }
    Ok(stored)
}

/// The window tracking settings of a host's sysctls (defaults for unset keys).
pub fn tcp_policy(host: &Host) -> TcpPolicy {
    let num = |key: &str, default: i64| {
        host.sysctl
            .get(&format!("net.netfilter.nf_conntrack_tcp_{key}"))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(default)
    };
    TcpPolicy {
        loose: num("loose", 1) != 0,
        liberal: num("be_liberal", 0) != 0,
        ignore_invalid_rst: num("ignore_invalid_rst", 0) != 0,
        max_retrans: num("max_retrans", 3).clamp(0, u32::MAX as i64) as u32,
    }
}

/// A path under `/proc/sys` as a key (`/proc/sys/net/ipv4/ip_forward`).
fn proc_key(path: &str) -> Option<String> {
    path.strip_prefix("/proc/sys/")
        .map(|p| p.trim_end_matches('/').replace('/', "."))
}

/// Reads `/proc/sys/...`: `None` when the path is not under /proc/sys.
pub fn proc_read(host: &Host, path: &str) -> Option<Result<String, String>> {
    let key = proc_key(path)?;
    Some(
        get(host, &key)
            .map(|v| format!("{v}\n"))
            .ok_or_else(|| "No such file or directory".to_string()),
    )
}

/// Writes `/proc/sys/...` (what `echo 1 > FILE` does); the error is the shell's message.
pub fn proc_write(host: &mut Host, path: &str, text: &str) -> Result<(), String> {
    let Some(key) = proc_key(path) else {
        return Err(format!("sh: {path}: Permission denied\n"));
    };
    match set(host, &key, text) {
        Ok(_) => Ok(()),
        Err(SetError::NoSuchKey) => Err(format!("sh: {path}: No such file or directory\n")),
        Err(SetError::ReadOnly) => Err(format!("sh: {path}: Permission denied\n")),
        Err(SetError::Invalid) => Err("sh: echo: write error: Invalid argument\n".into()),
    }
}

const USAGE: &str = "
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable

For more details see sysctl(8).
";

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String], _stdin: Option<&str>) -> Output {
    let h = &mut world.hosts[host];
    let mut values_only = false;
    let mut quiet = false;
    let mut write = false;
    let mut all = false;
    let mut names_only = false;
    let mut ignore = false;
    let mut load: Option<String> = None;
    let mut items = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        match a {
            "-n" | "--values" => values_only = true,
            "-q" | "--quiet" => quiet = true,
            "-w" | "--write" => write = true,
            "-a" | "-A" | "-X" | "--all" => all = true,
            "-N" | "--names" => names_only = true,
            "-e" | "--ignore" => ignore = true,
            "-p" | "-f" | "--load" => {
                let next = argv.get(i + 1).filter(|n| !n.starts_with('-'));
                load = Some(match next {
                    Some(f) => {
                        i += 1;
                        f.clone()
                    }
                    None => "/etc/sysctl.conf".into(),
                });
            }
            "-h" | "--help" => return Output::ok(USAGE),
            _ if a.len() > 2
                && a.starts_with('-')
                && !a.starts_with("--")
                && a[1..].chars().all(|c| "nqwaAXNe".contains(c)) =>
            {
                for c in a[1..].chars() {
                    match c {
                        'n' => values_only = true,
                        'q' => quiet = true,
                        'w' => write = true,
                        'N' => names_only = true,
                        'e' => ignore = true,
                        _ => all = true,
                    }
                }
            }
            _ if a.starts_with("-p") => load = Some(a[2..].to_string()),
            _ if a.starts_with("--load=") => load = Some(a[7..].to_string()),
            _ if a.starts_with('-') && a.len() > 1 => {
                return Output::err(
                    format!(
                        "sysctl: invalid option -- '{}'\n{USAGE}",
                        a.chars().nth(1).unwrap_or('-')
                    ),
                    1,
                )
            }
            _ => items.push(a.to_string()),
        }
        i += 1;
    }
    let mut out = Output::default();
    let show = |out: &mut Output, k: &str, v: &str| {
        if names_only {
            out.stdout.push_str(&format!("{k}\n"));
        } else if values_only {
            out.stdout.push_str(&format!("{v}\n"));
        } else {
            out.stdout.push_str(&format!("{k} = {v}\n"));
        }
    };
    if all {
        for k in keys(h) {
            if let Some(v) = get(h, &k) {
                show(&mut out, &k, &v);
            }
        }
        return out;
    }
    if let Some(file) = load {
        let Some(text) = h.files.get(&file).cloned() else {
            return Output::err(
                format!("sysctl: cannot open \"{file}\": No such file or directory\n"),
                1,
            );
        };
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            items.push(line.replace(' ', ""));
        }
        write = true;
    }
    if items.is_empty() {
        return Output::err(USAGE, 1);
    }
    for item in items {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k.trim().replace('/', "."), Some(v.trim().to_string())),
            None => (item.replace('/', "."), None),
        };
        match value {
            Some(v) => match set(h, &key, &v) {
                Ok(stored) => {
                    if !quiet {
                        show(&mut out, &key, &stored);
                    }
                }
                Err(SetError::NoSuchKey) => {
                    if !ignore {
                        out.stderr.push_str(&format!(
                            "sysctl: cannot stat /proc/sys/{}: No such file or directory\n",
                            key.replace('.', "/")
                        ));
                        out.exit = 1;
                    }
                }
                Err(SetError::ReadOnly) => {
                    out.stderr
                        .push_str(&format!("sysctl: permission denied on key \"{key}\"\n"));
                    out.exit = 1;
                }
                Err(SetError::Invalid) => {
                    out.stderr.push_str(&format!(
                        "sysctl: setting key \"{key}\": Invalid argument\n"
                    ));
                    out.exit = 1;
                }
            },
            None if write => {
                out.stderr
                    .push_str("sysctl: command line(0): invalid syntax, continuing...\n");
                out.exit = 1;
            }
            None => match get(h, &key) {
                Some(v) => show(&mut out, &key, &v),
                None => {
                    if !ignore {
                        out.stderr.push_str(&format!(
                            "sysctl: cannot stat /proc/sys/{}: No such file or directory\n",
                            key.replace('.', "/")
                        ));
                        out.exit = 1;
                    }
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::sim::host::Host;

    #[test]
    fn window_tracking_switches_reach_conntrack() {
        let mut h = Host::new("h");
        assert!(h.conntrack.tcp_policy.loose && !h.conntrack.tcp_policy.liberal);
        for (key, value) in [
            ("net.netfilter.nf_conntrack_tcp_loose", "0"),
            ("net.netfilter.nf_conntrack_tcp_be_liberal", "1"),
            ("net.netfilter.nf_conntrack_tcp_max_retrans", "5"),
        ] {
            assert!(super::set(&mut h, key, value).is_ok(), "{key}");
        }
        let p = h.conntrack.tcp_policy;
        assert_eq!((p.loose, p.liberal, p.max_retrans), (false, true, 5));
    }
}
