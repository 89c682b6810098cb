//! A shortcut for the plain `-A` lines of a restore file (kube-proxy writes
//! 100,000 of them): read without getopt or copied words, each option handled
//! as [`super::parse`] handles it; any other line gives `None`, and the
//! general parser reads it.

use super::super::exts::{Exts, EXT_BASE};
use super::super::getopt::Longs;
use super::super::opts::{add_command, set_option};
use super::super::opts::{CMD_APPEND, OPT_DESTINATION, OPT_JUMP, OPT_PROTOCOL, OPT_SOURCE};
use super::{ext_option, finish, parse_protocol, parse_target_name, ParseEnv, Parsed, State};
use crate::bytescan;
use crate::ext::{self, ExtInfo, ExtKind, HasArg};
use crate::ruleset::IpSpec;

/// Matches whose options take only their own value (no extra words, so the
/// empty rest of a shortcut parse is what they would see anyway).
const MATCHES: &[&str] = &[
    "comment",
    "tcp",
    "udp",
    "icmp",
    "statistic",
    "mark",
    "addrtype",
    "conntrack",
    "state",
    "multiport",
];

/// The extension `-m NAME` loads when it is one of [`MATCHES`] (looked up
/// once: the registry's hash is slower than a look along a short list).
fn known_match(name: &str) -> Option<&'static ExtInfo> {
    static FOUND: std::sync::OnceLock<Vec<(&'static str, &'static ExtInfo)>> =
        std::sync::OnceLock::new();
    let found = FOUND.get_or_init(|| {
        MATCHES
            .iter()
            .filter_map(|n| Some((*n, ext::find(n, ExtKind::Match)?)))
            .filter(|(n, info)| info.name == *n)
            .collect()
    });
    found
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, info)| *info)
}

/// Targets taken by the shortcut, for the same reason.
const TARGETS: &[&str] = &[
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "REDIRECT",
    "MARK",
    "CONNMARK",
    "REJECT",
    "LOG",
];

/// Most words a line may have here.
const MAX_WORDS: usize = 40;

/// Byte classes of the splitter: [`SEP`] ends a word, [`QUOTE`] starts or
/// ends a quoted run, 0 is any other byte.
const CLASS: [u8; 256] = {
    let mut t = [0; 256];
    t[b' ' as usize] = SEP;
    t[b'\t' as usize] = SEP;
    t[b'\n' as usize] = SEP;
    t[b'"' as usize] = QUOTE;
    t
};
const SEP: u8 = 1;
const QUOTE: u8 = 2;

/// The first byte from `i` on that is not of class 0 (`b.len()` if
/// none), eight bytes at a time: every such byte is below `0x23`.
/// The eight bytes are taken as one array, so that the loop carries no
/// bounds checks (a smaller loop, less at the mercy of where it lands).
fn word_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let flags = bytescan::below(u64::from_le_bytes(*chunk), 0x23);
        if flags == 0 {
            i += 8;
            continue;
        }
        let k = bytescan::lowest(flags);
        if CLASS[chunk[k & 7] as usize] != 0 {
            return i + k;
        }
        i += k + 1;
    }
    while i < b.len() && CLASS[b[i] as usize] == 0 {
        i += 1;
    }
    i
}

