//! `dig` (BIND 9.18) and `getent hosts` answered from the lab's name table.
//! The lab's resolver is authoritative for the table and knows nothing
//! else; DNS queries are not sent as packets.

use super::util;
use crate::command::Output;
use crate::sim::world::World;
use std::net::Ipv4Addr;

/// BIND's `indent`: tabs to `to`, at least one column of space.
fn indent(line: &mut String, col: &mut usize, to: usize) {
    let to = to.max(*col + 1);
    let tabs = to / 8 - *col / 8;
    let mut from = *col;
    if tabs > 0 {
        line.push_str(&"\t".repeat(tabs));
        from = (to / 8) * 8;
    }
    line.push_str(&" ".repeat(to - from));
    *col = to;
}

fn wire_len(name: &str) -> usize {
    // Labels with their length bytes, plus the root.
    name.trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + 1
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn dig(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut server: Option<String> = None;
    let mut short = false;
    let mut reverse: Option<String> = None;
    let mut name: Option<String> = None;
    let mut qtype = "A".to_string();
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        if let Some(s) = a.strip_prefix('@') {
            server = Some(s.to_string());
        } else if a == "+short" {
            short = true;
        } else if a.starts_with('+') {
        } else if a == "-x" {
            i += 1;
            reverse = argv.get(i).cloned();
        } else if a == "-t" {
            i += 1;
            if let Some(t) = argv.get(i) {
                qtype = t.to_ascii_uppercase();
            }
        } else if matches!(
            a.to_ascii_uppercase().as_str(),
            "A" | "AAAA" | "PTR" | "MX" | "NS" | "TXT" | "CNAME" | "SOA" | "ANY"
        ) && name.is_some()
        {
            qtype = a.to_ascii_uppercase();
        } else if a.starts_with('-') {
        } else {
            name = Some(a.to_string());
        }
        i += 1;
    }
    let (qname, answers): (String, Vec<(String, String)>) = if let Some(r) = &reverse {
        let Some(addr) = util::parse_addr(r) else {
            return Output::err(format!("Invalid IP address {r}\n"), 1);
        };
        qtype = "PTR".into();
        let o = addr.octets();
        let q = format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0]);
        let ans = util::reverse(world, addr)
            .map(|n| vec![("PTR".to_string(), fqdn(&n))])
            .unwrap_or_default();
        (q, ans)
    } else {
        let n = name.clone().unwrap_or_else(|| ".".into());
        let q = fqdn(&n);
        let bare = q.trim_end_matches('.');
        let ans = if qtype == "A" || qtype == "ANY" {
            world
                .tools
                .hosts_file
                .iter()
                .filter(|(_, names)| names.iter().any(|x| x == bare))
                .map(|(a, _)| ("A".to_string(), a.to_string()))
                .collect()
        } else {
            Vec::new()
        };
        (q, ans)
    };
    let known = !answers.is_empty()
        || (reverse.is_none()
            && world
                .tools
                .hosts_file
                .iter()
                .any(|(_, n)| n.iter().any(|x| x == qname.trim_end_matches('.'))));
    if short {
        let mut s = String::new();
        for (_, v) in &answers {
            s.push_str(v);
            s.push('\n');
        }
        return Output::ok(s);
    }
    let resolver = world.tools.resolver.unwrap_or(Ipv4Addr::new(127, 0, 0, 53));
    let server_addr = match &server {
        Some(s) => match util::resolve(world, host, s) {
            Some(r) => r.addr,
            None => {
                return Output::err(
                    format!("dig: couldn't get address for '{s}': not found\n"),
                    10,
                )
            }
        },
        None => resolver,
    };
    let mut s = String::new();
    s.push_str(&format!(
        "\n; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> {}\n",
        argv[1..].join(" ")
    ));
    if server.is_some() {
        s.push_str("; (1 server found)\n");
    }
    s.push_str(";; global options: +cmd\n;; Got answer:\n");
    let id = util::random(world, host) as u16;
    let status = if known { "NOERROR" } else { "NXDOMAIN" };
    s.push_str(&format!(
        ";; ->>HEADER<<- opcode: QUERY, status: {status}, id: {id}\n"
    ));
    s.push_str(&format!(
        ";; flags: qr aa rd ra; QUERY: 1, ANSWER: {}, AUTHORITY: 0, ADDITIONAL: 1\n\n",
        answers.len()
    ));
    s.push_str(";; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n");
    s.push_str(";; QUESTION SECTION:\n");
    let mut line = format!(";{qname}");
    let mut col = qname.len();
    indent(&mut line, &mut col, 32);
    line.push_str("IN");
    col += 2;
    indent(&mut line, &mut col, 40);
    line.push_str(&qtype);
    s.push_str(&line);
    s.push_str("\n\n");
    let mut size = 12 + wire_len(&qname) + 4 + 11;
    if !answers.is_empty() {
        s.push_str(";; ANSWER SECTION:\n");
        for (t, v) in &answers {
            let mut line = qname.clone();
            let mut col = qname.len();
            indent(&mut line, &mut col, 24);
            line.push('0');
            col += 1;
            indent(&mut line, &mut col, 32);
            line.push_str("IN");
            col += 2;
            indent(&mut line, &mut col, 40);
            line.push_str(t);
            col += t.len();
            indent(&mut line, &mut col, 48);
            line.push_str(v);
            s.push_str(&line);
            s.push('\n');
            size += 2 + 10 + if t == "A" { 4 } else { wire_len(v) };
        }
        s.push('\n');
    }
    s.push_str(";; Query time: 0 msec\n");
    s.push_str(&format!(
        ";; SERVER: {server_addr}#53({}) (UDP)\n",
        server.as_deref().unwrap_or(&server_addr.to_string())
    ));
    let now = world.now_ns;
    let t = util::local(world, host, now);
    s.push_str(&format!(
        ";; WHEN: {} {} {:02} {:02}:{:02}:{:02} {} {}\n",
        t.weekday(),
        t.month_name(),
        t.day,
        t.hour,
        t.min,
        t.sec,
        world.tools.tz(),
        t.year
    ));
    s.push_str(&format!(";; MSG SIZE  rcvd: {size}\n\n"));
    Output::ok(s)
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn getent(world: &mut World, _host: usize, argv: &[String]) -> Output {
    let Some(db) = argv.get(1) else {
        return Output::err(
            "getent: wrong number of arguments\nTry `getent --help' or `getent --usage' for more information.\n",
            1,
        );
    };
    if db != "hosts" && db != "ahostsv4" && db != "ahosts" {
        return Output::err(
            format!("Unknown database: {db}\nTry `getent --help' or `getent --usage' for more information.\n"),
            1,
        );
    }
    let line =
        |a: Ipv4Addr, names: &[String]| format!("{:<15} {}\n", a.to_string(), names.join(" "));
    let mut table: Vec<(Ipv4Addr, Vec<String>)> =
        vec![(Ipv4Addr::LOCALHOST, vec!["localhost".into()])];
    for (a, n) in &world.tools.hosts_file {
        if *a == Ipv4Addr::LOCALHOST {
            table[0]
                .1
                .extend(n.iter().filter(|x| *x != "localhost").cloned());
        } else {
            table.push((*a, n.clone()));
        }
    }
    if argv.len() == 2 {
        let mut s = String::new();
        for (a, n) in &table {
            s.push_str(&line(*a, n));
        }
        return Output::ok(s);
    }
    let mut s = String::new();
    let mut exit = 0;
    for key in &argv[2..] {
        let found = match util::parse_addr(key) {
            Some(a) => table.iter().find(|(x, _)| *x == a),
            None => table.iter().find(|(_, n)| n.iter().any(|x| x == key)),
        };
        match found {
            Some((a, n)) if db == "hosts" => s.push_str(&line(*a, n)),
            Some((a, n)) => {
                s.push_str(&format!("{:<15} STREAM {}\n", a.to_string(), n[0]));
                s.push_str(&format!("{:<15} DGRAM  \n", a.to_string()));
                s.push_str(&format!("{:<15} RAW    \n", a.to_string()));
            }
            None => exit = 2,
        }
    }
    Output {
        stdout: s,
        stderr: String::new(),
        exit,
    }
}

#[cfg(test)]
mod tests {
    use super::indent;

    fn question(name: &str) -> String {
        let mut line = format!(";{name}");
        let mut col = name.len();
        indent(&mut line, &mut col, 32);
        line
    }

    #[test]
    fn bind_columns() {
        assert_eq!(question("www."), ";www.\t\t\t\t");
        assert_eq!(question("abcdefghijklmnop."), ";abcdefghijklmnop.\t\t");
        assert_eq!(
            question("abcdefghijklmnopqrstuvwxyz0123."),
            ";abcdefghijklmnopqrstuvwxyz0123.\t"
        );
        let mut line = "abcdefghijklmnopqrstuvwxyz0123.".to_string();
        let mut col = line.len();
        indent(&mut line, &mut col, 24);
        line.push('0');
        col += 1;
        indent(&mut line, &mut col, 32);
        assert_eq!(line, "abcdefghijklmnopqrstuvwxyz0123.\t0 ");
    }
}
