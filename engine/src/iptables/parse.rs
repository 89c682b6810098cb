//! iptables argv → a typed command, in the order iptables-nft 1.8.9's
//! `do_parse` works: the getopt loop (commands, rule options, extension
//! loading and their options), then the checks after it.

use super::addr;
pub use super::exts::guided_final;
use super::exts::{guided_pre, parse_cx, Exts, EXT_BASE};
use super::getopt::{Getopt, Got, ShortTable};
use super::opts::*;
use crate::ext::xtopt::strtoul_all;
use crate::ext::{self, ExtInfo, ExtKind, Match, XtError, XtResult};
use crate::ruleset::{Counters, IpSpec, Net, Rule, RuleTarget, Verdict};
use std::net::Ipv4Addr;

mod plain_line;
pub use plain_line::{parse_plain_line, PlainRoom};

/// What the host offers the parser: name resolution and object lookups.
pub struct ParseEnv<'a> {
    pub resolve: &'a dyn Fn(&str) -> Vec<Ipv4Addr>,
    pub sets: &'a dyn Fn(&str) -> Option<ext::SetRef>,
    pub nfacct: &'a dyn Fn(&str) -> bool,
    /// Parsing a line of iptables-restore (a second `-t`, `-w` and `-W` are refused).
    pub restore: bool,
}

/// Runs `f` with the parser's view of `host` (`restore`: for a line of
/// iptables-restore).
pub fn with_host_env<R>(
    host: &crate::sim::host::Host,
    restore: bool,
    f: impl FnOnce(&ParseEnv) -> R,
) -> R {
    let resolve = |n: &str| host.resolve(n);
    let sets = |n: &str| host.ipsets.set_ref(n);
    let nfacct = |n: &str| host.nfacct.exists(n);
    f(&ParseEnv {
        resolve: &resolve,
        sets: &sets,
        nfacct: &nfacct,
        restore,
    })
}

/// A fully parsed iptables command line.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub command: u32,
    /// The table (`-t`), borrowed when it is one of the five.
    pub table: std::borrow::Cow<'static, str>,
    pub chain: Option<String>,
    /// Rule number as given (1 = first).
    pub rulenum: Option<u32>,
    pub newname: Option<String>,
    pub policy: Option<String>,
    pub options: u32,
    pub verbose: u32,
    /// The rules of a rule command: one per source × destination address.
    pub rules: Vec<Rule>,
    /// `-j` / `-g` as given; a rule command moves a chain name into its
    /// rules' targets (and leaves this empty).
    pub jumpto: Option<String>,
    pub goto: bool,
    pub counters: Option<(u64, u64)>,
    /// `-h` / `-V`: the text to print; nothing else is done.
    pub output: Option<String>,
    /// iptables-restore skips this line (`-6`).
    pub ignored: bool,
    /// `-j QUEUE`: the kernel refuses the rule (no queue handler here).
    pub queue: bool,
}

impl Parsed {
    pub fn has(&self, opt: u32) -> bool {
        self.options & opt != 0
    }
}

/// `xs_has_arg`: the next word exists and starts with neither `-` nor `!`.
fn has_arg(argv: &[String], optind: usize) -> bool {
    argv.get(optind)
        .is_some_and(|a| !a.starts_with('-') && !a.starts_with('!'))
}

fn parse_rulenumber(s: &str) -> XtResult<u32> {
    match strtoul_all(s, 1, i32::MAX as u64) {
        Some(v) => Ok(v as u32),
        None => Err(XtError::new(format!("Invalid rule number `{s}'"))),
    }
}

/// `xtables_parse_protocol`.
pub fn parse_protocol(s: &str) -> XtResult<u8> {
    // The usual names at once: what the lookups below give them.
    match s {
        "tcp" => return Ok(6),
        "udp" => return Ok(17),
        _ => {}
    }
    if let Some(v) = strtoul_all(s, 0, 255) {
        return Ok(v as u8);
    }
    if s == "all" {
        return Ok(0);
    }
    if let Some(p) = crate::netdb::proto_number(s) {
        return Ok(p);
    }
    if let Some(p) = super::save::CHAIN_PROTOS.iter().find(|(_, n)| *n == s) {
        return Ok(p.0);
    }
    Err(XtError::new(format!("unknown protocol \"{s}\" specified")))
}

