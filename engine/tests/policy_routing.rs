//! Policy routing in the simulator: a mark set in mangle PREROUTING (or
//! OUTPUT) and `ip rule add fwmark` steer flows to a second uplink, where
//! per-interface MASQUERADE gives them that uplink's address.

mod labkit;

use labkit::{lab, sh};

fn two_isps() -> engine::sim::world::World {
    let path = format!(
        "{}/../static/labs/two-isps.json",
        env!("CARGO_MANIFEST_DIR")
    );
    lab(&std::fs::read_to_string(path).expect("lab file"))
}

fn ok(w: &mut engine::sim::world::World, host: &str, line: &str) -> String {
    let o = sh(w, host, line);
    assert_eq!(o.exit, 0, "{host}$ {line}: {}", o.stderr);
    o.stdout
}

/// The packet counts of the two MASQUERADE rules (wan-a, wan-b).
fn masq_counts(w: &mut engine::sim::world::World) -> (u64, u64) {
    let out = ok(w, "gw", "iptables -t nat -L POSTROUTING -v -n -x");
    let count = |dev: &str| {
        out.lines()
            .find(|l| l.contains("MASQUERADE") && l.contains(dev))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no MASQUERADE rule for {dev} in\n{out}"))
    };
    (count("wan-a"), count("wan-b"))
}

fn steer_port_80(w: &mut engine::sim::world::World) {
    for c in [
        "iptables -t nat -A POSTROUTING -o wan-a -j MASQUERADE",
        "iptables -t nat -A POSTROUTING -o wan-b -j MASQUERADE",
        "ip rule add fwmark 2 table 2",
        "ip route add default via 198.51.100.1 dev wan-b table 2",
    ] {
        ok(w, "gw", c);
    }
}

#[test]
fn a_prerouting_mark_sends_web_traffic_out_of_the_second_uplink() {
    let mut w = two_isps();
    steer_port_80(&mut w);
    // Without the mark everything takes the main table's default route.
    ok(&mut w, "laptop", "curl -s http://web/");
    assert_eq!(masq_counts(&mut w), (1, 0));
    ok(
        &mut w,
        "gw",
        "iptables -t mangle -A PREROUTING -i lan0 -p tcp --dport 80 -j MARK --set-mark 2",
    );
    ok(&mut w, "gw", "conntrack -F");
    let page = ok(&mut w, "laptop", "curl -s http://web/");
    assert_eq!(page, "<h1>example web site</h1>\n");
    assert_eq!(masq_counts(&mut w), (1, 1));
    let ct = ok(&mut w, "gw", "conntrack -L");
    assert!(
        ct.contains("src=100.64.0.80 dst=198.51.100.2 sport=80"),
        "the web connection is source-NATed to wan-b's address:\n{ct}"
    );
    // Another port still leaves by wan-a.
    sh(&mut w, "laptop", "nc -z -w 1 web 22");
    assert_eq!(masq_counts(&mut w), (2, 1));
    // ip route get agrees.
    assert_eq!(
        ok(&mut w, "gw", "ip route get 100.64.0.80 from 192.168.10.50 iif lan0 mark 2"),
        "100.64.0.80 from 192.168.10.50 via 198.51.100.1 dev wan-b table 2 mark 2 \n    cache iif lan0 \n"
    );
}

#[test]
fn an_output_mark_reroutes_the_hosts_own_packets() {
    let mut w = two_isps();
    steer_port_80(&mut w);
    ok(
        &mut w,
        "gw",
        "iptables -t mangle -A OUTPUT -p tcp --dport 80 -j MARK --set-mark 2",
    );
    // The hook's output device is fixed when OUTPUT starts: filter OUTPUT
    // still sees wan-a, POSTROUTING the new wan-b (as the kernel does).
    ok(&mut w, "gw", "iptables -A OUTPUT -o wan-a -p tcp --syn");
    // The source was chosen for wan-a; the re-route after mangle OUTPUT keeps it,
    // MASQUERADE on wan-b then gives the connection wan-b's address.
    assert_eq!(
        ok(&mut w, "gw", "curl -s http://web/"),
        "<h1>example web site</h1>\n"
    );
    assert_eq!(masq_counts(&mut w), (0, 1));
    let filter = ok(&mut w, "gw", "iptables -L OUTPUT -v -n -x");
    assert!(
        filter
            .lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("wan-a")),
        "{filter}"
    );
    let ct = ok(&mut w, "gw", "conntrack -L");
    assert!(
        ct.contains("src=203.0.113.2 dst=100.64.0.80 sport=")
            && ct.contains("src=100.64.0.80 dst=198.51.100.2 sport=80"),
        "{ct}"
    );
    // Without the rule the mark changes nothing.
    ok(&mut w, "gw", "ip rule del fwmark 2");
    ok(&mut w, "gw", "conntrack -F");
    ok(&mut w, "gw", "curl -s http://web/");
    assert_eq!(masq_counts(&mut w), (1, 1));
}

