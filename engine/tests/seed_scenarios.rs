//! The field guide `seed-iptables-notes.txt` (a student's iptables notes,
//! kept in `../shared`) played as labs: every example of the guide that
//! moves traffic runs here on simulated hosts, with the guide's own
//! commands (its mistakes included, with the error the real iptables 1.8.9
//! prints), real traffic from the lab tools, and the outcome read the way
//! a user reads it on Linux: nmap reports, ping statistics, `dmesg` lines,
//! `iptables -L -v -n -x` counters, `conntrack -L`, `tcpdump` lines and
//! packet traces. The labs are JSON files in `tests/labs/`
//! (`iptplay lab tests/labs/seed-lan.json SCRIPT` replays any of them).
//!
//! The 7 packet vectors of kube-proxy's TestTracePacket (the header of
//! `corpus/kube-proxy-02-tracepacket-full.rules`) run at the end on a node
//! with the test's local addresses.

use engine::command::shell::world::run_on_host;
use engine::command::shell::{Mode, Script};
use engine::command::Output;
use engine::lab::trace_text;
use engine::sim::tools;
use engine::sim::world::World;

/// A loaded lab and the host that the next command without `HOST$` runs on.
struct Lab {
    w: World,
    cur: usize,
    packets: usize,
}

/// What one command printed, and the traces of the packets it sent.
struct Ran {
    stdout: String,
    stderr: String,
    exit: i32,
    trace: String,
}

fn lab_text(file: &str) -> String {
    let path = format!("{}/tests/labs/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl Lab {
    fn new(file: &str) -> Lab {
        Lab::from_json(&lab_text(file))
    }

    fn from_json(json: &str) -> Lab {
        let (mut w, _, runs) = engine::lab::load(json).expect("lab loads");
        for r in runs {
            assert_eq!(r.output.exit, 0, "{}: {}", r.command, r.output.stderr);
        }
        w.tracing = true;
        tools::take_journal(&mut w);
        Lab {
            w,
            cur: 0,
            packets: 0,
        }
    }

    /// Runs `[HOST$ ]COMMAND` like `iptplay lab` does.
    fn run(&mut self, line: &str) -> Ran {
        let mut cmd = line.trim();
        if let Some((h, rest)) = cmd.split_once("$ ") {
            if !h.contains(' ') {
                self.cur = self
                    .w
                    .host_index(h)
                    .unwrap_or_else(|| panic!("no host {h}"));
                cmd = rest;
            }
        }
        let script = Script::parse(cmd).unwrap_or_else(|e| panic!("{cmd}: {}", e.msg));
        let mut out = Output::default();
        let mut trace = String::new();
        for item in &script.items {
            let r = run_on_host(&mut self.w, self.cur, item, None, Mode::Script);
            let o = r.output();
            out.stdout.push_str(&o.stdout);
            out.stderr.push_str(&o.stderr);
            out.exit = o.exit;
            let (reports, _) = tools::take_journal(&mut self.w);
            for r in &reports {
                self.packets += 1;
                trace.push_str(&trace_text::render(r, self.packets));
            }
            if r.stop {
                break;
            }
        }
        Ran {
            stdout: out.stdout,
            stderr: out.stderr,
            exit: out.exit,
            trace,
        }
    }

    /// Runs several lines; each must exit 0.
    fn ok(&mut self, lines: &str) {
        for l in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let r = self.run(l);
            assert_eq!(r.exit, 0, "`{l}` failed: {}{}", r.stdout, r.stderr);
        }
    }

    fn out(&mut self, line: &str) -> String {
        self.run(line).stdout
    }
}

/// An nmap report without its first line (which carries the lab clock).
fn nmap_report(out: &str) -> &str {
    out.split_once('\n').map(|x| x.1).unwrap_or("")
}

/// The part of `ping` output after `--- HOST ping statistics ---`.
fn ping_stats(out: &str) -> &str {
    out.split_once("ping statistics ---\n")
        .map(|x| x.1)
        .unwrap_or("")
}

/// `hay` contains `needle`; the message shows both.
#[track_caller]
fn has(hay: &str, needle: &str) {
    assert!(hay.contains(needle), "missing {needle:?} in:\n{hay}");
}

/// The first packet of a trace whose header line contains every word of
/// `header` (blocks start with `packet N on HOST: ...`).
#[track_caller]
fn packet<'a>(trace: &'a str, header: &[&str]) -> &'a str {
    let mut starts: Vec<usize> = trace.match_indices("packet ").map(|(i, _)| i).collect();
    starts.retain(|&i| i == 0 || trace.as_bytes()[i - 1] == b'\n');
    starts.push(trace.len());
    for w in starts.windows(2) {
        let block = &trace[w[0]..w[1]];
        let head = block.lines().next().unwrap_or("");
        if header.iter().all(|h| head.contains(h)) {
            return block;
        }
    }
    panic!("no packet {header:?} in:\n{trace}");
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

const TRY: &str = "Try `iptables -h' or 'iptables --help' for more information.\n";

// ---------------------------------------------------------------------
// REJECT vs DROP, LOG, terminating and non-terminating targets
// (seed-lan.json: server 192.168.0.10, scanner 192.168.0.20)
// ---------------------------------------------------------------------

/// "REJECT is a terminating target ... sends back a reply packet":
/// `iptables -I INPUT -p tcp --dport 22 -s 192.168.0.20 -j REJECT`, seen
/// from 192.168.0.20 with `nmap -p 22 192.168.0.10` and on the server with
/// `tcpdump host 192.168.0.20`. The default reply is ICMP port
/// unreachable, which nmap (like the real one, see seed_kernel.rs) reports
/// as `filtered` at once; DROP is `filtered` after a retransmission and a
/// timeout; only `--reject-with tcp-reset` makes the port look `closed`.
#[test]
fn reject_vs_drop_with_nmap_and_tcpdump() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok("server$ iptables -I INPUT -p tcp --dport 22 -s 192.168.0.20 -j REJECT");
    let reject = lab.out("scanner$ nmap -p 22 192.168.0.10");
    assert_eq!(
        nmap_report(&reject),
        "Nmap scan report for server (192.168.0.10)
Host is up (0.000040s latency).

PORT   STATE    SERVICE
22/tcp filtered ssh
MAC Address: 02:00:00:01:00:01 (Unknown)

Nmap done: 1 IP address (1 host up) scanned in 0.03 seconds
"
    );
    let dump = lab.out("server$ tcpdump -n host 192.168.0.20");
    let dump: Vec<&str> = dump.lines().map(|l| &l[16..]).collect();
    assert_eq!(dump.len(), 2, "{dump:?}");
    assert!(dump[0].starts_with("IP 192.168.0.20."));
    assert!(dump[0].contains(" > 192.168.0.10.22: Flags [S], seq "));
    assert_eq!(
        dump[1],
        "IP 192.168.0.10 > 192.168.0.20: ICMP 192.168.0.10 tcp port 22 unreachable, length 52"
    );
    // The reply comes from the REJECT rule: its counter and the trace say so.
    let r = lab.run("scanner$ nc -zv 192.168.0.10 22");
    assert_eq!(r.exit, 1);
    assert_eq!(
        r.stderr,
        "nc: connect to 192.168.0.10 port 22 (tcp) failed: Connection refused\n"
    );
    has(
        &r.trace,
        "    INPUT filter INPUT #1: match -> REJECT, DROP\n",
    );
    has(&r.trace, "  => dropped on server in INPUT\n");
    has(
        &r.trace,
        " on server: ICMP 192.168.0.10 > 192.168.0.20 destination unreachable code 3 about TCP 192.168.0.20:",
    );

    // DROP: no answer at all; nmap retransmits once and waits.
    lab.ok("server$ iptables -R INPUT 1 -p tcp --dport 22 -s 192.168.0.20 -j DROP");
    let drop = lab.out("scanner$ nmap -p 22 192.168.0.10");
    assert!(nmap_report(&drop).contains("\n22/tcp filtered ssh\n"));
    assert!(nmap_report(&drop).ends_with("scanned in 1.23 seconds\n"));
    let dump = lab.out("server$ tcpdump -n host 192.168.0.20");
    let new: Vec<&str> = dump.lines().skip(4).collect();
    assert_eq!(new.len(), 2, "{dump}");
    assert!(new
        .iter()
        .all(|l| l.contains(" > 192.168.0.10.22: Flags [S]")));

    // REJECT --reject-with tcp-reset: a RST, as if nothing listened.
    lab.ok("server$ iptables -R INPUT 1 -p tcp --dport 22 -s 192.168.0.20 -j REJECT --reject-with tcp-reset");
    let rst = lab.out("scanner$ nmap -p 22 192.168.0.10");
    assert!(nmap_report(&rst).contains("\n22/tcp closed ssh\n"));
    // Other sources still reach ssh.
    let other = lab.out("admin$ nmap -p 22 192.168.0.10");
    assert!(nmap_report(&other).contains("\n22/tcp open  ssh\n"));
    // (iptables-nft counts a policy only when it drops: ACCEPT stays 0.)
    let l = lab.out("server$ iptables -L INPUT -v -n -x");
    assert_eq!(
        l,
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       1       44 REJECT     6    --  *      *       192.168.0.20         0.0.0.0/0            tcp dpt:22 reject-with tcp-reset
"
    );
}

