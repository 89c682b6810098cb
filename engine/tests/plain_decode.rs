//! Kernel mode reads most rules straight into engine rules
//! (`kernel::plain`); that shortcut must give exactly what the general
//! path (the codecs' words through the iptables parser) gives. Every rule
//! of every corpus file, every upstream row, a kube-proxy ruleset and edge
//! cases are encoded as iptables-nft encodes them and read back both ways.
//! No kernel needed.

mod common;

use engine::kernel::expr::{read_list, write_list};
use engine::kernel::live::Live;
use engine::kernel::plain::decode_plain;
use engine::kernel::plan::desired;
use engine::kernel::rule::{decode_general, encode_rule};

#[derive(Default)]
struct Tally {
    rules: usize,
    plain: usize,
    bad: Vec<String>,
}

impl Tally {
    /// Reads every rule of a restore input back both ways.
    fn input(&mut self, what: &str, text: &str) -> bool {
        let Ok(want) = desired(&Live::default(), text, false) else {
            return false;
        };
        for (table, _) in &want.tables {
            for chain in &table.chains {
                for rule in &chain.rules {
                    let Ok(enc) = encode_rule(&[], table.name, rule, true) else {
                        continue;
                    };
                    // As a dump brings them: written and read back.
                    let exprs = read_list(&write_list(&enc.exprs)).expect("expressions read back");
                    self.rules += 1;
                    let Some(fast) = decode_plain(table.name, &exprs) else {
                        continue;
                    };
                    self.plain += 1;
                    let line = engine::iptables::save::rule_line(&chain.name, rule, false);
                    match decode_general(&[], table.name, &exprs) {
                        Ok(slow) if format!("{fast:?}") == format!("{slow:?}") => {}
                        Ok(slow) => self.bad.push(format!(
                            "{what}: {line}\n  plain   {fast:?}\n  general {slow:?}"
                        )),
                        Err(e) => self
                            .bad
                            .push(format!("{what}: {line}: plain read it, general says {e}")),
                    }
                }
            }
        }
        true
    }

    fn check(&self, at_least_plain: usize) {
        eprintln!("{} of {} rules took the plain path", self.plain, self.rules);
        assert!(
            self.bad.is_empty(),
            "{} divergences:\n{}",
            self.bad.len(),
            self.bad.join("\n")
        );
        assert!(
            self.plain >= at_least_plain,
            "only {} of {} rules took the plain path",
            self.plain,
            self.rules
        );
    }
}

#[test]
fn plain_equals_general_on_the_corpus() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let mut t = Tally::default();
    let mut files = 0;
    for e in std::fs::read_dir(shared.join("data/corpus")).expect("corpus") {
        let path = e.expect("entry").path();
        if path.extension().is_some_and(|x| x == "rules") {
            let text = std::fs::read_to_string(&path).expect("read");
            files += t.input(&path.display().to_string(), &text) as usize;
        }
    }
    assert!(files > 10, "only {files} corpus files loaded");
    t.check(50);
}

#[test]
fn plain_equals_general_on_upstream_rows() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let tsv = std::fs::read_to_string(shared.join("data/upstream-t/t-cases-nft-1.8.9.tsv"))
        .expect("upstream rows");
    let mut t = Tally::default();
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let [_, _, table, chain, _, _, exit, saved, ..] = f[..] else {
            continue;
        };
        if exit != "0" || saved.is_empty() {
            continue;
        }
        // Jumps need their chain: declare the usual ones.
        let text = format!(
            "*{table}\n:{chain} - [0:0]\n:foo - [0:0]\n:bar - [0:0]\n-A {chain} {saved}\nCOMMIT\n"
        );
        t.input(&format!("{table} {chain}"), &text);
    }
    t.check(20);
}

