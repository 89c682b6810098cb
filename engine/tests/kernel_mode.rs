//! Kernel mode against the real kernel and the real iptables-nft as the
//! oracle: apply then `iptables-nft-save`, rules made by `iptables-nft`
//! imported, `-C`/`-D` by spec on what we wrote, failing and stale batches
//! change nothing, dry runs change nothing, and restores of several inputs
//! in a row end where `iptables-nft-restore` ends. Each test makes its own
//! namespaces; all skip with a reason when not root.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod kernel_common;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::kernel_common::{have, strip, text_of, Ns};
    use engine::kernel::expr::{Expr, ImmData, NFT_JUMP};
    use engine::kernel::msg::{self, Msg, Position};
    use engine::kernel::sock::{Answer, BatchOutcome, NfSock};
    use engine::kernel::{live, plan};
    use std::path::PathBuf;
    use std::process::Command;

    /// The objects corpus files and rule specs name: the nfacct objects
    /// kube-proxy counts with, `ct_x`, the sets s1-s3, and MYCHAIN when `chain`.
    fn prepare(ns: &Ns, chain: bool) {
        for o in [
            "ct_state_invalid_dropped_pkts",
            "localhost_nps_accepted_pkts",
            "ct_x",
        ] {
            ns.ok(&format!("nfacct add {o}"));
        }
        // The sets rule specs name (kernel_data/capture_rule_bytes.py).
        ns.ok("ipset create s1 hash:ip; ipset create s2 hash:ip,port timeout 10; ipset create s3 hash:ip skbinfo");
        if chain {
            ns.ok("iptables-nft -N MYCHAIN");
        }
    }

    fn skip() -> bool {
        if let Err(why) = common::can_use_kernel() {
            eprintln!("skipped: {why}");
            return true;
        }
        for tool in ["nft", "nfacct"] {
            if !have(tool) {
                eprintln!("skipped: {tool} not installed");
                return true;
            }
        }
        false
    }

    fn corpus() -> Option<PathBuf> {
        common::shared_dir().map(|d| d.join("data/corpus"))
    }

    /// Every corpus input but the --noflush steps of kube-proxy-04 (see
    /// `kube_proxy_noflush_syncs`), with what each needs first: docker-03
    /// its ipset (made by our apply from `ipset restore` input), ufw-03 the
    /// chain ufw creates elsewhere (it is a --noflush fragment).
    fn corpus_inputs(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("corpus")
            .filter_map(|e| {
                let n = e.ok()?.file_name().to_string_lossy().into_owned();
                n.strip_suffix(".rules").map(str::to_string)
            })
            .filter(|n| !n.starts_with("kube-proxy-04b") && !n.starts_with("kube-proxy-04c"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn corpus_apply_then_real_save_and_import() {
        if skip() {
            return;
        }
        let Some(dir) = corpus() else { return };
        let names = corpus_inputs(&dir);
        assert!(names.len() >= 22, "{names:?}");
        let sets_file =
            std::env::temp_dir().join(format!("iptplay-corpus-{}.sets", std::process::id()));
        std::fs::write(&sets_file, "create docker-ext-bridges-v4 hash:net\n").expect("write");
        let sets_path = sets_file.to_string_lossy().into_owned();
        for name in &names {
            let input = std::fs::read_to_string(dir.join(format!("{name}.rules"))).expect("input");
            let want = std::fs::read_to_string(dir.join(format!("expected/{name}.nft-1.8.9.save")))
                .expect("expected");
            let ns = Ns::new("corpus");
            prepare(&ns, false);
            let mut flags: Vec<&str> = Vec::new();
            if name.starts_with("docker-03") {
                flags.extend(["--ipsets", &sets_path]);
            }
            if name.starts_with("ufw-03") {
                ns.ok("iptables-nft -N ufw-logging-deny");
                flags.push("--noflush");
            }
            let o = ns.apply(&input, &flags);
            assert!(o.status.success(), "{name}: {}", text_of(&o));
            assert_eq!(ns.save(), strip(&want), "{name}: iptables-nft-save");
            let imported = ns.iptplay(&["import"], "");
            assert!(imported.status.success(), "{name}: {}", text_of(&imported));
            assert_eq!(
                strip(&String::from_utf8_lossy(&imported.stdout)),
                strip(&want),
                "{name}: import"
            );
            // Applying the same input again changes nothing.
            let before = ns.snapshot() + &ns.ok("ipset list -t");
            let mut args = vec!["diff"];
            args.extend(flags.iter().filter(|f| **f != "--noflush"));
            if flags.contains(&"--noflush") {
                args.push("--noflush");
            }
            args.push("-");
            let d = ns.iptplay(&args, &input);
            assert_eq!(d.status.code(), Some(0), "{name}: {}", text_of(&d));
            assert!(ns.apply(&input, &flags).status.success());
            assert_eq!(
                ns.snapshot() + &ns.ok("ipset list -t"),
                before,
                "{name}: second apply"
            );
        }
        let _ = std::fs::remove_file(sets_file);
    }

    fn specs() -> Vec<(String, String)> {
        include_str!("kernel_data/rule_specs.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(t, a)| (t.to_string(), a.to_string()))
            .collect()
    }

    #[test]
    fn rules_made_by_iptables_import_as_saved() {
        if skip() {
            return;
        }
        let ns = Ns::new("import");
        prepare(&ns, true);
        for (t, a) in specs() {
            ns.ok(&format!("iptables-nft -t {t} {a}"));
        }
        let o = ns.iptplay(&["import"], "");
        assert!(o.status.success(), "{}", text_of(&o));
        assert_eq!(strip(&String::from_utf8_lossy(&o.stdout)), ns.save());
        for t in ["filter", "nat", "mangle", "raw", "security"] {
            let o = ns.iptplay(&["import", "-t", t], "");
            assert_eq!(
                strip(&String::from_utf8_lossy(&o.stdout)),
                strip(&ns.ok(&format!("iptables-nft-save -t {t}"))),
                "-t {t}"
            );
        }
    }

    #[test]
    fn counters_import_like_save_c() {
        if skip() {
            return;
        }
        let ns = Ns::new("counters");
        assert!(ns.apply(BASE, &[]).status.success());
        ns.ok("ip link set lo up && ping -c 3 -i 0.01 127.0.0.1 >/dev/null");
        let o = ns.iptplay(&["import", "-c"], "");
        assert!(o.status.success(), "{}", text_of(&o));
        let ours = strip(&String::from_utf8_lossy(&o.stdout));
        assert_eq!(ours, strip(&ns.ok("iptables-nft-save -c")));
        assert!(ours.contains("[6:504] -A INPUT -i lo -j ACCEPT"), "{ours}");
        // Rules that stay keep their counters across an apply.
        let next = BASE.replace("-A A -j DROP", "-A A -j RETURN");
        assert!(ns.apply(&next, &[]).status.success());
        assert!(ns
            .ok("iptables-nft-save -c")
            .contains("[6:504] -A INPUT -i lo -j ACCEPT"));
    }

    #[test]
    fn real_check_and_delete_find_what_we_wrote() {
        if skip() {
            return;
        }
        // The saved form of every spec, applied by us, then checked and
        // deleted by spec with the real iptables.
        let oracle = Ns::new("oracle");
        prepare(&oracle, true);
        for (t, a) in specs() {
            oracle.ok(&format!("iptables-nft -t {t} {a}"));
        }
        let saved = oracle.save();
        let ns = Ns::new("checkdel");
        prepare(&ns, false);
        let o = ns.apply(&saved, &[]);
        assert!(o.status.success(), "{}", text_of(&o));
        assert_eq!(ns.save(), saved);
        let mut table = String::new();
        for line in saved.lines() {
            if let Some(t) = line.strip_prefix('*') {
                table = t.to_string();
            }
            let Some(spec) = line.strip_prefix("-A ") else {
                continue;
            };
            let c = ns.sh(&format!("iptables-nft -t {table} -C {spec}"));
            assert!(c.status.success(), "-C {spec}: {}", text_of(&c));
            let d = ns.sh(&format!("iptables-nft -t {table} -D {spec}"));
            assert!(d.status.success(), "-D {spec}: {}", text_of(&d));
        }
        assert!(!ns.save().contains("\n-A "), "{}", ns.save());
    }

    const BASE: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j A
-A A -s 10.0.0.0/8 -j ACCEPT
-A A -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
";

    #[test]
    fn failing_batch_changes_nothing() {
        if skip() {
            return;
        }
        let ns = Ns::new("fail");
        assert!(ns.apply(BASE, &[]).status.success());
        let before = ns.snapshot();
        let mut sock = NfSock::open_in_netns(&ns.0).expect("socket");
        let live = live::read(&mut sock).expect("read");
        let next = BASE
            .replace("-A A -j DROP", "-A A -p udp -j DROP\n-A A -j REJECT")
            .replace(":FORWARD DROP", ":FORWARD ACCEPT");
        let want = plan::desired(&live, &next, false).expect("desired");
        let ops = plan::plan(&live, &want, false).expect("plan");
        let mut msgs: Vec<Msg> = ops.iter().map(|o| o.msg()).collect();
        assert!(msgs.len() >= 3, "{ops:?}");
        // A jump to a chain that does not exist, in the middle.
        let bad = msg::new_rule(
            "filter",
            "INPUT",
            &[
                Expr::Counter {
                    bytes: 0,
                    packets: 0,
                },
                Expr::Immediate {
                    dreg: 0,
                    data: ImmData::Verdict {
                        code: NFT_JUMP,
                        chain: Some("NOSUCHCHAIN".into()),
                    },
                },
            ],
            (0, 0),
            Position::Append,
        );
        let mid = msgs.len() / 2;
        msgs.insert(mid, bad);
        for commit in [true, false] {
            match sock.batch(live.genid, &msgs, commit).expect("batch") {
                BatchOutcome::Failed(answers) => {
                    assert!(
                        matches!(answers[mid], Answer::Err { errno, .. } if errno == libc::ENOENT),
                        "{answers:?}"
                    );
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
            assert_eq!(ns.snapshot(), before);
            assert_eq!(sock.genid().expect("genid"), live.genid);
        }
        // The same batch without the bad rule goes through.
        msgs.remove(mid);
        assert_eq!(
            sock.batch(live.genid, &msgs, true).expect("batch"),
            BatchOutcome::Done
        );
        let oracle = Ns::new("failref");
        oracle.restore(&next, "");
        assert_eq!(ns.save(), oracle.save());
    }

    #[test]
    fn stale_generation_is_refused_then_replanned() {
        if skip() {
            return;
        }
        let ns = Ns::new("stale");
        assert!(ns.apply(BASE, &[]).status.success());
        let mut sock = NfSock::open_in_netns(&ns.0).expect("socket");
        let live = live::read(&mut sock).expect("read");
        let next = BASE.replace("-A A -j DROP", "-A A -j RETURN");
        let want = plan::desired(&live, &next, false).expect("desired");
        let msgs: Vec<Msg> = plan::plan(&live, &want, false)
            .expect("plan")
            .iter()
            .map(|o| o.msg())
            .collect();
        // Someone else changes the ruleset meanwhile.
        ns.ok("iptables-nft -I INPUT -s 192.0.2.1 -j DROP");
        let moved = ns.snapshot();
        assert_eq!(
            sock.batch(live.genid, &msgs, true).expect("batch"),
            BatchOutcome::Restart
        );
        assert_eq!(ns.snapshot(), moved);
        // apply re-reads and re-plans.
        let done = plan::apply(&mut sock, &next, plan::ApplyOpts::default()).expect("apply");
        assert_eq!(done.attempts, 1);
        let oracle = Ns::new("staleref");
        oracle.restore(&next, "");
        assert_eq!(ns.save(), oracle.save());
    }

    #[test]
    fn dry_run_changes_nothing() {
        if skip() {
            return;
        }
        let ns = Ns::new("dry");
        assert!(ns.apply(BASE, &[]).status.success());
        let before = ns.snapshot();
        let next = BASE.replace("-A A -j DROP", "-A A -j RETURN\n-A A -j DROP");
        let o = ns.apply(&next, &["--dry-run"]);
        assert!(o.status.success(), "{}", text_of(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("+ filter: -A A -j RETURN"), "{out}");
        assert!(out.contains("not committed"), "{out}");
        assert_eq!(ns.snapshot(), before);
        // The kernel's check runs in a dry run too: a fresh namespace
        // without the chain refuses a rule jumping to it.
        let mut sock = NfSock::open_in_netns(&ns.0).expect("socket");
        let genid = sock.genid().expect("genid");
        let bad = msg::new_rule(
            "filter",
            "INPUT",
            &[Expr::Immediate {
                dreg: 0,
                data: ImmData::Verdict {
                    code: NFT_JUMP,
                    chain: Some("NOSUCHCHAIN".into()),
                },
            }],
            (0, 0),
            Position::Append,
        );
        assert!(matches!(
            sock.batch(genid, &[bad], false).expect("batch"),
            BatchOutcome::Failed(_)
        ));
        assert_eq!(ns.snapshot(), before);
    }

    /// Several inputs in a row, with and without --noflush: we and
    /// iptables-nft-restore must end with the same saved ruleset.
    #[test]
    fn sequences_end_like_iptables_restore() {
        if skip() {
            return;
        }
        let Some(dir) = corpus() else { return };
        let read =
            |n: &str| std::fs::read_to_string(dir.join(format!("{n}.rules"))).expect("input");
        let steps: Vec<(String, bool)> = vec![
            (BASE.to_string(), false),
            (BASE.replace("-A A -j DROP", "-A A -j RETURN\n-A A -j DROP"), false),
            (
                "*filter\n:B - [0:0]\n:A - [0:0]\n-A A -j B\n-I INPUT 2 -p udp -j B\n-A B -j LOG --log-prefix \"b: \"\nCOMMIT\n"
                    .to_string(),
                true,
            ),
            (
                "*filter\n-D INPUT -i lo -j ACCEPT\n:INPUT DROP [0:0]\nCOMMIT\n".to_string(),
                true,
            ),
            (read("docker-01-classic-default-bridge"), false),
            (read("docker-02-classic-usernet-portmap"), false),
            (read("ufw-01-ubuntu1404-default-save"), false),
            (read("fail2ban-01-ubuntu1404-router-legacy-chains"), false),
            (read("firewalld-01-centos7-iptables-backend"), false),
            (read("rhel-02-centos-default-plus-f2b"), true),
            (BASE.to_string(), false),
        ];
        let ours = Ns::new("seq");
        let theirs = Ns::new("seqref");
        for (i, (input, noflush)) in steps.iter().enumerate() {
            let flags: &[&str] = if *noflush { &["--noflush"] } else { &[] };
            let o = ours.apply(input, flags);
            assert!(o.status.success(), "step {i}: {}", text_of(&o));
            theirs.restore(input, if *noflush { "--noflush" } else { "" });
            assert_eq!(ours.save(), theirs.save(), "step {i}");
        }
    }

    /// kube-proxy's full sync then two --noflush partial syncs.
    #[test]
    fn kube_proxy_noflush_syncs() {
        if skip() {
            return;
        }
        let Some(dir) = corpus() else { return };
        let ns = Ns::new("kpsync");
        prepare(&ns, false);
        for (input, noflush, expected) in [
            (
                "kube-proxy-04a-sync1-full",
                false,
                "kube-proxy-04a-sync1-full",
            ),
            (
                "kube-proxy-04b-sync2-add-svc3-noflush",
                true,
                "kube-proxy-04b-after-04a",
            ),
            (
                "kube-proxy-04c-sync3-delete-svc2-noflush",
                true,
                "kube-proxy-04c-after-04a-04b",
            ),
        ] {
            let text = std::fs::read_to_string(dir.join(format!("{input}.rules"))).expect("input");
            let want =
                std::fs::read_to_string(dir.join(format!("expected/{expected}.nft-1.8.9.save")))
                    .expect("expected");
            let flags: &[&str] = if noflush { &["--noflush"] } else { &[] };
            let o = ns.apply(&text, flags);
            assert!(o.status.success(), "{input}: {}", text_of(&o));
            assert_eq!(ns.save(), strip(&want), "{input}");
        }
    }

    #[test]
    fn foreign_rules_are_reported_and_left_alone() {
        if skip() {
            return;
        }
        let ns = Ns::new("foreign");
        assert!(ns.apply(BASE, &[]).status.success());
        ns.ok("nft add rule ip filter A ct state new accept");
        let o = ns.iptplay(&["import"], "");
        assert_eq!(o.status.code(), Some(3), "{}", text_of(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("table filter chain A rule handle"), "{err}");
        // A change to chain A is refused whole.
        let before = ns.snapshot();
        let o = ns.apply(&BASE.replace("-A A -j DROP", "-A A -j RETURN"), &[]);
        assert_eq!(o.status.code(), Some(3), "{}", text_of(&o));
        assert_eq!(ns.snapshot(), before);
        // A change elsewhere goes through and keeps the foreign rule.
        let o = ns.apply(&BASE.replace("-o eth0", "-o eth1"), &[]);
        assert!(o.status.success(), "{}", text_of(&o));
        assert!(ns
            .ok("nft list chain ip filter A")
            .contains("ct state new accept"));
        assert!(ns.save().contains("-A POSTROUTING -o eth1 -j MASQUERADE"));
    }

    #[test]
    fn wrong_input_and_missing_namespaces_change_nothing() {
        if skip() {
            return;
        }
        let ns = Ns::new("unsup");
        assert!(ns.apply(BASE, &[]).status.success());
        let before = ns.snapshot();
        // A restore error is iptables-restore's own.
        let o = ns.apply("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n", &[]);
        assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            "iptables-restore: line 2 failed: No chain/target/match by that name.\n"
        );
        assert_eq!(ns.snapshot(), before);
        // A namespace that does not exist.
        let o = Command::new(env!("CARGO_BIN_EXE_iptplay"))
            .args(["kernel", "import", "--netns", "iptplay-no-such-ns"])
            .output()
            .expect("iptplay");
        assert_eq!(o.status.code(), Some(3), "{}", text_of(&o));
        assert!(String::from_utf8_lossy(&o.stderr)
            .starts_with("iptplay: cannot enter network namespace iptplay-no-such-ns: "));
    }

    #[test]
    fn without_cap_net_admin_a_clear_error() {
        if skip() {
            return;
        }
        if !have("setpriv") {
            eprintln!("skipped: setpriv not installed");
            return;
        }
        let o = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                env!("CARGO_BIN_EXE_iptplay"),
                "kernel",
                "import",
            ])
            .output()
            .expect("setpriv");
        assert_eq!(o.status.code(), Some(4), "{}", text_of(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            "iptplay: kernel mode needs CAP_NET_ADMIN (run as root): Operation not permitted\n"
        );
    }
}

#[cfg(target_os = "linux")]
mod fast {
    use super::kernel_common::{skip, text_of, Ns};

    fn big(n: usize, port: u16) -> String {
        let mut t = String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:SVC - [0:0]\n");
        for i in 0..n {
            t.push_str(&format!(
                "-A SVC -d 10.96.{}.{}/32 -p tcp -m comment --comment \"svc{i}\" -m tcp --dport {} -j ACCEPT\n",
                i / 250,
                i % 250 + 1,
                if i == n / 2 { port } else { 80 }
            ));
        }
        t.push_str("-A INPUT -j SVC\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n");
        t
    }

    /// The chains' names in the order the kernel lists them.
    fn chain_order(ns: &Ns) -> Vec<String> {
        ns.ok("nft list table ip filter")
            .lines()
            .filter_map(|l| l.trim().strip_prefix("chain "))
            .map(|l| l.trim_end_matches(" {").to_string())
            .collect()
    }

    #[test]
    fn a_large_ruleset_imports_like_save() {
        if skip(&["nft"]) {
            return;
        }
        // Enough chains and rules to be read and decoded in two threads.
        let mut t = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
        for i in 0..2100 {
            t.push_str(&format!(":C{i:04} - [0:0]\n"));
        }
        for i in 0..2100 {
            t.push_str(&format!(
                "-A INPUT -s 10.{}.{}.0/24 -j C{i:04}\n-A C{i:04} -p tcp -m tcp --dport {} -j ACCEPT\n",
                i / 250,
                i % 250,
                1000 + i
            ));
        }
        t.push_str("COMMIT\n");
        let ns = Ns::new("large");
        let o = ns.apply(&t, &[]);
        assert!(o.status.success(), "{}", text_of(&o));
        let imported = ns.iptplay(&["import"], "");
        assert!(imported.status.success(), "{}", text_of(&imported));
        let saved = ns.save();
        // *filter, three built-in chains, ours, the rules, COMMIT.
        assert_eq!(saved.lines().count(), 1 + 3 + 2100 + 4200 + 1, "{saved}");
        assert_eq!(
            super::kernel_common::strip(&String::from_utf8_lossy(&imported.stdout)),
            saved
        );
    }

    #[test]
    fn chains_are_made_in_the_order_restore_makes_them() {
        if skip(&["nft"]) {
            return;
        }
        let (ns, theirs) = (Ns::new("order"), Ns::new("orderref"));
        // Declared out of name order: iptables-nft reads chains made in
        // name order many times slower (its chain cache).
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:ZED - [0:0]\n:ALPHA - [0:0]\n:MID - [0:0]\n\
                    -A INPUT -j ZED\n-A ZED -j MID\n-A MID -j ALPHA\n-A ALPHA -j ACCEPT\nCOMMIT\n";
        assert!(ns.apply(text, &[]).status.success());
        theirs.restore(text, "");
        let ours = chain_order(&ns);
        assert_eq!(ours, vec!["INPUT", "ZED", "ALPHA", "MID"]);
        assert_eq!(ours, chain_order(&theirs));
        assert_eq!(ns.save(), theirs.save());
    }

    #[test]
    fn a_small_change_goes_from_the_text_alone_and_ends_like_restore() {
        if skip(&["nft"]) {
            return;
        }
        let ns = Ns::new("fast");
        let theirs = Ns::new("fastref");
        let first = big(400, 80);
        assert!(ns.apply(&first, &[]).status.success());
        // One rule changed, one added at the end of a chain, one removed.
        let next = big(400, 8080)
            .replace("-A INPUT -j SVC\n", "-A INPUT -j SVC\n-A INPUT -j DROP\n")
            .replace("-A POSTROUTING -o eth0 -j MASQUERADE\n", "");
        let o = ns.apply(&next, &["-v"]);
        assert!(o.status.success(), "{}", text_of(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("+ -A SVC -d 10.96.0.201/32 -p tcp -m comment --comment \"svc200\" -m tcp --dport 8080 -j ACCEPT"), "{out}");
        assert!(out.contains("+ -A INPUT -j DROP"), "{out}");
        assert!(
            out.contains("- -D POSTROUTING -o eth0 -j MASQUERADE"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 4, "{out}");
        theirs.restore(&next, "");
        assert_eq!(ns.save(), theirs.save());
        // Another change on top: a rule inserted in the middle of a chain
        // goes right before the next unchanged one.
        let next2 = next.replace(
            "-A SVC -d 10.96.0.101/32",
            "-A SVC -s 192.0.2.1/32 -j DROP\n-A SVC -d 10.96.0.101/32",
        );
        let o = ns.apply(&next2, &["-v"]);
        assert!(o.status.success(), "{}", text_of(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "+ -A SVC -s 192.0.2.1/32 -j DROP\n"
        );
        theirs.restore(&next2, "");
        assert_eq!(ns.save(), theirs.save());
        // Back to the first change: the rule goes by its handle.
        let o = ns.apply(&next, &["-v"]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "- -D SVC -s 192.0.2.1/32 -j DROP\n"
        );
        theirs.restore(&next, "");
        assert_eq!(ns.save(), theirs.save());
        // Someone else writes: the next apply reads the kernel again.
        ns.ok("iptables-nft -A SVC -j RETURN");
        let o = ns.apply(&first, &["-v"]);
        assert!(o.status.success(), "{}", text_of(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("- filter: -D SVC -j RETURN"));
        theirs.restore(&first, "");
        assert_eq!(ns.save(), theirs.save());
        // A changed line the kernel refuses goes the full way, with
        // iptables-restore's own error; nothing changes.
        let before = ns.snapshot();
        let bad = first.replace("-A INPUT -j SVC\n", "-A INPUT -j NOSUCH\n");
        let o = ns.apply(&bad, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text_of(&o));
        assert_eq!(ns.snapshot(), before);
    }
}
