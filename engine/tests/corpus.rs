//! Real-world rulesets (`shared/data/corpus`): each input is loaded the way
//! its INDEX.md says (restore files through iptables-restore, `.sh` files as
//! command scripts, with the objects and chains they need first), and our
//! iptables-save output without its `#` lines must equal what iptables-nft
//! 1.8.9 printed (`expected/NAME.nft-1.8.9.save`).
//!
//! Files whose extensions are not all in the registry yet are reported and
//! skipped; every other file must agree. `CORPUS_SHOW=1` prints full diffs.

mod common;

use common::sh;
use engine::command::script::{parse_script, run_cmd};
use engine::sim::host::Host;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How one corpus case is loaded.
struct Case {
    /// Name of the expected file (without `.nft-1.8.9.save`).
    expected: &'static str,
    /// Inputs in order; `.rules` files are restored, `.sh` files run as scripts.
    inputs: &'static [&'static str],
    /// Restore with `--noflush` from this input on (index into `inputs`).
    noflush_from: usize,
    /// Commands run before the inputs.
    setup: &'static [&'static str],
}

const NFACCT: &[&str] = &[
    "nfacct add ct_state_invalid_dropped_pkts",
    "nfacct add localhost_nps_accepted_pkts",
];

fn cases() -> Vec<Case> {
    let plain = |name: &'static str, file: &'static str| Case {
        expected: name,
        inputs: Box::leak(vec![file].into_boxed_slice()),
        noflush_from: usize::MAX,
        setup: &[],
    };
    vec![
        plain(
            "docker-01-classic-default-bridge",
            "docker-01-classic-default-bridge.rules",
        ),
        plain(
            "docker-02-classic-usernet-portmap",
            "docker-02-classic-usernet-portmap.rules",
        ),
        Case {
            expected: "docker-03-usernet-portmap-noicc-ipset",
            inputs: &["docker-03-usernet-portmap-noicc-ipset.rules"],
            noflush_from: usize::MAX,
            setup: &["ipset create docker-ext-bridges-v4 hash:net"],
        },
        plain(
            "docker-04-modern-usernet-portmap",
            "docker-04-modern-usernet-portmap.rules",
        ),
        plain(
            "docker-05-iptabler-golden-icc-off",
            "docker-05-iptabler-golden-icc-off.rules",
        ),
        plain(
            "docker-06-real-2018-legacy-nat-quirks",
            "docker-06-real-2018-legacy-nat-quirks.rules",
        ),
        plain(
            "fail2ban-01-ubuntu1404-router-legacy-chains",
            "fail2ban-01-ubuntu1404-router-legacy-chains.rules",
        ),
        plain(
            "fail2ban-02-f2b-sshd-vsftpd-ban",
            "fail2ban-02-f2b-sshd-vsftpd-ban.rules",
        ),
        plain(
            "firewalld-01-centos7-iptables-backend",
            "firewalld-01-centos7-iptables-backend.rules",
        ),
        plain(
            "kube-proxy-00-legacy-2015-userspace",
            "kube-proxy-00-legacy-2015-userspace.rules",
        ),
        Case {
            expected: "kube-proxy-01-overall-restore-input",
            inputs: &["kube-proxy-01-overall-restore-input.rules"],
            noflush_from: usize::MAX,
            setup: NFACCT,
        },
        plain(
            "kube-proxy-02-tracepacket-full",
            "kube-proxy-02-tracepacket-full.rules",
        ),
        plain(
            "kube-proxy-03-cleanup-initial-node-state",
            "kube-proxy-03-cleanup-initial-node-state.rules",
        ),
        Case {
            expected: "kube-proxy-04a-sync1-full",
            inputs: &["kube-proxy-04a-sync1-full.rules"],
            noflush_from: usize::MAX,
            setup: NFACCT,
        },
        Case {
            expected: "kube-proxy-04b-after-04a",
            inputs: &[
                "kube-proxy-04a-sync1-full.rules",
                "kube-proxy-04b-sync2-add-svc3-noflush.rules",
            ],
            noflush_from: 1,
            setup: NFACCT,
        },
        Case {
            expected: "kube-proxy-04c-after-04a-04b",
            inputs: &[
                "kube-proxy-04a-sync1-full.rules",
                "kube-proxy-04b-sync2-add-svc3-noflush.rules",
                "kube-proxy-04c-sync3-delete-svc2-noflush.rules",
            ],
            noflush_from: 1,
            setup: NFACCT,
        },
        plain(
            "kube-proxy-05-real-eks-node",
            "kube-proxy-05-real-eks-node.rules",
        ),
        plain(
            "kube-proxy-06-real-kubeadm-flannel-nat",
            "kube-proxy-06-real-kubeadm-flannel-nat.rules",
        ),
        plain("openwrt-01-fw3-lede-2017", "openwrt-01-fw3-lede-2017.rules"),
        plain(
            "openwrt-02-gluon-fw3-ipv4-commands",
            "openwrt-02-gluon-fw3-ipv4-commands.sh",
        ),
        plain(
            "rhel-01-sysconfig-iptables-default",
            "rhel-01-sysconfig-iptables-default.rules",
        ),
        plain(
            "rhel-02-centos-default-plus-f2b",
            "rhel-02-centos-default-plus-f2b.rules",
        ),
        plain(
            "ufw-01-ubuntu1404-default-save",
            "ufw-01-ubuntu1404-default-save.rules",
        ),
        plain(
            "ufw-02-ubuntu2310-with-docker",
            "ufw-02-ubuntu2310-with-docker.rules",
        ),
        Case {
            expected: "ufw-03-conf-before-rules-fragment",
            inputs: &["ufw-03-conf-before-rules-fragment.rules"],
            noflush_from: 0,
            setup: &["iptables -N ufw-logging-deny"],
        },
    ]
}

