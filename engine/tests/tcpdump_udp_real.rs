//! The UDP port printers of the lab's tcpdump against the real tcpdump:
//! datagrams sent between two network namespaces and captured with
//! `tcpdump -n -t`, each line's text after `PORT: ` compared with what the
//! lab prints for the same ports and payload. An empty datagram goes to
//! every port (so no printer is missing from the lab's table); the ports
//! with a printer also get `X` padding of every length up to 64 (hping3's
//! `-d`), plain text lines, crafted headers, and the reversed direction.
//! Skips when not root or without tcpdump and python3.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod kernel_common;

#[cfg(target_os = "linux")]
mod cases {
    use super::kernel_common::{have, skip, veth, Ns};
    use engine::sim::tools::udp_print::app_text;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    const CLIENT: &str = "10.9.0.1";
    const SERVER: &str = "10.9.0.2";
    const EPHEMERAL: u16 = 40000;

    /// The ports tcpdump 4.99 has a printer for (measured: an empty
    /// datagram to each of the 65,535 ports).
    const PRINTER_PORTS: &[u16] = &[
        53, 67, 68, 69, 88, 123, 161, 162, 319, 320, 496, 500, 514, 520, 521, 525, 546, 547, 646,
        654, 698, 701, 750, 921, 1589, 1645, 1646, 1700, 1701, 1812, 1813, 1985, 2103, 2104, 3456,
        3503, 3784, 3785, 3799, 4342, 4500, 4567, 4784, 4789, 4790, 5060, 5353, 5359, 6081, 6343,
        6635, 6696, 6697, 6784, 7000, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009, 7500,
        8231, 8472, 8500, 12222, 12223, 17754, 30490,
    ];

    /// Of those, the ports whose printer looks at the destination only.
    const DESTINATION_ONLY: &[u16] = &[1985, 3456, 3784, 3785, 4567, 4784, 6784];

    /// One datagram: source port, destination port, payload.
    type Datagram = (u16, u16, Vec<u8>);

    fn texts() -> Vec<Vec<u8>> {
        [
            &b"hello\n"[..],
            b"test\n",
            b"a\n",
            b"hi",
            b"ping\n",
            b"GET / HTTP/1.0\r\n\r\n",
            b"<13>hello syslog\n",
            b"<0>x",
            b"<191>local7 debug",
            b"<1",
            b"<1234>",
            b"<>",
            b"The quick brown fox jumps over the lazy dog\n",
        ]
        .iter()
        .map(|t| t.to_vec())
        .collect()
    }

    /// Headers of the real protocols (which need the full decoders, so the
    /// lab must decline them rather than print something else).
    fn crafted() -> Vec<Vec<u8>> {
        let mut bootp_request = vec![1, 1, 6, 0];
        bootp_request.resize(28, 0);
        bootp_request.extend_from_slice(&[0x02, 0x00, 0x00, 0x0a, 0x0b, 0x0c]);
        bootp_request.resize(300, 0);
        let mut bootp_short = vec![1, 1, 6, 0];
        bootp_short.resize(20, 0);
        vec![
            bootp_request,
            bootp_short,
            vec![2, 1, 6],
            b"\x00\x01file\x00octet\x00".to_vec(),
            vec![0x23; 48],
            vec![0x30, 0x03, 0x02, 0x01, 0x00],
            vec![0xff],
            vec![0, 0, 0, 0, 1, 2, 3],
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            vec![4, 1, 0, 0],
            vec![106, 0, 0],
            vec![2],
        ]
    }

    fn datagrams() -> Vec<Datagram> {
        let mut all: Vec<Datagram> = (1..=u16::MAX).map(|p| (EPHEMERAL, p, Vec::new())).collect();
        for &port in PRINTER_PORTS {
            for n in 1..=64 {
                all.push((EPHEMERAL, port, vec![b'X'; n]));
            }
            for t in texts().into_iter().chain(crafted()) {
                all.push((EPHEMERAL, port, t));
            }
            all.push((port, EPHEMERAL, Vec::new()));
            all.push((port, EPHEMERAL, b"X".to_vec()));
        }
        all
    }

    /// What the lab prints after `SRC.PORT > DST.PORT: `.
    fn lab_text(d: &Datagram) -> Option<String> {
        app_text(d.0, d.1, &d.2, false)
    }

    fn sender_script(list: &[Datagram]) -> String {
        let mut s =
            String::from("import socket, time\nsocks = {}\nfor k, (sp, dp, data) in enumerate([\n");
        for (sp, dp, data) in list {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            s.push_str(&format!("({sp},{dp},'{hex}'),\n"));
        }
        s.push_str(&format!(
            "]):\n    if sp not in socks:\n        o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n        o.bind(('{CLIENT}', sp))\n        socks[sp] = o\n    socks[sp].sendto(bytes.fromhex(data), ('{SERVER}', dp))\n    if k % 500 == 499:\n        time.sleep(0.02)\n"
        ));
        s
    }

