//! Policy routing, simulator against the real kernel: the two-ISP lab with
//! a fwmark rule and a second table on its router, built by `lab up` as
//! namespaces and loaded in the simulator. `ip rule`, `ip route` (tables,
//! get, errors) print the same in both, and TCP SYNs leave by the same
//! uplink (a PREROUTING mark for forwarded flows, an OUTPUT mark or a nat
//! OUTPUT DNAT re-routing the router's own). Root only; skipped otherwise.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod kernel_common;
#[cfg(target_os = "linux")]
mod labkit;

#[cfg(target_os = "linux")]
mod cases {
    use super::kernel_common::skip;
    use super::labkit::sh;
    use engine::sim::world::World;
    use std::process::Command;

    const LAB: &str = "prt";

    fn lab_json() -> String {
        let path = format!(
            "{}/../static/labs/two-isps.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).expect("lab file");
        let gw = r#""routes": [ { "to": "default", "via": "203.0.113.1" } ],"#;
        let ours = r#""routes": [ { "to": "default", "via": "203.0.113.1" },
                 { "to": "default", "via": "198.51.100.1", "table": 2 } ],
      "rules": [ "fwmark 2 lookup 2", "from 198.51.100.2 lookup 2 pref 100" ],"#;
        assert!(text.contains(gw));
        let start = r#""iptables -A FORWARD -o lan0 -j ACCEPT""#;
        let more = r#""iptables -A FORWARD -o lan0 -j ACCEPT",
        "iptables -t mangle -A PREROUTING -i lan0 -p tcp --dport 80 -j MARK --set-mark 2",
        "iptables -t mangle -A OUTPUT -p tcp --dport 80 -j MARK --set-mark 2",
        "iptables -t mangle -A POSTROUTING -o wan-a -p tcp --syn",
        "iptables -t mangle -A POSTROUTING -o wan-b -p tcp --syn",
        "iptables -A OUTPUT -o wan-a -p tcp --syn",
        "iptables -A OUTPUT -o wan-b -p tcp --syn",
        "iptables -t nat -A OUTPUT -p tcp --dport 8080 -j DNAT --to-destination 198.51.100.1:80",
        "iptables -t nat -A POSTROUTING -o wan-a -j MASQUERADE",
        "iptables -t nat -A POSTROUTING -o wan-b -j MASQUERADE",
        "iptables -t mangle -A PREROUTING -i wan-b -p tcp --dport 22 -j MARK --set-mark 2",
        "iptables -t mangle -A PREROUTING -i wan-b -p tcp --dport 22 --syn -m rpfilter",
        "iptables -t mangle -A PREROUTING -i wan-b -p tcp --dport 22 --syn -m rpfilter --validmark""#;
        assert!(text.contains(start));
        text.replacen(gw, ours, 1).replacen(start, more, 1)
    }

    /// A command in the lab host's namespace: stdout + stderr and exit code.
    fn real(host: &str, cmd: &str) -> (String, i32) {
        let out = Command::new("ip")
            .args(["netns", "exec", &format!("{LAB}-{host}"), "sh", "-c", cmd])
            .output()
            .expect("ip netns exec runs");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (text, out.status.code().unwrap_or(-1))
    }

    fn sim(w: &mut World, host: &str, cmd: &str) -> (String, i32) {
        let o = sh(w, host, cmd);
        (format!("{}{}", o.stdout, o.stderr), o.exit)
    }

