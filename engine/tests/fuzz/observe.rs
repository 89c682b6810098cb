//! Observations in words, with what is legitimately random left out: IP
//! IDs (a stack picks them), the initial sequence number of a SYN-ACK,
//! checksums (only whether they are right), conntrack timeouts, ipset
//! timeouts left and hash order.

use engine::packet::{parse, Headers, L4};

/// Where a frame was seen: the router sent it out of r0 or r1, or the
/// server sent it.
pub fn place(seen: crate::oracle::Seen) -> &'static str {
    match seen {
        crate::oracle::Seen::RouterToClient => "r0>",
        crate::oracle::Seen::RouterToServer => "r1>",
        crate::oracle::Seen::ServerToRouter => "s0>",
    }
}

fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut it = data.chunks_exact(2);
    for c in &mut it {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = it.remainder() {
        acc += (*b as u32) << 8;
    }
    acc
}

fn folds_to_ok(mut acc: u32) -> bool {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc == 0xffff
}

/// Whether the IP header and transport checksums are right.
fn checksums(b: &[u8], h: &Headers) -> &'static str {
    let ihl = usize::from(h.header_len);
    if b.len() < ihl || !folds_to_ok(sum16(&b[..ihl], 0)) {
        return " BADIPSUM";
    }
    if h.frag_offset != 0 || h.mf {
        return "";
    }
    let end = (h.total_len as usize).min(b.len());
    let l4 = &b[ihl.min(end)..end];
    let pseudo = |acc: u32| {
        let mut a = sum16(&b[12..20], acc);
        a += h.proto as u32 + l4.len() as u32;
        a
    };
    let ok = match h.proto {
        6 => folds_to_ok(sum16(l4, pseudo(0))),
        17 => l4.len() >= 8 && (l4[6..8] == [0, 0] || folds_to_ok(sum16(l4, pseudo(0)))),
        1 => folds_to_ok(sum16(l4, 0)),
        _ => true,
    };
    if ok {
        ""
    } else {
        " BADSUM"
    }
}

fn tcp_flags(f: u8) -> String {
    let names = [
        (0x02, 'S'),
        (0x10, 'A'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'C'),
    ];
    let s: String = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, c)| *c)
        .collect();
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