/// "Terminating TARGETS": ACCEPT on port 22 ends the walk; every other TCP
/// packet meets the DROP. "Non Terminating": LOG writes a kernel line and
/// the packet goes on to the DROP — read with `dmesg`.
#[test]
fn terminating_and_non_terminating_targets() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok("server$ iptables -F
        iptables -A INPUT -p tcp --dport 22 -j ACCEPT
        iptables -A INPUT -p tcp -j DROP");
    let r = lab.run("scanner$ nc -zv -w 2 192.168.0.10 22");
    assert_eq!(
        r.stderr,
        "Connection to 192.168.0.10 22 port [tcp/ssh] succeeded!\n"
    );
    // The SYN stopped at rule 1: rule 2 never saw it.
    let syn = packet(&r.trace, &["on server:", "[S]"]);
    has(syn, "    INPUT filter INPUT #1: match -> ACCEPT\n");
    assert!(!syn.contains("#2"), "{syn}");
    has(syn, "  => delivered to server (tcp port 22 (listening))");
    let r = lab.run("scanner$ nc -zv -w 2 192.168.0.10 80");
    assert_eq!(
        r.stderr,
        "nc: connect to 192.168.0.10 port 80 (tcp) timed out: Operation now in progress\n"
    );
    has(&r.trace, "    INPUT filter INPUT #1: no match, `--dport 22` did not match: destination port is 80\n    INPUT filter INPUT #2: match -> DROP\n");
    // SYN, ACK, FIN, ACK accepted (60+52+52+52 bytes); two SYNs to port 80 dropped.
    assert_eq!(
        lab.out("server$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       4      216 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22
       2      120 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0           
"
    );

    lab.ok("server$ iptables -F
        iptables -A INPUT -p tcp --dport 22 -j LOG
        iptables -A INPUT -p tcp -j DROP");
    let r = lab.run("scanner$ nc -zv -w 2 192.168.0.10 22");
    assert_eq!(
        r.stderr,
        "nc: connect to 192.168.0.10 port 22 (tcp) timed out: Operation now in progress\n"
    );
    has(&r.trace, "    INPUT filter INPUT #1: match -> LOG, continue\n    INPUT filter INPUT #2: match -> DROP\n");
    let dmesg = lab.out("server$ dmesg");
    let lines: Vec<&str> = dmesg.lines().collect();
    assert_eq!(lines.len(), 2, "{dmesg}");
    // One line per SYN (the first and its retransmission a second later;
    // the lab booted an hour before 09:00, the port 80 test took 2 s).
    assert!(lines[0].starts_with("[ 3602.000"), "{dmesg}");
    assert!(lines[1].starts_with("[ 3603.000"), "{dmesg}");
    for l in &lines {
        let text = l.split_once("] ").unwrap().1;
        assert!(text.starts_with(
            "IN=eth0 OUT= MAC=02:00:00:01:00:01:02:00:00:02:00:01:08:00 SRC=192.168.0.20 DST=192.168.0.10 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID="
        ), "{l}");
        assert!(text.contains(" DF PROTO=TCP SPT="), "{l}");
        assert!(
            text.ends_with(" DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 "),
            "{l}"
        );
    }
    assert_eq!(
        lab.out("server$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       2      120 LOG        6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 LOG flags 0 level 4
       2      120 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0           
"
    );
}

/// `iptables -A INPUT -p tcp --dport 22 --syn -j LOG --log-prefix="incoming
/// ssh:" --log-level info` and `dmesg | grep "incoming ssh"`;
/// `dmesg -l info` picks the level.
#[test]
fn log_prefix_and_level_read_with_dmesg() {
    let mut lab = Lab::new("seed-lan.json");
    // A default-level LOG first, to tell the levels apart.
    lab.ok("server$ iptables -A INPUT -p tcp --dport 80 -j LOG");
    lab.ok("iptables -A INPUT -p tcp --dport 22 --syn -j LOG --log-prefix=\"incoming ssh:\" --log-level info");
    assert_eq!(
        lab.out("iptables -S INPUT"),
        "-P INPUT ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j LOG
-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -j LOG --log-prefix \"incoming ssh:\" --log-level 6
"
    );
    lab.ok("scanner$ nc -z 192.168.0.10 22");
    lab.ok("scanner$ curl -s -o /dev/null http://192.168.0.10/");
    let all = lab.out("server$ dmesg");
    // --syn: only the connection's first packet is logged; port 80 logs
    // every packet of its connection (SYN, ACK, request, ACK, FIN, ACK).
    assert_eq!(lines_with(&all, "incoming ssh:").len(), 1, "{all}");
    assert_eq!(lines_with(&all, "DPT=80 ").len(), 6, "{all}");
    let ssh = lines_with(&all, "incoming ssh:")[0];
    assert!(ssh.starts_with("[ 3600.000"), "{ssh}");
    assert!(ssh.contains("] incoming ssh:IN=eth0 OUT= MAC=02:00:00:01:00:01:02:00:00:02:00:01:08:00 SRC=192.168.0.20 DST=192.168.0.10 LEN=60 "), "{ssh}");
    assert!(
        ssh.ends_with(" DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 "),
        "{ssh}"
    );
    assert_eq!(
        lab.out("server$ dmesg | grep \"incoming ssh\""),
        format!("{ssh}\n")
    );
    // The level filter of dmesg: info is the prefixed line only.
    let info = lab.out("dmesg -l info");
    assert_eq!(info, format!("{ssh}\n"));
    assert_eq!(lab.out("dmesg --level=warn").lines().count(), 6);
    let r = lab.run("dmesg -l loud");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (1, "dmesg: unknown level 'loud'\n")
    );
}

// ---------------------------------------------------------------------
// Conntrack and the stateful firewall
// ---------------------------------------------------------------------

/// "Conntrack module and Stateful Firewall": the four state rules, then
/// policies DROP. The server's own connections and their answers pass;
/// nothing new comes in; a packet conntrack calls INVALID (SYN+FIN) meets
/// the INVALID rule; an ACK out of nowhere is NEW (conntrack picks up
/// connections in the middle) and falls to the policy.
#[test]
fn stateful_firewall() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok(
        "server$ iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
        iptables -A OUTPUT -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT
        iptables -A INPUT -m state --state INVALID -j DROP
        iptables -A OUTPUT -m state --state INVALID -j DROP
        iptables -P INPUT DROP
        iptables -P OUTPUT DROP",
    );
    // Out: the answers come back as ESTABLISHED.
    let r = lab.run("server$ ping -c 2 192.168.0.20");
    assert_eq!(
        ping_stats(&r.stdout),
        "2 packets transmitted, 2 received, 0% packet loss, time 1000ms
rtt min/avg/max/mdev = 0.040/0.040/0.040/0.000 ms
"
    );
    let r = lab.run("nc -zv -w 1 192.168.0.1 22");
    assert_eq!(
        r.stderr,
        "Connection to 192.168.0.1 22 port [tcp/ssh] succeeded!\n"
    );
    has(
        packet(
            &r.trace,
            &["on server: TCP 192.168.0.1:22 > 192.168.0.10:", "[SA]"],
        ),
        "    INPUT filter INPUT #1: match -> ACCEPT\n",
    );
    // In: nothing new gets through.
    let r = lab.run("scanner$ ping -c 1 -W 1 192.168.0.10");
    assert_eq!(
        ping_stats(&r.stdout),
        "1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n"
    );
    let r = lab.run("nc -zv -w 1 192.168.0.10 22");
    assert_eq!(
        r.stderr,
        "nc: connect to 192.168.0.10 port 22 (tcp) timed out: Operation now in progress\n"
    );
    has(
        packet(&r.trace, &["on server:", "[S]"]),
        "    INPUT filter INPUT #1: no match, `--state RELATED,ESTABLISHED` did not match: state is NEW\n",
    );
    // SYN+FIN is INVALID for conntrack.
    let r = lab.run("hping3 -c 1 -S -F -p 22 192.168.0.10");
    has(
        packet(&r.trace, &["on server:", "[SF]"]),
        "    INPUT filter INPUT #2: match -> DROP\n",
    );
    // A lone ACK is picked up as NEW (nf_conntrack_tcp_loose=1): the policy drops it.
    let r = lab.run("hping3 -c 1 -A -p 80 192.168.0.10");
    let ack = packet(&r.trace, &["on server:", "[A]"]);
    has(ack, "`--state INVALID` did not match: state is NEW");
    has(ack, "    INPUT filter INPUT: policy DROP\n");
    // In: 2 echo replies (84 bytes) and the ssh server's SYN-ACK (60) and
    // FIN (52); out: 2 echo requests, SYN (60), ACK, FIN, ACK (52 each).
    // Dropped by the policy: the scanner's echo request, SYN and lone ACK.
    assert_eq!(
        lab.out("server$ iptables -L -v -n -x"),
        "Chain INPUT (policy DROP 3 packets, 184 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       4      280 ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0            state RELATED,ESTABLISHED
       1       40 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            state INVALID

Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         

Chain OUTPUT (policy DROP 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       6      384 ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0            state NEW,RELATED,ESTABLISHED
       0        0 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            state INVALID
"
    );
    // The server's table: its ping and its ssh connection (closed).
    let r = lab.run("conntrack -L");
    let mut entries: Vec<&str> = r.stdout.lines().collect();
    entries.sort();
    assert_eq!(entries.len(), 2, "{}", r.stdout);
    assert!(entries[0].starts_with("icmp     1 "), "{entries:?}");
    assert!(entries[0].contains(" src=192.168.0.10 dst=192.168.0.20 type=8 code=0 id="));
    assert!(entries[1].starts_with("tcp      6 "));
    assert!(entries[1].contains(" TIME_WAIT src=192.168.0.10 dst=192.168.0.1 sport="));
    assert!(entries[1].ends_with(" [ASSURED] mark=0 use=1"));
    assert_eq!(
        r.stderr,
        "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n"
    );
}

// ---------------------------------------------------------------------
// ipset
// ---------------------------------------------------------------------

/// MYNEWSET: one `-m set` rule instead of three `-s` rules. The sources
/// are spoofed with `hping3 -a` from the scanner.
#[test]
fn ipset_mynewset() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok("server$ ipset -N MYNEWSET hash:ip
        ipset -A MYNEWSET 1.1.1.1
        ipset -A MYNEWSET 2.2.2.2
        ipset -A MYNEWSET 8.8.8.8
        iptables -A INPUT -m set --match-set MYNEWSET src -j DROP");
    for src in ["1.1.1.1", "2.2.2.2", "8.8.8.8", "9.9.9.9"] {
        lab.run(&format!(
            "scanner$ hping3 -c 1 -S -p 22 -a {src} 192.168.0.10"
        ));
    }
    let r = lab.run("server$ iptables -L INPUT -v -n -x");
    assert_eq!(
        r.stdout,
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       3      120 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set MYNEWSET src
"
    );
    // 9.9.9.9 got an answer (sent towards the router, its way back).
    let dump = lab.out("server$ tcpdump -n -i eth0 src host 192.168.0.10");
    assert_eq!(dump.lines().count(), 1, "{dump}");
    has(&dump, " IP 192.168.0.10.22 > 9.9.9.9.");
    let l = lab.out("ipset -L MYNEWSET");
    assert!(l.starts_with("Name: MYNEWSET\nType: hash:ip\nRevision: 6\nHeader: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x"), "{l}");
    has(&l, "\nReferences: 1\nNumber of entries: 3\nMembers:\n");
    let mut members: Vec<&str> = l.split("Members:\n").nth(1).unwrap().lines().collect();
    members.sort();
    assert_eq!(members, ["1.1.1.1", "2.2.2.2", "8.8.8.8"]);

    // The guide's other ipset commands.
    lab.ok("ipset -N brazil hash:net
        ipset -N china hash:net
        ipset -A china 1.0.0.0/8
        ipset -A china 2.0.0.0/8
        ipset -A china 3.0.0.0/8");
    let all = lab.out("ipset -L");
    assert_eq!(lines_with(&all, "Name: ").len(), 3, "{all}");
    has(&lab.out("ipset -L brazil"), "Number of entries: 0\n");
    has(&lab.out("ipset -L china"), "Number of entries: 3\n");
    lab.ok("ipset del china 1.0.0.0/8");
    has(&lab.out("ipset -L china"), "Number of entries: 2\n");
    lab.ok("ipset -F china");
    has(&lab.out("ipset -L china"), "Number of entries: 0\n");
    lab.ok("ipset destroy china");
    let r = lab.run("ipset -L china");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (
            1,
            "ipset v7.17: The set with the given name does not exist\n"
        )
    );
    lab.ok("ipset -F");
    has(&lab.out("ipset -L MYNEWSET"), "Number of entries: 0\n");
    // maxelem (default 65536).
    lab.ok("ipset create myset1 hash:ip maxelem 2048");
    has(&lab.out("ipset -L myset1"), " maxelem 2048 ");
}

/// auto_blocked: `-j SET --add-set auto_blocked src` on port 80 and a
/// `-m set` DROP inserted above it. The first SYN adds its source and
/// passes; every later packet from that address is dropped — the client
/// connects, then its request never arrives.
#[test]
fn ipset_auto_blocked_by_set_target() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok("server$ ipset -N auto_blocked iphash
        iptables -I INPUT -p tcp --dport 80 -j SET --add-set auto_blocked src
        iptables -I INPUT -m set --match-set auto_blocked src -j DROP");
    assert_eq!(
        lab.out("iptables -S INPUT"),
        "-P INPUT ACCEPT
-A INPUT -m set --match-set auto_blocked src -j DROP
-A INPUT -p tcp -m tcp --dport 80 -j SET --add-set auto_blocked src
"
    );
    let r = lab.run("scanner$ ping -c 1 192.168.0.10");
    has(&r.stdout, "1 packets transmitted, 1 received");
    let r = lab.run("curl -sS -m 3 http://192.168.0.10/");
    assert_eq!(r.exit, 28);
    assert_eq!(
        r.stderr,
        "curl: (28) Operation timed out after 3000 milliseconds with 0 bytes received\n"
    );
    has(
        packet(&r.trace, &["on server:", "[S]"]),
        "    INPUT filter INPUT #1: no match, `--match-set auto_blocked src` did not match: 192.168.0.20 (hash:ip) is not in set auto_blocked\n    INPUT filter INPUT #2: match -> SET, continue\n",
    );
    has(
        packet(&r.trace, &["on server:", "[A]"]),
        "    INPUT filter INPUT #1: match -> DROP\n",
    );
    let r = lab.run("ping -c 1 -W 1 192.168.0.10");
    has(
        &r.stdout,
        "1 packets transmitted, 0 received, 100% packet loss",
    );
    let l = lab.out("server$ ipset -L auto_blocked");
    assert!(
        l.ends_with("Number of entries: 1\nMembers:\n192.168.0.20\n"),
        "{l}"
    );
    // Same as adding it by hand: the admin is blocked without touching port 80.
    lab.ok("ipset -A auto_blocked 192.168.0.30");
    let r = lab.run("admin$ ping -c 1 -W 1 192.168.0.10");
    has(
        &r.stdout,
        "1 packets transmitted, 0 received, 100% packet loss",
    );
}

/// The guide's country-blocking script, verbatim: this lab's
/// www.ipdeny.com serves the zone at `/` only, so the guide's URL is a 404
/// and the script stops with "Download Failed!". Its effect, command by
/// command with the zone from `/`: fill a hash:net set and drop its
/// sources. (`tests/shell_scripts.rs` runs it against a server that has
/// the file.)
#[test]
fn country_blocking_script() {
    let script = r####"#!/bin/bash
echo "### BLOCKING CHINA ###"
# Check if the file exists (in the current directory) and if yes, remove it
if [ -f "cn-aggregated.zone" ]
then
rm cn-aggregated.zone
fi
# Download the aggregate zone file for China
wget http://www.ipdeny.com/ipblocks/data/aggregated/cn-aggregated.zone
# Check if there was an error
if [ $? -eq 0 ]
then
echo "Download Finished!"
else
echo "Download Failed! Exiting ..."
exit 1
fi
# Creating a new set called china of type hash:net (nethash)
ipset -N china hash:net -exist
# Flushing the set
ipset -F china
# Iterate over the Networks from the file and add them to the set
echo "Adding Networks to set..."
for i in `cat cn-aggregated.zone`
do
ipset -A china $i
done
# Adding a rule that references the set and drops based on source IP address
echo -n "Blocking CN with iptables ... "
iptables -I INPUT -m set --match-set china src -j DROP
echo "Done"
"####;

    let mut lab = Lab::new("seed-lan.json");
    let r = lab.run(script);
    assert_eq!(r.exit, 1);
    assert_eq!(
        r.stdout,
        "### BLOCKING CHINA ###\nDownload Failed! Exiting ...\n"
    );
    assert!(r.stderr.contains("ERROR 404: Not Found."), "{}", r.stderr);
    assert_eq!(lab.out("iptables -S INPUT"), "-P INPUT ACCEPT\n");
    assert_eq!(
        lab.out("server$ echo \"### BLOCKING CHINA ###\""),
        "### BLOCKING CHINA ###\n"
    );
    // The guide's URL: the lab's web server has only its front page.
    let r = lab.run("wget http://www.ipdeny.com/ipblocks/data/aggregated/cn-aggregated.zone");
    assert_eq!(r.exit, 8);
    has(
        &r.stderr,
        "HTTP request sent, awaiting response... 404 Not Found\n",
    );
    let r = lab.run("wget -O cn-aggregated.zone http://www.ipdeny.com/");
    assert_eq!(r.exit, 0, "{}", r.stderr);
    has(
        &r.stderr,
        "Connecting to www.ipdeny.com (www.ipdeny.com)|192.168.0.1|:80... connected.\n",
    );
    let zone = lab.out("cat cn-aggregated.zone");
    assert_eq!(zone, "1.0.1.0/24\n1.0.2.0/23\n1.0.8.0/21\n1.0.32.0/19\n");
    lab.ok("ipset -N china hash:net -exist
        ipset -N china hash:net -exist
        ipset -F china");
    for net in zone.lines() {
        lab.ok(&format!("ipset -A china {net}"));
    }
    assert_eq!(
        lab.out("echo -n \"Blocking CN with iptables ... \""),
        "Blocking CN with iptables ... "
    );
    lab.ok("iptables -I INPUT -m set --match-set china src -j DROP");
    // Sources inside the zone are dropped, others answered.
    for src in ["1.0.1.7", "1.0.3.200", "1.0.40.1", "1.0.64.1"] {
        lab.run(&format!(
            "scanner$ hping3 -c 1 -S -p 22 -a {src} 192.168.0.10"
        ));
    }
    assert_eq!(
        lab.out("server$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       3      120 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            match-set china src
"
    );
    let answered = lab.out("tcpdump -n -i eth0 src host 192.168.0.10");
    assert_eq!(
        lines_with(&answered, "192.168.0.10.22 > ").len(),
        1,
        "{answered}"
    );
    has(&answered, " > 1.0.64.1.");
}

/// "RESET Cleaning firewall": policies back to ACCEPT, every table
/// flushed, user chains and sets removed.
#[test]
fn reset_cleaning_firewall() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok("server$ ipset -N blocked hash:ip
        ipset -A blocked 192.168.0.20
        iptables -N LOGDROP
        iptables -A LOGDROP -j LOG
        iptables -A LOGDROP -j DROP
        iptables -A INPUT -m set --match-set blocked src -j LOGDROP
        iptables -P INPUT DROP
        iptables -P OUTPUT DROP
        iptables -P FORWARD DROP
        iptables -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
        iptables -t mangle -A PREROUTING -j MARK --set-mark 1
        iptables -t raw -A PREROUTING -p udp -j NOTRACK");
    let r = lab.run("scanner$ ping -c 1 -W 1 192.168.0.10");
    has(&r.stdout, " 0 received");
    // Policies first, so the host stays reachable while the rest goes.
    lab.ok("server$ iptables -P INPUT ACCEPT
        iptables -P OUTPUT ACCEPT
        iptables -P FORWARD ACCEPT
        iptables -t filter -F
        iptables -t raw -F
        iptables -t nat -F
        iptables -t mangle -F
        iptables -X
        ipset -F
        ipset -X");
    let save = lab.out("iptables-save");
    let rules: Vec<&str> = save
        .lines()
        .filter(|l| l.starts_with("-A") || l.starts_with(":LOGDROP"))
        .collect();
    assert!(rules.is_empty(), "{save}");
    has(&save, "*filter\n:INPUT ACCEPT [");
    assert_eq!(lab.out("ipset list"), "");
    let r = lab.run("scanner$ ping -c 1 -W 1 192.168.0.10");
    has(&r.stdout, " 1 received");
}

// ---------------------------------------------------------------------
// Scanners and port states
// ---------------------------------------------------------------------

/// "Scanners": the guide's `nmap -sS -p 22,100 -sV 192.168.0.1`, then SYN,
/// connect and UDP scans against open, closed and filtered ports, and
/// ping scans (on the local link nmap asks ARP, which iptables does not
/// filter: a host that drops everything still shows up).
#[test]
fn scanners_against_open_closed_filtered() {
    let mut lab = Lab::new("seed-lan.json");
    let out = lab.out("scanner$ nmap -sS -p 22,100 -sV 192.168.0.1");
    assert_eq!(
        nmap_report(&out),
        "Nmap scan report for router (192.168.0.1)
Host is up (0.000040s latency).

PORT    STATE  SERVICE VERSION
22/tcp  open   ssh     OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)
100/tcp closed newacct
MAC Address: 02:00:00:04:00:01 (Unknown)

Service detection performed. Please report any incorrect results at https://nmap.org/submit/ .
Nmap done: 1 IP address (1 host up) scanned in 5.03 seconds
"
    );
    lab.ok("server$ iptables -A INPUT -p tcp --dport 25 -j DROP
        iptables -A INPUT -p udp --dport 69 -j DROP");
    let tcp_ports = "22/tcp open     ssh\n23/tcp closed   telnet\n25/tcp filtered smtp\n";
    for scan in ["-sS", "-sT"] {
        let out = lab.out(&format!("scanner$ nmap {scan} -p 22,23,25 192.168.0.10"));
        has(
            nmap_report(&out),
            &format!("PORT   STATE    SERVICE\n{tcp_ports}"),
        );
    }
    // UDP: a listener that says nothing and a dropped port look alike
    // (open|filtered); a closed port answers ICMP port unreachable.
    let out = lab.out("scanner$ nmap -sU -p 53,69,161 192.168.0.10");
    has(
        nmap_report(&out),
        "PORT    STATE         SERVICE\n53/udp  open|filtered domain\n69/udp  open|filtered tftp\n161/udp closed        snmp\n",
    );
    let out = lab.out("scanner$ nmap -sn 192.168.0.0/24");
    assert_eq!(
        nmap_report(&out),
        "Nmap scan report for router (192.168.0.1)
Host is up (0.000040s latency).
MAC Address: 02:00:00:04:00:01 (Unknown)
Nmap scan report for server (192.168.0.10)
Host is up (0.000040s latency).
MAC Address: 02:00:00:01:00:01 (Unknown)
Nmap scan report for admin (192.168.0.30)
Host is up (0.000040s latency).
MAC Address: B8:81:98:22:C7:6B (Unknown)
Nmap scan report for scanner (192.168.0.20)
Host is up.
Nmap done: 256 IP addresses (4 hosts up) scanned in 0.03 seconds
"
    );
    lab.ok("server$ iptables -P INPUT DROP");
    let out = lab.out("scanner$ nmap -sn 192.168.0.10");
    has(nmap_report(&out), "Host is up (0.000040s latency).\n");
    // Everything is filtered now, and nmap says so in one line.
    let out = lab.out("nmap -p 1-100 192.168.0.10");
    has(
        nmap_report(&out),
        "All 100 scanned ports on server (192.168.0.10) are in ignored states.\nNot shown: 100 filtered tcp ports (no-response)\n",
    );
}

// ---------------------------------------------------------------------
// User-defined chains
// ---------------------------------------------------------------------

/// Example 1: TCP_TRAFFIC. A jump, the chain's own counters, RETURN back
/// to the caller, and the guide's last step `-X TCP_TRAFFIC` failing while
/// INPUT still jumps to it (the real error, exit 4).
#[test]
fn user_chain_tcp_traffic() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok("server$ iptables -N TCP_TRAFFIC
        iptables -A TCP_TRAFFIC -p tcp -j ACCEPT
        iptables -A INPUT -p tcp -j TCP_TRAFFIC
        iptables -A INPUT -p tcp -j DROP");
    let r = lab.run("scanner$ nc -z 192.168.0.10 22");
    assert_eq!(r.exit, 0);
    has(
        packet(&r.trace, &["on server:", "[S]"]),
        "    INPUT filter INPUT #1: match -> jump TCP_TRAFFIC\n    INPUT filter TCP_TRAFFIC #1: match -> ACCEPT\n",
    );
    assert_eq!(
        lab.out("server$ iptables -L -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       4      216 TCP_TRAFFIC  6    --  *      *       0.0.0.0/0            0.0.0.0/0           
       0        0 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0           

Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         

Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         

Chain TCP_TRAFFIC (1 references)
    pkts      bytes target     prot opt in     out     source               destination         
       4      216 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0           
"
    );
    // RETURN: back to INPUT's next rule.
    lab.ok("server$ iptables -I TCP_TRAFFIC -p tcp --dport 80 -j RETURN");
    let r = lab.run("scanner$ nc -zv -w 1 192.168.0.10 80");
    assert_eq!(r.exit, 1);
    has(
        packet(&r.trace, &["on server:", "[S]"]),
        "    INPUT filter INPUT #1: match -> jump TCP_TRAFFIC\n    INPUT filter TCP_TRAFFIC #1: match -> RETURN\n    INPUT filter INPUT #2: match -> DROP\n",
    );
    // Flush the chain: the jump stays and finds nothing, the DROP follows.
    lab.ok("server$ iptables -F TCP_TRAFFIC");
    let r = lab.run("scanner$ nc -zv -w 1 192.168.0.10 22");
    assert_eq!(r.exit, 1);
    has(
        packet(&r.trace, &["on server:", "[S]"]),
        "    INPUT filter INPUT #1: match -> jump TCP_TRAFFIC\n    INPUT filter TCP_TRAFFIC: return\n    INPUT filter INPUT #2: match -> DROP\n",
    );
    let r = lab.run("server$ iptables -X TCP_TRAFFIC");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (
            4,
            "iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain TCP_TRAFFIC\n"
        )
    );
    // Stop using it: delete the jump, then the chain goes.
    lab.ok("iptables -D INPUT -p tcp -j TCP_TRAFFIC
        iptables -X TCP_TRAFFIC");
    assert_eq!(
        lab.out("iptables -S INPUT"),
        "-P INPUT ACCEPT\n-A INPUT -p tcp -j DROP\n"
    );
}

/// Example 2: ACCEPTED_MAC with INPUT and OUTPUT policies DROP. ssh and
/// ICMP are open to all; anything else only from the listed MACs (the
/// admin workstation has B8:81:98:22:C7:6B). The script's first line
/// `!/bin/bash` (a `#` is missing) is left out.
#[test]
fn user_chain_accepted_mac_with_drop_policies() {
    let mut lab = Lab::new("seed-lan.json");
    lab.ok("server$ iptables -F
        iptables -X
        iptables -A OUTPUT -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT
        iptables -A INPUT -p tcp --dport 22 -j ACCEPT
        iptables -A OUTPUT -p tcp --sport 22 -j ACCEPT
        iptables -N ACCEPTED_MAC
        iptables -A ACCEPTED_MAC -m mac --mac-source B8:81:98:22:C7:6B -j ACCEPT
        iptables -A ACCEPTED_MAC -m mac --mac-source B8:81:98:22:C6:7C -j ACCEPT
        iptables -A ACCEPTED_MAC -m mac --mac-source B8:81:98:22:23:AB -j ACCEPT
        iptables -A ACCEPTED_MAC -m mac --mac-source B8:81:98:22:67:AA -j ACCEPT
        iptables -A INPUT -j ACCEPTED_MAC
        iptables -A INPUT -p icmp -j ACCEPT
        iptables -A OUTPUT -p icmp -j ACCEPT
        iptables -P OUTPUT DROP
        iptables -P INPUT DROP");
    // (iptables prints MACs in lower case.)
    assert_eq!(
        lab.out("iptables -S ACCEPTED_MAC"),
        "-N ACCEPTED_MAC
-A ACCEPTED_MAC -m mac --mac-source b8:81:98:22:c7:6b -j ACCEPT
-A ACCEPTED_MAC -m mac --mac-source b8:81:98:22:c6:7c -j ACCEPT
-A ACCEPTED_MAC -m mac --mac-source b8:81:98:22:23:ab -j ACCEPT
-A ACCEPTED_MAC -m mac --mac-source b8:81:98:22:67:aa -j ACCEPT
"
    );
    assert_eq!(
        lab.out("admin$ curl -s http://server/"),
        "<h1>server</h1>\n"
    );
    let r = lab.run("scanner$ curl -sS -m 2 http://server/");
    assert_eq!(
        r.stderr,
        "curl: (28) Connection timed out after 2001 milliseconds\n"
    );
    let syn = packet(&r.trace, &["on server:", "[S]"]);
    has(syn, "    INPUT filter ACCEPTED_MAC #1: no match, `--mac-source b8:81:98:22:c7:6b` did not match: source MAC is 02:00:00:02:00:01\n");
    has(syn, "    INPUT filter ACCEPTED_MAC: return\n    INPUT filter INPUT #3: no match, -p icmp did not match: protocol is tcp\n    INPUT filter INPUT: policy DROP\n");
    let r = lab.run("nc -zv server 22");
    assert_eq!(
        r.stderr,
        "Connection to server (192.168.0.10) 22 port [tcp/ssh] succeeded!\n"
    );
    has(&lab.out("ping -c 1 server"), " 1 received");
}

// ---------------------------------------------------------------------
// Zero counters, flush, chains: the guide's commands, mistakes included
// ---------------------------------------------------------------------

#[test]
fn counters_flush_and_chain_commands() {
    let mut lab = Lab::new("seed-lan.json");
    // `-Lvn` reads "vn" as the chain to list (-L takes an optional chain).
    let r = lab.run("server$ iptables -Lvn");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (
            1,
            "iptables v1.8.9 (nf_tables): chain `vn' in table `filter' is incompatible, use 'nft' tool.\n"
        )
    );
    let r = lab.run("iptables -Lnv INPUT");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("iptables v1.8.9 (nf_tables): Invalid rule number `INPUT'\n{TRY}")
        )
    );
    lab.ok("iptables -A INPUT -p icmp -j ACCEPT
        iptables -A INPUT -p tcp --dport 22 -j ACCEPT
        iptables -A INPUT -p tcp --dport 80 -j ACCEPT");
    lab.ok("scanner$ ping -c 3 192.168.0.10");
    let before = lab.out("server$ iptables -L INPUT -v -n");
    has(&before, "    3   252 ACCEPT     1    --  *      *       0.0.0.0/0            0.0.0.0/0           \n");
    // "Zero everything": -Z zeroes the counters and keeps the rules...
    lab.ok("iptables -Z");
    let zeroed = lab.out("iptables -L INPUT -v -n");
    has(&zeroed, "    0     0 ACCEPT     1    --  *      *       0.0.0.0/0            0.0.0.0/0           \n");
    assert_eq!(zeroed.lines().count(), 5);
    // ...the guide's `iptables -F` removes the rules themselves.
    lab.ok("iptables -F");
    assert_eq!(
        lab.out("iptables -S"),
        "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
    );
    lab.ok(
        "iptables -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
        iptables -A INPUT -p tcp --dport 22 -j ACCEPT
        iptables -F INPUT
        iptables -t nat -F",
    );
    assert_eq!(
        lab.out("iptables -t nat -S PREROUTING"),
        "-P PREROUTING ACCEPT\n"
    );
    lab.ok("iptables -N MYCHAIN");
    has(
        &lab.out("iptables -L -v -n"),
        "Chain MYCHAIN (0 references)\n",
    );
    lab.ok("iptables -P FORWARD DROP");
    has(
        &lab.out("iptables -L -v -n"),
        "Chain FORWARD (policy DROP 0 packets, 0 bytes)\n",
    );
    lab.ok("iptables -X MYCHAIN");
    assert!(!lab.out("iptables -L -v -n").contains("MYCHAIN"));
    // "Delete the rule number 3 in INPUT chain": the guide's order is wrong.
    lab.ok("iptables -A INPUT -s 10.0.0.1 -j DROP
        iptables -A INPUT -s 10.0.0.2 -j DROP
        iptables -A INPUT -s 10.0.0.3 -j DROP");
    let r = lab.run("iptables -D 3 INPUT");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("iptables v1.8.9 (nf_tables): Invalid rule number `INPUT'\n{TRY}")
        )
    );
    lab.ok("iptables -D INPUT 3");
    let r = lab.run("iptables -D INPUT 3");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (1, "iptables: Index of deletion too big.\n")
    );
    // -I without its port: --dport takes the next word as the port.
    let r = lab.run("iptables -I INPUT -p tcp --dport -s 192.168.1.10 -j ACCEPT");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("iptables v1.8.9 (nf_tables): invalid port/service `-s' specified\n{TRY}")
        )
    );
    let r = lab.run("iptables -I INPUT -p tcp --dport -j DROP");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("iptables v1.8.9 (nf_tables): invalid port/service `-j' specified\n{TRY}")
        )
    );
    // -I puts the rule on top, -A at the end.
    lab.ok(
        "iptables -I INPUT -p tcp --dport 22 -s 192.168.1.10 -j ACCEPT
        iptables -A INPUT -p tcp --dport 22 -j DROP",
    );
    assert_eq!(
        lab.out("iptables -S INPUT"),
        "-P INPUT ACCEPT
-A INPUT -s 192.168.1.10/32 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -s 10.0.0.1/32 -j DROP
-A INPUT -s 10.0.0.2/32 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j DROP
"
    );
}