/// C `sscanf("%llu")`: blanks, a sign, decimal digits (a minus wraps; too
/// large saturates); `None` when no digit comes.
pub fn scan_llu(s: &str) -> Option<u64> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: &str = &t[..t.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    let v = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

/// C `sscanf("%i")` as iptables reads `-w` seconds: blanks, a sign, then a
/// decimal, `0x` hex or `0` octal number; trailing text is ignored.
fn scan_int(s: &str) -> Option<i64> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = t.as_bytes();
    let (radix, body) =
        if b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit() {
            (16, &t[2..])
        } else if b.first() == Some(&b'0') {
            (8, t)
        } else {
            (10, t)
        };
    let n = body.chars().take_while(|c| c.is_digit(radix)).count();
    if n == 0 {
        return None;
    }
    let v = i64::from_str_radix(&body[..n], radix).unwrap_or(i64::MAX);
    Some(if neg { -v } else { v })
}

/// C `sscanf("%u")` for `-W`: a minus wraps around.
fn scan_uint(s: &str) -> Option<u32> {
    scan_llu(s).map(|v| v as u32)
}

fn parse_target_name(s: &str) -> XtResult<&str> {
    if s.is_empty() {
        return Err(XtError::new("Invalid target name (too short)"));
    }
    if s.len() >= 29 {
        return Err(XtError::new(format!(
            "Invalid target name `{s}' (28 chars max)"
        )));
    }
    // The blanks refused are the ASCII whitespace characters.
    if has_ascii_whitespace(s.as_bytes()) {
        return Err(XtError::new(format!("Invalid target name `{s}'")));
    }
    Ok(s)
}

/// Whether `name` loads a target: a verdict of the standard target or an extension.
pub fn is_target_name(name: &str) -> bool {
    name == "QUEUE"
        || Verdict::from_name(name).is_some()
        || ext::find(name, ExtKind::Target).is_some()
}

/// `assert_valid_chain_name` (for `-N` and restore's `:CHAIN` lines).
pub fn assert_valid_chain_name(name: &str) -> XtResult {
    if name.len() >= 29 {
        return Err(XtError::new(format!(
            "chain name `{name}' too long (must be under 29 chars)"
        )));
    }
    if let Some(c @ ('-' | '!')) = name.chars().next() {
        return Err(XtError::new(format!(
            "chain name not allowed to start with `{c}'"
        )));
    }
    if is_target_name(name) {
        return Err(XtError::new("chain name may not clash with target name"));
    }
    if has_ascii_whitespace(name.as_bytes()) {
        return Err(XtError::new(format!("Invalid chain name `{name}'")));
    }
    Ok(())
}

/// `u8::is_ascii_whitespace` for any byte of `b`; eight bytes at a time,
/// as every such byte is below `0x21`.
fn has_ascii_whitespace(b: &[u8]) -> bool {
    let mut words = b.chunks_exact(8);
    let below = |w: &[u8]| crate::bytescan::below(crate::bytescan::word_at(w, 0), b' ' + 1) != 0;
    if !words.by_ref().any(below) {
        return words.remainder().iter().any(u8::is_ascii_whitespace);
    }
    b.iter().any(u8::is_ascii_whitespace)
}
/// Parser state beyond the extensions.
struct State<'e, 'a> {
    env: &'e ParseEnv<'e>,
    /// Boxed: the command moves on through the restore batch as a pointer.
    p: Box<Parsed>,
    ip: IpSpec,
    shost: Option<&'a str>,
    dhost: Option<&'a str>,
    table_set: bool,
    /// `-w` seconds (`-1`: wait forever); 0 when not given.
    wait: i64,
    wait_interval: bool,
}

