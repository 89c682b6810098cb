//! The application printers tcpdump 4.99 picks by UDP port (DNS, BOOTP,
//! TFTP, NTP, SNMP, syslog, RIP, RADIUS, IKE, VXLAN and the rest), as far as
//! their output is set by the first bytes: short and empty datagrams (nmap
//! and hping3 probes, `nc -zu`) and payloads that are not the protocol
//! (plain text, hping3's `X` padding) print exactly as tcpdump prints them.
//! A payload that would take a full protocol decode gives `None`, and the
//! caller falls back to `UDP, length N`.

/// The printers, each named after the module tcpdump gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Printer {
    Domain,
    Bootp,
    Tftp,
    Krb,
    Ntp,
    Snmp,
    Ptp,
    CiscoAutorp,
    Isakmp,
    IsakmpNatT,
    Syslog,
    Rip,
    Ripng,
    Timed,
    Dhcp6,
    Ldp,
    Aodv,
    Olsr,
    Lmp,
    Lwres,
    Vqp,
    Radius,
    L2tp,
    Hsrp,
    Zephyr,
    Vat,
    LspPing,
    BfdControl,
    BfdEcho,
    Lisp,
    Wb,
    Vxlan,
    VxlanGpe,
    Sip,
    Ahcp,
    Geneve,
    Sflow,
    MplsUdp,
    Babel,
    Rx,
    Hncp,
    Otv,
    LwappData,
    LwappControl,
    Zep,
    SomeIp,
}

/// Ports that pick a printer whichever side they are on.
const EITHER_SIDE: &[(u16, Printer)] = &[
    (53, Printer::Domain),
    (5353, Printer::Domain),
    (69, Printer::Tftp),
    (67, Printer::Bootp),
    (68, Printer::Bootp),
    (88, Printer::Krb),
    (750, Printer::Krb),
    (123, Printer::Ntp),
    (161, Printer::Snmp),
    (162, Printer::Snmp),
    (319, Printer::Ptp),
    (320, Printer::Ptp),
    (496, Printer::CiscoAutorp),
    (500, Printer::Isakmp),
    (7500, Printer::Isakmp),
    (8500, Printer::Isakmp),
    (4500, Printer::IsakmpNatT),
    (514, Printer::Syslog),
    (520, Printer::Rip),
    (521, Printer::Ripng),
    (525, Printer::Timed),
    (546, Printer::Dhcp6),
    (547, Printer::Dhcp6),
    (646, Printer::Ldp),
    (654, Printer::Aodv),
    (698, Printer::Olsr),
    (701, Printer::Lmp),
    (921, Printer::Lwres),
    (1589, Printer::Vqp),
    (1645, Printer::Radius),
    (1646, Printer::Radius),
    (1700, Printer::Radius),
    (1812, Printer::Radius),
    (1813, Printer::Radius),
    (3799, Printer::Radius),
    (1701, Printer::L2tp),
    (2103, Printer::Zephyr),
    (2104, Printer::Zephyr),
    (3503, Printer::LspPing),
    (4342, Printer::Lisp),
    (4789, Printer::Vxlan),
    (4790, Printer::VxlanGpe),
    (5060, Printer::Sip),
    (5359, Printer::Ahcp),
    (6081, Printer::Geneve),
    (6343, Printer::Sflow),
    (6635, Printer::MplsUdp),
    (6696, Printer::Babel),
    (6697, Printer::Babel),
    (8231, Printer::Hncp),
    (8472, Printer::Otv),
    (12222, Printer::LwappData),
    (12223, Printer::LwappControl),
    (17754, Printer::Zep),
    (30490, Printer::SomeIp),
];

/// Ports that pick a printer only as the destination.
const DESTINATION_ONLY: &[(u16, Printer)] = &[
    (1985, Printer::Hsrp),
    (3456, Printer::Vat),
    (3784, Printer::BfdControl),
    (4784, Printer::BfdControl),
    (6784, Printer::BfdControl),
    (3785, Printer::BfdEcho),
    (4567, Printer::Wb),
];

