//! Byte-exact checks against what the real iptables-nft 1.8.9 sends
//! (`tests/kernel_data/rule_bytes.tsv`, recorded with strace by
//! `tests/kernel_data/capture_rule_bytes.py`), and the way back.

use super::expr::{self, Expr};
use super::rule::{decode_rule, encode_rule};
use crate::iptables::parse::{parse, ParseEnv};
use crate::iptables::restore::split_rule_line;
use crate::iptables::save::rule_line;
use crate::ruleset::Rule;

const DATA: &str = include_str!("../../tests/kernel_data/rule_bytes.tsv");

/// Specs iptables-nft sends in a form that reads back as another spec (the
/// engine holds the read-back form): only the way back is checked.
/// `-m recent` without `--mask` fills the whole mask union; restore text
/// always carries `--mask`, which fills four bytes (the form we send).
const READBACK_ONLY: &[&str] = &[
    "-A INPUT -p tcp ! --dport :1023 -j DROP",
    "-A INPUT -m recent --set",
    "-A INPUT -m recent --name foo --set --rdest",
    "-A INPUT -m recent ! --update --seconds 10 --reap --name x",
    "-A INPUT -m recent --remove --name y",
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn parse_rule(table: &str, spec: &str) -> (String, Rule) {
    let mut argv = vec!["iptables".to_string(), "-t".into(), table.into()];
    argv.extend(split_rule_line(spec));
    let resolve = |_: &str| Vec::new();
    let sets = |_: &str| None;
    let nfacct = |_: &str| true;
    let env = ParseEnv {
        resolve: &resolve,
        sets: &sets,
        nfacct: &nfacct,
        restore: false,
    };
    let p = parse(&argv, &env, &mut Vec::new()).unwrap_or_else(|e| panic!("{spec}: {e:?}"));
    (p.chain.clone().unwrap_or_default(), p.rules[0].clone())
}

fn rows() -> Vec<[&'static str; 5]> {
    DATA.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            [f[0], f[1], f[2], f[3], f[4]]
        })
        .collect()
}

#[test]
fn encoding_is_byte_exact() {
    let mut bad = Vec::new();
    for [table, spec, exprs, compat, _] in rows() {
        if READBACK_ONLY.contains(&spec) {
            continue;
        }
        let (_, rule) = parse_rule(table, spec);
        match encode_rule(&[], table, &rule, false) {
            Ok(enc) => {
                let got = hex(&expr::write_list(&enc.exprs));
                let mut c = super::nla::Attrs::new();
                c.u32(1, enc.compat.0).u32(2, enc.compat.1);
                if got != exprs || hex(&c.buf) != compat {
                    bad.push(format!(
                        "{table} {spec}\n  want {exprs} {compat}\n  got  {got} {}",
                        hex(&c.buf)
                    ));
                }
            }
            Err(e) => bad.push(format!("{table} {spec}: {e}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn decoding_gives_the_saved_rule() {
    let mut bad = Vec::new();
    for [table, spec, exprs, _, saved] in rows() {
        let list = expr::read_list(&unhex(exprs)).expect("expressions parse");
        let chain = saved.split(' ').nth(1).unwrap_or("");
        match decode_rule(&[], table, &list) {
            Ok(rule) => {
                let line = rule_line(chain, &rule, false);
                if line != saved {
                    bad.push(format!("{table} {spec}\n  want {saved}\n  got  {line}"));
                    continue;
                }
                // And it is the same rule as the saved text parsed.
                let (_, want) = parse_rule(table, saved);
                if !rule.same_as(&want) {
                    bad.push(format!("{table} {spec}: not the same rule as {saved}"));
                }
            }
            Err(e) => bad.push(format!("{table} {spec}: {e}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn expressions_round_trip_through_attributes() {
    for [_, spec, exprs, _, _] in rows() {
        let list = expr::read_list(&unhex(exprs)).expect("parse");
        assert!(
            !list.iter().any(|e| matches!(e, Expr::Other { .. })),
            "{spec}"
        );
        assert_eq!(hex(&expr::write_list(&list)), exprs, "{spec}");
    }
}