#[test]
fn plain_equals_general_on_kube_proxy_rules_and_edges() {
    let edges = [
        "-A KUBE-SVC-A -m comment --comment \"ns/svc:http cluster IP\" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A",
        "-A KUBE-SVC-A -m statistic --mode random --probability 1 -j KUBE-SEP-A",
        "-A KUBE-SVC-A -m statistic --mode random --probability 0 -j KUBE-SEP-A",
        "-A KUBE-SVC-A -m statistic --mode random ! --probability 0.5 -j KUBE-SEP-A",
        "-A KUBE-SVC-A -m statistic --mode nth --every 3 --packet 1 -j KUBE-SEP-A",
        "-A KUBE-SVC-A ! -s 10.128.0.0/10 -d 10.96.0.1/32 -p tcp -m comment --comment x -m tcp --dport 80 -j KUBE-MARK-MASQ",
        "-A KUBE-SVC-A -p tcp -m tcp ! --dport 0 -j KUBE-MARK-MASQ",
        "-A KUBE-SVC-A -p tcp -m tcp --sport 65535 -j RETURN",
        "-A KUBE-SVC-A -p tcp -m tcp --sport 1 --dport 2 -j RETURN",
        "-A KUBE-SVC-A -p tcp -m tcp --dport 1:2 -j RETURN",
        "-A KUBE-SVC-A -p tcp -m tcp --dport 80 -m tcp --sport 9 -j RETURN",
        "-A KUBE-SVC-A -p udp -m udp --dport 53 -j RETURN",
        "-A KUBE-SVC-A ! -p tcp -j RETURN",
        "-A KUBE-SEP-A -s 10.244.0.1/32 -m comment --comment \"!x\" -j KUBE-MARK-MASQ",
        "-A KUBE-SEP-A -m comment --comment \"-x\" -j KUBE-MARK-MASQ",
        "-A KUBE-SEP-A -m comment --comment \"\" -j KUBE-MARK-MASQ",
        "-A KUBE-SEP-A -m comment --comment \"a \\\"quoted\\\" 'text' \\\\ here\" -j ACCEPT",
        "-A KUBE-SEP-A -p tcp -m comment --comment \"ns/svc:http\" -m tcp -j DNAT --to-destination 10.244.0.1:8080",
        "-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.0.1",
        "-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.0.1-10.244.0.9:80",
        "-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.0.1:80-90",
        "-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.0.1:80 --random",
        "-A KUBE-SEP-A -p udp -m udp -j DNAT --to-destination 10.244.0.1:53",
        "-A KUBE-SEP-A -p tcp -j DNAT --to-destination 10.244.0.1:8080",
        "-A KUBE-SEP-A -i eth0 ! -o lo -f -j DROP",
        "-A KUBE-SEP-A -j KUBE-MARK-MASQ",
        "-A KUBE-SEP-A -g KUBE-MARK-MASQ",
    ];
    let mut t = Tally::default();
    let mut refused = Vec::new();
    for e in edges {
        let text = format!(
            "*nat\n:KUBE-SVC-A - [0:0]\n:KUBE-SEP-A - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n{e}\nCOMMIT\n"
        );
        if !t.input(e, &text) {
            refused.push(e);
        }
    }
    assert!(refused.len() <= 2, "edge cases refused: {refused:?}");
    // The comment alone has a 255-byte limit: the longest one.
    let long = format!(
        "*filter\n-A INPUT -m comment --comment {} -j ACCEPT\nCOMMIT\n",
        "y".repeat(255)
    );
    assert!(t.input("long comment", &long));
    t.check(10);

    // A kube-proxy ruleset of 50 services as the benchmark uses.
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let out = std::process::Command::new("python3")
        .arg(shared.join("tools/gen-kube-ruleset.py"))
        .arg("50")
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        eprintln!("skipped the kube-proxy ruleset: python3 could not make it");
        return;
    };
    let mut k = Tally::default();
    assert!(k.input("kube", &String::from_utf8_lossy(&out.stdout)));
    // Every rule of the services is of the plain kind.
    k.check(k.rules - 20);
}