// ---------------------------------------------------------------------
// ALLOW examples (seed-host.json: the workstation ws, 192.168.1.10)
// ---------------------------------------------------------------------

/// "Allow any website OUTGOING traffic on port 443" under an OUTPUT policy
/// of DROP; `-d 0/0` means anywhere and is not even saved.
#[test]
fn allow_443_out() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -P OUTPUT DROP
        iptables -I OUTPUT -p tcp --dport 443 -d 0/0 -j ACCEPT");
    assert_eq!(
        lab.out("iptables -S OUTPUT"),
        "-P OUTPUT DROP\n-A OUTPUT -p tcp -m tcp --dport 443 -j ACCEPT\n"
    );
    let r = lab.run("nc -zv -w 2 www.example.com 443");
    assert_eq!(
        r.stderr,
        "Connection to www.example.com (203.0.113.80) 443 port [tcp/https] succeeded!\n"
    );
    let r = lab.run("nc -zv -w 2 www.example.com 80");
    assert_eq!(
        r.stderr,
        "nc: connect to www.example.com (203.0.113.80) port 80 (tcp) timed out: Operation now in progress\n"
    );
    assert_eq!(
        lab.out("iptables -L OUTPUT -v -n -x"),
        "Chain OUTPUT (policy DROP 2 packets, 120 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       4      216 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:443
"
    );
}