    /// IPv4 only: the simulator has no IPv6 routes.
    fn v4(text: &str) -> String {
        text.lines()
            .filter(|l| !l.contains("::") && !l.contains("fe80:") && !l.contains("ff00:"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// SYNs counted leaving by wan-a and wan-b.
    fn syns(listing: &str) -> (u64, u64) {
        let count = |dev: &str| {
            listing
                .lines()
                .find(|l| l.split_whitespace().any(|w| w == dev))
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
                .unwrap_or(u64::MAX)
        };
        (count("wan-a"), count("wan-b"))
    }

    const SHOW: &[&str] = &[
        "ip rule",
        "ip rule show table 2",
        "ip route show table all",
        "ip route show table 2",
        "ip route show table local",
        "ip route show table default",
        "ip route get 100.64.0.80",
        "ip route get 100.64.0.80 mark 2",
        "ip route get 100.64.0.80 mark 0x20",
        "ip route get 100.64.0.80 from 198.51.100.2",
        "ip route get 100.64.0.80 from 192.168.10.50 iif lan0 mark 0x2",
        "ip route get 100.64.0.80 from 192.168.10.50 iif lan0",
        "ip route get 203.0.113.1 from 203.0.113.77 iif wan-a",
        "ip route get 192.168.10.1",
        "ip route get 192.168.10.1 from 192.168.10.50 iif lan0",
        "ip route get 100.64.0.80 from 1.2.3.4",
        "ip route get 192.168.10.1 oif wan-a",
        "ip route get 100.64.0.80 oif wan-b",
        "ip route get 192.168.10.255",
        "ip route get 192.168.10.0",
        "ip route get 192.168.10.0 from 192.168.10.50 iif lan0",
        "ip route show table 255",
        "ip route show table 0x2",
    ];

    const CHANGES: &[&str] = &[
        "ip rule add fwmark 0x10/0xf0 table 3",
        "ip rule add not from 10.0.0.0/8 iif lan0 lookup main",
        "ip rule add tos 0x10 table 4 pref 50",
        "ip rule add to 10.1/16 oif wan-b table 4",
        "ip rule add iif nothere table 5",
        "ip rule add fwmark 2 table 2 pref 32765",
        "ip rule add fwmark bogus table 2",
        "ip rule add tos 0x20 table 3",
        "ip rule add tos 0x03 table 3",
        "ip rule add from 10.0.0.0/33 table 3",
        "ip rule add blah table 3",
        "ip rule add fwmark 0/0xff table 2 pref 13",
        "ip rule add iif lo oif wan-b table 2 pref 14",
        "ip rule add table 0",
        "ip route replace default via 198.51.100.1 table 2",
        "ip route change 10.1.0.0/16 via 198.51.100.1 table 2",
        "ip route add 10.7.0.0/16 via 10.0.0.1 table 9",
        "ip rule add",
        "ip rule",
        "ip rule del table 99",
        "ip rule del pref 50",
        "ip rule del fwmark 0x10/0xf0",
        "ip route add 10.9.0.0/16 dev wan-b table 300",
        "ip route add 10.9.0.0/16 dev wan-b table 300",
        "ip route add 10.8.0.0/16 via 203.0.113.1 table default",
        "ip route show table 300",
        "ip route show table all",
        "ip route show table 5",
        "ip route show table foo",
        "ip route get 10.8.0.1",
        "ip route get 10.9.0.1 mark 0x13",
        "ip route del 10.9.0.0/16 table 300",
        "ip route del 10.9.0.0/16 table 300",
        "ip route del 10.9.0.0/16 table 200",
        "ip route flush table 77",
        "ip route flush table 2",
        "ip route get 100.64.0.80 mark 2",
        "ip rule",
        "ip rule flush",
        "ip rule",
        "ip route get 100.64.0.80",
        "ip rule add from all lookup main",
        "ip rule add from all lookup main pref 32766",
        "ip rule",
        "ip route get 100.64.0.80",
    ];

    #[test]
    fn rules_tables_and_steered_flows_match_the_kernel() {
        if skip(&["ip", "nc", "iptables", "hping3"]) {
            return;
        }
        let json = lab_json();
        let (mut w, _, runs) = engine::lab::load(&json).expect("lab loads");
        for r in runs {
            assert_eq!(r.output.exit, 0, "{}: {}", r.command, r.output.stderr);
        }
        let _ = engine::kernel::lab::down(LAB);
        let spec = engine::kernel::lab::from_world(LAB, &w);
        engine::kernel::lab::up(&spec).expect("lab up");
        // The router reads back with its rules and its table 2 route.
        let gw = spec.hosts.iter().find(|h| h.name == "gw").expect("gw");
        let (back, notes) =
            engine::kernel::lab::import_host("gw", Some(&format!("{LAB}-gw"))).expect("import");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back.ip_rules, gw.ip_rules);
        assert!(gw.ip_rules.as_ref().is_some_and(|r| r.len() == 5));
        let mut routes = back.routes.clone();
        let mut want = gw.routes.clone();
        routes.sort_by(|a, b| (a.table, &a.to).cmp(&(b.table, &b.to)));
        want.sort_by(|a, b| (a.table, &a.to).cmp(&(b.table, &b.to)));
        assert_eq!(routes, want);
        let mut diffs = Vec::new();
        let mut compare = |w: &mut World, host: &str, cmd: &str| {
            let (k, kc) = real(host, cmd);
            let (s, sc) = sim(w, host, cmd);
            let (k, s) = if cmd.starts_with("ip route show") {
                (v4(&k), v4(&s))
            } else {
                (k, s)
            };
            if (k.as_str(), kc) != (s.as_str(), sc) {
                diffs.push(format!(
                    "{host}$ {cmd}\n--- kernel (exit {kc}):\n{k}--- simulator (exit {sc}):\n{s}"
                ));
            }
        };
        for cmd in SHOW {
            compare(&mut w, "gw", cmd);
        }
        // Traffic: forwarded from the laptop and the router's own, to a
        // port that is marked (80) and one that is not (22).
        // The router's own to 8080 is DNATed in nat OUTPUT to ISP B's
        // router, on wan-b's link: re-routed there too.
        let flows = [
            ("laptop", 80),
            ("laptop", 22),
            ("gw", 80),
            ("gw", 22),
            ("gw", 8080),
        ];
        for (host, port) in flows {
            let cmd = format!("nc -z -w 2 100.64.0.80 {port}");
            real(host, &cmd);
            sim(&mut w, host, &cmd);
        }
        // In by wan-b: the way back (from 198.51.100.2) takes table 2 by the
        // source rule; without it, only with the mark (--validmark).
        let probe = "nc -z -w 2 198.51.100.2 22";
        real("web", probe);
        sim(&mut w, "web", probe);
        real("gw", "ip rule del pref 100");
        sim(&mut w, "gw", "ip rule del pref 100");
        real("web", probe);
        sim(&mut w, "web", probe);
        let listing = "iptables -t mangle -L POSTROUTING -v -n -x";
        let (k, _) = real("gw", listing);
        let (s, _) = sim(&mut w, "gw", listing);
        let counts = (syns(&k), syns(&s));
        let rpf = |listing: &str| -> Vec<String> {
            listing
                .lines()
                .filter(|l| l.contains("rpfilter"))
                .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
                .collect()
        };
        // filter OUTPUT still sees the interface OUTPUT began with (the
        // hook's device), though the mark and the DNAT re-routed the
        // packets to wan-b.
        let out = "iptables -L OUTPUT -v -n -x";
        let (ko, _) = real("gw", out);
        let (so, _) = sim(&mut w, "gw", out);
        let pre = "iptables -t mangle -L PREROUTING -v -n -x";
        let (kp, _) = real("gw", pre);
        let (sp, _) = sim(&mut w, "gw", pre);
        for cmd in CHANGES {
            compare(&mut w, "gw", cmd);
        }
        // With no default route, a DNAT in nat OUTPUT to the web server
        // leads nowhere: dropped right after nat OUTPUT, before filter
        // OUTPUT counts it, and `sendto` fails with ENETUNREACH.
        for cmd in [
            "ip route del default",
            "iptables -t nat -I OUTPUT -d 192.168.10.77 -j DNAT --to-destination 100.64.0.80",
            "iptables -I OUTPUT -d 100.64.0.80",
            "hping3 -c 1 -S -p 80 192.168.10.77",
            "iptables -t nat -L OUTPUT -v -n -x",
            "iptables -L OUTPUT -v -n -x",
        ] {
            compare(&mut w, "gw", cmd);
        }
        let _ = engine::kernel::lab::down(LAB);
        assert_eq!(counts.0, (2, 3), "kernel SYNs by wan-a, wan-b:\n{k}");
        assert_eq!(counts.1, counts.0, "simulator:\n{s}");
        assert_eq!(syns(&ko), (3, 0), "kernel:\n{ko}");
        assert_eq!(syns(&so), syns(&ko), "simulator:\n{so}");
        assert_eq!(rpf(&kp), ["1", "2"], "kernel:\n{kp}");
        assert_eq!(rpf(&sp), rpf(&kp), "simulator:\n{sp}");
        assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    }
}