fn l4_words(h: &Headers, inner: bool) -> String {
    match &h.l4 {
        L4::Tcp(t) => {
            let synack = t.flags & 0x12 == 0x12;
            let seq = if synack {
                "*".to_string()
            } else {
                t.seq.to_string()
            };
            if inner {
                format!(
                    "tcp {}>{} {} seq={seq}",
                    t.sport,
                    t.dport,
                    tcp_flags(t.flags)
                )
            } else {
                format!(
                    "tcp {}>{} {} seq={seq} ack={} win={} opts={} data={}",
                    t.sport,
                    t.dport,
                    tcp_flags(t.flags),
                    t.ack,
                    t.window,
                    hex(&t.options),
                    t.payload_len
                )
            }
        }
        L4::Udp(u) => format!("udp {}>{} len={}", u.sport, u.dport, u.len),
        L4::Icmp(i) => {
            let mut s = format!("icmp {}/{} rest={}", i.icmp_type, i.code, hex(&i.rest));
            if let Some(q) = &i.inner {
                s.push_str(&format!(" [{}]", ip_words(q, None, true)));
            }
            s
        }
        L4::Other => format!("proto {}", h.proto),
        L4::Fragment => format!("fragment proto {}", h.proto),
    }
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ip_words(h: &Headers, bytes: Option<&[u8]>, inner: bool) -> String {
    let mut s = format!(
        "{}>{} ttl={} tos={:#04x} len={}",
        h.src, h.dst, h.ttl, h.tos, h.total_len
    );
    if h.df {
        s.push_str(" DF");
    }
    if h.mf || h.frag_offset != 0 {
        s.push_str(&format!(
            " frag={}{}",
            h.frag_offset,
            if h.mf { "+" } else { "" }
        ));
    }
    if !h.ip_options.is_empty() {
        s.push_str(&format!(" ipopts={}", hex(&h.ip_options)));
    }
    s.push(' ');
    s.push_str(&l4_words(h, inner));
    if let Some(b) = bytes {
        s.push_str(checksums(b, h));
    }
    s
}

/// A frame in words.
pub fn frame(place: &str, bytes: &[u8]) -> String {
    match parse(bytes, true) {
        Ok(h) => format!("{place} {}", ip_words(&h, Some(bytes), false)),
        Err(_) => format!("{place} unparsable {}", hex(bytes)),
    }
}

/// A packet we send, in words (IP ID included: it is ours).
pub fn packet(bytes: &[u8]) -> String {
    match parse(bytes, true) {
        Ok(h) => format!("id={} {}", h.id, ip_words(&h, None, false)),
        Err(_) => format!("unparsable {}", hex(bytes)),
    }
}

/// A LOG line without the IP IDs (the word after `TTL=`, in the packet
/// and in a quoted one), the sequence number of a SYN-ACK and a TEE copy's
/// stale MAC bytes.
pub fn mask_log(level: u8, line: &str) -> String {
    let mut words: Vec<String> = line.split(' ').map(String::from).collect();
    crate::common::mask_tee_copy_mac(&mut words);
    let syn_ack = words.iter().any(|w| w == "SYN") && words.iter().any(|w| w == "ACK");
    for i in 0..words.len() {
        let after_ttl = i > 0 && words[i - 1].starts_with("TTL=");
        if words[i].starts_with("ID=") && after_ttl {
            words[i] = "ID=*".into();
        }
        if syn_ack && words[i].starts_with("SEQ=") {
            words[i] = "SEQ=*".into();
        }
    }
    format!("<{level}>{}", words.join(" "))
}

/// Lines of `iptables-save -c` without the comments (dates, versions).
pub fn save(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Connections in words, from `/proc/net/nf_conntrack` or `conntrack -L`
/// lines: protocol, TCP state, both tuples, flags, mark and zone (no timeout).
pub fn conntrack(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in text.lines() {
        let mut w: Vec<&str> = l.split_whitespace().collect();
        if w.first() == Some(&"ipv4") {
            w.drain(..2);
        }
        if w.len() < 4 {
            continue;
        }
        let proto = w[0];
        let mut s = proto.to_string();
        let mut rest = &w[3..];
        if proto == "tcp" {
            s.push(' ');
            s.push_str(w[3]);
            rest = &w[4..];
        }
        let mut tuple = 0;
        let mut mark = "0".to_string();
        let mut zone = "0".to_string();
        let mut flags = Vec::new();
        for x in rest {
            if x.starts_with("src=") {
                tuple += 1;
                s.push_str(if tuple == 1 { " orig " } else { " reply " });
            }
            if let Some(v) = x.strip_prefix("mark=") {
                mark = v.to_string();
            } else if let Some(v) = x.strip_prefix("zone=") {
                zone = v.to_string();
            } else if x.starts_with('[') {
                flags.push(x.trim_matches(|c| c == '[' || c == ']').to_string());
            } else if ["src=", "dst=", "sport=", "dport=", "type=", "code=", "id="]
                .iter()
                .any(|k| x.starts_with(k))
            {
                s.push_str(x);
                s.push(' ');
            }
        }
        flags.sort();
        out.push(format!(
            "{}{} mark={mark} zone={zone}",
            s.trim_end(),
            flags.iter().map(|f| format!(" {f}")).collect::<String>()
        ));
    }
    out.sort();
    out
}

/// Each connection (as [`conntrack`] words it) with its seconds to live.
pub fn conntrack_timeouts(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let skip = if words.first() == Some(&"ipv4") { 2 } else { 0 };
            let secs = words.get(skip + 2)?.parse().ok()?;
            Some((conntrack(l).pop()?, secs))
        })
        .collect()
}

/// Members of every set (`ipset save`), sorted, timeouts left masked.
pub fn ipset(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("add "))
        .map(|l| {
            let mut w: Vec<String> = l.split(' ').map(String::from).collect();
            for i in 1..w.len() {
                if w[i - 1] == "timeout" {
                    w[i] = "*".into();
                }
            }
            w.join(" ")
        })
        .collect();
    out.sort();
    out
}
