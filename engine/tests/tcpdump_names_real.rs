//! Ethernet addresses in tcpdump's link headers without `-n`, against the
//! real tcpdump: ARP requests from a client whose address is set to each
//! OUI tcpdump names (and to unnamed ones), captured with `tcpdump -e -t`;
//! every address the real tool prints, `Broadcast` included, must be what
//! the lab prints for it. Skips when not root or without tcpdump.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod kernel_common;

#[cfg(target_os = "linux")]
mod cases {
    use super::kernel_common::{skip, veth, Ns};
    use engine::sim::tools::ether_names::ether_text;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    const OUIS: &[[u8; 3]] = &[
        [0x00, 0x00, 0x00],
        [0x00, 0x00, 0x0c],
        [0x00, 0x00, 0x5e],
        [0x00, 0x00, 0x81],
        [0x00, 0x00, 0xf8],
        [0x00, 0x80, 0xc2],
        [0x00, 0xa0, 0x3e],
        [0x00, 0xe0, 0x2f],
        [0x08, 0x00, 0x07],
        [0x00, 0x90, 0x69],
        [0x08, 0x00, 0x09],
        [0x00, 0x12, 0x0f],
        [0x00, 0x12, 0xbb],
        [0x00, 0x1b, 0x21],
        [0x00, 0x23, 0x20],
        [0x5c, 0x16, 0xc7],
        [0xb0, 0xd2, 0xf5],
        [0x00, 0x24, 0x81],
        [0x00, 0x04, 0xea],
        [0x74, 0x87, 0x71],
        [0xa4, 0x23, 0x05],
        [0x00, 0x04, 0x9f],
        [0x00, 0x15, 0xad],
        [0x00, 0x10, 0x18],
        [0x00, 0xe0, 0x04],
        [0xd0, 0xf0, 0xdb],
        // Not named: the lab's own, QEMU's, Docker's, a VMware one.
        [0x02, 0x00, 0x00],
        [0x52, 0x54, 0x00],
        [0x02, 0x42, 0xac],
        [0x00, 0x50, 0x56],
    ];

    fn mac_of(text: &str) -> Option<[u8; 6]> {
        let mut m = [0u8; 6];
        let mut parts = text.split(':');
        for b in m.iter_mut() {
            *b = u8::from_str_radix(parts.next()?, 16).ok()?;
        }
        parts.next().is_none().then_some(m)
    }

    #[test]
    fn link_addresses_are_named_as_the_real_tcpdump_names_them() {
        if skip(&["tcpdump", "ping"]) {
            return;
        }
        let a = Ns::new("etha");
        let b = Ns::new("ethb");
        veth(&a, "va", &b, "vb");
        a.ok("ip addr add 10.9.0.1/24 dev va && ip link set va up");
        b.ok("ip link set vb address 02:00:00:00:00:02 && ip addr add 10.9.0.2/24 dev vb && ip link set vb up");
        let capture = std::env::temp_dir().join(format!("{}-ether.txt", b.0));
        let mut dump = Command::new("ip")
            .args([
                "netns", "exec", &b.0, "tcpdump", "-e", "-t", "-l", "-i", "vb", "arp",
            ])
            .stdout(std::fs::File::create(&capture).expect("capture file"))
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump");
        std::thread::sleep(Duration::from_millis(1000));
        for (k, oui) in OUIS.iter().enumerate() {
            let mac = format!(
                "{:02x}:{:02x}:{:02x}:00:00:{:02x}",
                oui[0],
                oui[1],
                oui[2],
                k + 1
            );
            a.ok(&format!(
                "ip link set va down && ip link set va address {mac} && ip link set va up && ip neigh flush dev va"
            ));
            b.ok("ip neigh flush dev vb");
            a.sh("ping -c 1 -W 1 10.9.0.2");
        }
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill").arg(dump.id().to_string()).status();
        let _ = dump.wait();
        let text = std::fs::read_to_string(&capture).expect("capture");
        let _ = std::fs::remove_file(&capture);

        let mut seen = 0;
        let mut broadcast = 0;
        let mut wrong = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (link, _) = line.split_once(", ethertype").unwrap_or((line, ""));
            for side in link.split(" > ") {
                if side == "Broadcast" {
                    broadcast += 1;
                    continue;
                }
                let Some(mac) = side.split(' ').next().and_then(mac_of) else {
                    wrong.push(format!("unparsed: {line}"));
                    continue;
                };
                seen += 1;
                let lab = ether_text(&mac, false);
                if lab != side {
                    wrong.push(format!("lab: {lab:?}\nreal: {side:?}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}\n{text}", wrong.join("\n"));
        // Each OUI's request (to Broadcast) and the reply to it.
        assert!(broadcast >= OUIS.len(), "{text}");
        assert!(seen >= 2 * OUIS.len(), "{text}");
        assert_eq!(ether_text(&[0xff; 6], false), "Broadcast");
    }
}
