//! Rule fragments of lab checks: a piece of `iptables -S` rule text
//! (`-p tcp --dport 22 -j DROP`) parsed by the iptables parser and printed
//! back in canonical form, then cut into option groups (`-p tcp`, `-m tcp`,
//! `--dport 22`, `-j DROP`, `! -s 10.0.0.0/8`) so that a rule "has" a
//! fragment when it holds every group of it, in any order.

use crate::ext::SetRef;
use crate::iptables::parse::{parse, ParseEnv};
use crate::ruleset::Rule;
use std::net::Ipv4Addr;

/// A fragment in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The canonical text (what `iptables -S` prints after `-A CHAIN`).
    pub text: String,
    /// Its option groups.
    pub groups: Vec<String>,
}

impl Fragment {
    /// Whether `rule` holds every option group of the fragment.
    pub fn matches(&self, rule: &Rule) -> bool {
        let mut have = groups(rule.spec_text().trim());
        self.groups
            .iter()
            .all(|g| match have.iter().position(|h| h == g) {
                Some(i) => {
                    have.swap_remove(i);
                    true
                }
                None => false,
            })
    }
}

/// What the parser may look up while reading a fragment.
pub struct Lookups<'a> {
    pub resolve: &'a dyn Fn(&str) -> Vec<Ipv4Addr>,
    pub sets: &'a dyn Fn(&str) -> Option<SetRef>,
}

/// Reads a fragment for `table` (any names resolve to nothing, any set exists).
pub fn fragment(text: &str, table: &str) -> Result<Fragment, String> {
    let resolve = |_: &str| Vec::new();
    let sets = |name: &str| {
        Some(SetRef {
            name: name.to_string(),
            dimensions: 6,
            inet6: false,
        })
    };
    fragment_with(
        text,
        table,
        &Lookups {
            resolve: &resolve,
            sets: &sets,
        },
    )
}

/// Reads a fragment for `table` with a host's names and sets.
pub fn fragment_with(text: &str, table: &str, look: &Lookups) -> Result<Fragment, String> {
    let words = crate::iptables::restore::split_rule_line(text);
    if words.is_empty() {
        return Err("the rule fragment is empty".into());
    }
    if let Some(w) = words.iter().find(|w| {
        matches!(
            w.as_str(),
            "-A" | "--append"
                | "-I"
                | "--insert"
                | "-D"
                | "--delete"
                | "-R"
                | "--replace"
                | "-t"
                | "--table"
        )
    }) {
        return Err(format!(
            "`{w}' does not belong in a rule fragment (write only the rule's options, like `-p tcp --dport 22 -j DROP')"
        ));
    }
    let mut argv: Vec<String> = vec![
        "iptables".into(),
        "-t".into(),
        table.into(),
        "-A".into(),
        "FRAGMENT".into(),
    ];
    argv.extend(words);
    let nfacct = |_: &str| true;
    let env = ParseEnv {
        resolve: look.resolve,
        sets: look.sets,
        nfacct: &nfacct,
        restore: false,
    };
    let mut p = parse(&argv, &env, &mut Vec::new())
        .map_err(|e| format!("`{text}' is not a rule: {}", e.msg))?;
    if p.output.is_some() {
        return Err(format!("`{text}' is not a rule"));
    }
    let rule = match p.rules.pop() {
        Some(r) if p.rules.is_empty() => r,
        _ => {
            return Err(format!(
                "`{text}' makes several rules (one per address); name one address"
            ))
        }
    };
    let canonical = rule.spec_text().trim().to_string();
    Ok(Fragment {
        groups: groups(&canonical),
        text: canonical,
    })
}

/// Cuts canonical rule text into option groups: an option with its values,
/// a leading `!` kept with the option it negates. Quoted words stay values.
pub fn groups(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut bang = false;
    for (word, quoted) in words(text) {
        if !quoted && word == "!" {
            bang = true;
            continue;
        }
        let option = !quoted
            && word.starts_with('-')
            && !word[1..].starts_with(|c: char| c.is_ascii_digit());
        if option || out.is_empty() {
            let mut g = String::new();
            if bang {
                g.push_str("! ");
                bang = false;
            }
            g.push_str(&word);
            out.push(g);
        } else if let Some(last) = out.last_mut() {
            last.push(' ');
            if bang {
                // `--tcp-flags ! SYN …` style: keep the `!` with the value.
                last.push_str("! ");
                bang = false;
            }
            last.push_str(&word);
        }
    }
    out
}