/// Parses one iptables command line (`argv[0]` is the program name).
/// Warnings printed on the way (also before an error) go to `warnings`.
pub fn parse(argv: &[String], env: &ParseEnv, warnings: &mut Vec<String>) -> XtResult<Parsed> {
    parse_boxed(argv, env, warnings).map(|p| *p)
}

/// [`parse`], the command boxed.
pub fn parse_boxed(
    argv: &[String],
    env: &ParseEnv,
    warnings: &mut Vec<String>,
) -> XtResult<Box<Parsed>> {
    let mut st = State {
        env,
        p: Box::new(Parsed {
            table: "filter".into(),
            ..Default::default()
        }),
        ip: IpSpec::default(),
        shost: None,
        dhost: None,
        table_set: false,
        wait: 0,
        wait_interval: false,
    };
    let mut x = Exts::new();
    let mut invert = false;
    static SHORTS: std::sync::OnceLock<ShortTable> = std::sync::OnceLock::new();
    let table = SHORTS.get_or_init(|| ShortTable::new(OPTSTRING));
    let mut g = Getopt::with_table(argv, OPTSTRING, table);
    loop {
        let (code, optarg) = match g.next(&x) {
            Got::End => break,
            Got::Word(w) => {
                if w == "!" {
                    if invert {
                        return Err(XtError::new("multiple consecutive ! not allowed"));
                    }
                    invert = true;
                    continue;
                }
                return Err(XtError::bare(format!("Bad argument `{w}'")));
            }
            Got::Opt { code, arg } => (code, arg),
            Got::Unknown { optopt } => {
                if x.load_proto(st.p.has(OPT_NUMERIC)) {
                    g.optind -= 1;
                    continue;
                }
                let shown = match optopt {
                    Some(c) => format!("-{c}"),
                    None => argv[g.optind - 1].clone(),
                };
                return Err(XtError::new(format!("unknown option \"{shown}\"")));
            }
            Got::MissingArg => {
                if x.load_proto(st.p.has(OPT_NUMERIC)) {
                    g.optind -= 1;
                    continue;
                }
                return Err(XtError::new(format!(
                    "option \"{}\" requires an argument",
                    argv[g.optind - 1]
                )));
            }
        };
        if code >= EXT_BASE {
            let rest = &argv[g.optind.min(argv.len())..];
            let opt_word = &argv[g.optind - 1];
            g.optind += ext_option(
                &mut st, &mut x, code, optarg, invert, opt_word, rest, warnings,
            )?;
            invert = false;
            continue;
        }
        let c = char::from_u32(code).unwrap_or('?');
        // The word holding the option's value, attached form included
        // (1.8.9 reads `-s`, `-d`, `-p`, `-i`, `-o` and `-j` values from it).
        let word = argv[g.optind.saturating_sub(1).max(1).min(argv.len() - 1)].as_str();
        if let Some(done) = base_option(&mut st, &mut x, &mut g, c, optarg, word, invert, warnings)?
        {
            return Ok(Box::new(done));
        }
        invert = false;
    }
    finish(st, &mut x, g.optind, argv.len(), invert, warnings)
}

/// One extension option: the target's, else the newest unfinished match's.
/// `opt_word` is the word named in an "unknown option" error, `rest` the
/// words after the option's value; returns how many of them it took.
#[allow(clippy::too_many_arguments)]
fn ext_option(
    st: &mut State<'_, '_>,
    x: &mut Exts,
    code: u32,
    optarg: Option<&str>,
    invert: bool,
    opt_word: &str,
    rest: &[String],
    warnings: &mut Vec<String>,
) -> XtResult<usize> {
    let owner = (code / EXT_BASE - 1) as usize;
    let idx = (code % EXT_BASE) as usize;
    let (name, kind, _) = x.owners[owner];
    let mut pcx = parse_cx(st.env, &st.p.table, &st.ip, rest);
    let result = match kind {
        ExtKind::Target => match x.target.as_mut() {
            Some((t, seen)) => {
                let info = t.info();
                guided_pre(info, idx, *seen, invert, optarg).and_then(|()| {
                    let id = info.options[idx].id;
                    t.parse(id, optarg, invert, &mut pcx)?;
                    *seen |= 1 << id;
                    Ok(())
                })
            }
            None => Err(XtError::new(format!("unknown option \"{opt_word}\""))),
        },
        ExtKind::Match => {
            let slot = x
                .matches
                .iter_mut()
                .find(|m| m.ext.info().name == name && !m.completed);
            match slot {
                Some(slot) => {
                    let info = slot.ext.info();
                    guided_pre(info, idx, slot.seen, invert, optarg).and_then(|()| {
                        let id = info.options[idx].id;
                        slot.ext.parse(id, optarg, invert, &mut pcx)?;
                        slot.seen |= 1 << id;
                        Ok(())
                    })
                }
                None => Err(XtError::new(format!("unknown option \"{opt_word}\""))),
            }
        }
    };
    warnings.append(&mut pcx.warnings);
    let consumed = pcx.consumed;
    result?;
    Ok(consumed)
}