    /// The records tcpdump printed, one per datagram (continuation lines
    /// joined with `\n`), without the `IP SRC.PORT > DST.PORT: ` head.
    fn records(out: &str) -> Vec<(u16, u16, String)> {
        let mut recs: Vec<String> = Vec::new();
        for line in out.lines() {
            if line.starts_with("IP ") {
                recs.push(line.to_string());
            } else if let Some(last) = recs.last_mut() {
                last.push('\n');
                last.push_str(line);
            }
        }
        recs.into_iter()
            .map(|r| {
                let (head, body) = r.split_once(": ").unwrap_or((r.as_str(), ""));
                let mut ports = head
                    .split(' ')
                    .filter_map(|w| w.rsplit_once('.').and_then(|(_, p)| p.parse().ok()));
                let sport = ports.next().unwrap_or(0);
                let dport = ports.next().unwrap_or(0);
                // tcpdump ends a record with the hex dump's newline.
                (sport, dport, body.trim_end_matches('\n').to_string())
            })
            .collect()
    }

    #[test]
    fn udp_printers_match_the_real_tcpdump() {
        if skip(&["tcpdump", "python3"]) || !have("ip") {
            return;
        }
        let a = Ns::new("udpa");
        let b = Ns::new("udpb");
        veth(&a, "va", &b, "vb");
        a.ok(&format!(
            "ip addr add {CLIENT}/24 dev va && ip link set va up"
        ));
        b.ok(&format!(
            "ip addr add {SERVER}/24 dev vb && ip link set vb up"
        ));

        let dir = std::env::temp_dir().join(format!("iptplay-udp-print-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let capture = dir.join("capture.txt");
        let script = dir.join("send.py");
        let list = datagrams();
        std::fs::write(&script, sender_script(&list)).expect("write script");

        let mut dump = Command::new("ip")
            .args(["netns", "exec", &b.0, "tcpdump", "-n", "-t", "-l"])
            .args(["-B", "65536", "-i", "vb", "udp"])
            .stdout(std::fs::File::create(&capture).expect("capture file"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump");
        // tcpdump says "listening on" once its filter is in place.
        let mut stderr = dump.stderr.take().expect("stderr");
        let ready = std::thread::spawn(move || {
            use std::io::Read;
            let mut seen = Vec::new();
            let mut buf = [0u8; 256];
            while let Ok(k) = stderr.read(&mut buf) {
                if k == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..k]);
                if String::from_utf8_lossy(&seen).contains("listening on") {
                    break;
                }
            }
        });
        let start = Instant::now();
        while !ready.is_finished() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        a.ok(&format!("python3 {}", script.display()));
        // Wait for the last datagram to be printed, then stop tcpdump.
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&capture).unwrap_or_default();
            if records(&text).len() >= list.len() || start.elapsed() > Duration::from_secs(30) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").arg(dump.id().to_string()).status();
        let _ = dump.wait();
        let text = std::fs::read_to_string(&capture).expect("capture");
        let _ = std::fs::remove_dir_all(&dir);

        let got = records(&text);
        assert_eq!(
            got.len(),
            list.len(),
            "tcpdump printed {} records for {} datagrams",
            got.len(),
            list.len()
        );
        let mut wrong = Vec::new();
        let mut declined = 0;
        for (d, (sport, dport, real)) in list.iter().zip(&got) {
            assert_eq!((d.0, d.1), (*sport, *dport), "records out of order");
            let lab = match lab_text(d) {
                Some(t) => t,
                None if PRINTER_PORTS.contains(&d.1)
                    || (PRINTER_PORTS.contains(&d.0) && !DESTINATION_ONLY.contains(&d.0)) =>
                {
                    // Declined: a full decode the lab does not have. The
                    // probes of nmap, hping3 and `nc -zu` must never be.
                    if d.2.is_empty() || d.2 == b"X" {
                        wrong.push(format!("{d:?} declined; real: {real:?}"));
                    }
                    declined += 1;
                    continue;
                }
                None => format!("UDP, length {}", d.2.len()),
            };
            if &lab != real {
                wrong.push(format!(
                    "{}>{} {:?}\n  lab:  {lab:?}\n  real: {real:?}",
                    d.0,
                    d.1,
                    String::from_utf8_lossy(&d.2)
                ));
            }
        }
        eprintln!(
            "{} datagrams compared, {declined} declined (full decodes)",
            list.len()
        );
        assert!(
            wrong.is_empty(),
            "{} differ:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}
