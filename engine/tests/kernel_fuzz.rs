//! The proof against the kernel: seeded random rulesets for the router of
//! the client–router–server namespaces (every table, user chains with
//! jump/goto/RETURN, policies, the matches and targets the simulator
//! evaluates, ipsets) and random packet sequences (TCP conversations and
//! UDP/ICMP flows with scripted replies from the far side, SYNs to real
//! listeners, odd flags, ICMP errors quoting what the router sent, spoofed
//! and martian sources, broadcast and multicast destinations, TTL 1, the
//! router's own packets, other protocols),
//! loaded with the real `iptables-restore`/`ipset restore` and ours, and
//! injected into both. Compared: the restore results; per packet, every
//! frame the router and the server send, the LOG lines and the trace path;
//! per case, the counters of `iptables-save -c`, the connections
//! (`nf_conntrack`) with their seconds to live (2 s apart at most) and the
//! set members. A source port NAT had to move is random in the kernel: its
//! port is renamed to the simulator's, one to one (`fuzz/nat_ports.rs`). A
//! disagreement is shrunk (cases,
//! packets, rules, options, policies, set members) and printed with both
//! observations side by side, a one-line rerun and a replay file.
//!
//! The trace path (`fuzz/path.rs`): the kernel's from nf_tables trace
//! events (a `fuzztrace` table, recreated after each `nft flush ruleset`,
//! whose prerouting and output chains at priority -500 set `meta nftrace`;
//! a NETLINK_NETFILTER socket of the router in the NFNLGRP_NFTRACE group;
//! rule handles mapped to rule numbers from `nft -a list ruleset` after
//! each load), the simulator's from its reports' steps. Per packet (and the
//! packets it caused: the server's answers, REJECT replies, ICMP errors,
//! TEE clones) one line per packet and hook: the tables' chains in order,
//! an entry for every rule that matched (`N continue` for rules without a
//! terminal verdict, LOG, MARK and counter-only rules included; `N jump X`,
//! `N goto X`, `N accept`, `N drop`, `N return`; a match that drops, as
//! `N drop`) and `policy accept|drop` at a base chain's end. Left out on
//! both sides: rules that did not match, a user chain's implicit return
//! (Linux 6.18 sends no event for it), conntrack's own NAT rewrites, the
//! fuzztrace table. Lines are compared as sorted lists (the two sides
//! interleave a packet and what it causes differently). NAT chains see only
//! a connection's first packet on both sides, so nothing is normalised.
//!
//! Running: `FUZZ_CASES` (default 2000) cases in groups of
//! `FUZZ_CASES_PER_GROUP` (default 8) sharing one ruleset, from `FUZZ_SEED`
//! (default 1; group i uses seed+i). `FUZZ_GROUPS=n` runs n groups instead;
//! `FUZZ_SHRINK=0` reports unshrunk; `FUZZ_MAX_FAILURES` (default 3) stops
//! after that many disagreements, `FUZZ_KEEP=1` goes on; `FUZZ_DUMP=1`
//! prints every ruleset; `FUZZ_SHOW_REFUSED=1|2` the rulesets both sides
//! refuse; `FUZZ_REPLAY=FILE` reruns a replay file exactly, `FUZZ_WATCH=1`
//! adds the counters and the simulator's trace after each packet;
//! `FUZZ_TRACE` 2 (default) compares the trace path in every other group
//! (the others run the simulator untraced, where it skips rules that cannot
//! match), 1 in every group, 0 never (replays compare it unless 0);
//! `FUZZ_WAIT_US` (4500) is the wait after each injection. Skips with a
//! reason when not root or namespaces are unavailable.
//!
//! Determinism: one long-lived topology; per group `nft flush ruleset`,
//! `ipset destroy`, `conntrack -F` and fresh listening sockets; the
//! injecting thread pinned to one CPU and packets more than a jiffy apart
//! (conncount's per-CPU and per-jiffy shortcuts); `net.ipv4.route.error_cost`
//! 0 while running (the no-route ICMP errors are rate-limited per sender,
//! globally); the simulator on the wall clock, each packet at the time it
//! was injected (`-m time`); only slow `limit` rates; a rule needing
//! conntrack in every ruleset (the kernel tracks only then).
//!
//! TCP conversations carry odd flags and inexact sequence and
//! acknowledgement numbers now and then, SYN-ACKs may acknowledge nothing,
//! NOTRACK and raw-table drops hit TCP too (one side of a conversation left
//! to window tracking), and one group in four runs with
//! `nf_conntrack_tcp_be_liberal=1` or `nf_conntrack_tcp_loose=0`. The
//! simulator's stacks take the initial sequence numbers of the kernel's
//! SYN-ACKs (`sim::kernel_isns`; the router's, when traced, from its
//! OUTPUT hook, which also sees those dropped before a wire), so that
//! conversations with a real listener are judged against the same numbers
//! on both sides.
//!
//! Kept out: TEE with SET and
//! `recent` on the clone's way out (the kernel sends the clone through
//! OUTPUT and POSTROUTING while its original is still in the TEE rule's
//! chain, the simulator once the original's hook is done), connlimit where one packet journey meets the rule twice
//! with the same group (TEE, user chains of two hooks, mask 0: conncount
//! skips its duplicate check within a jiffy), fragments, martian addresses
//! in sets. Open findings are replay files in `tests/fuzz/findings/`;
//! `tests/fuzz/fixed/` keeps replays of cases the harness itself once
//! judged wrongly, run before the random groups.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod fuzz;
#[cfg(target_os = "linux")]
mod oracle;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::fuzz::{gen, kernel, kernel::Kernel, replay, rng::group_seed, run, shrink};
    use std::time::{Duration, Instant};

    fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// `tests/fuzz/fixed/*.replay`, in name order.
    fn fixed_replays() -> Vec<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/fixed");
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "replay"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn random_rulesets_and_packets_agree_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        for tool in ["conntrack", "nft"] {
            let found = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !found {
                println!("skipped: {tool} not installed");
                return;
            }
        }
        let seed: u64 = env("FUZZ_SEED", 1);
        let per_group: usize = env("FUZZ_CASES_PER_GROUP", 8).max(1);
        let cases: usize = env("FUZZ_CASES", 2000);
        // FUZZ_GROUPS runs that many groups; otherwise groups until FUZZ_CASES
        // cases ran (rulesets refused by both sides run no cases).
        let groups: Option<u64> = std::env::var("FUZZ_GROUPS")
            .ok()
            .and_then(|v| v.parse().ok());
        let do_shrink = env("FUZZ_SHRINK", 1) != 0;
        let max_failures: usize = env("FUZZ_MAX_FAILURES", 3);
        let keep = env("FUZZ_KEEP", 0) != 0;
        let dump = env("FUZZ_DUMP", 0) != 0;
        // Namespaces carry the whole process id (stale ones of killed runs
        // are removed); LOG prefixes a short form of it.
        kernel::remove_stale_namespaces();
        let tag = format!("fz{}", std::process::id());
        let log_tag = format!("FZ{}:", std::process::id() % 10000);
        // LOG lines of other namespaces reach /dev/kmsg only with this.
        let _ = std::process::Command::new("sysctl")
            .args(["-qw", "net.netfilter.nf_log_all_netns=1"])
            .status();
        let mut k = match Kernel::new(&tag) {
            Ok(k) => k,
            Err(e) => {
                println!("skipped: network namespaces unavailable: {e}");
                return;
            }
        };
        // 2 (default): every other group compares the trace path (the
        // others run the simulator untraced, where it skips rules that
        // cannot match); 1: every group; 0: none.
        let trace_mode: u8 = env("FUZZ_TRACE", 2);
        if let Ok(path) = std::env::var("FUZZ_REPLAY") {
            k.trace_path = trace_mode != 0;
            let text = std::fs::read_to_string(&path).expect("replay file");
            let (rs, steps) = replay::read(&text).expect("replay file parses");
            let out = run::run(&mut k, &log_tag, &rs, &steps, false);
            let rerun = format!(
                "FUZZ_REPLAY={path} cargo test -p engine --test kernel_fuzz -- --nocapture"
            );
            println!("{}", run::report(&rerun, &log_tag, &rs, &steps, &out));
            assert!(out.mismatches.is_empty(), "the replay disagrees");
            return;
        }
        let started = Instant::now();
        let (mut ncases, mut npackets, mut refused) = (0usize, 0usize, 0usize);
        let mut nrenamed = 0usize;
        let mut failures = Vec::new();
        // Replays of cases the harness once judged wrongly: each must agree.
        for path in fixed_replays() {
            k.trace_path = trace_mode != 0;
            let text = std::fs::read_to_string(&path).expect("replay file");
            let (rs, steps) = replay::read(&text).expect("replay file parses");
            let out = run::run(&mut k, &log_tag, &rs, &steps, false);
            ncases += out.cases;
            npackets += out.packets;
            if !out.mismatches.is_empty() {
                let rerun = format!(
                    "FUZZ_REPLAY={} cargo test -p engine --test kernel_fuzz -- --nocapture",
                    path.display()
                );
                let text = run::report(&rerun, &log_tag, &rs, &steps, &out);
                println!("{text}");
                failures.push(text);
            }
        }
        // Per match or target: (rules that counted a packet, rules).
        let mut coverage: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        let mut g = 0u64;
        while groups.map_or(ncases < cases, |n| g < n) {
            let gseed = group_seed(seed, g);
            k.trace_path = trace_mode == 1 || (trace_mode == 2 && g.is_multiple_of(2));
            g += 1;
            let group = gen::group(gseed, per_group);
            if dump {
                println!(
                    "--- group {gseed}\n{}{}",
                    group.ruleset.ipset_text(),
                    group.ruleset.restore_text(&log_tag)
                );
            }
            let out = run::run(&mut k, &log_tag, &group.ruleset, &group.steps, false);
            ncases += out.cases;
            npackets += out.packets;
            nrenamed += out.nat_ports.words().len();
            let rules = out
                .last_save
                .iter()
                .filter(|l| l.starts_with('[') && !l.contains("needs conntrack"));
            for l in rules {
                let hit = !l.starts_with("[0:");
                let words: Vec<&str> = l.split(' ').collect();
                let mut kinds: Vec<String> = words
                    .windows(2)
                    .filter(|w| w[0] == "-m" || w[0] == "-j" || w[0] == "-g")
                    .map(|w| format!("{} {}", w[0], w[1]))
                    .collect();
                kinds.dedup();
                for kind in kinds {
                    let e = coverage.entry(kind).or_default();
                    e.0 += usize::from(hit);
                    e.1 += 1;
                }
            }
            if let Some(why) = &out.refused {
                refused += 1;
                let show: u8 = env("FUZZ_SHOW_REFUSED", 0);
                if dump || show != 0 {
                    println!("refused ruleset (both sides): {why}");
                }
                if show > 1 {
                    for (n, l) in group.ruleset.restore_text(&log_tag).lines().enumerate() {
                        println!("{:3} {l}", n + 1);
                    }
                }
            }
            if out.mismatches.is_empty() {
                continue;
            }
            // Seen once more? (If not, the harness or the kernel had a
            // timing-dependent moment: reported all the same, marked.)
            let again = run::run(&mut k, &log_tag, &group.ruleset, &group.steps, true);
            let flaky = again.mismatches.is_empty();
            if flaky {
                println!("FLAKY: the disagreement below did not come back on a rerun");
            }
            let rerun = format!(
                "FUZZ_SEED={gseed} FUZZ_GROUPS=1 FUZZ_CASES_PER_GROUP={per_group} \
                 cargo test -p engine --test kernel_fuzz -- --nocapture"
            );
            let dir = std::env::temp_dir();
            let text = if do_shrink && !flaky {
                let s = shrink::shrink(
                    &mut k,
                    &log_tag,
                    &group.ruleset,
                    &group.steps,
                    &out,
                    env("FUZZ_SHRINK_TRIALS", 400),
                    Duration::from_secs(env("FUZZ_SHRINK_SECS", 120)),
                );
                let file = dir.join(format!("kernel-fuzz-{gseed}.replay"));
                let _ = std::fs::write(&file, replay::write(&s.ruleset, &s.steps, &log_tag));
                format!(
                    "(shrunk from {} rules and {} packets in {} reruns; exact replay: \
                     FUZZ_REPLAY={} cargo test -p engine --test kernel_fuzz -- --nocapture)\n{}",
                    group.ruleset.rules.len(),
                    group.steps.len(),
                    s.trials,
                    file.display(),
                    run::report(&rerun, &log_tag, &s.ruleset, &s.steps, &s.outcome)
                )
            } else {
                let file = dir.join(format!("kernel-fuzz-{gseed}.replay"));
                let _ =
                    std::fs::write(&file, replay::write(&group.ruleset, &group.steps, &log_tag));
                format!(
                    "(exact replay: FUZZ_REPLAY={} cargo test -p engine --test kernel_fuzz -- --nocapture)\n{}",
                    file.display(),
                    run::report(&rerun, &log_tag, &group.ruleset, &group.steps, &out)
                )
            };
            println!("{text}");
            failures.push(text);
            if !keep && failures.len() >= max_failures {
                println!("stopping after {} disagreements", failures.len());
                break;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!("rules that counted packets, by match and target (kernel side):");
        let mut line = String::new();
        for (kind, (hit, all)) in &coverage {
            line.push_str(&format!("  {kind} {hit}/{all}"));
            if line.len() > 100 {
                println!("{line}");
                line.clear();
            }
        }
        if !line.is_empty() {
            println!("{line}");
        }
        println!(
            "kernel fuzz: seed {seed}, {ncases} cases ({npackets} packets) in {} groups \
             ({refused} rulesets refused by both), {secs:.1} s, {} disagreements \
             ({nrenamed} random NAT source ports renamed){}",
            g,
            failures.len(),
            if k.kmsg.is_none() {
                " (no /dev/kmsg: LOG lines not compared)"
            } else {
                ""
            }
        );
        assert!(
            failures.is_empty(),
            "{} disagreements with the kernel",
            failures.len()
        );
    }
}