fn printer_for(sport: u16, dport: u16) -> Option<Printer> {
    let find = |table: &[(u16, Printer)], port: u16| {
        table.iter().find(|(p, _)| *p == port).map(|(_, pr)| *pr)
    };
    if (7000..=7009).contains(&sport) || (7000..=7009).contains(&dport) {
        return Some(Printer::Rx);
    }
    find(EITHER_SIDE, dport)
        .or_else(|| find(EITHER_SIDE, sport))
        .or_else(|| find(DESTINATION_ONLY, dport))
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

fn be32(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

/// What tcpdump prints after `SRC.PORT > DST.PORT: ` for a UDP payload,
/// when a port printer takes it and its output is known here; `None`
/// when no printer takes it or the payload needs a full decode.
pub fn app_text(sport: u16, dport: u16, p: &[u8], verbose: bool) -> Option<String> {
    let printer = printer_for(sport, dport)?;
    // With -v most printers print fields not modelled here.
    if verbose && printer != Printer::Domain {
        return None;
    }
    let n = p.len();
    let first = p.first().copied();
    let text = match printer {
        Printer::Domain if n < 12 => format!("domain [length {n} < 12] (invalid)"),
        Printer::Domain => return None,
        Printer::Bootp => return bootp(p),
        Printer::Tftp => match be16(p, 0) {
            None => format!("TFTP, length {n} [|tftp]"),
            Some(1..=6) => return None,
            Some(op) => format!("TFTP, length {n}, tftp-#{op}"),
        },
        Printer::Krb => match first {
            None => " [|krb]".into(),
            Some(v @ 1..=3) => format!(" v{v}"),
            Some(4) => return None,
            Some(106 | 107) => " v5".into(),
            Some(_) => String::new(),
        },
        Printer::Ntp => {
            let Some(b) = first else {
                return Some(" [|ntp]".into());
            };
            const MODES: [&str; 8] = [
                "unspecified",
                "symmetric active",
                "symmetric passive",
                "Client",
                "Server",
                "Broadcast",
                "Control Message",
                "Reserved",
            ];
            format!(
                "NTPv{}, {}, length {n}",
                (b >> 3) & 7,
                MODES[usize::from(b & 7)]
            )
        }
        Printer::Snmp => return snmp(p),
        // Low version numbers go to their decoders before the length check.
        Printer::Ptp if n >= 2 && p[1] & 0x0f <= 3 => return None,
        Printer::Ptp if n < 34 => format!(" [length {n} < 34] (invalid)"),
        Printer::Ptp => return None,
        Printer::CiscoAutorp if n < 8 => " [|cisco_autorp]".into(),
        Printer::Isakmp if n < 28 => " [|isakmp]".into(),
        Printer::IsakmpNatT => return nat_t(p),
        Printer::Syslog => return syslog(p),
        Printer::Rip if n < 4 => " [|rip]".into(),
        Printer::Rip => match (p[0], p[1]) {
            (1..=6, _) | (_, 0) => return None,
            (cmd, vers) => format!("RIPv{vers}, unknown command ({cmd}), length: {n}"),
        },
        Printer::Ripng if n < 2 => " [|ripng]".into(),
        Printer::Ripng if p[1] == 1 => return None,
        Printer::Ripng => format!(" [vers {}] (invalid)", p[1]),
        Printer::Timed => match p {
            [] => " [|timed]".into(),
            [t, ..] if *t <= 25 => return None,
            [t] => format!("(tsp_type 0x{t:02x}) [|timed]"),
            [t, v] | [t, v, _] => format!("(tsp_type 0x{t:02x}) vers {v} [|timed]"),
            _ => return None,
        },
        Printer::Dhcp6 if n < 4 => "dhcp6 [|dhcp6]".into(),
        Printer::Dhcp6 if p[0] < 40 => return None,
        Printer::Dhcp6 => format!("dhcp6 msgtype-{}", p[0]),
        Printer::Ldp if n < 19 => String::new(),
        Printer::Ldp => match be16(p, 0)? {
            1 => return None,
            v => format!("LDP version {v} packet not supported"),
        },
        Printer::Aodv => match first {
            None => " [|aodv]".into(),
            Some(1..=4 | 16..=18) => return None,
            Some(t) => format!(" aodv type {t} {n}"),
        },
        Printer::Olsr if n < 4 => "OLSRv4 [|olsr]".into(),
        Printer::Olsr if usize::from(be16(p, 0)?) <= n => return None,
        Printer::Olsr => format!("OLSRv4, seq 0x{:04x}, length {n}", be16(p, 2)?),
        Printer::Lmp if n < 8 => " [|lmp]".into(),
        Printer::Lmp if p[0] >> 4 == 1 => return None,
        Printer::Lmp => format!("LMP version {} packet not supported", p[0] >> 4),
        Printer::Lwres if n < 28 => " [|lwres]".into(),
        Printer::Vqp if n < 8 => " [|vqp]".into(),
        Printer::Vqp if p[0] == 1 => return None,
        Printer::Vqp => format!("VQP version {} packet not supported", p[0]),
        Printer::Radius if n < 20 => " [|radius]".into(),
        Printer::Radius if p[0] < 60 || p[0] >= 250 => return None,
        Printer::Radius => format!(
            "RADIUS, Unknown Command ({}), id: 0x{:02x} length: {n}",
            p[0], p[1]
        ),
        Printer::L2tp => match be16(p, 0) {
            None => " [|l2tp]".into(),
            Some(v) if matches!(v & 0xf, 1 | 2) => return None,
            Some(_) => " Unknown Version, neither L2F(1) nor L2TP(2)".into(),
        },
        Printer::Hsrp => match first {
            None => " [|hsrp]".into(),
            Some(0) => return None,
            Some(v) => format!("HSRPv{v}"),
        },
        // Zephyr notices are NUL-separated fields: without one the first
        // field never ends; a first field other than the version ends it.
        Printer::Zephyr if !p.contains(&0) => " (invalid)".into(),
        Printer::Zephyr if p.starts_with(b"ZEPH") => return None,
        Printer::Zephyr => String::new(),
        Printer::Vat => match be16(p, 0) {
            None => format!("udp/va/vat, length {n} < 2"),
            Some(ts) if ts & 0xf060 == 0 => return None,
            Some(ts) => format!("udp/vt {n} {} / {}", ts & 0x3ff, ts >> 10),
        },
        Printer::LspPing if n < 32 => "\n\t\t packet is too short".into(),
        Printer::LspPing => match be16(p, 0)? {
            1 => return None,
            v => format!("LSP-PING version {v} packet not supported"),
        },
        Printer::BfdControl if n < 24 => " [|bfd]".into(),
        Printer::BfdControl if p[0] >> 5 <= 1 => return None,
        Printer::BfdControl => format!("BFDv{}, Control, length: {n}", p[0] >> 5),
        Printer::BfdEcho => format!("BFD, Echo, length: {n}"),
        Printer::Lisp if n < 16 => " [|lisp]".into(),
        Printer::Wb if n < 12 => " (invalid)".into(),
        Printer::Vxlan if n < 8 => "VXLAN (invalid)".into(),
        Printer::VxlanGpe if n < 8 => format!("VXLAN-GPE,  (len {n} < 8) (invalid)"),
        Printer::Sip => "SIP".into(),
        Printer::Ahcp if first != Some(43) => "AHCP (invalid)".into(),
        Printer::Geneve if n < 8 => format!("Geneve [length {n} < 8] (invalid)"),
        Printer::Geneve if p[0] >> 6 == 0 => return None,
        Printer::Geneve => format!("Geneve ERROR: unknown-version {}", p[0] >> 6),
        Printer::Sflow if n < 28 => " [|sflow]".into(),
        Printer::Sflow => match be32(p, 0)? {
            2 | 4 | 5 => return None,
            v => format!("sFlow version {v} packet not supported"),
        },
        Printer::MplsUdp => return mpls(p),
        Printer::Babel if n < 4 => "babel [|babel]".into(),
        Printer::Babel if p[0] == 42 => return None,
        Printer::Babel => "babel invalid header".into(),
        Printer::Rx if n < 28 => format!(" [|rx] ({n})"),
        Printer::Rx if p[20] <= 13 => return None,
        Printer::Rx => format!(" rx type {} ({n})", p[20]),
        Printer::Hncp if n == 0 => "hncp (0)".into(),
        Printer::Hncp => match be16(p, 2) {
            Some(len) if usize::from(len) + 4 <= n => return None,
            _ => format!("hncp ({n}) [|hncp]"),
        },
        Printer::Otv if n < 8 => format!("OTV, [length {n} < 8] (invalid)"),
        Printer::LwappData if n < 6 => " [|lwapp_data]".into(),
        Printer::LwappControl if n < 12 => " [|lwapp_control]".into(),
        Printer::LwappData | Printer::LwappControl => match p[0] >> 6 {
            0 => return None,
            v => format!("LWAPP version {v} packet not supported"),
        },
        Printer::Zep => return zep(p),
        Printer::SomeIp if n < 16 => "SOMEIP (invalid)".into(),
        Printer::CiscoAutorp
        | Printer::Isakmp
        | Printer::Lwres
        | Printer::Lisp
        | Printer::Wb
        | Printer::Vxlan
        | Printer::VxlanGpe
        | Printer::Ahcp
        | Printer::Otv
        | Printer::SomeIp => return None,
    };
    Some(text)
}

fn bootp(p: &[u8]) -> Option<String> {
    let Some(&op) = p.first() else {
        return Some(" [|bootp]".into());
    };
    let mut s = String::from("BOOTP/DHCP, ");
    match op {
        1 => s.push_str("Request"),
        2 => s.push_str("Reply"),
        _ => s.push_str(&format!("unknown (0x{op:02x})")),
    }
    if p.len() < 3 {
        s.push_str(" [|bootp]");
        return Some(s);
    }
    if op == 1 && p[1] == 1 && p[2] == 6 {
        let Some(mac) = p.get(28..34) else {
            s.push_str(" [|bootp]");
            return Some(s);
        };
        let mac: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        s.push_str(&format!(" from {}", mac.join(":")));
    }
    s.push_str(&format!(", length {}", p.len()));
    Some(s)
}

/// SNMP starts with a BER header: a refusal is printed when the first
/// element's length runs past the datagram.
fn snmp(p: &[u8]) -> Option<String> {
    match p {
        [] => Some(" [nothing to parse]".into()),
        // A high tag number continues into the next byte.
        [tag] if tag & 0x1f == 0x1f => Some("  [|snmp]".into()),
        [_] => Some(" [no asnlen]".into()),
        [tag, len, rest @ ..] => {
            if tag & 0x1f == 0x1f || len & 0x80 != 0 || usize::from(*len) <= rest.len() {
                return None;
            }
            Some(format!(" [len{}<asnlen{len}]", rest.len()))
        }
    }
}

/// UDP port 4500: IKE behind NAT, or ESP in UDP (RFC 3948).
fn nat_t(p: &[u8]) -> Option<String> {
    if p == [0xff] {
        return None;
    }
    let Some(marker) = be32(p, 0) else {
        return Some(" [|isakmp_rfc3948]".into());
    };
    if marker == 0 {
        return None;
    }
    if p.len() < 9 {
        return Some("UDP-encap:  [|esp]".into());
    }
    Some(format!(
        "UDP-encap: ESP(spi=0x{marker:08x},seq=0x{:x}), length {}",
        be32(p, 4)?,
        p.len()
    ))
}

fn syslog(p: &[u8]) -> Option<String> {
    const FACILITIES: [&str; 24] = [
        "kernel", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "ntp", "security", "console", "cron", "local0", "local1", "local2",
        "local3", "local4", "local5", "local6", "local7",
    ];
    const SEVERITIES: [&str; 8] = [
        "emergency",
        "alert",
        "critical",
        "error",
        "warning",
        "notice",
        "info",
        "debug",
    ];
    let truncated = || Some(" [|syslog]".to_string());
    let Some(&b) = p.first() else {
        return truncated();
    };
    if b != b'<' {
        return Some(" (invalid)".into());
    }
    let mut at = 1;
    let mut pri = 0usize;
    while at <= 3 {
        match p.get(at) {
            None => return truncated(),
            Some(d) if d.is_ascii_digit() => pri = pri * 10 + usize::from(d - b'0'),
            Some(_) => break,
        }
        at += 1;
    }
    match p.get(at) {
        None => truncated(),
        Some(b'>') => {
            let facility = FACILITIES.get(pri >> 3)?;
            Some(format!(
                "SYSLOG {facility}.{}, length: {}",
                SEVERITIES[pri & 7],
                p.len()
            ))
        }
        Some(_) => Some(" (invalid)".into()),
    }
}

/// MPLS in UDP: label stack entries until one ends the stack.
fn mpls(p: &[u8]) -> Option<String> {
    let mut s = String::from("MPLS");
    for entry in p.chunks_exact(4) {
        let e = u32::from_be_bytes(entry.try_into().ok()?);
        let label = e >> 12;
        if label < 16 || e & 0x100 != 0 {
            return None;
        }
        s.push_str(&format!(
            " (label {label}, tc {}, ttl {})",
            (e >> 9) & 7,
            e & 0xff
        ));
    }
    s.push_str(" (invalid)");
    Some(s)
}

fn zep(p: &[u8]) -> Option<String> {
    let shown = |b: &u8| (b.is_ascii_graphic() || *b == b' ').then(|| char::from(*b));
    match p {
        [] => Some("ZEP [|zep]".into()),
        [a] => Some(format!("ZEP [Preamble Code: {} [|zep]", shown(a)?)),
        [b'E', b'X', ..] => None,
        [a, b, ..] => Some(format!(
            "ZEP [Preamble Code: {}{}] (invalid)",
            shown(a)?,
            shown(b)?
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printers_by_port_and_side() {
        assert_eq!(printer_for(40000, 123), Some(Printer::Ntp));
        assert_eq!(printer_for(123, 40000), Some(Printer::Ntp));
        assert_eq!(printer_for(40000, 1985), Some(Printer::Hsrp));
        assert_eq!(printer_for(1985, 40000), None);
        assert_eq!(printer_for(7005, 40000), Some(Printer::Rx));
        assert_eq!(printer_for(40000, 5000), None);
    }

    #[test]
    fn short_and_foreign_payloads() {
        let t = |port: u16, p: &[u8]| app_text(40000, port, p, false);
        assert_eq!(t(123, b"").as_deref(), Some(" [|ntp]"));
        assert_eq!(
            t(123, b"X").as_deref(),
            Some("NTPv3, unspecified, length 1")
        );
        assert_eq!(t(161, b"hello\n").as_deref(), Some(" [len4<asnlen101]"));
        assert_eq!(
            t(514, b"<13>hello syslog\n").as_deref(),
            Some("SYSLOG user.notice, length: 17")
        );
        assert_eq!(t(514, b"hello").as_deref(), Some(" (invalid)"));
        assert_eq!(t(1812, &[b'X'; 19]).as_deref(), Some(" [|radius]"));
        assert_eq!(
            t(1812, &[b'X'; 20]).as_deref(),
            Some("RADIUS, Unknown Command (88), id: 0x58 length: 20")
        );
        assert_eq!(
            t(6635, &[b'X'; 9]).as_deref(),
            Some("MPLS (label 361861, tc 4, ttl 88) (label 361861, tc 4, ttl 88) (invalid)")
        );
        // A real protocol message needs the full decoder.
        assert_eq!(t(69, b"\x00\x01file\x00octet\x00"), None);
        assert_eq!(t(53, &[0; 12]), None);
        assert_eq!(t(5000, b"hello"), None);
    }
}
