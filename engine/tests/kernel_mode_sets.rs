//! Kernel mode with ipsets and rollback, against the real kernel and the
//! real `ipset` / `iptables-nft`: sets made from `ipset restore` input and
//! read back like `ipset save`, rules naming them, member changes, a
//! refused header change; `apply --confirm` rolled back (rules and sets,
//! counters included), confirmed from another shell, a racing writer
//! reported; the SSH-cut warning. Root only.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod kernel_common;

#[cfg(target_os = "linux")]
mod cases {
    use super::kernel_common::{skip, strip, text_of, Ns};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    const SETS: &str = "create blocked hash:net family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x11223344
add blocked 192.0.2.0/24 packets 0 bytes 0 comment \"test net\"
add blocked 198.51.100.7 packets 0 bytes 0
create web hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 600 bucketsize 12 initval 0x55667788
add web 10.0.0.1,tcp:80 timeout 300
add web 10.0.0.1,udp:53 timeout 300
create ports bitmap:port range 1-1024
add ports 22
add ports 443
create all list:set size 8
add all blocked
add all web
";

    const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
-A INPUT -m set --match-set blocked src -j DROP
-A INPUT -m set ! --match-set web dst,dst -p tcp -j REJECT --reject-with tcp-reset
-A INPUT -p tcp -m set --match-set ports dst -j ACCEPT
-A INPUT -j SET --add-set all src --exist
COMMIT
";

    /// `ipset save` with the remaining-time words of timeouts blanked.
    fn no_timeouts(s: &str) -> String {
        s.lines()
            .map(|l| {
                let mut out = Vec::new();
                let mut w = l.split(' ');
                while let Some(x) = w.next() {
                    out.push(x.to_string());
                    if x == "timeout" && l.starts_with("add ") {
                        w.next();
                        out.push("T".into());
                    }
                }
                out.join(" ") + "\n"
            })
            .collect()
    }

    fn write_tmp(tag: &str, text: &str) -> String {
        let p = std::env::temp_dir().join(format!("iptplay-{}-{tag}", std::process::id()));
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    }

    /// Everything the kernel holds but rule handles (a rule put back gets
    /// a new one): rules with counters, and the sets.
    fn state(ns: &Ns) -> String {
        ns.ok("nft list ruleset") + &strip(&ns.ok("iptables-nft-save -c")) + &ns.ok("ipset save")
    }

    fn skipped() -> bool {
        skip(&["nft", "ipset"])
    }

    #[test]
    fn sets_are_made_read_back_and_changed() {
        if skipped() {
            return;
        }
        let ns = Ns::new("sets");
        let sets = write_tmp("sets1", SETS);
        let o = ns.apply(RULES, &["--ipsets", &sets]);
        assert!(o.status.success(), "{}", text_of(&o));
        // The real tools see what we made.
        let real = ns.ok("ipset save");
        assert_eq!(no_timeouts(&real), no_timeouts(SETS));
        let ours = ns.iptplay(&["import", "--ipsets"], "");
        assert!(ours.status.success(), "{}", text_of(&ours));
        assert_eq!(
            no_timeouts(&String::from_utf8_lossy(&ours.stdout)),
            no_timeouts(&real)
        );
        let saved = ns.save();
        assert!(
            saved.contains("-A INPUT -m set --match-set blocked src -j DROP\n"),
            "{saved}"
        );
        let imported = ns.iptplay(&["import"], "");
        assert_eq!(strip(&String::from_utf8_lossy(&imported.stdout)), saved);
        // The same input again changes nothing.
        let d = ns.iptplay(&["diff", "--ipsets", &sets, "-"], RULES);
        assert_eq!(d.status.code(), Some(0), "{}", text_of(&d));
        // Members added, deleted, changed; other sets untouched.
        ns.ok("ipset create other hash:ip && ipset add other 1.2.3.4");
        let next = SETS
            .replace(
                "add blocked 198.51.100.7 packets 0 bytes 0\n",
                "add blocked 203.0.113.9 packets 0 bytes 0\n",
            )
            .replace("comment \"test net\"", "comment \"renamed\"")
            .replace("add ports 443\n", "");
        let sets2 = write_tmp("sets2", &next);
        let d = ns.iptplay(&["diff", "--ipsets", &sets2, "-"], RULES);
        assert_eq!(d.status.code(), Some(1), "{}", text_of(&d));
        let out = String::from_utf8_lossy(&d.stdout);
        assert!(out.contains("- ipset del blocked 198.51.100.7"), "{out}");
        assert!(out.contains("+ ipset add blocked 203.0.113.9"), "{out}");
        assert!(out.contains("- ipset del ports 443"), "{out}");
        let o = ns.apply(RULES, &["--ipsets", &sets2]);
        assert!(o.status.success(), "{}", text_of(&o));
        let real = ns.ok("ipset save");
        assert!(real.contains("add other 1.2.3.4\n"), "{real}");
        let real: String = real
            .lines()
            .filter(|l| !l.contains(" other "))
            .map(|l| format!("{l}\n"))
            .collect();
        let sorted = |s: &str| {
            let mut v: Vec<String> = no_timeouts(s).lines().map(String::from).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&real), sorted(&next));
        // A set with another header is refused, nothing changes.
        let before = ns.snapshot() + &ns.ok("ipset save");
        let bad = write_tmp("sets3", "create ports bitmap:port range 1-2048\n");
        let o = ns.apply(RULES, &["--ipsets", &bad]);
        assert_eq!(o.status.code(), Some(3), "{}", text_of(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("ipset ports exists with another header"),
            "{}",
            text_of(&o)
        );
        assert_eq!(ns.snapshot() + &ns.ok("ipset save"), before);
        // Rules that cannot go in undo the set changes made before them.
        let sets4 = write_tmp("sets4", "create fresh hash:ip\nadd fresh 9.9.9.9\n");
        let o = ns.apply(
            "*filter\n-A INPUT -m set --match-set fresh src -j NOSUCHCHAIN\nCOMMIT\n",
            &["--ipsets", &sets4],
        );
        assert!(!o.status.success(), "{}", text_of(&o));
        assert_eq!(ns.snapshot() + &ns.ok("ipset save"), before);
        for f in [sets, sets2, bad, sets4] {
            let _ = std::fs::remove_file(f);
        }
    }