/// The first `"` or `\` from `i` on, eight bytes at a time.
fn quote_end(b: &[u8], mut i: usize) -> Option<usize> {
    while i + 8 <= b.len() {
        let x = bytescan::word_at(b, i);
        let flags = bytescan::equal(x, b'"');
        let backslash = bytescan::equal(x, b'\\');
        if flags | backslash != 0 {
            let k = bytescan::lowest(flags).min(bytescan::lowest(backslash));
            return Some(i + k);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|c| *c == b'"' || *c == b'\\')
        .map(|k| i + k)
}

/// The words of a rule line as [`super::super::restore::split_rule_line`]
/// splits it, borrowed; `None` when a word would need putting together
/// (a quote inside a word, a backslash or an empty pair of quotes).
fn words<'l>(line: &'l str, out: &mut [&'l str; MAX_WORDS]) -> Option<usize> {
    let sep = |c: u8| CLASS[c as usize] == SEP;
    let b = line.as_bytes();
    let mut n = 0;
    let mut i = 0;
    loop {
        while i < b.len() && sep(b[i]) {
            i += 1;
        }
        if i == b.len() {
            return Some(n);
        }
        let word = if b[i] == b'"' {
            let start = i + 1;
            let end = quote_end(b, start)?;
            let len = end - start;
            if b[end] != b'"' || len == 0 || b.get(end + 1).is_some_and(|c| !sep(*c)) {
                return None;
            }
            i = end + 1;
            &line[start..end]
        } else {
            let start = i;
            i = word_end(b, i);
            if b.get(i) == Some(&b'"') {
                return None;
            }
            &line[start..i]
        };
        *out.get_mut(n)? = word;
        n += 1;
    }
}

/// What [`parse_plain_line`] keeps from one line to the next: the lists
/// of a line's extensions, emptied, with their room; and the commands of
/// lines that ran, whose boxes, chain names and rule lists the next lines
/// take instead of allocating their own.
#[derive(Default)]
// Boxes, not commands: a box is what moves through the batch and comes back.
#[allow(clippy::vec_box)]
pub struct PlainRoom(Option<Exts>, Vec<Box<Parsed>>);

/// How many run lines' commands [`PlainRoom`] keeps at most.
const SPARE_COMMANDS: usize = 512;

impl PlainRoom {
    /// Keeps the commands of lines that ran for later lines.
    pub fn give_back(&mut self, done: &mut Vec<Box<Parsed>>) {
        let room = SPARE_COMMANDS.saturating_sub(self.1.len());
        self.1.extend(done.drain(..).take(room));
        done.clear();
    }

    /// A fresh `-A` command of `table` on `chain`, in the room of a
    /// command given back if there is one.
    fn command(&mut self, table: &'static str, chain: &str) -> Box<Parsed> {
        let Some(mut p) = self.1.pop() else {
            return Box::new(Parsed {
                table: table.into(),
                chain: Some(chain.to_string()),
                ..Default::default()
            });
        };
        let mut rules = std::mem::take(&mut p.rules);
        rules.clear();
        let name = match p.chain.take() {
            Some(mut name) => {
                name.clear();
                name.push_str(chain);
                name
            }
            None => chain.to_string(),
        };
        *p = Parsed {
            table: table.into(),
            chain: Some(name),
            rules,
            ..Default::default()
        };
        p
    }
}

/// `-A CHAIN` with `-s`, `-d` (each maybe after `!`), `-p` by name, `-m`
/// of [`MATCHES`] with their long options, and `-j` (a chain, a verdict or
/// one of [`TARGETS`] with its options), in table `table`. `None` for any
/// other line, and for a line that fails or warns.
pub fn parse_plain_line(
    line: &str,
    table: &'static str,
    env: &ParseEnv,
    room: &mut PlainRoom,
) -> Option<Box<Parsed>> {
    let mut all = [""; MAX_WORDS];
    let n = words(line, &mut all)?;
    let words = &all[..n];
    let plain_value = |w: &str| !w.starts_with('-') && !w.starts_with('!');
    let (["-A", chain, ..], true) = (words, n >= 2) else {
        return None;
    };
    if !plain_value(chain) {
        return None;
    }
    let mut st = State {
        env,
        p: room.command(table, chain),
        ip: IpSpec::default(),
        shost: None,
        dhost: None,
        table_set: true,
        wait: 0,
        wait_interval: false,
    };
    add_command(&mut st.p.command, CMD_APPEND, 0, false).ok()?;
    let x = room.0.get_or_insert_with(Exts::new);
    x.clear();
    let mut warnings = Vec::new();
    let mut invert = false;
    let mut i = 2;
    while i < n {
        let w = words[i];
        if w == "!" {
            if invert {
                return None;
            }
            invert = true;
            i += 1;
            continue;
        }
        // The option's value, for those that take one.
        let value = words.get(i + 1).copied().filter(|v| plain_value(v));
        i += 1;
        let mut value = || {
            i += 1;
            value
        };
        match w {
            "-s" | "-d" => {
                let (opt, host, inv) = if w == "-s" {
                    (OPT_SOURCE, &mut st.shost, &mut st.ip.src_inv)
                } else {
                    (OPT_DESTINATION, &mut st.dhost, &mut st.ip.dst_inv)
                };
                *host = Some(value()?);
                set_option(&mut st.p.options, opt, invert).ok()?;
                *inv = invert;
            }
            "-p" => {
                let value = value()?;
                // Lower case already: the general parser's `to_lowercase` changes nothing.
                if !value.bytes().all(|c| c.is_ascii_lowercase()) {
                    return None;
                }
                set_option(&mut st.p.options, OPT_PROTOCOL, invert).ok()?;
                st.ip.proto_inv = invert;
                st.ip.proto = parse_protocol(value).ok()?;
                if st.ip.proto == 0 && invert {
                    return None;
                }
                // The protocol's name only serves to load its match for an
                // unknown option, which this shortcut leaves to the parser.
            }
            "-m" => {
                let info = known_match(value()?)?;
                if invert {
                    return None;
                }
                x.load_match(info).ok()?;
            }
            "-j" => {
                let value = value()?;
                set_option(&mut st.p.options, OPT_JUMP, invert).ok()?;
                let name = parse_target_name(value).ok()?;
                if let Some(info) = ext::find(name, ExtKind::Target) {
                    if !TARGETS.contains(&info.name) {
                        return None;
                    }
                    let t = (info.new_target?)();
                    if t.load_warning().is_some() {
                        return None;
                    }
                    x.target = Some((t, 0));
                    x.merge_options(info);
                } else {
                    // A loaded target replaces the name in the rule.
                    st.p.jumpto = Some(name.to_string());
                }
            }
            _ => {
                let name = w.strip_prefix("--").filter(|n| !n.contains('='))?;
                let o = x.exact(name)?;
                let arg = match o.has_arg {
                    HasArg::Required => Some(value()?),
                    HasArg::No => None,
                    HasArg::Optional => return None,
                };
                if o.code < EXT_BASE {
                    return None;
                }
                // An error would name the option's value, or the option itself.
                let opt_word = arg.unwrap_or(w);
                ext_option(
                    &mut st,
                    x,
                    o.code,
                    arg,
                    invert,
                    opt_word,
                    &[],
                    &mut warnings,
                )
                .ok()?;
            }
        }
        invert = false;
    }
    if invert {
        return None;
    }
    let p = finish(st, x, 0, 0, false, &mut warnings).ok()?;
    warnings.is_empty().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::super::super::restore::split_rule_line;
    use super::*;
    use crate::sim::host::Host;
    use std::path::PathBuf;

    /// The general parser on a restore line of `table`, as iptables-restore runs it.
    fn general(line: &str, table: &str, env: &ParseEnv) -> (String, Vec<String>) {
        let mut argv: Vec<String> = ["iptables-restore", "-t", table]
            .iter()
            .map(|w| w.to_string())
            .collect();
        argv.extend(split_rule_line(line));
        let mut warnings = Vec::new();
        let r = super::super::parse(&argv, env, &mut warnings);
        (format!("{r:?}"), warnings)
    }

    /// Runs `line` through both parsers: when the shortcut takes it, the
    /// general parser must give the same command without a warning.
    /// Returns whether the shortcut took it.
    fn same(line: &str, table: &'static str, env: &ParseEnv) -> bool {
        let Some(fast) = parse_plain_line(line, table, env, &mut PlainRoom::default()) else {
            return false;
        };
        let (want, warnings) = general(line, table, env);
        assert_eq!(format!("{:?}", Ok::<_, ()>(fast)), want, "{table}: {line}");
        assert!(warnings.is_empty(), "{table}: {line}: {warnings:?}");
        true
    }

    /// The line, every shorter line of its first words, and the line with a
    /// `!` before each word: the shortcut must agree or step aside on all.
    fn variants(line: &str) -> Vec<String> {
        let words: Vec<&str> = line.split(' ').collect();
        let mut out = vec![line.to_string()];
        for n in 1..words.len() {
            out.push(words[..n].join(" "));
            let mut w = words.clone();
            w.insert(n, "!");
            out.push(w.join(" "));
        }
        out
    }

    fn shared(path: &str) -> Option<PathBuf> {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data")
            .join(path);
        p.exists().then_some(p)
    }

    fn with_env(f: impl FnOnce(&ParseEnv)) {
        super::super::with_host_env(&Host::new("h"), true, f)
    }

    fn table_of(name: &str) -> &'static str {
        crate::ruleset::TABLE_ORDER
            .iter()
            .find(|t| **t == name)
            .copied()
            .unwrap_or("filter")
    }

    /// A line's command goes into the room of a command given back (its
    /// box, chain name and rule list, whatever it held) and reads as a
    /// fresh one; at most [`SPARE_COMMANDS`] commands are kept.
    #[test]
    fn commands_take_the_room_of_given_back_ones() {
        with_env(|env| {
            let line = "-A X -s 10.0.0.1 -m comment --comment c -j DNAT --to-destination 1.2.3.4";
            let fresh = parse_plain_line(line, "nat", env, &mut PlainRoom::default());
            let fresh = format!("{fresh:?}");
            let mut room = PlainRoom::default();
            let mut used = parse_plain_line(
                "-A KUBE-SVC-LONG-NAME -s 10.0.0.2 -j ACCEPT",
                "filter",
                env,
                &mut room,
            )
            .expect("plain");
            used.rules.reserve(3);
            used.chain.as_mut().expect("chain").reserve(64);
            used.jumpto = Some("Y".to_string());
            used.policy = Some("DROP".to_string());
            used.options = u32::MAX;
            used.ignored = true;
            let (rules_room, name_room) = (
                used.rules.capacity(),
                used.chain.as_ref().map_or(0, |c| c.capacity()),
            );
            let mut back = vec![used];
            room.give_back(&mut back);
            assert!(back.is_empty());
            let p = parse_plain_line(line, "nat", env, &mut room).expect("plain");
            assert_eq!(format!("{:?}", Some(&p)), fresh);
            assert_eq!(p.rules.capacity(), rules_room);
            assert_eq!(p.chain.as_ref().map(|c| c.capacity()), Some(name_room));
            let mut many: Vec<Box<Parsed>> =
                (0..SPARE_COMMANDS + 10).map(|_| Box::default()).collect();
            room.give_back(&mut many);
            assert_eq!((room.1.len(), many.len()), (SPARE_COMMANDS, 0));
        });
    }

    /// The word-at-a-time scans find what a byte-by-byte look finds.
    #[test]
    fn scans_find_the_first_byte() {
        let alphabet = [
            b'a', b' ', b'\t', b'\n', b'"', b'\\', b'!', b'#', 0x0b, 0xc3, 0xa9, b'-',
        ];
        crate::bytescan::random_texts(&alphabet, |b| {
            let len = b.len();
            for from in 0..=len {
                let want = b[from..]
                    .iter()
                    .position(|c| CLASS[*c as usize] != 0)
                    .map_or(len, |k| from + k);
                assert_eq!(word_end(b, from), want, "{b:?} {from}");
                let want = b[from..]
                    .iter()
                    .position(|c| *c == b'"' || *c == b'\\')
                    .map(|k| from + k);
                assert_eq!(quote_end(b, from), want, "{b:?} {from}");
            }
        });
    }

    #[test]
    fn kube_proxy_lines_take_the_shortcut() {
        let lines = [
            ("nat", "-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment \"default/svc-1:http cluster IP\" -m tcp --dport 8080 -j KUBE-SVC-0123456789ABCDEF"),
            ("nat", "-A KUBE-SVC-0123456789ABCDEF ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m comment --comment \"default/svc-1:http cluster IP\" -m tcp --dport 8080 -j KUBE-MARK-MASQ"),
            ("nat", "-A KUBE-SVC-0123456789ABCDEF -m comment --comment \"default/svc-1:http -> 10.244.1.2:8080\" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-0123456789ABCDEF"),
            ("nat", "-A KUBE-SVC-0123456789ABCDEF -m comment --comment \"default/svc-1:http -> 10.244.1.3:8080\" -j KUBE-SEP-FEDCBA9876543210"),
            ("nat", "-A KUBE-SEP-0123456789ABCDEF -s 10.244.1.2/32 -m comment --comment \"default/svc-1:http\" -j KUBE-MARK-MASQ"),
            ("nat", "-A KUBE-SEP-0123456789ABCDEF -p tcp -m comment --comment \"default/svc-1:http\" -m tcp -j DNAT --to-destination 10.244.1.2:8080"),
            ("nat", "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"),
            ("nat", "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"),
            ("filter", "-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
        ];
        with_env(|env| {
            for (table, line) in lines {
                assert!(same(line, table, env), "not taken: {line}");
                for v in variants(line) {
                    same(&v, table, env);
                }
            }
        });
    }

    #[test]
    fn lines_it_leaves_to_the_general_parser() {
        with_env(|env| {
            for line in [
                "-A INPUT -m comment --comment a\"b\" -j ACCEPT",
                "-A INPUT -m comment --comment \"a \\\" b\" -j ACCEPT",
                "-A INPUT -m comment --comment \"\" -j ACCEPT",
                "-A INPUT -p TCP -j ACCEPT",
                "-A INPUT -i eth0 -j ACCEPT",
                "-A INPUT -m recent --set",
                "-A INPUT -p tcp --dport 22 -j ACCEPT",
                "-A INPUT -s 1.2.3.4 -s 1.2.3.5",
                "-A INPUT ! ! -s 1.2.3.4",
                "-A INPUT -j LED --led-trigger-id x",
                "-I INPUT -j ACCEPT",
            ] {
                let mut room = PlainRoom::default();
                assert!(
                    parse_plain_line(line, "filter", env, &mut room).is_none(),
                    "{line}"
                );
            }
        });
    }

    /// Every rule line of the corpus and of the upstream test cases, with
    /// their variants, through both parsers.
    #[test]
    fn same_rules_as_the_general_parser() {
        let Some(corpus) = shared("corpus") else {
            eprintln!("skipped: ../shared/data/corpus not found beside the repository");
            return;
        };
        let mut lines: Vec<(&'static str, String)> = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(corpus)
            .expect("corpus")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rules"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("rules file");
            let mut table = "filter";
            for l in text.lines() {
                if let Some(t) = l.strip_prefix('*') {
                    table = table_of(t.trim());
                } else if l.starts_with('-') {
                    lines.push((table, l.to_string()));
                }
            }
        }
        if let Some(tsv) = shared("upstream-t/t-cases-nft-1.8.9.tsv") {
            let text = std::fs::read_to_string(tsv).expect("tsv");
            for l in text.lines().skip(1) {
                let f: Vec<&str> = l.split('\t').collect();
                lines.push((table_of(f[2]), format!("-A {} {}", f[3], f[4])));
            }
        }
        let (mut taken, mut tried) = (0, 0);
        with_env(|env| {
            for (table, line) in &lines {
                for v in variants(line) {
                    tried += 1;
                    taken += usize::from(same(&v, table, env));
                }
            }
        });
        eprintln!("shortcut took {taken} of {tried} lines");
        assert!(taken > 1000, "the shortcut took only {taken} lines");
    }
}
