//! `nc` (netcat-openbsd 1.219): TCP connects and port checks (`-z`), UDP
//! (`-u`), listening (`-l` adds a listener to the host and returns at once,
//! like `nc -lk PORT &`), `-v` messages, `-n`, `-w`, `-s`, `-p`. Data from
//! standard input is sent over the connection; a web server answers an
//! HTTP request with its page.

use super::net::{self, ConnectError, SEC};
use super::util;
use crate::command::Output;
use crate::sim::host::Listener;
use crate::sim::world::World;
use std::net::Ipv4Addr;

#[derive(Default)]
struct Opts {
    listen: bool,
    keep: bool,
    zero: bool,
    verbose: bool,
    udp: bool,
    numeric: bool,
    wait: Option<f64>,
    src_port: Option<String>,
    src_addr: Option<String>,
    args: Vec<String>,
}

const USAGE: &str = "usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]
\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]
\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]
\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]
\t  [destination] [port]
";

fn parse(argv: &[String]) -> Result<Opts, Output> {
    let mut o = Opts::default();
    let mut i = 1;
    while i < argv.len() {
        let a = &argv[i];
        if a.len() > 1 && a.starts_with('-') && a != "--" {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                match c {
                    'l' => o.listen = true,
                    'k' => o.keep = true,
                    'z' => o.zero = true,
                    'v' => o.verbose = true,
                    'u' => o.udp = true,
                    'n' => o.numeric = true,
                    '4' | 'N' | 'd' | 'D' | 'C' | 't' => {}
                    'w' | 'p' | 's' | 'q' | 'i' => {
                        let rest: String = chars[k + 1..].iter().collect();
                        let v = if !rest.is_empty() {
                            rest
                        } else {
                            i += 1;
                            match argv.get(i) {
                                Some(v) => v.clone(),
                                None => {
                                    return Err(Output::err(
                                        format!(
                                            "nc: option requires an argument -- '{c}'\n{USAGE}"
                                        ),
                                        1,
                                    ))
                                }
                            }
                        };
                        match c {
                            'w' => {
                                o.wait = Some(util::parse_secs(&v).ok_or_else(|| {
                                    Output::err(format!("nc: timeout {v}: invalid\n"), 1)
                                })?)
                            }
                            'p' => o.src_port = Some(v),
                            's' => o.src_addr = Some(v),
                            _ => {}
                        }
                        k = chars.len();
                        continue;
                    }
                    'h' => {
                        return Err(Output::err(USAGE, 1));
                    }
                    _ => {
                        return Err(Output::err(
                            format!("nc: invalid option -- '{c}'\n{USAGE}"),
                            1,
                        ))
                    }
                }
                k += 1;
            }
        } else {
            o.args.push(a.clone());
        }
        i += 1;
    }
    Ok(o)
}