/// One of iptables' own options. `Some` ends the parse (`-h`, `-V`, restore's `-6`).
#[allow(clippy::too_many_arguments)]
fn base_option<'a>(
    st: &mut State<'_, 'a>,
    x: &mut Exts,
    g: &mut Getopt<'a>,
    c: char,
    optarg: Option<&'a str>,
    word: &'a str,
    invert: bool,
    warnings: &mut Vec<String>,
) -> XtResult<Option<Parsed>> {
    let argv = g.argv;
    let p: &mut Parsed = &mut st.p;
    let arg = optarg.unwrap_or_default();
    match c {
        'A' | 'C' => {
            let cmd = if c == 'A' { CMD_APPEND } else { CMD_CHECK };
            add_command(&mut p.command, cmd, 0, invert)?;
            p.chain = Some(arg.to_string());
        }
        'D' => {
            add_command(&mut p.command, CMD_DELETE, 0, invert)?;
            p.chain = Some(arg.to_string());
            if has_arg(argv, g.optind) {
                p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
                g.optind += 1;
                p.command = CMD_DELETE_NUM;
            }
        }
        'R' => {
            add_command(&mut p.command, CMD_REPLACE, 0, invert)?;
            p.chain = Some(arg.to_string());
            if !has_arg(argv, g.optind) {
                return Err(XtError::new("-R requires a rule number"));
            }
            p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
            g.optind += 1;
        }
        'I' => {
            add_command(&mut p.command, CMD_INSERT, 0, invert)?;
            p.chain = Some(arg.to_string());
            p.rulenum = Some(1);
            if has_arg(argv, g.optind) {
                p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
                g.optind += 1;
            }
        }
        'L' | 'S' | 'Z' => {
            let (cmd, others) = match c {
                'L' => (CMD_LIST, CMD_ZERO | CMD_ZERO_NUM),
                'S' => (CMD_LIST_RULES, CMD_ZERO | CMD_ZERO_NUM),
                _ => (CMD_ZERO, CMD_LIST | CMD_LIST_RULES),
            };
            add_command(&mut p.command, cmd, others, invert)?;
            if let Some(a) = optarg {
                p.chain = Some(a.to_string());
            } else if has_arg(argv, g.optind) {
                p.chain = Some(argv[g.optind].clone());
                g.optind += 1;
            }
            if has_arg(argv, g.optind) {
                p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
                g.optind += 1;
                if c == 'Z' {
                    p.command = CMD_ZERO_NUM;
                }
            }
        }
        'F' | 'X' => {
            let cmd = if c == 'F' {
                CMD_FLUSH
            } else {
                CMD_DELETE_CHAIN
            };
            add_command(&mut p.command, cmd, 0, invert)?;
            if let Some(a) = optarg {
                p.chain = Some(a.to_string());
            } else if has_arg(argv, g.optind) {
                p.chain = Some(argv[g.optind].clone());
                g.optind += 1;
            }
        }
        'N' => {
            assert_valid_chain_name(arg)?;
            add_command(&mut p.command, CMD_NEW_CHAIN, 0, invert)?;
            p.chain = Some(arg.to_string());
        }
        'E' => {
            add_command(&mut p.command, CMD_RENAME_CHAIN, 0, invert)?;
            p.chain = Some(arg.to_string());
            if !has_arg(argv, g.optind) {
                return Err(XtError::new(
                    "-E requires old-chain-name and new-chain-name",
                ));
            }
            p.newname = Some(argv[g.optind].clone());
            g.optind += 1;
        }
        'P' => {
            add_command(&mut p.command, CMD_SET_POLICY, 0, invert)?;
            if !has_arg(argv, g.optind) {
                return Err(XtError::new("-P requires a chain and a policy"));
            }
            p.chain = Some(arg.to_string());
            p.policy = Some(argv[g.optind].clone());
            g.optind += 1;
        }
        'h' => {
            let mut names: Vec<&'static ExtInfo> = Vec::new();
            if let Some((t, _)) = &x.target {
                names.push(t.info());
            }
            if x.matches.is_empty() {
                if let Some(info) = x
                    .protocol
                    .as_deref()
                    .and_then(|n| ext::find(n, ExtKind::Match))
                {
                    names.push(info);
                }
            }
            names.extend(x.matches.iter().map(|m| m.ext.info()));
            let standard = p
                .jumpto
                .as_deref()
                .is_some_and(|j| j == "QUEUE" || Verdict::from_name(j).is_some());
            p.output = Some(super::help::full_help(standard, &names));
            return Ok(Some(std::mem::take(p)));
        }
        'p' => {
            set_option(&mut p.options, OPT_PROTOCOL, invert)?;
            st.ip.proto_inv = invert;
            let lower = word.to_ascii_lowercase();
            st.ip.proto = parse_protocol(&lower)?;
            if st.ip.proto == 0 && invert {
                return Err(XtError::new("rule would never match protocol"));
            }
            x.protocol = Some(lower);
        }
        's' => {
            set_option(&mut p.options, OPT_SOURCE, invert)?;
            st.ip.src_inv = invert;
            st.shost = Some(word);
        }
        'd' => {
            set_option(&mut p.options, OPT_DESTINATION, invert)?;
            st.ip.dst_inv = invert;
            st.dhost = Some(word);
        }
        'g' => {
            set_option(&mut p.options, OPT_JUMP, invert)?;
            p.goto = true;
            p.jumpto = Some(parse_target_name(arg)?.to_string());
        }
        'j' => {
            set_option(&mut p.options, OPT_JUMP, invert)?;
            let name = parse_target_name(word)?.to_string();
            if let Some(info) = ext::find(&name, ExtKind::Target) {
                let Some(ctor) = info.new_target else {
                    return Err(XtError::new(format!(
                        "Couldn't load target `{name}':No such file or directory\n"
                    )));
                };
                let t = ctor();
                warnings.extend(t.load_warning());
                x.target = Some((t, 0));
                x.merge_options(info);
            }
            p.jumpto = Some(name);
        }
        'i' | 'o' => {
            if arg.is_empty() {
                return Err(XtError::new("Empty interface is likely to be undesired"));
            }
            let (opt, name, inv) = if c == 'i' {
                (OPT_VIANAMEIN, &mut st.ip.in_iface, &mut st.ip.in_inv)
            } else {
                (OPT_VIANAMEOUT, &mut st.ip.out_iface, &mut st.ip.out_inv)
            };
            set_option(&mut p.options, opt, invert)?;
            *inv = invert;
            *name = addr::parse_interface(word, warnings)?;
        }
        'f' => {
            set_option(&mut p.options, OPT_FRAGMENT, invert)?;
            st.ip.frag = true;
            st.ip.frag_inv = invert;
        }
        'v' => {
            if p.verbose == 0 {
                set_option(&mut p.options, OPT_VERBOSE, invert)?;
            }
            p.verbose += 1;
        }
        'm' => {
            if invert {
                return Err(XtError::new("unexpected ! flag before --match"));
            }
            match ext::find(arg, ExtKind::Match) {
                Some(info) => x.load_match(info)?,
                None => {
                    return Err(XtError::new(format!(
                        "Couldn't load match `{arg}':No such file or directory\n"
                    )))
                }
            }
        }
        'n' => set_option(&mut p.options, OPT_NUMERIC, invert)?,
        't' => {
            if invert {
                return Err(XtError::new("unexpected ! flag before --table"));
            }
            if st.env.restore && st.table_set {
                return Err(XtError::new(
                    "The -t option cannot be used in iptables-restore.\n",
                ));
            }
            p.table = match crate::ruleset::TABLE_ORDER.iter().find(|t| **t == arg) {
                Some(t) => (*t).into(),
                None => arg.to_string().into(),
            };
            st.table_set = true;
        }
        'x' => set_option(&mut p.options, OPT_EXPANDED, invert)?,
        'V' => {
            p.output = Some(if invert {
                "Not 1.8.9 (nf_tables) ;-)\n".to_string()
            } else {
                format!("{} v1.8.9 (nf_tables)\n", super::prog_name(argv))
            });
            return Ok(Some(std::mem::take(p)));
        }
        'w' => {
            if st.env.restore {
                return Err(XtError::new("You cannot use `-w' from iptables-restore"));
            }
            let value = match optarg {
                Some(a) => Some(a),
                None if has_arg(argv, g.optind) => {
                    g.optind += 1;
                    Some(argv[g.optind - 1].as_str())
                }
                None => None,
            };
            st.wait = match value {
                Some(v) => scan_int(v).ok_or_else(|| XtError::new("wait seconds not numeric"))?,
                None => -1,
            };
        }
        'W' => {
            if st.env.restore {
                return Err(XtError::new("You cannot use `-W' from iptables-restore"));
            }
            let value = match optarg {
                Some(a) => a,
                None if has_arg(argv, g.optind) => {
                    g.optind += 1;
                    argv[g.optind - 1].as_str()
                }
                None => return Err(XtError::new("wait interval value required")),
            };
            let usec = scan_uint(value).ok_or_else(|| XtError::new("wait interval not numeric"))?;
            if usec > 999_999 {
                return Err(XtError::new(format!(
                    "too long usec wait {usec} > 999999 usec"
                )));
            }
            warnings.push("Ignoring deprecated --wait-interval option.".to_string());
            st.wait_interval = true;
        }
        '0' => set_option(&mut p.options, OPT_LINENUMBERS, invert)?,
        'M' => {}
        'c' => {
            set_option(&mut p.options, OPT_COUNTERS, invert)?;
            let (pc, bc) = match arg.get(1..).and_then(|t| t.find(',')) {
                Some(i) => (&arg[..i + 1], Some(&arg[i + 2..])),
                None if has_arg(argv, g.optind) => {
                    g.optind += 1;
                    (arg, Some(argv[g.optind - 1].as_str()))
                }
                None => (arg, None),
            };
            let Some(bc) = bc else {
                return Err(XtError::new("-c requires packet and byte counter"));
            };
            let pn = scan_llu(pc).ok_or_else(|| XtError::new("-c packet counter not numeric"))?;
            let bn = scan_llu(bc).ok_or_else(|| XtError::new("-c byte counter not numeric"))?;
            p.counters = Some((pn, bn));
        }
        '4' => {}
        '6' => {
            if st.env.restore {
                p.ignored = true;
                return Ok(Some(std::mem::take(p)));
            }
            return Err(XtError::bare_try());
        }
        _ => return Err(XtError::new(format!("Unknown arg \"{arg}\""))),
    }
    Ok(None)
}