const VERDICTS: &[&str] = &["ACCEPT", "DROP", "RETURN", "QUEUE"];
const PROTO_MATCHES: &[&str] = &["tcp", "udp", "icmp", "udplite", "sctp", "dccp", "esp", "ah"];

/// Extension names a text uses: `-m X`, targets that are not chains, and the
/// protocol match of `-p X` when the rule has options beyond iptables' own.
fn extensions_used(text: &str, chains: &BTreeSet<String>) -> BTreeSet<String> {
    const BASE: &[&str] = &[
        "--source",
        "--destination",
        "--protocol",
        "--in-interface",
        "--out-interface",
        "--jump",
        "--goto",
        "--match",
        "--table",
        "--wait",
        "--set-counters",
    ];
    let mut used = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut explicit = BTreeSet::new();
        let mut proto = None;
        let mut has_ext_option = false;
        for w in words.windows(2) {
            match w[0] {
                "-m" | "--match" => {
                    explicit.insert(w[1].to_string());
                    used.insert(w[1].to_string());
                }
                "-j" | "--jump" => {
                    let t = w[1];
                    if !VERDICTS.contains(&t) && !chains.contains(t) {
                        used.insert(t.to_string());
                    }
                }
                "-p" | "--protocol" => proto = Some(w[1].to_lowercase()),
                _ => {}
            }
        }
        for w in &words {
            if w.starts_with("--") && !BASE.contains(w) {
                has_ext_option = true;
            }
        }
        if let Some(p) = proto {
            if has_ext_option && PROTO_MATCHES.contains(&p.as_str()) && !explicit.contains(&p) {
                used.insert(p);
            }
        }
    }
    used
}

/// Chains a text declares (`:NAME` lines, `-N NAME`).
fn chains_declared(text: &str, into: &mut BTreeSet<String>) {
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            if let Some(name) = rest.split_whitespace().next() {
                into.insert(name.to_string());
            }
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(2) {
            if w[0] == "-N" || w[0] == "--new-chain" {
                into.insert(w[1].to_string());
            }
        }
    }
}

fn known(name: &str) -> bool {
    engine::ext::registry()
        .iter()
        .any(|e| e.name == name || e.aliases.contains(&name))
}

