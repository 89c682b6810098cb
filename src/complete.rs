//! Tab completion for the terminal: programs, iptables and ipset commands
//! and options, tables, chains, targets, matches, sets and interfaces, all
//! read from the engine's own tables and the host's current state.

use engine::ext::{registry, ExtKind};
use engine::iptables::opts::BASE_LONGOPTS;
use engine::ruleset::TABLE_ORDER;
use engine::sim::host::Host;

/// Terminal built-ins the session handles itself.
pub const BUILTINS: &[&str] = &["clear", "help", "history"];

const IPSET_CMDS: &[&str] = &[
    "create", "add", "del", "test", "destroy", "list", "save", "restore", "flush", "rename",
    "swap", "help", "version",
];
const PROTOS: &[&str] = &[
    "tcp", "udp", "icmp", "all", "sctp", "udplite", "esp", "ah", "gre",
];

/// What Tab can do: replace the text from byte `start` of the line with one of `options`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    pub start: usize,
    pub options: Vec<String>,
}

impl Completion {
    /// The longest text all options start with.
    pub fn common_prefix(&self) -> String {
        let Some(first) = self.options.first() else {
            return String::new();
        };
        let mut n = first.len();
        for o in &self.options[1..] {
            n = n.min(
                first
                    .bytes()
                    .zip(o.bytes())
                    .take_while(|(a, b)| a == b)
                    .count(),
            );
        }
        while !first.is_char_boundary(n) {
            n -= 1;
        }
        first[..n].to_string()
    }
}

fn chains(host: &Host, table: &str) -> Vec<String> {
    match host.ruleset.table(table) {
        Some(t) => t.listing().into_iter().map(|c| c.name).collect(),
        None => Vec::new(),
    }
}

fn user_chains(host: &Host, table: &str) -> Vec<String> {
    match host.ruleset.table(table) {
        Some(t) => t
            .chains
            .iter()
            .filter(|c| !c.is_builtin())
            .map(|c| c.name.clone())
            .collect(),
        None => Vec::new(),
    }
}

fn ext_names(kind: ExtKind) -> Vec<String> {
    let mut v: Vec<String> = registry()
        .iter()
        .filter(|e| e.kind == kind)
        .flat_map(|e| std::iter::once(e.name).chain(e.aliases.iter().copied()))
        .map(String::from)
        .collect();
    engine::sort::sort(&mut v);
    v.dedup();
    v
}

fn ext_options(name: &str, kind: ExtKind) -> Vec<String> {
    registry()
        .iter()
        .filter(|e| e.kind == kind && (e.name == name || e.aliases.contains(&name)))
        .flat_map(|e| e.options.iter().map(|o| format!("--{}", o.name)))
        .collect()
}