/// The addresses of `-s` or `-d` (any when absent): one numeric address
/// (the usual case) goes in `one`, without a list.
fn addresses<'s>(
    spec: Option<&str>,
    one: &'s mut [Net; 1],
    list: &'s mut Vec<Net>,
    env: &ParseEnv,
) -> XtResult<&'s [Net]> {
    let Some(spec) = spec else {
        return Ok(one);
    };
    if let Some(n) = addr::ipparse_single(spec) {
        one[0] = n;
        return Ok(one);
    }
    *list = addr::ipparse_multiple(spec, env.resolve)?;
    Ok(list)
}

/// The checks after the getopt loop, and the rules built from the options.
fn finish(
    mut st: State<'_, '_>,
    x: &mut Exts,
    optind: usize,
    argc: usize,
    invert: bool,
    warnings: &mut Vec<String>,
) -> XtResult<Box<Parsed>> {
    let p: &mut Parsed = &mut st.p;
    if p.table == "nat"
        && (p.policy.as_deref() == Some("DROP") || p.jumpto.as_deref() == Some("DROP"))
    {
        return Err(XtError::new(
            "\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n",
        ));
    }
    if st.wait == 0 && st.wait_interval {
        return Err(XtError::new(
            "--wait-interval only makes sense with --wait\n",
        ));
    }
    let table = p.table.clone();
    for slot in x.matches.iter_mut() {
        let mut pcx = parse_cx(st.env, &table, &st.ip, &[]);
        let r = slot.ext.final_check(slot.seen, &mut pcx);
        warnings.append(&mut pcx.warnings);
        r?;
        guided_final(slot.ext.info(), slot.seen)?;
    }
    if let Some((t, seen)) = x.target.as_mut() {
        let mut pcx = parse_cx(st.env, &table, &st.ip, &[]);
        let r = t.final_check(*seen, &mut pcx);
        warnings.append(&mut pcx.warnings);
        r?;
        guided_final(t.info(), *seen)?;
    }
    if optind < argc {
        return Err(XtError::new("unknown arguments found on commandline"));
    }
    if p.command == 0 {
        return Err(XtError::new("no command specified"));
    }
    if invert {
        return Err(XtError::new("nothing appropriate following !"));
    }
    let (mut src_one, mut dst_one) = ([Net::ANY], [Net::ANY]);
    let (mut src_list, mut dst_list) = (Vec::new(), Vec::new());
    let srcs = addresses(st.shost, &mut src_one, &mut src_list, st.env)?;
    let dsts = addresses(st.dhost, &mut dst_one, &mut dst_list, st.env)?;
    if (srcs.len() > 1 || dsts.len() > 1) && (st.ip.src_inv || st.ip.dst_inv) {
        return Err(XtError::new(
            "! not allowed with multiple source or destination IP addresses",
        ));
    }
    if p.command == CMD_REPLACE && (srcs.len() != 1 || dsts.len() != 1) {
        return Err(XtError::new(
            "Replacement rule does not specify a unique address",
        ));
    }
    generic_opt_check(p.command, p.options)?;
    if let Some(chain) = &p.chain {
        if chain.len() >= 29 {
            return Err(XtError::new(format!(
                "chain name `{chain}' too long (must be under 29 chars)"
            )));
        }
    }
    let rule_cmd = p.command & (CMD_IDRAC | CMD_DELETE_NUM) != 0;
    if rule_cmd {
        let chain = p.chain.as_deref().unwrap_or("");
        if (chain == "PREROUTING" || chain == "INPUT") && p.has(OPT_VIANAMEOUT) {
            return Err(XtError::new(format!("Can't use -o with {chain}\n")));
        }
        if (chain == "POSTROUTING" || chain == "OUTPUT") && p.has(OPT_VIANAMEIN) {
            return Err(XtError::new(format!("Can't use -i with {chain}\n")));
        }
    }
    if p.command & CMD_IDRAC != 0 {
        let target = match (x.target.take(), p.jumpto.take()) {
            (Some((t, _)), _) => RuleTarget::Ext(t),
            (None, Some(name)) if name == "QUEUE" && !p.goto => {
                p.queue = true;
                RuleTarget::None
            }
            (None, Some(name)) => match Verdict::from_name(&name) {
                Some(v) if !p.goto => RuleTarget::Verdict(v),
                _ => {
                    if p.goto {
                        RuleTarget::Goto(name)
                    } else {
                        RuleTarget::Jump(name)
                    }
                }
            },
            (None, None) => RuleTarget::None,
        };
        // What iptables-nft reads back from the kernel (native matches rebuilt).
        let mut matches: Vec<Box<dyn Match>> = Vec::with_capacity(x.matches.len());
        for slot in x.matches.drain(..) {
            let mut pcx = parse_cx(st.env, &table, &st.ip, &[]);
            let keep = slot.ext.nft_readback(&mut pcx, &mut matches);
            warnings.append(&mut pcx.warnings);
            if keep? {
                matches.push(slot.ext);
            }
        }
        let (packets, bytes) = p.counters.unwrap_or((0, 0));
        let last = srcs.len() * dsts.len();
        p.rules.reserve_exact(last);
        let pairs = srcs.iter().flat_map(|s| dsts.iter().map(move |d| (*s, *d)));
        // The rules but the last take copies; the last takes the
        // matches, the target and the address spec themselves.
        for (s, d) in pairs.clone().take(last.saturating_sub(1)) {
            let mut ip = st.ip.clone();
            (ip.src, ip.dst) = (s, d);
            p.rules.push(Rule {
                ip,
                matches: matches.clone(),
                target: target.clone(),
                counters: Counters { packets, bytes },
            });
        }
        if let Some((s, d)) = pairs.last() {
            let mut ip = std::mem::take(&mut st.ip);
            (ip.src, ip.dst) = (s, d);
            p.rules.push(Rule {
                ip,
                matches,
                target,
                counters: Counters { packets, bytes },
            });
        }
    } else if x.target.is_some() {
        p.jumpto = None;
    }
    Ok(st.p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time look for blanks in a chain name finds what
    /// `u8::is_ascii_whitespace` finds byte by byte.
    #[test]
    fn whitespace_in_names_as_byte_by_byte() {
        let alphabet = [
            b'a', b' ', b'\t', b'\n', b'\r', 0x0b, 0x0c, 0x1f, b'!', 0xc3,
        ];
        crate::bytescan::random_texts(&alphabet, |b| {
            assert_eq!(
                has_ascii_whitespace(b),
                b.iter().any(u8::is_ascii_whitespace),
                "{b:?}"
            );
        });
    }

    fn env_parse(line: &str) -> XtResult<Parsed> {
        let argv: Vec<String> = std::iter::once("iptables")
            .chain(line.split(' '))
            .map(String::from)
            .collect();
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
    }

    #[test]
    fn attached_values_keep_the_option_letters() {
        let e = env_parse("-A FORWARD -ptcp").unwrap_err();
        assert_eq!(e.msg, "unknown protocol \"-ptcp\" specified");
        let p = env_parse("-A INPUT -jACCEPT").unwrap();
        assert_eq!(p.rules[0].target.chain(), Some("-jACCEPT"));
    }

    /// The names read at once read as the general lookups read them.
    #[test]
    fn usual_protocol_names() {
        for name in ["tcp", "udp"] {
            assert_eq!(parse_protocol(name).ok(), crate::netdb::proto_number(name));
        }
        assert!(parse_target_name("A\x0cB").is_err());
        assert!(parse_target_name("A\rB").is_err());
        assert_eq!(
            parse_target_name("KUBE-SVC-0123456789ABCDEF").ok(),
            Some("KUBE-SVC-0123456789ABCDEF")
        );
    }

    #[test]
    fn counters_like_sscanf() {
        assert_eq!(scan_llu("-1"), Some(u64::MAX));
        assert_eq!(scan_llu(" 5x"), Some(5));
        assert_eq!(scan_llu(""), None);
        let p = env_parse("-A INPUT -c 1,2,3").unwrap();
        assert_eq!(p.counters, Some((1, 2)));
        assert_eq!(
            env_parse("-A INPUT -c ,3").unwrap_err().msg,
            "-c requires packet and byte counter"
        );
        assert_eq!(
            env_parse("-A INPUT -c 3,").unwrap_err().msg,
            "-c byte counter not numeric"
        );
    }

    #[test]
    fn zero_with_rule_number_replaces_the_command() {
        let p = env_parse("-L -Z INPUT 1").unwrap();
        assert_eq!(p.command, CMD_ZERO_NUM);
    }
}