/// What iptables-save prints, without its `#` lines.
fn saved(host: &mut Host) -> String {
    sh(host, "iptables-save")
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Loads a case; `Err` says which command failed.
fn load(dir: &Path, case: &Case) -> Result<Host, String> {
    let mut host = Host::new("corpus");
    for cmd in case.setup {
        let out = sh(&mut host, cmd);
        if out.exit != 0 {
            return Err(format!("setup `{cmd}`: exit {}: {}", out.exit, out.stderr));
        }
    }
    for (i, input) in case.inputs.iter().enumerate() {
        let text = std::fs::read_to_string(dir.join(input)).expect("corpus file");
        if input.ends_with(".sh") {
            let cmds = parse_script(&text).map_err(|e| format!("{input}: {e:?}"))?;
            for c in &cmds {
                let read =
                    |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
                let out = run_cmd(&mut host, c, &read);
                if out.exit != 0 {
                    return Err(format!(
                        "{input} line {}: `{}`: exit {}: {}",
                        c.line, c.text, out.exit, out.stderr
                    ));
                }
            }
        } else {
            let noflush = if i >= case.noflush_from {
                " --noflush"
            } else {
                ""
            };
            let out = engine::command::run_argv(
                &mut host,
                &format!("iptables-restore{noflush}")
                    .split(' ')
                    .map(String::from)
                    .collect::<Vec<_>>(),
                Some(&text),
            );
            if out.exit != 0 {
                return Err(format!("{input}: exit {}: {}", out.exit, out.stderr));
            }
        }
    }
    Ok(host)
}

fn first_difference(ours: &str, want: &str) -> String {
    for (i, (a, b)) in ours.lines().zip(want.lines()).enumerate() {
        if a != b {
            return format!("line {}:\n      ours: {a}\n      want: {b}", i + 1);
        }
    }
    format!(
        "lengths differ: ours {} lines, want {} lines",
        ours.lines().count(),
        want.lines().count()
    )
}

#[test]
fn corpus_saves_match_iptables_nft() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir: PathBuf = shared.join("data/corpus");
    let show = std::env::var("CORPUS_SHOW").is_ok();
    let mut failed = Vec::new();
    let (mut ok, mut skipped) = (0, 0);
    for case in cases() {
        let mut chains = BTreeSet::new();
        let mut used = BTreeSet::new();
        let texts: Vec<String> = case
            .inputs
            .iter()
            .map(|f| std::fs::read_to_string(dir.join(f)).expect("corpus file"))
            .collect();
        for t in &texts {
            chains_declared(t, &mut chains);
        }
        for cmd in case.setup {
            chains_declared(cmd, &mut chains);
        }
        for t in &texts {
            used.extend(extensions_used(t, &chains));
        }
        if case.setup.iter().any(|c| c.starts_with("ipset")) {
            used.insert("set".into());
        }
        let missing: Vec<&String> = used.iter().filter(|n| !known(n)).collect();
        if !missing.is_empty() {
            println!("skipped {}: needs {missing:?}", case.expected);
            skipped += 1;
            continue;
        }
        let want = std::fs::read_to_string(
            dir.join("expected")
                .join(format!("{}.nft-1.8.9.save", case.expected)),
        )
        .expect("expected file");
        match load(&dir, &case) {
            Err(e) => {
                println!("FAIL {}: {e}", case.expected);
                failed.push(case.expected);
            }
            Ok(mut host) => {
                let ours = saved(&mut host);
                if ours == want {
                    println!("ok {}", case.expected);
                    ok += 1;
                } else {
                    println!("FAIL {}: {}", case.expected, first_difference(&ours, &want));
                    if show {
                        println!("--- ours\n{ours}--- want\n{want}");
                    }
                    failed.push(case.expected);
                }
            }
        }
    }
    println!(
        "corpus: {ok} agree, {} differ, {skipped} skipped",
        failed.len()
    );
    assert!(failed.is_empty(), "corpus files differing: {failed:?}");
}