/// "Allow OUTGOING traffic by multi PORT": the guide appends to a chain
/// named OUTGOING, which does not exist.
#[test]
fn allow_multiport_out() {
    let mut lab = Lab::new("seed-host.json");
    let r = lab.run("ws$ iptables -A OUTGOING -p tcp -m multiport --dports 80,443 -j ACCEPT");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (1, "iptables: No chain/target/match by that name.\n")
    );
    lab.ok("iptables -P OUTPUT DROP
        iptables -A OUTPUT -p tcp -m multiport --dports 80,443 -j ACCEPT");
    assert_eq!(lab.out("curl -s http://web/"), "<h1>web</h1>\n");
    assert_eq!(lab.run("nc -z web 443").exit, 0);
    assert_eq!(lab.run("nc -z -w 1 web 22").exit, 1);
    has(
        &lab.out("iptables -L OUTPUT -v -n"),
        " ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            multiport dports 80,443\n",
    );
}

/// Loopback: with both policies DROP even `ping 127.0.0.1` fails until
/// `-i lo` and `-o lo` are accepted. `-i` is for INPUT, FORWARD and
/// PREROUTING only.
#[test]
fn allow_loopback() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -P INPUT DROP
        iptables -P OUTPUT DROP");
    let r = lab.run("ping -c 1 -W 1 127.0.0.1");
    assert_eq!(
        ping_stats(&r.stdout),
        "1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n"
    );
    let r = lab.run("iptables -A OUTPUT -i lo -j ACCEPT");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("iptables v1.8.9 (nf_tables): Can't use -i with OUTPUT\n\n{TRY}")
        )
    );
    lab.ok("iptables -A INPUT -i lo -j ACCEPT
        iptables -A OUTPUT -o lo -j ACCEPT");
    let r = lab.run("ping -c 1 127.0.0.1");
    assert_eq!(
        ping_stats(&r.stdout),
        "1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.000/0.000/0.000/0.000 ms
"
    );
    let r = lab.run("nc -zv 127.0.0.1 22");
    assert_eq!(
        r.stderr,
        "Connection to 127.0.0.1 22 port [tcp/ssh] succeeded!\n"
    );
    let l = lab.out("iptables -L -v -n -x");
    // Echo request and reply (84 bytes each), then SYN, SYN-ACK (60 each),
    // ACK, FIN, FIN, ACK (52 each) of the ssh test, each seen leaving on lo
    // and arriving on lo.
    // The first echo request died in OUTPUT and never reached INPUT.
    has(&l, "Chain INPUT (policy DROP 0 packets, 0 bytes)\n");
    has(&l, "       8      496 ACCEPT     0    --  lo     *       0.0.0.0/0            0.0.0.0/0           \n");
    has(&l, "Chain OUTPUT (policy DROP 1 packets, 84 bytes)\n");
    has(&l, "       8      496 ACCEPT     0    --  *      lo      0.0.0.0/0            0.0.0.0/0           \n");
}

/// Interfaces: `-i wlan1`, then `-i wlan+` for every wlan interface; the
/// guide's `-A OUTPUT -o eth0 ACCEPT` lacks its `-j`.
#[test]
fn allow_by_interface() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -P INPUT DROP
        iptables -A INPUT -i wlan1 -j ACCEPT");
    has(
        &lab.out("tablet$ ping -c 1 -W 1 192.168.3.10"),
        " 1 received",
    );
    has(
        &lab.out("phone$ ping -c 1 -W 1 192.168.2.10"),
        " 0 received",
    );
    lab.ok("ws$ iptables -A INPUT -i wlan+ -j ACCEPT");
    has(
        &lab.out("phone$ ping -c 1 -W 1 192.168.2.10"),
        " 1 received",
    );
    has(&lab.out("pc20$ ping -c 1 -W 1 192.168.1.10"), " 0 received");
    assert_eq!(
        lab.out("ws$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy DROP 2 packets, 168 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       1       84 ACCEPT     0    --  wlan1  *       0.0.0.0/0            0.0.0.0/0           
       1       84 ACCEPT     0    --  wlan+  *       0.0.0.0/0            0.0.0.0/0           
"
    );
    let r = lab.run("iptables -A OUTPUT -o eth0 ACCEPT");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (2, format!("Bad argument `ACCEPT'\n{TRY}"))
    );
    lab.ok("iptables -P INPUT ACCEPT
        iptables -P OUTPUT DROP
        iptables -A OUTPUT -o eth0 -j ACCEPT");
    has(&lab.out("ping -c 1 -W 1 web"), " 1 received");
    has(&lab.out("ping -c 1 -W 1 192.168.2.20"), " 0 received");
}

/// "Allow OUTGOING ssh connection from the machine".
#[test]
fn allow_ssh_out() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -P OUTPUT DROP
        iptables -A OUTPUT -p tcp --dport 22 -j ACCEPT");
    let r = lab.run("nc -zv web 22");
    assert_eq!(
        r.stderr,
        "Connection to web (203.0.113.80) 22 port [tcp/ssh] succeeded!\n"
    );
    let r = lab.run("curl -sS -m 1 http://web/");
    assert_eq!(
        r.stderr,
        "curl: (28) Connection timed out after 1001 milliseconds\n"
    );
}

/// "Allow INCOMING traffic using TCP syn flag" from 192.168.10.1 only.
/// Only the first packet of a connection has SYN alone: the admin's
/// connection opens (the SYN-ACK comes back), but its following packets
/// fall to the policy — the guide's rule needs an ESTABLISHED rule too.
#[test]
fn allow_incoming_syn_from_address() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -P INPUT DROP
        iptables -A INPUT -i eth0 -p tcp --syn -s 192.168.10.1 -j ACCEPT");
    let r = lab.run("admin$ nc -zv 192.168.1.10 22");
    assert_eq!(
        r.stderr,
        "Connection to 192.168.1.10 22 port [tcp/ssh] succeeded!\n"
    );
    let ack = packet(&r.trace, &["on ws:", "[A]"]);
    has(ack, "    INPUT filter INPUT #1: no match, `--tcp-flags FIN,SYN,RST,ACK SYN` did not match: the packet's flags are ACK\n");
    has(ack, "    INPUT filter INPUT: policy DROP\n");
    assert_eq!(
        lab.out("ws$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy DROP 2 packets, 104 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       1       60 ACCEPT     6    --  eth0   *       192.168.10.1         0.0.0.0/0            tcp flags:0x17/0x02
"
    );
    let r = lab.run("pc20$ nc -zv -w 1 192.168.1.10 22");
    assert_eq!(
        r.stderr,
        "nc: connect to 192.168.1.10 port 22 (tcp) timed out: Operation now in progress\n"
    );
    has(
        packet(&r.trace, &["on ws:", "[S]"]),
        "    INPUT filter INPUT #1: no match, -s 192.168.10.1/32 did not match: source is 192.168.1.20\n",
    );
}

/// "logging outgoing traffic that has syn and ack set": only the server
/// side of a handshake sends SYN+ACK, so only connections *to* ws log.
#[test]
fn log_outgoing_syn_ack() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -A OUTPUT -p tcp --tcp-flags syn,ack,rst,fin syn,ack -j LOG");
    assert_eq!(
        lab.out("iptables -S OUTPUT"),
        "-P OUTPUT ACCEPT\n-A OUTPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN,ACK -j LOG\n"
    );
    lab.ok("pc20$ nc -z 192.168.1.10 22");
    assert_eq!(lab.run("nc -z 192.168.1.10 23").exit, 1);
    lab.ok("ws$ nc -z web 80");
    let d = lab.out("dmesg");
    assert_eq!(d.lines().count(), 1, "{d}");
    assert!(d.starts_with("[ 3600.0000"), "{d}");
    has(&d, "] IN= OUT=eth0 SRC=192.168.1.10 DST=192.168.1.20 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=22 DPT=");
    assert!(
        d.ends_with(" WINDOW=65160 RES=0x00 ACK SYN URGP=0 \n"),
        "{d}"
    );
    has(
        &lab.out("iptables -L OUTPUT -v -n"),
        "    1    60 LOG        6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x17/0x12 LOG flags 0 level 4\n",
    );
}

/// "Allow INCOMING traffic in a specific time": ssh between 10:00 and
/// 15:00 (UTC: `--kerneltz` not given), DROP otherwise. The lab clock
/// starts at 09:00 UTC and `sleep` moves it.
#[test]
fn time_limited_ssh() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -A INPUT -p tcp --dport 22 -m time --timestart 10:00 --timestop 15:00 -j ACCEPT
        iptables -A INPUT -p tcp --dport 22 -j DROP");
    has(
        &lab.out("iptables -L INPUT"),
        "ACCEPT     tcp  --  anywhere             anywhere             tcp dpt:ssh TIME from 10:00:00 to 15:00:00 UTC\n",
    );
    let try_ssh = |lab: &mut Lab| lab.run("pc20$ nc -z -w 1 192.168.1.10 22").exit;
    assert_eq!(lab.out("date"), "Wed May  1 09:00:00 UTC 2024\n");
    assert_eq!(try_ssh(&mut lab), 1);
    // The failed try waited a second.
    lab.ok("sleep 59m 59");
    assert_eq!(lab.out("date"), "Wed May  1 10:00:00 UTC 2024\n");
    assert_eq!(try_ssh(&mut lab), 0);
    lab.ok("sleep 5h");
    // 15:00:00 is still inside (the stop time is inclusive), 15:00:01 not.
    assert_eq!(lab.out("date"), "Wed May  1 15:00:00 UTC 2024\n");
    assert_eq!(try_ssh(&mut lab), 0);
    lab.ok("sleep 1");
    assert_eq!(try_ssh(&mut lab), 1);
    assert_eq!(
        lab.out("ws$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       8      432 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 TIME from 10:00:00 to 15:00:00 UTC
       2      120 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22
"
    );
}