#[test]
fn a_dnat_in_nat_output_to_no_route_fails_sendto_before_filter_output() {
    // Without its default route the router has no way to the web server:
    // a packet for the LAN DNATed there is re-routed right after nat
    // OUTPUT and dropped, `sendto` fails with ENETUNREACH (as hping3 shows
    // in the kernel) and filter OUTPUT never counts it.
    let mut w = two_isps();
    ok(&mut w, "gw", "ip route del default");
    ok(
        &mut w,
        "gw",
        "iptables -t nat -A OUTPUT -d 192.168.10.77 -j DNAT --to-destination 100.64.0.80",
    );
    ok(&mut w, "gw", "iptables -A OUTPUT -p tcp --syn");
    let o = sh(&mut w, "gw", "hping3 -c 1 -S -p 80 192.168.10.77");
    assert_eq!(o.exit, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("[send_ip] sendto: Network is unreachable\n"),
        "{}",
        o.stderr
    );
    let nat = ok(&mut w, "gw", "iptables-save -c -t nat");
    assert!(
        nat.contains("[1:40] -A OUTPUT -d 192.168.10.77/32 -j DNAT"),
        "{nat}"
    );
    let filter = ok(&mut w, "gw", "iptables-save -c -t filter");
    assert!(filter.contains("[0:0] -A OUTPUT -p tcp"), "{filter}");
    assert!(filter.contains(":OUTPUT ACCEPT [0:0]"), "{filter}");
}

#[test]
fn a_source_rule_picks_the_table_for_the_hosts_own_address() {
    let mut w = two_isps();
    ok(&mut w, "gw", "ip rule add from 198.51.100.2 table 7");
    ok(
        &mut w,
        "gw",
        "ip route add default via 198.51.100.1 table 7",
    );
    assert_eq!(
        ok(&mut w, "gw", "ip route get 100.64.0.80 from 198.51.100.2"),
        "100.64.0.80 from 198.51.100.2 via 198.51.100.1 dev wan-b table 7 uid 0 \n    cache \n"
    );
    assert_eq!(
        ok(&mut w, "gw", "ip route get 100.64.0.80"),
        "100.64.0.80 via 203.0.113.1 dev wan-a src 203.0.113.2 uid 0 \n    cache \n"
    );
    // An unmatched flow falls through the rules to main; none at all: unreachable.
    ok(&mut w, "gw", "ip rule del pref 32766");
    let o = sh(&mut w, "gw", "ip route get 100.64.0.80");
    assert_eq!(
        (o.exit, o.stderr.as_str()),
        (2, "RTNETLINK answers: Network is unreachable\n")
    );
}