/// Candidates for the word being typed at the end of `line` on `host`.
pub fn complete(host: &Host, programs: &[&str], line: &str) -> Completion {
    let start = line
        .rfind(|c: char| c.is_whitespace() || c == ';' || c == '|')
        .map(|i| i + 1)
        .unwrap_or(0);
    let cur = &line[start..];
    // Words of the current command (after the last `;`).
    let cmd_text = &line[line[..start].rfind(';').map(|i| i + 1).unwrap_or(0)..start];
    let words: Vec<&str> = cmd_text.split_whitespace().collect();
    let mut cands: Vec<String> = Vec::new();
    let prev = words.last().copied().unwrap_or("");
    let ifaces = || {
        host.ifaces
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    };
    let sets = || {
        host.ipsets
            .sets()
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    if words.is_empty() {
        cands.extend(programs.iter().map(|s| s.to_string()));
        cands.extend(BUILTINS.iter().map(|s| s.to_string()));
    } else {
        let prog = words[0].rsplit('/').next().unwrap_or(words[0]);
        if matches!(
            prev,
            "-i" | "-o" | "--in-interface" | "--out-interface" | "dev"
        ) {
            cands = ifaces();
        } else if matches!(
            prev,
            "--match-set" | "--add-set" | "--del-set" | "--map-set"
        ) {
            cands = sets();
        } else if prog.starts_with("iptables") {
            let table = words
                .windows(2)
                .find(|w| w[0] == "-t" || w[0] == "--table")
                .map(|w| w[1])
                .unwrap_or("filter");
            match prev {
                "-t" | "--table" | "-T" => {
                    cands = TABLE_ORDER.iter().map(|s| s.to_string()).collect()
                }
                "-A" | "-I" | "-D" | "-R" | "-L" | "-S" | "-F" | "-Z" | "-P" | "-C" | "-X"
                | "-E" | "--append" | "--insert" | "--delete" | "--replace" | "--list"
                | "--list-rules" | "--flush" | "--zero" | "--policy" | "--check"
                | "--delete-chain" | "--rename-chain" => {
                    cands = if matches!(prev, "-X" | "-E" | "--delete-chain" | "--rename-chain") {
                        user_chains(host, table)
                    } else {
                        chains(host, table)
                    }
                }
                "-j" | "--jump" | "-g" | "--goto" => {
                    cands = ["ACCEPT", "DROP", "RETURN"]
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                    cands.extend(ext_names(ExtKind::Target));
                    cands.extend(user_chains(host, table));
                }
                "-m" | "--match" => cands = ext_names(ExtKind::Match),
                "-p" | "--protocol" => cands = PROTOS.iter().map(|s| s.to_string()).collect(),
                _ if words.len() >= 2 && matches!(words[words.len() - 2], "-P" | "--policy") => {
                    cands = vec!["ACCEPT".into(), "DROP".into()]
                }
                _ if cur.starts_with('-') => {
                    cands = BASE_LONGOPTS
                        .iter()
                        .map(|(n, _, _)| format!("--{n}"))
                        .collect();
                    for w in words.windows(2) {
                        match w[0] {
                            "-m" | "--match" => cands.extend(ext_options(w[1], ExtKind::Match)),
                            "-p" | "--protocol" => cands.extend(ext_options(w[1], ExtKind::Match)),
                            "-j" | "--jump" => cands.extend(ext_options(w[1], ExtKind::Target)),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        } else if prog == "ipset" {
            if words.len() == 1 {
                cands = IPSET_CMDS.iter().map(|s| s.to_string()).collect();
            } else if words.len() == 2
                && matches!(
                    words[1],
                    "add"
                        | "del"
                        | "test"
                        | "destroy"
                        | "list"
                        | "save"
                        | "flush"
                        | "rename"
                        | "swap"
                        | "-A"
                        | "-D"
                        | "-T"
                        | "-X"
                        | "-L"
                        | "-F"
                        | "-E"
                        | "-W"
                )
            {
                cands = sets();
            } else if words.len() == 3 && matches!(words[1], "create" | "-N" | "n") {
                cands = engine::ipset::types::Kind::ALL
                    .iter()
                    .map(|k| k.name().to_string())
                    .collect();
            } else if words.len() == 3 && matches!(words[1], "swap" | "-W") {
                cands = sets();
            }
        } else if matches!(prev, "-t" | "--table") {
            cands = TABLE_ORDER.iter().map(|s| s.to_string()).collect();
        }
    }
    let mut options: Vec<String> = cands.into_iter().filter(|c| c.starts_with(cur)).collect();
    engine::sort::sort(&mut options);
    options.dedup();
    Completion { start, options }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::command::run_argv;

    fn host() -> Host {
        let mut h = Host::new("t");
        for c in [
            "iptables -N LOGDROP",
            "ipset create blocked hash:ip",
            "iptables -t nat -N KUBE-SVC",
        ] {
            let argv: Vec<String> = c.split(' ').map(String::from).collect();
            assert_eq!(run_argv(&mut h, &argv, None).exit, 0);
        }
        h
    }

    fn opts(line: &str) -> Vec<String> {
        complete(&host(), &["iptables", "ipset", "iptables-save"], line).options
    }

    #[test]
    fn completes() {
        assert_eq!(opts("ipt"), vec!["iptables", "iptables-save"]);
        assert_eq!(opts("iptables -A IN"), vec!["INPUT"]);
        assert_eq!(opts("iptables -t nat -A KU"), vec!["KUBE-SVC"]);
        assert!(opts("iptables -A INPUT -j ").contains(&"LOGDROP".to_string()));
        assert!(opts("iptables -A INPUT -j RE").contains(&"REJECT".to_string()));
        assert!(opts("iptables -A INPUT -m con").contains(&"conntrack".to_string()));
        assert_eq!(opts("iptables -t m"), vec!["mangle"]);
        assert_eq!(opts("iptables -A INPUT -i "), vec!["lo"]);
        assert!(opts("iptables -A INPUT -p tcp --dp").contains(&"--dport".to_string()));
        assert!(opts("iptables -A INPUT -m set --match-set ").contains(&"blocked".to_string()));
        assert_eq!(opts("ipset add b"), vec!["blocked"]);
        assert!(opts("ipset create x hash:").contains(&"hash:net".to_string()));
        assert!(opts("iptables --app").contains(&"--append".to_string()));
        assert_eq!(opts("iptables -P INPUT D"), vec!["DROP"]);
        let c = Completion {
            start: 0,
            options: vec!["--dport".into(), "--destination-port".into()],
        };
        assert_eq!(c.common_prefix(), "--d");
    }
}