/// The same rule on a host whose clock says 11:30 CEST (09:30 UTC): the
/// time match reads UTC unless `--kerneltz` asks for the kernel's zone.
#[test]
fn time_match_is_utc_unless_kerneltz() {
    let mut json: serde_json::Value = serde_json::from_str(&lab_text("seed-host.json")).unwrap();
    json["clock"] = serde_json::json!({ "start": "2024-05-01T11:30:00+02:00", "timezone": "CEST" });
    let mut lab = Lab::from_json(&json.to_string());
    lab.ok("ws$ iptables -A INPUT -p tcp --dport 22 -m time --timestart 10:00 --timestop 15:00 -j ACCEPT
        iptables -A INPUT -p tcp --dport 22 -j DROP");
    assert_eq!(lab.out("date"), "Wed May  1 11:30:00 CEST 2024\n");
    assert_eq!(lab.run("pc20$ nc -z -w 1 192.168.1.10 22").exit, 1);
    lab.ok("ws$ iptables -R INPUT 1 -p tcp --dport 22 -m time --timestart 10:00 --timestop 15:00 --kerneltz -j ACCEPT");
    has(
        &lab.out("iptables -L INPUT"),
        "TIME from 10:00:00 to 15:00:00\n",
    );
    assert_eq!(lab.run("pc20$ nc -z -w 1 192.168.1.10 22").exit, 0);
}

/// "Allow INCOMING traffic with number of connections per IP address":
/// the guide writes `-m conlimit` (no such match), then the corrected
/// `-m connlimit` rule. pc20 opens half-open connections with hping3 (its
/// own RSTs dropped so they stay open on ws): five get a SYN-ACK, the
/// sixth and seventh a RST from `--reject-with tcp-rst` (an alias of
/// tcp-reset); another address still gets in.
#[test]
fn connlimit_rejects_the_sixth_connection() {
    let mut lab = Lab::new("seed-host.json");
    let r = lab.run("ws$ iptables -A INPUT -p tcp --dport 25 --syn -m conlimit --connlimit-above 5 -j REJECT --reject-with tcp-rst");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("iptables v1.8.9 (nf_tables): Couldn't load match `conlimit':No such file or directory\n\n{TRY}")
        )
    );
    lab.ok("iptables -A INPUT -p tcp --dport 25 --syn -m connlimit --connlimit-above 5 -j REJECT --reject-with tcp-rst");
    assert_eq!(
        lab.out("iptables -S INPUT"),
        "-P INPUT ACCEPT
-A INPUT -p tcp -m tcp --dport 25 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 5 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset
"
    );
    lab.ok("pc20$ iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP");
    let r = lab.run("hping3 -S -p 25 -c 7 192.168.1.10");
    let flags: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split(" flags=").nth(1))
        .map(|f| f.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        flags,
        ["SA", "SA", "SA", "SA", "SA", "RA", "RA"],
        "{}",
        r.stdout
    );
    has(
        &r.stderr,
        "7 packets transmitted, 7 packets received, 0% packet loss\n",
    );
    let ct = lab.run("ws$ conntrack -L");
    assert_eq!(
        lines_with(&ct.stdout, " SYN_RECV src=192.168.1.20 dst=192.168.1.10 ").len(),
        5,
        "{}",
        ct.stdout
    );
    assert_eq!(
        ct.stderr,
        "conntrack v1.4.7 (conntrack-tools): 5 flow entries have been shown.\n"
    );
    assert_eq!(
        lab.out("iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       2       80 REJECT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:25 flags:0x17/0x02 #conn src/32 > 5 reject-with tcp-reset
"
    );
    // The limit is per source address.
    let r = lab.run("pc22$ nc -zv 192.168.1.10 25");
    assert_eq!(
        r.stderr,
        "Connection to 192.168.1.10 25 port [tcp/smtp] succeeded!\n"
    );
}

/// "Allow INCOMING ICMP traffic using LIMIT MATCH": 7 echo requests at
/// once, then one a second. Twelve pings 0.2 s apart: the burst of 7, one
/// more refilled by 1.4 s, another at 2.0 s; the rest hit the DROP. Ten
/// quiet seconds refill the bucket.
#[test]
fn icmp_limit_1_per_second_burst_7() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -A INPUT -p icmp --icmp-type echo-request -m limit --limit 1/sec --limit-burst 7 -j ACCEPT
        iptables -A INPUT -p icmp --icmp-type echo-request -j DROP");
    let r = lab.run("pc20$ ping -c 12 -i 0.2 192.168.1.10");
    let seqs: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split("icmp_seq=").nth(1))
        .map(|s| s.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(seqs, ["1", "2", "3", "4", "5", "6", "7", "8", "11"]);
    assert_eq!(
        ping_stats(&r.stdout),
        "12 packets transmitted, 9 received, 25% packet loss, time 2200ms
rtt min/avg/max/mdev = 0.040/0.040/0.040/0.000 ms
"
    );
    lab.ok("sleep 10");
    has(
        &lab.out("ping -c 3 -i 0.2 192.168.1.10"),
        "3 packets transmitted, 3 received, 0% packet loss",
    );
    assert_eq!(
        lab.out("ws$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
      12     1008 ACCEPT     1    --  *      *       0.0.0.0/0            0.0.0.0/0            icmptype 8 limit: avg 1/sec burst 7
       3      252 DROP       1    --  *      *       0.0.0.0/0            0.0.0.0/0            icmptype 8
"
    );
}

// ---------------------------------------------------------------------
// DROP examples (seed-host.json)
// ---------------------------------------------------------------------

/// iprange: the guide's `--src range A-B` is `--src` (the `-s` option)
/// with the address "range", and the range left over; `--src-range`
/// drops smtp from .20-.25 only.
#[test]
fn drop_iprange() {
    let mut lab = Lab::new("seed-host.json");
    let r = lab.run("ws$ iptables -I INPUT -p tcp --dport 25 -m iprange --src range 192.168.1.20-192.168.1.25 -j DROP");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("Bad argument `192.168.1.20-192.168.1.25'\n{TRY}")
        )
    );
    lab.ok("iptables -I INPUT -p tcp --dport 25 -m iprange --src-range 192.168.1.20-192.168.1.25 -j DROP");
    for (host, exit) in [("pc20", 1), ("pc22", 1), ("pc30", 0)] {
        assert_eq!(
            lab.run(&format!("{host}$ nc -z -w 1 192.168.1.10 25")).exit,
            exit,
            "{host}"
        );
    }
    assert_eq!(lab.run("pc22$ nc -z 192.168.1.10 22").exit, 0);
    has(
        &lab.out("ws$ iptables -L INPUT -v -n"),
        "    2   120 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:25 source IP range 192.168.1.20-192.168.1.25\n",
    );
}

/// "Drop INCOMING traffic to IP Addr" (by source) and "Drop INCOMING ssh
/// traffic by PORT".
#[test]
fn drop_by_source_and_by_port() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -I INPUT -s 192.168.1.20 -j DROP");
    has(&lab.out("pc20$ ping -c 1 -W 1 192.168.1.10"), " 0 received");
    has(&lab.out("pc22$ ping -c 1 -W 1 192.168.1.10"), " 1 received");
    lab.ok("ws$ iptables -F
        iptables -A INPUT -p tcp --dport 22 -j DROP");
    assert_eq!(lab.run("pc22$ nc -z -w 1 192.168.1.10 22").exit, 1);
    assert_eq!(lab.run("pc22$ nc -z -w 1 192.168.1.10 80").exit, 0);
}

/// "Drop INCOMING traffic on port 443 EXCEPT on specific IP" with `!`.
#[test]
fn drop_443_except_one_address() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -A INPUT ! -s 192.168.1.50 -p tcp --dport 443 -j DROP");
    assert_eq!(
        lab.out("iptables -S INPUT"),
        "-P INPUT ACCEPT\n-A INPUT ! -s 192.168.1.50/32 -p tcp -m tcp --dport 443 -j DROP\n"
    );
    assert_eq!(lab.run("pc50$ nc -z 192.168.1.10 443").exit, 0);
    let r = lab.run("pc30$ nc -z -w 1 192.168.1.10 443");
    assert_eq!(r.exit, 1);
    has(
        packet(&r.trace, &["on ws:", "[S]"]),
        "    INPUT filter INPUT #1: match -> DROP\n",
    );
    assert_eq!(lab.run("pc30$ nc -z 192.168.1.10 80").exit, 0);
}

/// "Drop INCOMING traffic by MAC Address": the guide's MAC has 7 bytes.
/// The phone on wlan0 has 08:00:11:22:44:11.
#[test]
fn drop_by_mac() {
    let mut lab = Lab::new("seed-host.json");
    let r =
        lab.run("ws$ iptables -A INPUT -i wlan0 -m mac --mac-source 08:00:11:22:44:11:22 -j DROP");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!("iptables v1.8.9 (nf_tables): Invalid MAC address specified.\n{TRY}")
        )
    );
    lab.ok("iptables -A INPUT -i wlan0 -m mac --mac-source 08:00:11:22:44:11 -j DROP");
    let r = lab.run("phone$ ping -c 1 -W 1 192.168.2.10");
    has(&r.stdout, " 0 received");
    has(
        packet(&r.trace, &["on ws:"]),
        "    INPUT filter INPUT #1: match -> DROP\n",
    );
    has(
        &lab.out("tablet$ ping -c 1 -W 1 192.168.3.10"),
        " 1 received",
    );
    assert_eq!(
        lab.out("ws$ iptables -L INPUT -v -n -x"),
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       1       84 DROP       0    --  wlan0  *       0.0.0.0/0            0.0.0.0/0            MAC 08:00:11:22:44:11
"
    );
}

/// "Drop OUTGOING traffic to a subnet": the guide's rule says `-s`, which
/// is the source. ws has no address in 192.168.0.0/24, so nothing is
/// dropped; with its own subnet everything it sends from eth0 goes
/// (wlan0's address still works); `-d` is what the title means.
#[test]
fn drop_outgoing_subnet_source_vs_destination() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -I OUTPUT -s 192.168.0.0/24 -j DROP");
    has(&lab.out("ping -c 1 -W 1 192.168.1.20"), " 1 received");
    has(
        &lab.out("iptables -L OUTPUT -v -n"),
        "    0     0 DROP       0    --  *      *       192.168.0.0/24       0.0.0.0/0",
    );
    lab.ok("iptables -R OUTPUT 1 -s 192.168.1.0/24 -j DROP");
    has(&lab.out("ping -c 1 -W 1 192.168.1.20"), " 0 received");
    has(&lab.out("ping -c 1 -W 1 web"), " 0 received");
    has(&lab.out("ping -c 1 -W 1 192.168.2.20"), " 1 received");
    lab.ok("iptables -R OUTPUT 1 -d 192.168.1.0/24 -j DROP");
    has(&lab.out("ping -c 1 -W 1 192.168.1.20"), " 0 received");
    has(&lab.out("ping -c 1 -W 1 web"), " 1 received");
}

/// "Drop OUTGOING traffic to a site": the name is resolved when the rule
/// is inserted, into one rule per address (the lab's name table gives
/// www.terra.com.br two); `-I` inserts them in reverse, like the real
/// iptables. Adding the addresses by hand gives the same rules.
#[test]
fn drop_site_by_name() {
    let mut lab = Lab::new("seed-host.json");
    let dig = lab.out("ws$ dig www.terra.com.br");
    has(
        &dig,
        ";; ANSWER SECTION:\nwww.terra.com.br.\t0\tIN\tA\t104.98.115.161\nwww.terra.com.br.\t0\tIN\tA\t104.98.115.145\n",
    );
    assert_eq!(lab.run("nc -z -w 1 www.terra.com.br 80").exit, 0);
    lab.ok("iptables -I OUTPUT -d www.terra.com.br -j DROP");
    let by_name = lab.out("iptables -S OUTPUT");
    assert_eq!(
        by_name,
        "-P OUTPUT ACCEPT
-A OUTPUT -d 104.98.115.145/32 -j DROP
-A OUTPUT -d 104.98.115.161/32 -j DROP
"
    );
    for a in ["104.98.115.161", "104.98.115.145"] {
        assert_eq!(lab.run(&format!("nc -z -w 1 {a} 80")).exit, 1, "{a}");
    }
    assert_eq!(lab.run("nc -z -w 1 web 80").exit, 0);
    lab.ok("iptables -F OUTPUT
        iptables -I OUTPUT -d 104.98.115.161 -j DROP
        iptables -I OUTPUT -d 104.98.115.145 -j DROP");
    assert_eq!(lab.out("iptables -S OUTPUT"), by_name);
    let r = lab.run("iptables -I OUTPUT -d www.nosuch.example -j DROP");
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (
            2,
            format!(
                "iptables v1.8.9 (nf_tables): host/network `www.nosuch.example' not found\n{TRY}"
            )
        )
    );
}

/// "Drop OUTGOING traffic by address type": multicast leaves on the LAN
/// (nobody answers an echo to 224.0.0.1: Linux ignores them) until the
/// addrtype rule keeps it in.
#[test]
fn drop_outgoing_multicast() {
    let mut lab = Lab::new("seed-host.json");
    has(&lab.out("ws$ ping -c 1 -W 1 224.0.0.1"), " 0 received");
    let seen = lab.out("pc20$ tcpdump -n -e -i eth0");
    has(&seen, " 02:00:00:01:00:01 > 01:00:5e:00:00:01, ethertype IPv4 (0x0800), length 98: 192.168.1.10 > 224.0.0.1: ICMP echo request, id ");
    lab.ok("ws$ iptables -A OUTPUT -m addrtype --dst-type MULTICAST -j DROP");
    has(&lab.out("ping -c 1 -W 1 224.0.0.1"), " 0 received");
    has(&lab.out("ping -c 1 -W 1 192.168.1.20"), " 1 received");
    assert_eq!(
        lines_with(&lab.out("pc20$ tcpdump -n -i eth0"), "224.0.0.1").len(),
        1
    );
    assert_eq!(
        lab.out("ws$ iptables -L OUTPUT -v -n -x"),
        "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       1       84 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            ADDRTYPE match dst-type MULTICAST
"
    );
}