/// Words of canonical text with whether each was quoted (the quotes
/// removed, `\"` and `\\` unescaped inside them).
fn words(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        let mut w = String::new();
        let mut quoted = false;
        if first == '"' {
            quoted = true;
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => {
                        if let Some(n) = chars.next() {
                            w.push(n);
                        }
                    }
                    c => w.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_ascii_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
        }
        out.push((w, quoted));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iptables::parse::{parse, ParseEnv};

    fn rule(text: &str) -> Rule {
        let mut argv: Vec<String> = vec!["iptables".into(), "-A".into(), "INPUT".into()];
        argv.extend(crate::iptables::restore::split_rule_line(text));
        let resolve = |_: &str| Vec::new();
        let sets = |_: &str| None;
        let nfacct = |_: &str| false;
        let env = ParseEnv {
            resolve: &resolve,
            sets: &sets,
            nfacct: &nfacct,
            restore: false,
        };
        parse(&argv, &env, &mut Vec::new())
            .unwrap()
            .rules
            .pop()
            .unwrap()
    }

    #[test]
    fn state_lists_in_any_order_agree() {
        let a = fragment("-m state --state ESTABLISHED,RELATED -j ACCEPT", "filter").unwrap();
        let b = fragment("-m state --state RELATED,ESTABLISHED -j ACCEPT", "filter").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.text, "-m state --state RELATED,ESTABLISHED -j ACCEPT");
        assert!(a.matches(&rule(
            "-i eth0 -m state --state ESTABLISHED,RELATED -j ACCEPT"
        )));
        assert!(!a.matches(&rule("-m state --state ESTABLISHED -j ACCEPT")));
    }

    #[test]
    fn implicit_protocol_match_is_spelled_out() {
        let a = fragment("-p tcp --dport 22", "filter").unwrap();
        let b = fragment("-p tcp -m tcp --dport 22", "filter").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.groups, ["-p tcp", "-m tcp", "--dport 22"]);
        assert!(a.matches(&rule("-s 10.0.0.0/8 -p tcp --dport 22 -j DROP")));
        assert!(!a.matches(&rule("-p tcp --dport 23 -j DROP")));
        assert!(!a.matches(&rule("-p udp --dport 22 -j DROP")));
    }

    #[test]
    fn groups_not_loose_words() {
        // The words `-j` and `DROP` both appear, but not as one option.
        let f = fragment("-j DROP", "filter").unwrap();
        assert!(!f.matches(&rule("-m comment --comment DROP -j ACCEPT")));
        assert!(f.matches(&rule("-p icmp -j DROP")));
        // Negation is part of the group.
        let n = fragment("! -s 10.0.0.1", "filter").unwrap();
        assert_eq!(n.groups, ["! -s 10.0.0.1/32"]);
        assert!(!n.matches(&rule("-s 10.0.0.1 -j DROP")));
        assert!(n.matches(&rule("! -s 10.0.0.1 -j DROP")));
    }

    #[test]
    fn quoted_values_stay_values() {
        let f = fragment("-j LOG --log-prefix \"SSH: \"", "filter").unwrap();
        assert_eq!(f.groups, ["-j LOG", "--log-prefix SSH: "]);
        assert!(f.matches(&rule("-p tcp --dport 22 -j LOG --log-prefix \"SSH: \"")));
        assert!(!f.matches(&rule("-j LOG --log-prefix \"FTP: \"")));
    }

    #[test]
    fn bad_fragments_say_why() {
        let e = fragment("-p tcp --dport", "filter").unwrap_err();
        assert!(e.contains("is not a rule"), "{e}");
        let e = fragment("-A INPUT -j DROP", "filter").unwrap_err();
        assert!(e.contains("does not belong"), "{e}");
        let e = fragment("   ", "filter").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = fragment("-s 10.0.0.1,10.0.0.2 -j DROP", "filter").unwrap_err();
        assert!(e.contains("several rules"), "{e}");
    }
}