/// The two-ISP lab with gw's policy routing in the lab file itself.
fn two_isps_json_with(routes_and_rules: &str) -> String {
    let path = format!(
        "{}/../static/labs/two-isps.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("lab file");
    let gw_routes = r#""routes": [ { "to": "default", "via": "203.0.113.1" } ],
      "sysctl""#;
    assert!(text.contains(gw_routes));
    text.replacen(
        gw_routes,
        &format!("{routes_and_rules},\n      \"sysctl\""),
        1,
    )
}

#[test]
fn lab_files_carry_tables_and_rules() {
    let json = two_isps_json_with(
        r#""routes": [ { "to": "default", "via": "203.0.113.1" },
                   { "to": "default", "via": "198.51.100.1", "table": 2 } ],
      "rules": [ "fwmark 2 lookup 2", "from 198.51.100.2 table 2 pref 100" ]"#,
    );
    let mut w = lab(&json);
    assert_eq!(
        ok(&mut w, "gw", "ip rule"),
        "0:\tfrom all lookup local\n\
         100:\tfrom 198.51.100.2 lookup 2\n\
         32765:\tfrom all fwmark 0x2 lookup 2\n\
         32766:\tfrom all lookup main\n\
         32767:\tfrom all lookup default\n"
    );
    assert_eq!(
        ok(&mut w, "gw", "ip route show table 2"),
        "default via 198.51.100.1 dev wan-b \n"
    );
    // The lab file round-trips with the new fields.
    let lab_file = engine::lab::parse(&json).expect("parses");
    let again = serde_json::to_string(&lab_file).expect("serializes");
    assert!(
        again.contains(r#""rules":["fwmark 2 lookup 2","#),
        "{again}"
    );
    assert!(again.contains(r#""table":2"#), "{again}");
    assert!(!again.contains(r#""table":null"#), "{again}");

    let bad = two_isps_json_with(r#""rules": [ "fwmark two lookup 2" ]"#);
    let Err(e) = engine::lab::load(&bad) else {
        panic!("a bad rule is refused");
    };
    let e = e.to_string();
    assert!(
        e.contains(r#"host gw rule "fwmark two lookup 2": Error: argument "two" is wrong: fwmark value is invalid"#),
        "{e}"
    );
}

#[test]
fn rpfilter_looks_the_way_back_up_through_the_rules() {
    let mut w = two_isps();
    for c in [
        "ip route add default via 198.51.100.1 dev wan-b table 2",
        "ip rule add fwmark 2 table 2",
        "iptables -t mangle -A PREROUTING -i wan-b -p tcp --dport 22 -j MARK --set-mark 2",
        "iptables -t mangle -A PREROUTING -i wan-b -p tcp --syn -m rpfilter",
        "iptables -t mangle -A PREROUTING -i wan-b -p tcp --syn -m rpfilter --validmark",
    ] {
        ok(&mut w, "gw", c);
    }
    let counts = |w: &mut engine::sim::world::World| -> Vec<String> {
        ok(w, "gw", "iptables -t mangle -L PREROUTING -v -n -x")
            .lines()
            .filter(|l| l.contains("rpfilter"))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    };
    // web reaches gw's wan-b address through isp-b: the main table's way
    // back leaves by wan-a, table 2's (with the mark) by wan-b.
    sh(&mut w, "web", "nc -z -w 1 198.51.100.2 22");
    assert_eq!(counts(&mut w), ["0", "1"]);
    // The source rule of a two-ISP setup sends the way back by wan-b too.
    ok(&mut w, "gw", "ip rule add from 198.51.100.2 table 2");
    sh(&mut w, "web", "nc -z -w 1 198.51.100.2 22");
    assert_eq!(counts(&mut w), ["1", "2"]);
}

#[test]
fn the_trace_names_the_table_a_rule_chose() {
    let lab = format!(
        "{}/../static/labs/two-isps.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let script = std::env::temp_dir().join(format!("policy-trace-{}.txt", std::process::id()));
    std::fs::write(
        &script,
        "gw$ ip rule add fwmark 2 table 2\n\
         gw$ ip route add default via 198.51.100.1 dev wan-b table 2\n\
         gw$ iptables -t mangle -A PREROUTING -i lan0 -p tcp --dport 80 -j MARK --set-mark 2\n\
         laptop$ nc -z -w 1 web 80\n",
    )
    .expect("script written");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iptplay"))
        .args(["lab", &lab, &script.to_string_lossy(), "--trace"])
        .output()
        .expect("iptplay runs");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("routing: forward via 198.51.100.1 dev wan-b (table 2)"),
        "{text}"
    );
}

#[test]
fn table_names_come_from_the_hosts_rt_tables() {
    let mut w = two_isps();
    ok(&mut w, "gw", "echo '2 isp-b' > /etc/iproute2/rt_tables");
    ok(&mut w, "gw", "ip rule add fwmark 2 table isp-b");
    ok(
        &mut w,
        "gw",
        "ip route add default via 198.51.100.1 table isp-b",
    );
    assert!(ok(&mut w, "gw", "ip rule").contains("32765:\tfrom all fwmark 0x2 lookup isp-b\n"));
    assert!(ok(&mut w, "gw", "ip route show table all")
        .starts_with("default via 198.51.100.1 dev wan-b table isp-b \n"));
    assert_eq!(
        ok(&mut w, "gw", "ip route show table isp-b"),
        "default via 198.51.100.1 dev wan-b \n"
    );
}

#[test]
fn the_local_table_lists_what_the_kernel_adds_for_addresses() {
    // Compared with Linux 6.x: a secondary address takes its primary as
    // source and adds no broadcast; a down interface's address is local
    // with no broadcast; /31 and /32 have none; a /32 has no prefix route.
    let mut w = lab(
        r#"{"version":1,"links":[{"name":"l"},{"name":"m"}],"hosts":[{"name":"a",
      "interfaces":[
        {"name":"eth0","address":"10.0.0.2/24","addresses":["10.0.0.3/24","10.5.0.1/16","10.9.9.9/32","10.8.0.1/31"],"link":"l"},
        {"name":"eth1","address":"10.6.0.1/24","link":"m","down":true}]}]}"#,
    );
    assert_eq!(
        ok(&mut w, "a", "ip route show table local"),
        "local 10.0.0.2 dev eth0 proto kernel scope host src 10.0.0.2 \n\
         local 10.0.0.3 dev eth0 proto kernel scope host src 10.0.0.2 \n\
         broadcast 10.0.0.255 dev eth0 proto kernel scope link src 10.0.0.2 \n\
         local 10.5.0.1 dev eth0 proto kernel scope host src 10.5.0.1 \n\
         broadcast 10.5.255.255 dev eth0 proto kernel scope link src 10.5.0.1 \n\
         local 10.6.0.1 dev eth1 proto kernel scope host src 10.6.0.1 \n\
         local 10.8.0.1 dev eth0 proto kernel scope host src 10.8.0.1 \n\
         local 10.9.9.9 dev eth0 proto kernel scope host src 10.9.9.9 \n\
         local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 \n\
         local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \n\
         broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 \n"
    );
    assert_eq!(
        ok(&mut w, "a", "ip route show"),
        "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2 \n\
         10.5.0.0/16 dev eth0 proto kernel scope link src 10.5.0.1 \n\
         10.8.0.0/31 dev eth0 proto kernel scope link src 10.8.0.1 \n"
    );
}

/// The field guide's two-ISP script (per-port MASQUERADE on eth1, the rest
/// on eth2) works once policy routing sends the other ports to ISP 2: a
/// PREROUTING mark, `ip rule add fwmark 2 table 2` and a default route in
/// table 2. Without it (seed_scenarios) port 5000 and ping go out eth1
/// unmasqueraded and die.
#[test]
fn the_field_guides_two_isp_script_works_with_policy_routing() {
    let path = format!(
        "{}/tests/labs/seed-two-isps.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut w = lab(&std::fs::read_to_string(path).expect("lab file"));
    ok(&mut w, "gw", "iptables -t nat -F POSTROUTING");
    ok(&mut w, "gw", "sysctl -w net.ipv4.ip_forward=1");
    let isp1 = "22,25,80,110,143,443,465,993,995";
    for port in isp1.split(',') {
        ok(
            &mut w,
            "gw",
            &format!("iptables -t nat -A POSTROUTING -p tcp --dport {port} -o eth1 -j MASQUERADE"),
        );
    }
    ok(
        &mut w,
        "gw",
        "iptables -t nat -A POSTROUTING -o eth2 -j MASQUERADE",
    );
    for c in [
        "iptables -t mangle -A PREROUTING -i eth0 -j MARK --set-mark 2".to_string(),
        format!(
            "iptables -t mangle -A PREROUTING -i eth0 -p tcp -m multiport --dports {isp1} -j MARK --set-mark 0"
        ),
        "ip rule add fwmark 2 table 2".to_string(),
        "ip route add default via 198.51.100.1 dev eth2 table 2".to_string(),
    ] {
        ok(&mut w, "gw", &c);
    }
    assert_eq!(
        ok(&mut w, "laptop", "curl -s http://www.example.net/"),
        "<h1>somewhere on the internet</h1>\n"
    );
    let nc = sh(&mut w, "laptop", "nc -zv -w 2 www.example.net 5000");
    assert!(nc.stderr.contains(" 5000 port [tcp/"), "{}", nc.stderr);
    assert!(nc.stderr.ends_with("succeeded!\n"), "{}", nc.stderr);
    assert!(ok(&mut w, "laptop", "ping -c 1 -W 1 www.example.net").contains(" 1 received"));
    let eth2 = ok(&mut w, "gw", "tcpdump -n -i eth2");
    assert!(eth2.contains("IP 198.51.100.2."), "{eth2}");
    assert!(!eth2.contains("192.168.0.50"), "{eth2}");
    let eth1 = ok(&mut w, "gw", "tcpdump -n -i eth1");
    assert!(eth1.contains("IP 203.0.113.2."), "{eth1}");
    assert!(!eth1.contains(".5000:") && !eth1.contains("ICMP"), "{eth1}");
}