/// Ports as nc reads them: `80`, `http`, `20-25`.
fn parse_ports(s: &str, proto: &str) -> Result<Vec<u16>, String> {
    let one = |p: &str| -> Result<u16, String> {
        match p.parse::<u64>() {
            Ok(0) => Err(format!("port number invalid: {p}")),
            Ok(n) if n > 65535 => Err(format!("port number too large: {p}")),
            Ok(n) => Ok(n as u16),
            Err(_) => util::parse_port(p, proto).ok_or(format!("port number invalid: {p}")),
        }
    };
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (one(a)?, one(b)?);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        return Ok((lo..=hi).collect());
    }
    Ok(vec![one(s)?])
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String], stdin: Option<&str>) -> Output {
    let o = match parse(argv) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let proto_name = if o.udp { "udp" } else { "tcp" };
    if o.listen {
        return listen(world, host, &o, proto_name);
    }
    if o.args.is_empty() {
        return Output::err(USAGE, 1);
    }
    if o.args.len() < 2 {
        return Output::err("nc: missing port number\n", 1);
    }
    let name = o.args[0].clone();
    let mut ports = Vec::new();
    for p in &o.args[1..] {
        match parse_ports(p, proto_name) {
            Ok(v) => ports.extend(v),
            Err(e) => return Output::err(format!("nc: {e}\n"), 1),
        }
    }
    let target = if o.numeric {
        match util::parse_addr(&name) {
            Some(a) => util::Resolved {
                addr: a,
                canon: name.clone(),
                numeric: true,
            },
            None => {
                return Output::err(
                    format!(
                        "nc: getaddrinfo for host \"{name}\" port {}: Name or service not known\n",
                        o.args[1]
                    ),
                    1,
                )
            }
        }
    } else {
        match util::resolve(world, host, &name) {
            Some(r) => r,
            None => {
                return Output::err(
                    format!(
                        "nc: getaddrinfo for host \"{name}\" port {}: Name or service not known\n",
                        o.args[1]
                    ),
                    1,
                )
            }
        }
    };
    let dst = target.addr;
    let shown = if target.numeric {
        dst.to_string()
    } else {
        format!("{name} ({dst})")
    };
    let svc = |port: u16| -> String {
        if o.numeric {
            "*".into()
        } else {
            util::service(port, proto_name).unwrap_or("*").to_string()
        }
    };
    let mut out = Output::default();
    let mut any_ok = false;
    let timeout = o.wait.map(util::secs_to_ns);
    for port in ports {
        if o.udp {
            let Some(path) = net::path(world, host, dst) else {
                out.stderr.push_str(&format!(
                    "nc: connect to {shown} port {port} (udp) failed: Network is unreachable\n"
                ));
                continue;
            };
            let src = o
                .src_addr
                .as_deref()
                .and_then(util::parse_addr)
                .unwrap_or(path.src);
            let sport = o
                .src_port
                .as_deref()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| util::ephemeral_port(world, host));
            let payload: Vec<u8> = if o.zero {
                b"X".to_vec()
            } else {
                stdin.unwrap_or("").as_bytes().to_vec()
            };
            // -z writes "X" once, then four more a second apart (the last
            // three after a pause); a write after an ICMP error fails with
            // ECONNREFUSED, sends nothing, and ends the test.
            let mut refused = false;
            if !payload.is_empty() {
                let writes = if o.zero { 5 } else { 1 };
                for k in 0..writes {
                    if k >= 2 {
                        world.advance(SEC);
                    }
                    let dels = net::udp(world, host, src, dst, sport, port, &payload);
                    if world.tools.send_refused.is_some() {
                        // EPERM: the port test fails without a word; a
                        // plain send loses its data just as quietly.
                        refused = o.zero || o.verbose;
                        break;
                    }
                    let error = net::arrived(&dels, host).iter().any(|(h, _)| {
                        net::icmp_error_about(h, 17, src, dst, sport, port)
                            .is_some_and(|(t, c, _)| t == 3 && c == 3)
                    });
                    if error {
                        refused = o.zero || writes == 1;
                        break;
                    }
                }
            }
            if refused {
                continue;
            }
            any_ok = true;
            if o.verbose {
                out.stderr.push_str(&format!(
                    "Connection to {shown} {port} port [udp/{}] succeeded!\n",
                    svc(port)
                ));
            }
            continue;
        }
        match net::connect(world, host, dst, port, timeout) {
            Ok(mut conn) => {
                any_ok = true;
                if o.verbose {
                    out.stderr.push_str(&format!(
                        "Connection to {shown} {port} port [tcp/{}] succeeded!\n",
                        svc(port)
                    ));
                }
                if !o.zero {
                    let data = stdin.unwrap_or("");
                    if !data.is_empty() && net::deliver(world, &mut conn, true, data.as_bytes()) {
                        let server = conn.server.host;
                        if let Some(resp) =
                            super::http::respond(world, server, conn.server.lport, data)
                        {
                            if net::deliver(world, &mut conn, false, &resp) {
                                out.stdout.push_str(&String::from_utf8_lossy(&resp));
                            }
                        }
                    }
                }
                net::close(world, conn);
            }
            Err(ConnectError::TimedOut) if timeout.is_some() => {
                if o.verbose {
                    out.stderr.push_str(&format!(
                        "nc: connect to {shown} port {port} (tcp) timed out: Operation now in progress\n"
                    ));
                }
            }
            Err(e) => {
                if o.verbose {
                    out.stderr.push_str(&format!(
                        "nc: connect to {shown} port {port} (tcp) failed: {}\n",
                        e.text()
                    ));
                }
            }
        }
    }
    out.exit = if any_ok { 0 } else { 1 };
    out
}

/// `nc -l [-p] PORT [ADDR]`: a listening socket on the host.
fn listen(world: &mut World, host: usize, o: &Opts, proto_name: &str) -> Output {
    if o.zero {
        return Output::err("nc: cannot use -z and -l\n", 1);
    }
    // nc -l [addr] port, or nc -l -p port [addr].
    let (addr, port) = match (o.args.len(), &o.src_port) {
        (0, Some(p)) => (o.src_addr.clone(), p.clone()),
        (1, Some(p)) => (Some(o.args[0].clone()), p.clone()),
        (1, None) => (o.src_addr.clone(), o.args[0].clone()),
        (2, _) => (Some(o.args[0].clone()), o.args[1].clone()),
        (0, None) => return Output::err("nc: missing port number\n", 1),
        _ => return Output::err(USAGE, 1),
    };
    let port = match parse_ports(&port, proto_name) {
        Ok(v) if v.len() == 1 => v[0],
        Ok(_) => return Output::err("nc: port range not valid\n", 1),
        Err(e) => return Output::err(format!("nc: {e}\n"), 1),
    };
    let addr = match addr {
        None => None,
        Some(a) => match util::resolve(world, host, &a) {
            Some(r) => Some(r.addr),
            None => {
                return Output::err(
                    format!(
                        "nc: getaddrinfo for host \"{a}\" port {port}: Name or service not known\n"
                    ),
                    1,
                )
            }
        },
    };
    let proto = if o.udp { 17 } else { 6 };
    let h = &mut world.hosts[host];
    if let Some(a) = addr {
        let owned =
            a.is_unspecified() || h.ifaces.iter().any(|i| i.addrs.iter().any(|x| x.addr == a));
        if !owned {
            return Output::err("nc: Cannot assign requested address\n", 1);
        }
    }
    let clash = h.listeners.iter().any(|l| {
        l.proto == proto
            && l.port == port
            && !net::is_socket_marker(&l.service)
            && (l.addr.is_none() || addr.is_none() || l.addr == addr)
    });
    if clash {
        return Output::err("nc: Address already in use\n", 1);
    }
    h.listeners.push(Listener {
        proto,
        port,
        addr: addr.filter(|a| !a.is_unspecified()),
        service: util::service(port, proto_name)
            .unwrap_or("unknown")
            .to_string(),
    });
    if proto == 6 {
        let name = h.name.clone();
        world.tools.backlogs.insert((name, port), 1);
    }
    let mut out = Output::default();
    if o.verbose {
        let a = addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let shown = if o.numeric {
            a.to_string()
        } else {
            util::reverse(world, a).unwrap_or_else(|| a.to_string())
        };
        out.stderr = format!("Listening on {shown} {port}\n");
    }
    out
}