/// "Drop OUTGOING traffic by QUOTA": the guide writes `quota` for
/// `--quota`. The guide's 1 GB takes long to spend, so a 1000-byte quota
/// shows the point: ws serves its page to 80.0.0.1 twice; during the
/// third the quota runs out, the DROP takes the answer and curl gives up.
#[test]
fn drop_outgoing_after_quota() {
    let mut lab = Lab::new("seed-host.json");
    let r = lab.run(
        "ws$ iptables -A OUTPUT -d 80.0.0.1 -p tcp --sport 80 -m quota quota 1000000000 -j ACCEPT",
    );
    assert_eq!(
        (r.exit, r.stderr.clone()),
        (2, format!("Bad argument `quota'\n{TRY}"))
    );
    lab.ok(
        "iptables -A OUTPUT -d 80.0.0.1 -p tcp --sport 80 -m quota --quota 1000000000 -j ACCEPT",
    );
    has(
        &lab.out("iptables -L OUTPUT -v -n"),
        " tcp spt:80 quota: 1000000000 bytes\n",
    );
    lab.ok("iptables -F OUTPUT
        iptables -A OUTPUT -d 80.0.0.1 -p tcp --sport 80 -m quota --quota 1000 -j ACCEPT
        iptables -A OUTPUT -d 80.0.0.1 -p tcp --sport 80 -j DROP");
    assert_eq!(
        lab.out("far$ curl -s http://192.168.1.10/"),
        "<h1>ws</h1>\n"
    );
    assert_eq!(
        lab.out("far$ curl -s http://192.168.1.10/"),
        "<h1>ws</h1>\n"
    );
    let r = lab.run("far$ curl -sS -m 3 http://192.168.1.10/");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (
            28,
            "curl: (28) Operation timed out after 3000 milliseconds with 0 bytes received\n"
        )
    );
    has(
        packet(&r.trace, &["on ws: TCP 192.168.1.10:80 > 80.0.0.1:", "[AP]"]),
        "    OUTPUT filter OUTPUT #1: no match, `--quota 1000` did not match: the quota is used up (the packet has 235 bytes, 0 left)\n    OUTPUT filter OUTPUT #2: match -> DROP\n",
    );
    // Each page: SYN-ACK 60, ACK 52, answer 235, FIN 52 = 399 bytes; the
    // third connection got its SYN-ACK and ACK (112) out, 90 bytes were left.
    // (The lab's TCP does not retransmit data: a real server would resend
    // the answer a few times, each one counted by the DROP.)
    let l = lab.out("ws$ iptables -L OUTPUT -v -n -x");
    has(&l, "\n      10      910 ACCEPT     6    --  *      *       0.0.0.0/0            80.0.0.1             tcp spt:80 quota: 1000 bytes\n");
    has(&l, "\n       1      235 DROP       6    --  *      *       0.0.0.0/0            80.0.0.1             tcp spt:80\n");
}

// ---------------------------------------------------------------------
// TEE
// ---------------------------------------------------------------------

/// "TEE ... traffic mirroring": every echo request ws receives is cloned
/// to 10.0.0.10 on its eth1 segment; the mirror's tcpdump sees the copies
/// (addressed to ws, sent to the mirror's MAC), the pings are answered as
/// usual.
#[test]
fn tee_mirrors_echo_requests() {
    let mut lab = Lab::new("seed-host.json");
    lab.ok("ws$ iptables -A INPUT -p icmp --icmp-type echo-request -j TEE --gateway 10.0.0.10");
    assert_eq!(
        ping_stats(&lab.out("pc20$ ping -c 2 192.168.1.10")),
        "2 packets transmitted, 2 received, 0% packet loss, time 1000ms
rtt min/avg/max/mdev = 0.060/0.060/0.060/0.000 ms
"
    );
    let m = lab.out("mirror$ tcpdump -n -e -i eth0");
    let lines: Vec<&str> = m.lines().collect();
    assert_eq!(lines.len(), 2, "{m}");
    for (k, l) in lines.iter().enumerate() {
        assert!(l.contains(
            " 02:00:00:01:00:04 > 02:00:00:09:00:01, ethertype IPv4 (0x0800), length 98: 192.168.1.20 > 192.168.1.10: ICMP echo request, id "
            ), "{l}");
        assert!(l.ends_with(&format!(", seq {}, length 64", k + 1)), "{l}");
    }
    // The clones do not come back: the mirror drops them (not its address).
    assert_eq!(lab.out("ws$ tcpdump -n -i eth1").lines().count(), 2);
}

// ---------------------------------------------------------------------
// FORWARD, NAT, DNAT, REDIRECT (seed-router.json: fw joins the LAN
// 10.0.0.0/24 on eth1 to the internet side 198.51.100.0/24 on eth0)
// ---------------------------------------------------------------------

/// "Enable the routing process" and MASQUERADE: forwarding off drops the
/// LAN's packets; forwarding on carries them but the web server cannot
/// answer 10.0.0.3; MASQUERADE puts eth0's address on them and conntrack
/// takes the answers back.
#[test]
fn masquerade_router() {
    let mut lab = Lab::new("seed-router.json");
    let r = lab.run("pc$ curl -sS -m 2 http://www.uol.com.br/");
    assert_eq!(r.exit, 28);
    has(
        packet(&r.trace, &["on fw:", "[S]"]),
        "  => dropped on fw: forwarding is off\n",
    );
    lab.ok("fw$ echo \"1\" > /proc/sys/net/ipv4/ip_forward");
    assert_eq!(lab.out("cat /proc/sys/net/ipv4/ip_forward"), "1\n");
    let r = lab.run("pc$ curl -sS -m 2 http://www.uol.com.br/");
    assert_eq!(
        r.stderr,
        "curl: (28) Connection timed out after 2001 milliseconds\n"
    );
    // The server saw the private address and had no way back.
    let seen = lab.out("web$ tcpdump -n -i eth0");
    assert_eq!(lines_with(&seen, "IP 10.0.0.3.").len(), 2, "{seen}");
    has(
        packet(
            &r.trace,
            &["on web: TCP 198.51.100.80:80 > 10.0.0.3:", "[SA]"],
        ),
        "  => web: no route to host\n",
    );
    lab.ok("fw$ iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE");
    let r = lab.run("pc$ curl -s http://www.uol.com.br/");
    assert_eq!(r.stdout, "<h1>www.uol.com.br</h1>\n");
    let syn = packet(&r.trace, &["on fw: TCP 10.0.0.3:", "[S]"]);
    has(syn, "    POSTROUTING nat POSTROUTING #1: match -> MASQUERADE, ACCEPT\n    POSTROUTING nat POSTROUTING: conntrack rewrites the source\n      now TCP 198.51.100.1:");
    let ct = lab.out("fw$ conntrack -L -p tcp --dport 80");
    let masq = lines_with(&ct, " [ASSURED] ");
    assert_eq!(masq.len(), 1, "{ct}");
    assert!(
        masq[0].contains(" TIME_WAIT src=10.0.0.3 dst=198.51.100.80 sport="),
        "{ct}"
    );
    assert!(
        masq[0].contains(" dport=80 src=198.51.100.80 dst=198.51.100.1 sport=80 dport="),
        "{ct}"
    );
    let seen = lab.out("web$ tcpdump -n -i eth0");
    assert_eq!(lines_with(&seen, "IP 198.51.100.1.").len(), 6, "{seen}");
    assert_eq!(
        lab.out("fw$ iptables -t nat -L POSTROUTING -v -n -x"),
        "Chain POSTROUTING (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       1       60 MASQUERADE  0    --  *      eth0    10.0.0.0/24          0.0.0.0/0           
"
    );
}