    /// `iptplay kernel apply FILE --confirm TIME ...` started in the background.
    fn apply_in_background(ns: &Ns, file: &str, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_iptplay"))
            .args(["kernel", "apply", file, "--netns", &ns.0])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("iptplay")
    }

    const BEFORE: &str = "*filter
:INPUT ACCEPT [0:0]
:OLD - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -j OLD
-A OLD -s 10.0.0.0/8 -j ACCEPT
COMMIT
";

    fn wait_until_waiting(ns: &Ns) {
        let path = format!("/run/iptplay/confirm-{}", ns.0);
        let until = Instant::now() + Duration::from_secs(20);
        while !std::path::Path::new(&path).exists() {
            assert!(Instant::now() < until, "apply never waited");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn unconfirmed_apply_rolls_back_rules_and_sets() {
        if skipped() {
            return;
        }
        let ns = Ns::new("rollback");
        let sets0 = write_tmp(
            "rb0",
            "create keep hash:ip\nadd keep 1.1.1.1\nadd keep 2.2.2.2\n",
        );
        assert!(ns.apply(BEFORE, &["--ipsets", &sets0]).status.success());
        // Counters that must survive.
        ns.ok("ip link set lo up && ping -c 2 -i 0.01 127.0.0.1 >/dev/null");
        let before = state(&ns);
        let rules = write_tmp(
            "rb.rules",
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -m set --match-set new src -j ACCEPT\n-A INPUT -m set --match-set keep src -j ACCEPT\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n",
        );
        let sets = write_tmp("rb1", "create new hash:ip\nadd new 3.3.3.3\ncreate keep hash:ip\nadd keep 1.1.1.1\nadd keep 4.4.4.4\n");
        let child = apply_in_background(&ns, &rules, &["--ipsets", &sets, "--confirm", "1s"]);
        let o = child.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(5), "{}", text_of(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("not confirmed in time: rolling back"), "{err}");
        assert!(err.ends_with("iptplay: rolled back\n"), "{err}");
        assert_eq!(state(&ns), before);
        for f in [sets0, rules, sets] {
            let _ = std::fs::remove_file(f);
        }
    }

    #[test]
    fn confirmed_from_another_shell_stays() {
        if skipped() {
            return;
        }
        let ns = Ns::new("confirm");
        assert!(ns.apply(BEFORE, &[]).status.success());
        let rules = write_tmp(
            "cf.rules",
            &BEFORE.replace(
                "-A OLD -s 10.0.0.0/8 -j ACCEPT",
                "-A OLD -s 10.0.0.0/8 -j DROP",
            ),
        );
        let child = apply_in_background(&ns, &rules, &["--confirm", "20s"]);
        wait_until_waiting(&ns);
        let c = ns.iptplay(&["confirm"], "");
        assert!(c.status.success(), "{}", text_of(&c));
        let o = child.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
        assert!(String::from_utf8_lossy(&o.stderr).ends_with("iptplay: confirmed\n"));
        assert!(ns.save().contains("-A OLD -s 10.0.0.0/8 -j DROP"));
        // Nothing left to confirm.
        let c = ns.iptplay(&["confirm"], "");
        assert_eq!(c.status.code(), Some(1), "{}", text_of(&c));
        assert_eq!(
            String::from_utf8_lossy(&c.stderr),
            "iptplay: no apply is waiting for a confirmation\n"
        );
        let _ = std::fs::remove_file(rules);
    }

    #[test]
    fn a_racing_writer_is_reported_and_rolled_back_too() {
        if skipped() {
            return;
        }
        let ns = Ns::new("race");
        assert!(ns.apply(BEFORE, &[]).status.success());
        let before = state(&ns);
        let rules = write_tmp(
            "race.rules",
            &BEFORE.replace("-A INPUT -i lo -j ACCEPT\n", ""),
        );
        let child = apply_in_background(&ns, &rules, &["--confirm", "2s"]);
        wait_until_waiting(&ns);
        // Someone else writes while we wait.
        ns.ok("iptables-nft -A INPUT -s 192.0.2.1 -j DROP");
        let o = child.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(5), "{}", text_of(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("the ruleset was changed by someone else since the apply"),
            "{err}"
        );
        assert_eq!(state(&ns), before);
        // A second waiting apply in the same namespace is refused.
        let child = apply_in_background(&ns, &rules, &["--confirm", "3s"]);
        wait_until_waiting(&ns);
        let o2 = ns.apply(BEFORE, &["--confirm", "3s"]);
        assert_eq!(o2.status.code(), Some(1), "{}", text_of(&o2));
        assert!(String::from_utf8_lossy(&o2.stderr).contains("is waiting for its confirmation"));
        let _ = child.wait_with_output();
        let _ = std::fs::remove_file(rules);
    }

    #[test]
    fn ssh_session_cut_is_warned_about() {
        if skipped() {
            return;
        }
        let ns = Ns::new("ssh");
        ns.ok("ip link add eth7 type veth peer name eth7p && ip addr add 10.9.9.1/24 dev eth7 && ip link set eth7 up");
        let run = |rules: &str| {
            use std::io::Write;
            let mut child = Command::new(env!("CARGO_BIN_EXE_iptplay"))
                .args(["kernel", "apply", "--dry-run", "-", "--netns", &ns.0])
                .env("SSH_CONNECTION", "192.0.2.10 51000 10.9.9.1 22")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("iptplay");
            let _ = child
                .stdin
                .take()
                .expect("stdin")
                .write_all(rules.as_bytes());
            child.wait_with_output().expect("output")
        };
        let o = run(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i eth7 -p tcp --dport 22 -j DROP\nCOMMIT\n",
        );
        assert!(o.status.success(), "{}", text_of(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("warning: your SSH session's packets from 192.0.2.10:51000 would be dropped on kernel in INPUT (table filter chain INPUT rule 1: -A INPUT -i eth7 -p tcp -m tcp --dport 22 -j DROP)"),
            "{err}"
        );
        let o = run("*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n");
        assert!(o.status.success(), "{}", text_of(&o));
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("warning"),
            "{}",
            text_of(&o)
        );
    }
}

#[cfg(target_os = "linux")]
mod run {
    use super::kernel_common::{skip, text_of, Ns};

    const SCRIPT: &str = r#"iptables -N WEB
iptables -A INPUT -p tcp --dport 80 -j WEB
iptables -A WEB -s 10.0.0.0/8 -m comment --comment "lan only" -j ACCEPT
iptables -A INPUT -j NOPE
iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
ipset create bad hash:ip
ipset add bad 1.2.3.4
ipset add bad 1.2.3.4
iptables -I INPUT 1 -m set --match-set bad src -j DROP
iptables -S
iptables -L -n -v --line-numbers
iptables -C INPUT -p tcp --dport 80 -j WEB
iptables -C INPUT -p tcp --dport 81 -j WEB
ipset destroy bad
iptables -D INPUT 1
ipset destroy bad
ipset list -n
iptables -R WEB 1 -s 192.168.0.0/16 -j ACCEPT
iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
iptables -X WEB
iptables -P FORWARD DROP
iptables -E WEB SITE
iptables -t nat -S
iptables-restore --noflush <<END
*filter
-A SITE -j RETURN
COMMIT
END
iptables -S SITE
iptables -F SITE
iptables -Z
iptables -S
"#;

    #[test]
    fn commands_print_and_change_what_the_real_tools_do() {
        if skip(&["nft", "ipset"]) {
            return;
        }
        let real = Ns::new("runreal");
        let path = std::env::temp_dir().join(format!("iptplay-run-{}.sh", std::process::id()));
        std::fs::write(&path, SCRIPT).expect("write");
        let theirs = real.sh(&format!("sh {} 2>&1; echo \"exit $?\"", path.display()));
        let ours_ns = Ns::new("runours");
        let ours = ours_ns.iptplay(&["run", &path.to_string_lossy()], "");
        let merged = format!(
            "{}{}exit {}\n",
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&ours.stderr),
            ours.status.code().unwrap_or(-1)
        );
        // Our stdout and stderr come apart; compare the lines as sets of
        // each stream's order.
        let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
        let mut a: Vec<&str> = theirs.lines().collect();
        let mut b: Vec<&str> = merged.lines().collect();
        a.sort();
        b.sort();
        assert_eq!(
            b,
            a,
            "ours:\n{merged}\ntheirs:\n{theirs}\n{}",
            text_of(&ours)
        );
        assert_eq!(ours_ns.save(), real.save());
        assert_eq!(ours_ns.ok("ipset list -n"), real.ok("ipset list -n"));
        let _ = std::fs::remove_file(path);
    }
}
