//! The incremental table validation against the whole-table walk it
//! replaces: random command sequences (rules with jumps, gotos and
//! hook-restricted targets, deletions, flushes, renames, policies, rate
//! estimators, restore blocks) give the same output, errors and rulesets
//! either way.

use super::Batch;
use crate::command::run_argv;
use crate::ext::KernelError;
use crate::ruleset::{check, Hook};
use crate::sim::host::Host;
use std::cell::Cell;
use std::fmt::Write;

thread_local! {
    /// Validate by walking the whole table (`check::validate`) as before.
    pub(super) static REFERENCE: Cell<bool> = const { Cell::new(false) };
}

/// The validation as it was: the whole table after a jump or replacement,
/// else the new rule with the hooks `check::hook_masks` finds for its chain.
pub(super) fn reference_validation(
    b: &Batch,
    idx: usize,
    pos: usize,
    whole: bool,
) -> Result<(), KernelError> {
    let others = b.validator.others();
    if whole {
        return check::validate(&b.table, others);
    }
    let chain = &b.table.chains[idx];
    let masks = check::hook_masks(&b.table);
    let hooks = masks.get(chain.name.as_str()).copied().unwrap_or(0);
    let mut est = others.to_vec();
    est.extend(crate::ext::rateest_target::estimators_of(&b.table));
    match chain.rules.get(pos) {
        Some(r) => check::check_rule(b.table.name, hooks, chain.hook, &est, r),
        None => Ok(()),
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}

const CHAINS: &[&str] = &["c0", "c1", "c2", "c3", "c4", "c5"];

fn rule_spec(r: &mut Rng, table: &str) -> String {
    let builtins: &[&str] = match table {
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        _ => &["INPUT", "FORWARD", "OUTPUT"],
    };
    let chain = if r.below(3) == 0 {
        r.pick(builtins)
    } else {
        r.pick(CHAINS)
    };
    let target = match r.below(14) {
        0..=4 => format!("-j {}", r.pick(CHAINS)),
        5 => format!("-g {}", r.pick(CHAINS)),
        6 if table == "filter" => "-j REJECT".to_string(),
        6 => "-j MASQUERADE".to_string(),
        7 | 12 if table == "nat" => "-p tcp -j DNAT --to-destination 10.0.0.1:80".to_string(),
        8 if table == "nat" => "-j MASQUERADE".to_string(),
        9 => format!(
            "-j RATEEST --rateest-name E{} --rateest-interval 250ms --rateest-ewmalog 500ms",
            r.below(2)
        ),
        10 => format!(
            "-m rateest --rateest1 E{} --rateest-lt --rateest-bps --rateest2 E{}",
            r.below(2),
            r.below(2)
        ),
        11 => "-j LOG".to_string(),
        _ => format!("-s 10.0.{}.0/24", r.below(4)),
    };
    format!("{chain} {target}")
}

/// One random command, as a script line or a restore block; with
/// `adding`, only rules added (no recomputation from scratch after).
fn command(r: &mut Rng, adding: bool) -> (Vec<String>, Option<String>) {
    let table = r.pick(&["filter", "nat", "nat"]);
    let t = |v: &str| -> Vec<String> {
        let mut a = vec!["iptables".to_string(), "-t".into(), table.into()];
        a.extend(v.split(' ').map(String::from));
        a
    };
    let pick = if adding {
        [0, 7, 19][r.below(3) as usize]
    } else {
        r.below(20)
    };
    match pick {
        0..=6 => (t(&format!("-A {}", rule_spec(r, table))), None),
        7 => (t(&format!("-I {}", rule_spec(r, table))), None),
        8 => (t(&format!("-N {}", r.pick(CHAINS))), None),
        9 => (t(&format!("-D {}", rule_spec(r, table))), None),
        10 => (t(&format!("-D {} 1", r.pick(CHAINS))), None),
        11 => (t(&format!("-F {}", r.pick(CHAINS))), None),
        12 => (t(&format!("-X {}", r.pick(CHAINS))), None),
        13 => (
            t(&format!("-R {} 1 -j {}", r.pick(CHAINS), r.pick(CHAINS))),
            None,
        ),
        14 => (
            t(&format!("-P {} DROP", r.pick(&["INPUT", "OUTPUT"]))),
            None,
        ),
        15 => (t(&format!("-Z {}", r.pick(CHAINS))), None),
        16 => (
            t(&format!("-E {} {}", r.pick(CHAINS), r.pick(&["c6", "c7"]))),
            None,
        ),
        _ => {
            let mut text = format!("*{table}\n");
            for c in CHAINS {
                if !adding && r.below(2) == 0 {
                    writeln!(text, ":{c} - [0:0]").unwrap();
                }
            }
            for _ in 0..r.below(if adding { 24 } else { 16 }) {
                let line = match r.below(if adding { 1 } else { 12 }) {
                    0..=6 => format!("-A {}", rule_spec(r, table)),
                    7 => format!("-I {}", rule_spec(r, table)),
                    8 => format!("-D {}", rule_spec(r, table)),
                    9 => format!("-F {}", r.pick(CHAINS)),
                    10 => format!("-X {}", r.pick(CHAINS)),
                    _ => format!("-N {}", r.pick(CHAINS)),
                };
                writeln!(text, "{line}").unwrap();
            }
            text.push_str("COMMIT\n");
            let mut argv = vec!["iptables-restore".to_string()];
            if adding || r.below(2) == 0 {
                argv.push("--noflush".into());
            }
            (argv, Some(text))
        }
    }
}

fn run(h: &mut Host, argv: &[String], stdin: Option<&str>, reference: bool) -> String {
    REFERENCE.with(|c| c.set(reference));
    let out = run_argv(h, argv, stdin);
    REFERENCE.with(|c| c.set(false));
    format!("{} {:?} {:?}", out.exit, out.stdout, out.stderr)
}

#[test]
fn hooks_reaching_a_chain_grow_with_jumps() {
    // The chain's rules were fine while nothing reached it; a jump from
    // POSTROUTING brings a hook DNAT refuses, a later rule meets the same.
    let script = [
        "iptables -t nat -N a",
        "iptables -t nat -N b",
        "iptables -t nat -A POSTROUTING -s 10.9.9.9",
        "iptables -t nat -A b -p tcp -j DNAT --to-destination 10.0.0.1:80",
        "iptables -t nat -A a -j b",
        "iptables -t nat -A PREROUTING -j a",
        "iptables -t nat -A POSTROUTING -j a",
        "iptables -t nat -A OUTPUT -j b",
    ];
    for reference in [false, true] {
        let mut h = Host::new("h");
        let exits: Vec<String> = script
            .iter()
            .map(|l| {
                let argv: Vec<String> = l.split(' ').map(String::from).collect();
                run(&mut h, &argv, None, reference)
            })
            .collect();
        assert!(exits[6].starts_with("4 "), "{exits:?}");
        assert!(exits[..6].iter().all(|e| e.starts_with("0 ")), "{exits:?}");
        let text = "*nat\n-A OUTPUT -j b\n-A POSTROUTING -j a\n-A OUTPUT -j a\nCOMMIT\n";
        let out = run(
            &mut h,
            &["iptables-restore".into(), "--noflush".into()],
            Some(text),
            reference,
        );
        assert!(out.starts_with("4 ") && out.contains("line 3"), "{out}");
    }
}

#[test]
fn incremental_validation_answers_as_the_whole_walk() {
    let mut refusals = 0;
    for seed in 1..=120u64 {
        let mut r = Rng(0x2545_f491_4f6c_dd1d ^ seed.wrapping_mul(0x9e37_79b9));
        let mut ours = Host::new("h");
        let mut theirs = Host::new("h");
        // Built-in chains exist from the start: adding rules then changes
        // nothing but the rules (no recomputation from scratch).
        for (t, c) in [
            ("filter", "INPUT"),
            ("filter", "FORWARD"),
            ("filter", "OUTPUT"),
            ("nat", "PREROUTING"),
            ("nat", "INPUT"),
            ("nat", "OUTPUT"),
            ("nat", "POSTROUTING"),
        ] {
            let argv: Vec<String> = ["iptables", "-t", t, "-P", c, "ACCEPT"]
                .map(String::from)
                .to_vec();
            run(&mut ours, &argv, None, false);
            run(&mut theirs, &argv, None, true);
        }
        for step in 0..90 {
            // Runs of additions only, between runs of anything.
            let (argv, stdin) = command(&mut r, step % 30 >= 10);
            let a = run(&mut ours, &argv, stdin.as_deref(), false);
            let b = run(&mut theirs, &argv, stdin.as_deref(), true);
            assert_eq!(a, b, "seed {seed} step {step}: {argv:?}\n{stdin:?}");
            if a.starts_with("4 ") {
                refusals += 1;
            }
        }
        let save = |h: &mut Host| run(h, &["iptables-save".to_string()], None, false);
        assert_eq!(save(&mut ours), save(&mut theirs), "seed {seed}");
    }
    // The kernel refused often enough for the comparison to mean something.
    eprintln!("refusals {refusals}");
    assert!(refusals > 40, "only {refusals} refusals");
    let _ = Hook::Input;
}

/// Runs a script both ways; the outputs of its commands.
fn both_ways(script: &[(&str, Option<&str>)]) -> Vec<String> {
    let mut outs = Vec::new();
    for reference in [false, true] {
        let mut h = Host::new("h");
        let o: Vec<String> = script
            .iter()
            .map(|(l, stdin)| {
                let argv: Vec<String> = l.split(' ').map(String::from).collect();
                run(&mut h, &argv, *stdin, reference)
            })
            .collect();
        outs.push(o);
    }
    assert_eq!(outs[0], outs[1]);
    outs.swap_remove(0)
}

#[test]
fn deletions_and_estimators_within_a_batch() {
    // A deleted jump takes its hook away: DNAT in the chain is fine after.
    let o = both_ways(&[
        ("iptables -t nat -N a", None),
        ("iptables -t nat -A POSTROUTING -j a", None),
        (
            "iptables-restore --noflush",
            Some("*nat\n-A OUTPUT -s 10.1.1.1\n-D POSTROUTING -j a\n-A a -p tcp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n"),
        ),
    ]);
    assert!(o[2].starts_with("0 "), "{o:?}");
    // A deleted RATEEST takes its estimator away: a rule reading it is
    // refused once a jump has the table validated again. (The first line
    // of each block has the batch validate before the deletion.)
    let o = both_ways(&[
        (
            "iptables -A INPUT -j RATEEST --rateest-name E0 --rateest-interval 250ms --rateest-ewmalog 500ms",
            None,
        ),
        ("iptables -N b", None),
        (
            "iptables -A b -m rateest --rateest1 E0 --rateest-lt --rateest-bps --rateest2 E0",
            None,
        ),
        (
            "iptables-restore --noflush",
            Some("*filter\n-A OUTPUT -j b\n-D INPUT -j RATEEST --rateest-name E0 --rateest-interval 250ms --rateest-ewmalog 500ms\n-A OUTPUT -j b\nCOMMIT\n"),
        ),
    ]);
    assert!(o[3].starts_with("4 ") && o[3].contains("line 4"), "{o:?}");
}

#[test]
fn chain_positions_follow_chains_coming_and_going() {
    use crate::ruleset::{Chain, Table};
    let mut r = Rng(99);
    let mut t = Table::new("filter");
    let mut names = super::ChainNames::default();
    for step in 0..3000 {
        let name = if r.below(4) == 0 {
            format!("a-chain-name-longer-than-thirty-bytes-{}", r.below(300))
        } else {
            format!("c{}", r.below(300))
        };
        match (r.below(3), t.chain_index(&name)) {
            (0 | 1, None) => {
                let pos = t.add_chain(Chain::user(&name));
                names.added(pos, &name);
            }
            (2, Some(i)) => {
                let c = t.chains.remove(i);
                names.removed(i, &c.name);
            }
            _ => {}
        }
        if step % 500 == 0 {
            names.stale();
        }
        for k in 0..300 {
            for n in [
                format!("c{k}"),
                format!("a-chain-name-longer-than-thirty-bytes-{k}"),
            ] {
                assert_eq!(names.find(&t, &n), t.chain_index(&n), "step {step} {n}");
            }
        }
    }
}

/// The built-in chain a rule goes into may come into the cache after its
/// jump was checked, moving the chain jumped to: the rule still jumps to
/// that chain, not to the built-in chain now at its old position (which
/// the kernel would refuse).
#[test]
fn a_jump_found_before_its_chain_was_made_goes_to_the_same_chain() {
    let text = "*nat\n:Z - [0:0]\n-A PREROUTING -j Z\n-A POSTROUTING -j Z\nCOMMIT\n";
    for reference in [false, true] {
        let mut h = Host::new("h");
        let out = run(&mut h, &["iptables-restore".into()], Some(text), reference);
        assert!(out.starts_with("0 "), "{out}");
        let save = run(&mut h, &["iptables-save".into()], None, false);
        assert!(
            save.contains("-A PREROUTING -j Z\\n-A POSTROUTING -j Z"),
            "{save}"
        );
    }
}