/// DNAT port forwarding: the internet client reaches the private web
/// server through fw's public address, on 80 and on 8080 (to 80). The
/// server sees the client's real address; conntrack holds both views.
#[test]
fn dnat_port_forwarding() {
    let mut lab = Lab::new("seed-router.json");
    lab.ok("fw$ sysctl -w net.ipv4.ip_forward=1
        iptables -t nat -F PREROUTING
        iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2
        iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80");
    let page = "<h1>private web server 10.0.0.2</h1>\n";
    let r = lab.run("client$ curl -s http://198.51.100.1/");
    assert_eq!(r.stdout, page);
    has(
        packet(&r.trace, &["on fw: TCP 198.51.100.20:", "[S]"]),
        "    PREROUTING nat PREROUTING #1: match -> DNAT, ACCEPT\n    PREROUTING nat PREROUTING: conntrack rewrites the destination\n      now TCP 198.51.100.20:",
    );
    assert_eq!(lab.out("client$ curl -s http://198.51.100.1:8080/"), page);
    let ct = lab.out("fw$ conntrack -L");
    let lines: Vec<&str> = ct.lines().collect();
    assert_eq!(lines.len(), 2, "{ct}");
    assert!(lines[0].contains(" src=198.51.100.20 dst=198.51.100.1 sport="));
    assert!(lines[0].contains(" dport=80 src=10.0.0.2 dst=198.51.100.20 sport=80 dport="));
    assert!(lines[1].contains(" dport=8080 src=10.0.0.2 dst=198.51.100.20 sport=80 dport="));
    let seen = lab.out("srv$ tcpdump -n -i eth0 -c 1");
    has(&seen, " IP 198.51.100.20.");
    has(&seen, " > 10.0.0.2.80: Flags [S], seq ");
    // The answers leave fw with its public address and the port the client
    // asked for (SYN-ACK, ACK, page, FIN per connection).
    let back = lab.out("client$ tcpdump -n -i eth0 src host 198.51.100.1");
    assert_eq!(lines_with(&back, "IP 198.51.100.1.").len(), 8, "{back}");
    assert_eq!(
        lines_with(&back, "IP 198.51.100.1.80 > 198.51.100.20.").len(),
        4,
        "{back}"
    );
    assert_eq!(
        lines_with(&back, "IP 198.51.100.1.8080 > 198.51.100.20.").len(),
        4,
        "{back}"
    );
}

/// REDIRECT: `--dport 80 -> 8080` sends the LAN's web traffic to fw's own
/// proxy (for any destination: transparent proxying); `--dport 123 -> 22`
/// makes fw's ssh answer on port 123. REDIRECT is only for PREROUTING and
/// OUTPUT of the nat table.
#[test]
fn redirect_ports() {
    let mut lab = Lab::new("seed-router.json");
    lab.ok("fw$ sysctl -w net.ipv4.ip_forward=1
        iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE");
    assert_eq!(
        lab.out("pc$ curl -s http://www.uol.com.br/"),
        "<h1>www.uol.com.br</h1>\n"
    );
    lab.ok(
        "fw$ iptables -t nat -A PREROUTING -p tcp --dport 123 -j REDIRECT --to-ports 22
        iptables -t nat -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080",
    );
    let r = lab.run("pc$ curl -s http://www.uol.com.br/");
    assert_eq!(r.stdout, "<h1>transparent proxy on fw</h1>\n");
    has(
        packet(&r.trace, &["on fw: TCP 10.0.0.3:", "[S]"]),
        "    PREROUTING nat PREROUTING #2: match -> REDIRECT, ACCEPT\n    PREROUTING nat PREROUTING: conntrack rewrites the destination\n      now TCP 10.0.0.3:",
    );
    let r = lab.run("pc$ nc -zv 10.0.0.1 123");
    assert_eq!(
        r.stderr,
        "Connection to 10.0.0.1 123 port [tcp/*] succeeded!\n"
    );
    has(
        packet(&r.trace, &["on fw:", "[S]"]),
        "  => delivered to fw (tcp port 22 (listening))\n",
    );
    let ct = lab.out("fw$ conntrack -L -p tcp");
    has(&ct, " dport=80 src=10.0.0.1 dst=10.0.0.3 sport=8080 dport=");
    has(&ct, " dport=123 src=10.0.0.1 dst=10.0.0.3 sport=22 dport=");
    let r = lab.run("iptables -t nat -A POSTROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (
            4,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain POSTROUTING\n"
        )
    );
}

/// FORWARD to www.uol.com.br on workdays 18:00-08:00, DROP otherwise. The
/// name is resolved once, when the rules are added. Without
/// `--contiguous` the weekday is the packet's own: Saturday 07:00 is not
/// Friday night.
#[test]
fn forward_workdays_time_rule() {
    let mut lab = Lab::new("seed-router.json");
    lab.ok("fw$ sysctl -w net.ipv4.ip_forward=1
        iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE
        iptables -A FORWARD -p tcp --dport 80 -d www.uol.com.br -m time --weekdays Mon,Tue,Wed,Thu,Fri --timestart 18:00 --timestop 8:00 -j ACCEPT
        iptables -A FORWARD -p tcp --dport 80 -d www.uol.com.br -j DROP");
    assert_eq!(
        lab.out("iptables -S FORWARD"),
        "-P FORWARD ACCEPT
-A FORWARD -d 198.51.100.80/32 -p tcp -m tcp --dport 80 -m time --timestart 18:00:00 --timestop 08:00:00 --weekdays Mon,Tue,Wed,Thu,Fri --datestop 2038-01-19T03:14:07 -j ACCEPT
-A FORWARD -d 198.51.100.80/32 -p tcp -m tcp --dport 80 -j DROP
"
    );
    let visit = |lab: &mut Lab, sleep: &str| -> (String, i32) {
        if !sleep.is_empty() {
            lab.ok(&format!("pc$ sleep {sleep}"));
        }
        let date = lab.out("pc$ date");
        (date, lab.run("curl -s -m 2 http://www.uol.com.br/").exit)
    };
    assert_eq!(
        visit(&mut lab, ""),
        ("Wed May  1 09:00:00 UTC 2024\n".into(), 28)
    );
    assert_eq!(
        visit(&mut lab, "10h"),
        ("Wed May  1 19:00:02 UTC 2024\n".into(), 0)
    );
    assert_eq!(
        visit(&mut lab, "12h"),
        ("Thu May  2 07:00:02 UTC 2024\n".into(), 0)
    );
    assert_eq!(
        visit(&mut lab, "2d"),
        ("Sat May  4 07:00:02 UTC 2024\n".into(), 28)
    );
    assert_eq!(
        visit(&mut lab, "2d"),
        ("Mon May  6 07:00:04 UTC 2024\n".into(), 0)
    );
    assert_eq!(
        visit(&mut lab, "12h"),
        ("Mon May  6 19:00:04 UTC 2024\n".into(), 0)
    );
    // Other sites are not concerned.
    lab.ok("fw$ iptables -t nat -A PREROUTING -i eth1 -p tcp --dport 8080 -j ACCEPT");
    assert_eq!(lab.run("pc$ nc -z 198.51.100.80 8080").exit, 0);
}

/// The badguys list: a TCP packet from eth0 to port 8080 sets its source
/// in the list (and is dropped); then everything that source forwards is
/// dropped while it keeps coming back less than 60 s apart (--update
/// renews the time). The list is /proc/net/xt_recent/badguys.
#[test]
fn forward_recent_badguys() {
    let mut lab = Lab::new("seed-router.json");
    lab.ok("fw$ sysctl -w net.ipv4.ip_forward=1
        iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2
        iptables -A FORWARD -m recent --name badguys --update --seconds 60 -j DROP
        iptables -A FORWARD -p tcp -i eth0 --dport 8080 -m recent --name badguys --set -j DROP");
    let page = "<h1>private web server 10.0.0.2</h1>\n";
    assert_eq!(lab.out("bad$ curl -s -m 2 http://198.51.100.1/"), page);
    assert_eq!(lab.out("fw$ cat /proc/net/xt_recent/badguys"), "");
    let r = lab.run("bad$ nc -z -w 1 10.0.0.2 8080");
    assert_eq!(r.exit, 1);
    has(
        packet(&r.trace, &["on fw:", "[S]"]),
        "    FORWARD filter FORWARD #2: match -> DROP\n",
    );
    let list = lab.out("fw$ cat /proc/net/xt_recent/badguys");
    assert!(
        list.starts_with("src=198.51.100.66 ttl: 64 last_seen: "),
        "{list}"
    );
    // Now bad is out, the client is not.
    assert_eq!(lab.run("bad$ curl -s -m 2 http://198.51.100.1/").exit, 28);
    has(&lab.out("ping -c 1 -W 1 10.0.0.2"), " 0 received");
    assert_eq!(lab.out("client$ curl -s -m 2 http://198.51.100.1/"), page);
    // 30 s later: still within 60 s of the last packet (which renewed it).
    lab.ok("bad$ sleep 30");
    assert_eq!(lab.run("curl -s -m 2 http://198.51.100.1/").exit, 28);
    // More than 60 s of silence: bad is forgiven.
    lab.ok("sleep 61");
    assert_eq!(lab.out("curl -s -m 2 http://198.51.100.1/"), page);
    // The list can be edited by hand.
    lab.ok("fw$ echo +198.51.100.20 > /proc/net/xt_recent/badguys");
    assert_eq!(
        lab.run("client$ curl -s -m 2 http://198.51.100.1/").exit,
        28
    );
    lab.ok("fw$ echo / > /proc/net/xt_recent/badguys");
    assert_eq!(lab.out("fw$ cat /proc/net/xt_recent/badguys"), "");
    assert_eq!(lab.out("client$ curl -s -m 2 http://198.51.100.1/"), page);
    let r = lab.run("fw$ echo junk > /proc/net/xt_recent/badguys");
    assert_eq!(
        (r.exit, r.stderr.as_str()),
        (1, "bash: line 1: echo: write error: Invalid argument\n")
    );
    // Dropped by the list: bad's 2 SYNs, its ping, 2 SYNs 30 s later; the
    // client's 2 SYNs while it was listed by hand.
    assert_eq!(
        lab.out("iptables -L FORWARD -v -n -x"),
        "Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination         
       7      444 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            recent: UPDATE seconds: 60 name: badguys side: source mask: 255.255.255.255
       1       60 DROP       6    --  eth0   *       0.0.0.0/0            0.0.0.0/0            tcp dpt:8080 recent: SET name: badguys side: source mask: 255.255.255.255
"
    );
}

/// `iptables -I FORWARD -p udp --dport 69 -j REJECT --reject-with
/// icmp-port-unreachable`: the router answers for the TFTP server. nmap
/// tells the two apart: port unreachable from the target is `closed`,
/// from a router in between it is `filtered`.
#[test]
fn forward_reject_tftp() {
    let mut lab = Lab::new("seed-router.json");
    lab.ok("fw$ sysctl -w net.ipv4.ip_forward=1");
    let out = lab.out("bad$ nmap -sU -p 69,70 10.0.0.2");
    has(
        nmap_report(&out),
        "69/udp open|filtered tftp\n70/udp closed        gopher\n",
    );
    lab.ok(
        "fw$ iptables -I FORWARD -p udp --dport 69 -j REJECT --reject-with icmp-port-unreachable",
    );
    let r = lab.run("bad$ nc -zvu 10.0.0.2 69");
    assert_eq!((r.exit, r.stderr.as_str()), (1, ""));
    let icmp = packet(&r.trace, &["on fw: ICMP"]);
    assert!(icmp.starts_with("packet ") && icmp.contains(": ICMP 198.51.100.1 > 198.51.100.66 destination unreachable code 3 about UDP 198.51.100.66:"), "{icmp}");
    let out = lab.out("nmap -sU -p 69,70 10.0.0.2");
    has(
        nmap_report(&out),
        "69/udp filtered tftp\n70/udp closed   gopher\n",
    );
    let dump = lab.out("tcpdump -n -i eth0 icmp");
    has(
        &dump,
        " IP 198.51.100.1 > 198.51.100.66: ICMP 10.0.0.2 udp port 69 unreachable, length 37\n",
    );
    // The rule names no interface: the LAN's TFTP traffic out is refused too.
    let r = lab.run("pc$ nc -zvu 198.51.100.20 69");
    assert_eq!(r.exit, 1);
    has(
        packet(&r.trace, &["on fw: ICMP"]),
        ": ICMP 10.0.0.1 > 10.0.0.3 destination unreachable code 3",
    );
}

/// "Chain Traversal in Depth": a LOG rule in every chain of every table of
/// fw shows the order: routed (PREROUTING -> FORWARD -> POSTROUTING), to
/// the host (PREROUTING -> INPUT) and from it (OUTPUT -> POSTROUTING); raw,
/// mangle, nat by priority, nat INPUT after filter INPUT, nat only for a
/// connection's first packet. The same order as the kernel's
/// (seed_kernel.rs, chain_traversal_order_agrees_with_the_kernel).
#[test]
fn chain_traversal_in_depth() {
    let mut lab = Lab::new("seed-router.json");
    lab.ok("fw$ sysctl -w net.ipv4.ip_forward=1
        iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE");
    let chains: &[(&str, &[&str])] = &[
        ("raw", &["PREROUTING", "OUTPUT"]),
        (
            "mangle",
            &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        ),
        ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
        ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
    ];
    for (table, names) in chains {
        for chain in *names {
            lab.ok(&format!(
                "iptables -t {table} -I {chain} -p icmp -j LOG --log-prefix '{table}-{chain} '"
            ));
        }
    }
    let order = |lab: &mut Lab, cmd: &str| -> String {
        lab.ok("fw$ dmesg -C");
        lab.ok(cmd);
        lab.out("fw$ dmesg -t")
            .lines()
            .map(|l| l.split(' ').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        order(&mut lab, "pc$ ping -c 1 web"),
        "raw-PREROUTING mangle-PREROUTING nat-PREROUTING mangle-FORWARD filter-FORWARD mangle-POSTROUTING nat-POSTROUTING \
         raw-PREROUTING mangle-PREROUTING mangle-FORWARD filter-FORWARD mangle-POSTROUTING"
    );
    assert_eq!(
        order(&mut lab, "pc$ ping -c 1 10.0.0.1"),
        "raw-PREROUTING mangle-PREROUTING nat-PREROUTING mangle-INPUT filter-INPUT nat-INPUT \
         raw-OUTPUT mangle-OUTPUT filter-OUTPUT mangle-POSTROUTING"
    );
    assert_eq!(
        order(&mut lab, "fw$ ping -c 1 10.0.0.3"),
        "raw-OUTPUT mangle-OUTPUT nat-OUTPUT filter-OUTPUT mangle-POSTROUTING nat-POSTROUTING \
         raw-PREROUTING mangle-PREROUTING mangle-INPUT filter-INPUT"
    );
}

// ---------------------------------------------------------------------
// Load balancing over two ISPs (seed-two-isps.json)
// ---------------------------------------------------------------------

/// The guide's script (its `for port in $ISP1` loop unrolled: the lab's
/// script language has no loops or variables). MASQUERADE only rewrites
/// packets for the interface routing already chose: with one default
/// route through ISP 1, the web port goes out eth1 masqueraded, while
/// port 5000 and ping also go out eth1 but match no rule (the catch-all
/// is for eth2) and leave with their private source — no answer. Nothing
/// ever uses eth2: balancing needs policy routing, not the nat table.
#[test]
fn two_isps_masquerade_follows_routing() {
    let mut lab = Lab::new("seed-two-isps.json");
    lab.ok("gw$ iptables -t nat -F POSTROUTING
        echo \"1\" > /proc/sys/net/ipv4/ip_forward");
    for port in ["22", "25", "80", "110", "143", "443", "465", "993", "995"] {
        lab.ok(&format!(
            "iptables -t nat -A POSTROUTING -p tcp --dport {port} -o eth1 -j MASQUERADE"
        ));
    }
    lab.ok("iptables -t nat -A POSTROUTING -o eth2 -j MASQUERADE");
    assert_eq!(
        lab.out("ip route get 100.64.0.80"),
        "100.64.0.80 via 203.0.113.1 dev eth1 src 203.0.113.2 uid 0 \n    cache \n"
    );
    assert_eq!(
        lab.out("laptop$ curl -s http://www.example.net/"),
        "<h1>somewhere on the internet</h1>\n"
    );
    let r = lab.run("nc -zv -w 2 www.example.net 5000");
    assert_eq!(
        r.stderr,
        "nc: connect to www.example.net (100.64.0.80) port 5000 (tcp) timed out: Operation now in progress\n"
    );
    let syn = packet(&r.trace, &["on gw:", "[S]"]);
    has(syn, "    POSTROUTING nat POSTROUTING #10: no match, -o eth2 did not match: goes out on eth1\n    POSTROUTING nat POSTROUTING: policy ACCEPT\n");
    has(syn, "  => forwarded by gw out eth1\n");
    has(&lab.out("ping -c 1 -W 1 www.example.net"), " 0 received");
    let eth1 = lab.out("gw$ tcpdump -n -i eth1");
    assert_eq!(lines_with(&eth1, "IP 203.0.113.2.").len(), 6, "{eth1}");
    assert_eq!(lines_with(&eth1, "IP 192.168.0.50").len(), 3, "{eth1}");
    assert_eq!(lab.out("tcpdump -n -i eth2"), "");
    let nat = lab.out("iptables -t nat -L POSTROUTING -v -n -x");
    has(&nat, "       1       60 MASQUERADE  6    --  *      eth1    0.0.0.0/0            0.0.0.0/0            tcp dpt:80\n");
    has(&nat, "       0        0 MASQUERADE  0    --  *      eth2    0.0.0.0/0            0.0.0.0/0           \n");
}

// ---------------------------------------------------------------------
// kube-proxy: the 7 packet vectors of TestTracePacket
// ---------------------------------------------------------------------

/// The node of kube-node.json with kube-proxy-02-tracepacket-full.rules
/// loaded by iptables-restore; `None` (skipped) without ../shared.
fn kube_node() -> Option<Lab> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/corpus/kube-proxy-02-tracepacket-full.rules");
    let rules = match std::fs::read_to_string(&path) {
        Ok(r) => r,
        Err(_) if std::env::var("CI").is_err() => {
            eprintln!("skipped: {} not found", path.display());
            return None;
        }
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let mut lab = Lab::new("kube-node.json");
    let node = lab.w.host_index("node").unwrap();
    let argv = vec!["iptables-restore".to_string()];
    let out = engine::command::run_argv(&mut lab.w.hosts[node], &argv, Some(&rules));
    assert_eq!((out.exit, out.stderr.as_str()), (0, ""));
    Some(lab)
}

/// A TCP SYN as the vectors describe it.
fn syn(src: &str, sport: u16, dst: &str, dport: u16) -> engine::packet::Packet {
    use engine::packet::spec::{L4Spec, PacketSpec};
    PacketSpec {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        l4: L4Spec::Tcp {
            sport,
            dport,
            flags: "S".into(),
            seq: 1,
            ack: 0,
            window: 64240,
        },
        ttl: 64,
        tos: 0,
        id: 1,
        payload_len: 0,
    }
    .build()
    .unwrap()
}

impl Lab {
    /// A packet arriving on the node's interface (`Some(iface)`) or sent
    /// by the node itself (`None`); the traces of everything it caused.
    fn node_packet(&mut self, iface: Option<&str>, pkt: engine::packet::Packet) -> String {
        let node = self.w.host_index("node").unwrap();
        match iface {
            Some(i) => self.w.inject(node, i, pkt),
            None => self.w.send(node, pkt),
        };
        let mut t = String::new();
        for r in self.w.reports.clone() {
            self.packets += 1;
            t.push_str(&trace_text::render(&r, self.packets));
        }
        t
    }
}

/// 10.0.0.2 -> 10.0.0.3:80 => no match: the hooks' jumps into the kube
/// chains find nothing, no NAT, the FORWARD policy lets it through.
#[test]
fn kube_vector_1_no_match() {
    let Some(mut lab) = kube_node() else { return };
    let t = lab.node_packet(Some("cni0"), syn("10.0.0.2", 40001, "10.0.0.3", 80));
    let first = packet(&t, &["on node: TCP 10.0.0.2:40001 > 10.0.0.3:80"]);
    has(
        first,
        "    PREROUTING nat PREROUTING #1: match -> jump KUBE-SERVICES\n",
    );
    has(first, "    PREROUTING nat KUBE-SERVICES: return\n");
    has(first, "    FORWARD filter FORWARD #2: match -> jump KUBE-SERVICES\n    FORWARD filter KUBE-SERVICES #1: no match,");
    has(first, "    FORWARD filter KUBE-EXTERNAL-SERVICES: return\n    FORWARD filter FORWARD: policy ACCEPT\n");
    has(
        first,
        "    POSTROUTING nat KUBE-POSTROUTING #1: match -> RETURN\n",
    );
    assert!(!first.contains("rewrites"), "{first}");
    has(first, "  => forwarded by node out cni0\n");
    has(&t, "  => delivered to pod3 (tcp port 80 (listening))\n");
}

/// 10.0.0.2 -> 172.30.0.41:80 => DNAT 10.180.0.1:80, no masquerade (the
/// source is in 10.0.0.0/8, so KUBE-MARK-MASQ is skipped).
#[test]
fn kube_vector_2_dnat_no_masquerade() {
    let Some(mut lab) = kube_node() else { return };
    let t = lab.node_packet(Some("cni0"), syn("10.0.0.2", 40002, "172.30.0.41", 80));
    let first = packet(&t, &["on node: TCP 10.0.0.2:40002 > 172.30.0.41:80"]);
    has(first, "    PREROUTING nat KUBE-SERVICES #1: match -> jump KUBE-SVC-XPGD46QRK7WJZT7O\n    PREROUTING nat KUBE-SVC-XPGD46QRK7WJZT7O #1: no match, ! -s 10.0.0.0/8 did not match:");
    has(first, "    PREROUTING nat KUBE-SEP-SXIVWICOYRO3J4NJ #2: match -> DNAT, ACCEPT\n    PREROUTING nat PREROUTING: conntrack rewrites the destination\n      now TCP 10.0.0.2:40002 > 10.180.0.1:80 [S] ttl 64 len 44\n");
    has(
        first,
        "    POSTROUTING nat KUBE-POSTROUTING #1: match -> RETURN\n",
    );
    assert!(!first.contains("MASQUERADE"), "{first}");
    has(first, "  => forwarded by node out cni1\n");
    has(&t, "  => delivered to ep1 (tcp port 80 (listening))\n");
    // The endpoint's answer is un-NATed on its way back.
    has(
        packet(&t, &["on node: TCP 10.180.0.1:80 > 10.0.0.2:40002", "[SA]"]),
        "      now TCP 172.30.0.41:80 > 10.0.0.2:40002 [SA]",
    );
}

/// 10.0.0.2 -> 172.30.0.44:80 => DNAT to 10.180.0.4:80 or 10.180.0.5:80:
/// `-m statistic --mode random --probability 0.5` picks one per
/// connection; forty connections use both.
#[test]
fn kube_vector_3_statistic_picks_either_endpoint() {
    let Some(mut lab) = kube_node() else { return };
    let mut seen = std::collections::BTreeMap::new();
    for k in 0..40u16 {
        let t = lab.node_packet(Some("cni0"), syn("10.0.0.2", 41000 + k, "172.30.0.44", 80));
        let first = packet(
            &t,
            &[&format!(
                "on node: TCP 10.0.0.2:{} > 172.30.0.44:80",
                41000 + k
            )],
        );
        let to = first
            .split(&format!("now TCP 10.0.0.2:{} > ", 41000 + k))
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap_or_else(|| panic!("no DNAT in:\n{first}"))
            .to_string();
        assert!(!first.contains("MASQUERADE"), "{first}");
        *seen.entry(to).or_insert(0) += 1;
    }
    let keys: Vec<&str> = seen.keys().map(String::as_str).collect();
    assert_eq!(keys, ["10.180.0.4:80", "10.180.0.5:80"], "{seen:?}");
    let ct = lab.run("node$ conntrack -L -d 172.30.0.44");
    assert_eq!(ct.stdout.lines().count(), 40);
    assert_eq!(
        lines_with(&ct.stdout, " src=10.180.0.4 dst=10.0.0.2 sport=80 ").len(),
        seen["10.180.0.4:80"]
    );
}

/// 192.168.0.2 -> 192.168.99.22:80, sent by the node itself => DNAT
/// 10.180.0.2:80 and masquerade: the source is LOCAL, so KUBE-EXT marks
/// it for masquerading and KUBE-POSTROUTING does it (the address of cni1,
/// the way to the endpoint).
#[test]
fn kube_vector_4_local_source_dnat_and_masquerade() {
    let Some(mut lab) = kube_node() else { return };
    let t = lab.node_packet(None, syn("192.168.0.2", 40004, "192.168.99.22", 80));
    let first = packet(&t, &["on node: TCP 192.168.0.2:40004 > 192.168.99.22:80"]);
    has(
        first,
        "    OUTPUT nat KUBE-SERVICES #3: match -> jump KUBE-EXT-GNZBNJ2PO5MGZ6GT\n",
    );
    has(first, "    OUTPUT nat KUBE-EXT-GNZBNJ2PO5MGZ6GT #2: match -> jump KUBE-MARK-MASQ\n    OUTPUT nat KUBE-MARK-MASQ #1: match -> MARK, continue\n");
    has(
        first,
        "    OUTPUT nat KUBE-SEP-RS4RBKLTHTF2IUXJ #2: match -> DNAT, ACCEPT\n",
    );
    has(first, "      now TCP 192.168.0.2:40004 > 10.180.0.2:80 [S]");
    has(first, "    POSTROUTING nat KUBE-POSTROUTING #1: no match,");
    has(first, "    POSTROUTING nat KUBE-POSTROUTING #2: match -> MARK, continue\n    POSTROUTING nat KUBE-POSTROUTING #3: match -> MASQUERADE, ACCEPT\n");
    has(
        first,
        "      now TCP 10.180.0.254:40004 > 10.180.0.2:80 [S]",
    );
    has(first, "  => sent by node out cni1\n");
    has(&t, "  => delivered to ep2 (tcp port 80 (listening))\n");
}

/// 203.0.113.2 -> 192.168.99.22:80 => DROP in KUBE-EXTERNAL-SERVICES:
/// svc2 has no endpoint on this node.
#[test]
fn kube_vector_5_external_drop() {
    let Some(mut lab) = kube_node() else { return };
    let t = lab.node_packet(Some("eth0"), syn("203.0.113.2", 40005, "192.168.99.22", 80));
    let first = packet(&t, &["on node: TCP 203.0.113.2:40005 > 192.168.99.22:80"]);
    // nat: KUBE-EXT-GNZ... has nothing for an outside source.
    has(
        first,
        "    PREROUTING nat KUBE-EXT-GNZBNJ2PO5MGZ6GT: return\n",
    );
    assert!(!first.contains("rewrites"), "{first}");
    has(first, "    FORWARD filter FORWARD #3: match -> jump KUBE-EXTERNAL-SERVICES\n    FORWARD filter KUBE-EXTERNAL-SERVICES #1: match -> DROP\n");
    has(first, "  => dropped on node in FORWARD\n");
}

/// 192.168.0.2 -> 192.168.0.2:30000 => ACCEPT by the health check rule of
/// KUBE-NODEPORTS (filter, via INPUT).
#[test]
fn kube_vector_6_health_check_nodeport_accept() {
    let Some(mut lab) = kube_node() else { return };
    let t = lab.node_packet(None, syn("192.168.0.2", 40006, "192.168.0.2", 30000));
    let first = packet(&t, &["on node: TCP 192.168.0.2:40006 > 192.168.0.2:30000"]);
    // The nat side's last KUBE-SERVICES rule (dst-type LOCAL) looks at
    // the node ports and finds none for 30000.
    has(
        first,
        "    OUTPUT nat KUBE-SERVICES #10: match -> jump KUBE-NODEPORTS\n",
    );
    has(first, "    OUTPUT nat KUBE-NODEPORTS: return\n");
    has(first, "    INPUT filter INPUT #1: match -> jump KUBE-NODEPORTS\n    INPUT filter KUBE-NODEPORTS #1: match -> ACCEPT\n");
    has(
        first,
        "  => delivered to node (tcp port 30000 (listening))\n",
    );
}

/// 10.0.0.2 -> 172.30.0.46:80 => REJECT: svc6 has no endpoints; the pod
/// gets ICMP port unreachable from the node.
#[test]
fn kube_vector_7_no_endpoints_reject() {
    let Some(mut lab) = kube_node() else { return };
    let t = lab.node_packet(Some("cni0"), syn("10.0.0.2", 40007, "172.30.0.46", 80));
    let first = packet(&t, &["on node: TCP 10.0.0.2:40007 > 172.30.0.46:80"]);
    has(first, "    FORWARD filter FORWARD #2: match -> jump KUBE-SERVICES\n    FORWARD filter KUBE-SERVICES #1: match -> REJECT, DROP\n");
    has(first, "  => dropped on node in FORWARD\n");
    let reply = packet(&t, &["on node: ICMP"]);
    assert!(reply.contains(": ICMP 10.0.0.1 > 10.0.0.2 destination unreachable code 3 about TCP 10.0.0.2:40007 > 172.30.0.46:80"), "{reply}");
    has(reply, "  => sent by node out cni0\n");
}

/// The same services used with the lab's tools, and the counters the
/// rules kept.
#[test]
fn kube_services_from_pods_and_outside() {
    let Some(mut lab) = kube_node() else { return };
    assert_eq!(
        lab.out("pod$ curl -s http://172.30.0.41/"),
        "<h1>ns1/svc1 endpoint 10.180.0.1</h1>\n"
    );
    let r = lab.run("curl -sS http://172.30.0.46/");
    assert_eq!(
        r.stderr,
        "curl: (7) Failed to connect to 172.30.0.46 port 80 after 0 ms: Couldn't connect to server\n"
    );
    assert_eq!(
        lab.out("curl -s http://10.0.0.3/"),
        "<h1>pod 10.0.0.3</h1>\n"
    );
    assert_eq!(
        lab.run("client$ curl -s -m 2 http://192.168.99.22/").exit,
        28
    );
    // svc5's load balancer IP: allowed sources (203.0.113.0/25) are sent to
    // the endpoint, with masquerading.
    let r = lab.run("curl -s http://5.6.7.8/");
    assert_eq!(r.stdout, "<h1>ns3+ns5 endpoint 10.180.0.3</h1>\n");
    has(
        packet(&r.trace, &["on node: TCP 203.0.113.2:", "[S]"]),
        "      now TCP 10.180.0.254:",
    );
    let l = lab.out("node$ iptables -L KUBE-SERVICES -v -n -x");
    assert_eq!(
        l.lines().nth(2).unwrap_or(""),
        "       1       60 REJECT     6    --  *      *       0.0.0.0/0            172.30.0.46          /* ns6/svc6:p80 has no endpoints */ tcp dpt:80 reject-with icmp-port-unreachable"
    );
    has(
        &lab.out("iptables -L KUBE-EXTERNAL-SERVICES -v -n -x"),
        "       2      120 DROP       6    --  *      *       0.0.0.0/0            192.168.99.22        /* ns2/svc2:p80 has no local endpoints */ tcp dpt:80\n",
    );
}

// ---------------------------------------------------------------------
// The same labs through `iptplay lab --trace`
// ---------------------------------------------------------------------

fn iptplay_lab(lab: &str, script: &str) -> (i32, String, String) {
    let dir = format!("{}/tests/labs", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iptplay"))
        .args([
            "lab",
            "--trace",
            &format!("{dir}/{lab}"),
            &format!("{dir}/{script}"),
        ])
        .output()
        .expect("iptplay runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn cli_reject_example_with_trace() {
    let (code, out, err) = iptplay_lab("seed-lan.json", "seed-lan-reject.sh");
    assert_eq!(code, 0, "{err}");
    has(&err, "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n2 packets captured\n");
    has(&out, "    INPUT filter INPUT #1: match -> REJECT, DROP\n");
    has(
        &out,
        ": ICMP 192.168.0.10 > 192.168.0.20 destination unreachable code 3 about TCP 192.168.0.20:",
    );
    assert_eq!(lines_with(&out, "22/tcp filtered ssh").len(), 2, "{out}");
    assert_eq!(lines_with(&out, "22/tcp closed ssh").len(), 1, "{out}");
    has(
        &out,
        " IP 192.168.0.10 > 192.168.0.20: ICMP 192.168.0.10 tcp port 22 unreachable, length 52\n",
    );
    has(&out, "reject-with tcp-reset\n");
}

#[test]
fn cli_kube_node_with_trace() {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/corpus/kube-proxy-02-tracepacket-full.rules");
    if !rules.exists() && std::env::var("CI").is_err() {
        eprintln!("skipped: {} not found", rules.display());
        return;
    }
    let (code, out, err) = iptplay_lab("kube-node.json", "kube-node.sh");
    assert_eq!(code, 0, "{err}");
    has(&err, "curl: (7) Failed to connect to 172.30.0.46 port 80 after 0 ms: Couldn't connect to server\n");
    has(
        &err,
        "curl: (28) Connection timed out after 2001 milliseconds\n",
    );
    has(&out, "<h1>ns1/svc1 endpoint 10.180.0.1</h1>\n");
    has(&out, "<h1>ns2/svc2 endpoint 10.180.0.2</h1>\n");
    has(
        &out,
        "    PREROUTING nat KUBE-SEP-SXIVWICOYRO3J4NJ #2: match -> DNAT, ACCEPT\n",
    );
    has(
        &out,
        "    FORWARD filter KUBE-SERVICES #1: match -> REJECT, DROP\n",
    );
    has(
        &out,
        "    FORWARD filter KUBE-EXTERNAL-SERVICES #1: match -> DROP\n",
    );
    has(
        &out,
        "    POSTROUTING nat KUBE-POSTROUTING #3: match -> MASQUERADE, ACCEPT\n",
    );
    has(
        &out,
        "    INPUT filter KUBE-NODEPORTS #1: match -> ACCEPT\n",
    );
}
