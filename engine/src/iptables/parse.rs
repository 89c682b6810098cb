//! iptables argv → a typed command: getopt loop, rule building, extension
//! loading and option dispatch, with iptables 1.8.9's exact errors.

use super::getopt::{Getopt, Got, LongOpt};
use crate::ext::xtopt;
use crate::ext::{self, ExtInfo, ExtKind, HasArg, Match, ParseCx, Target, XtError, XtResult};
use crate::ruleset::{IpSpec, Net, Rule, RuleTarget, Verdict};
use std::net::Ipv4Addr;

pub const OPTSTRING: &str =
    "-:A:C:D:R:I:L::S::M:F::Z::N:X::E:P:Vh::o:p:s:d:j:g:i:fbvw::W::nt:m:xc:46";

// Command bits, in cmd2char order.
pub const CMD_INSERT: u32 = 1 << 0;
pub const CMD_DELETE: u32 = 1 << 1;
pub const CMD_DELETE_NUM: u32 = 1 << 2;
pub const CMD_REPLACE: u32 = 1 << 3;
pub const CMD_APPEND: u32 = 1 << 4;
pub const CMD_LIST: u32 = 1 << 5;
pub const CMD_FLUSH: u32 = 1 << 6;
pub const CMD_ZERO: u32 = 1 << 7;
pub const CMD_NEW_CHAIN: u32 = 1 << 8;
pub const CMD_DELETE_CHAIN: u32 = 1 << 9;
pub const CMD_SET_POLICY: u32 = 1 << 10;
pub const CMD_RENAME_CHAIN: u32 = 1 << 11;
pub const CMD_LIST_RULES: u32 = 1 << 12;
pub const CMD_ZERO_NUM: u32 = 1 << 13;
pub const CMD_CHECK: u32 = 1 << 14;

const CMD_CHARS: [char; 15] = [
    'I', 'D', 'D', 'R', 'A', 'L', 'F', 'Z', 'N', 'X', 'P', 'E', 'S', 'Z', 'C',
];

// Option bits, in optflags order.
pub const OPT_NUMERIC: u32 = 1 << 0;
pub const OPT_SOURCE: u32 = 1 << 1;
pub const OPT_DESTINATION: u32 = 1 << 2;
pub const OPT_PROTOCOL: u32 = 1 << 3;
pub const OPT_JUMP: u32 = 1 << 4;
pub const OPT_VERBOSE: u32 = 1 << 5;
pub const OPT_EXPANDED: u32 = 1 << 6;
pub const OPT_VIANAMEIN: u32 = 1 << 7;
pub const OPT_VIANAMEOUT: u32 = 1 << 8;
pub const OPT_LINENUMBERS: u32 = 1 << 9;
pub const OPT_COUNTERS: u32 = 1 << 10;
pub const OPT_FRAGMENT: u32 = 1 << 11;

const OPT_CHARS: [char; 12] = ['n', 's', 'd', 'p', 'j', 'v', 'x', 'i', 'o', '0', 'c', 'f'];

const IDRAC: u32 = CMD_INSERT | CMD_DELETE | CMD_REPLACE | CMD_APPEND | CMD_CHECK;
const OPTIONS_V_COMMANDS: [u32; 12] = [
    CMD_LIST,
    IDRAC,
    IDRAC,
    IDRAC,
    IDRAC,
    u32::MAX,
    CMD_LIST,
    IDRAC,
    IDRAC,
    CMD_LIST,
    CMD_INSERT | CMD_REPLACE | CMD_APPEND | CMD_SET_POLICY,
    IDRAC,
];

/// Long options of iptables itself.
const BASE_LONGOPTS: &[(&str, HasArg, char)] = &[
    ("append", HasArg::Required, 'A'),
    ("delete", HasArg::Required, 'D'),
    ("check", HasArg::Required, 'C'),
    ("insert", HasArg::Required, 'I'),
    ("replace", HasArg::Required, 'R'),
    ("list", HasArg::Optional, 'L'),
    ("list-rules", HasArg::Optional, 'S'),
    ("flush", HasArg::Optional, 'F'),
    ("zero", HasArg::Optional, 'Z'),
    ("new-chain", HasArg::Required, 'N'),
    ("delete-chain", HasArg::Optional, 'X'),
    ("rename-chain", HasArg::Required, 'E'),
    ("policy", HasArg::Required, 'P'),
    ("source", HasArg::Required, 's'),
    ("destination", HasArg::Required, 'd'),
    ("src", HasArg::Required, 's'),
    ("dst", HasArg::Required, 'd'),
    ("protocol", HasArg::Required, 'p'),
    ("in-interface", HasArg::Required, 'i'),
    ("jump", HasArg::Required, 'j'),
    ("table", HasArg::Required, 't'),
    ("match", HasArg::Required, 'm'),
    ("numeric", HasArg::No, 'n'),
    ("out-interface", HasArg::Required, 'o'),
    ("verbose", HasArg::No, 'v'),
    ("wait", HasArg::Optional, 'w'),
    ("wait-interval", HasArg::Optional, 'W'),
    ("exact", HasArg::No, 'x'),
    ("fragments", HasArg::No, 'f'),
    ("version", HasArg::No, 'V'),
    ("help", HasArg::Optional, 'h'),
    ("line-numbers", HasArg::No, '0'),
    ("modprobe", HasArg::Required, 'M'),
    ("set-counters", HasArg::Required, 'c'),
    ("goto", HasArg::Required, 'g'),
    ("ipv4", HasArg::No, '4'),
    ("ipv6", HasArg::No, '6'),
];

/// Extension option codes start here: `EXT_BASE * (owner + 1) + option index`.
const EXT_BASE: u32 = 1000;

/// What the host offers the parser: name resolution and object lookups.
pub struct ParseEnv<'a> {
    pub resolve: &'a dyn Fn(&str) -> Vec<Ipv4Addr>,
    pub sets: &'a dyn Fn(&str) -> Option<ext::SetRef>,
    pub nfacct: &'a dyn Fn(&str) -> bool,
    /// Parsing a line of iptables-restore (`-t` is refused, `-w` too).
    pub restore: bool,
}

/// A match being parsed.
struct MatchSlot {
    ext: Box<dyn Match>,
    seen: u64,
    completed: bool,
}

/// A fully parsed iptables command line.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub command: u32,
    pub table: String,
    pub chain: Option<String>,
    pub rulenum: Option<u32>,
    pub newname: Option<String>,
    pub policy: Option<String>,
    pub options: u32,
    pub verbose: u32,
    /// One rule per combination of `-s` and `-d` addresses.
    pub rules: Vec<Rule>,
    pub counters: Option<(u64, u64)>,
    /// `-j NAME` / `-g NAME` that is not an extension: a verdict or chain name.
    pub jumpto: Option<String>,
    pub goto: bool,
    /// `-h`: print help and exit 0.
    pub help: Option<String>,
    /// `-V`.
    pub version: bool,
    /// Printed on stderr even on success.
    pub warnings: Vec<String>,
}

impl Parsed {
    pub fn has(&self, opt: u32) -> bool {
        self.options & opt != 0
    }
}

fn cmd2char(cmd: u32) -> char {
    let i = cmd.trailing_zeros() as usize;
    CMD_CHARS.get(i).copied().unwrap_or('?')
}

fn opt2char(opt: u32) -> char {
    OPT_CHARS[opt.trailing_zeros() as usize]
}

fn add_command(cmd: &mut u32, new: u32, others: u32, invert: bool) -> XtResult {
    if invert {
        return Err(XtError::new("unexpected ! flag"));
    }
    if *cmd & !others != 0 {
        return Err(XtError::new(format!(
            "Cannot use -{} with -{}",
            cmd2char(new),
            cmd2char(*cmd & !others)
        )));
    }
    *cmd |= new;
    Ok(())
}

fn set_option(options: &mut u32, opt: u32, invert: bool) -> XtResult {
    if *options & opt != 0 {
        return Err(XtError::new(format!(
            "multiple -{} flags not allowed",
            opt2char(opt)
        )));
    }
    *options |= opt;
    if invert
        && opt
            & (OPT_SOURCE
                | OPT_DESTINATION
                | OPT_PROTOCOL
                | OPT_VIANAMEIN
                | OPT_VIANAMEOUT
                | OPT_FRAGMENT)
            == 0
    {
        return Err(XtError::new(format!(
            "cannot have ! before -{}",
            opt2char(opt)
        )));
    }
    Ok(())
}

fn has_arg(argv: &[String], optind: usize) -> bool {
    optind < argv.len() && !argv[optind].starts_with('-') && !argv[optind].starts_with('!')
}

fn parse_rulenumber(s: &str) -> XtResult<u32> {
    match xtopt::strtoul_all(s, 1, i32::MAX as u64) {
        Some(v) => Ok(v as u32),
        None => Err(XtError::new(format!("Invalid rule number `{s}'"))),
    }
}

/// `xtables_parse_protocol`.
pub fn parse_protocol(s: &str) -> XtResult<u8> {
    if let Some(v) = xtopt::strtoul_all(s, 0, 255) {
        return Ok(v as u8);
    }
    if s == "all" {
        return Ok(0);
    }
    if let Some(p) = crate::netdb::proto_number(s) {
        return Ok(p);
    }
    for (name, num) in [
        ("tcp", 6u8),
        ("udp", 17),
        ("udplite", 136),
        ("icmp", 1),
        ("ipv6-icmp", 58),
        ("icmpv6", 58),
        ("esp", 50),
        ("ah", 51),
        ("sctp", 132),
        ("mh", 135),
        ("dccp", 33),
    ] {
        if name == s {
            return Ok(num);
        }
    }
    Err(XtError::new(format!("unknown protocol \"{s}\" specified")))
}

fn parse_interface(s: &str) -> XtResult<String> {
    if s.len() > 15 {
        return Err(XtError::new(format!(
            "interface name `{s}' must be shorter than IFNAMSIZ (15)"
        )));
    }
    Ok(s.to_string())
}

/// `xtables_ipparse_multiple`: comma-separated `host[/mask]` items.
pub fn parse_addresses(spec: &str, env: &ParseEnv) -> XtResult<Vec<Net>> {
    let mut out = Vec::new();
    for item in spec.split(',') {
        let (host, mask) = match item.split_once('/') {
            Some((h, m)) => {
                let mask = xtopt::parse_mask(m)
                    .ok_or_else(|| XtError::new(format!("invalid mask `{m}' specified")))?;
                (h, mask)
            }
            None => (item, u32::MAX),
        };
        // xtables_ipparse_any: xtables' dotted form first (`10.1` is 10.1.0.0),
        // then the resolver (whose inet_aton reads `10.258` as 10.0.1.2).
        let numeric = xtopt::numeric_to_ipaddr(host).or_else(|| xtopt::parse_ipv4(host));
        let addrs = if let Some(a) = numeric {
            vec![a]
        } else {
            let found = (env.resolve)(host);
            if found.is_empty() {
                return Err(XtError::new(format!("host/network `{host}' not found")));
            }
            found
        };
        for a in addrs {
            let net = Net {
                addr: Ipv4Addr::from(u32::from(a) & mask),
                mask,
            };
            if !out.contains(&net) {
                out.push(net);
            }
        }
    }
    Ok(out)
}

/// Protocol match loaded implicitly by `-p NAME` when an unknown option appears.
fn proto_match_name(proto: &str) -> Option<String> {
    if let Some(v) = xtopt::strtoul_all(proto, 0, 255) {
        return super::save::proto_save_name(v as u8)
            .filter(|n| *n != "all")
            .map(String::from);
    }
    Some(proto.to_string())
}

struct State<'e> {
    env: &'e ParseEnv<'e>,
    longopts: Vec<LongOpt>,
    /// Owner of each extension option range: (name, kind).
    owners: Vec<(&'static str, ExtKind)>,
    matches: Vec<MatchSlot>,
    target: Option<(Box<dyn Target>, u64)>,
    protocol: Option<String>,
    proto_used: bool,
}

impl<'e> State<'e> {
    fn merge_options(&mut self, info: &'static ExtInfo) {
        let owner = self.owners.len() as u32;
        self.owners.push((info.name, info.kind));
        // xtables_merge_options puts the newest extension's options right
        // after iptables' own, so they win over same-named older ones
        // (`-m udp --dport 1 -m tcp --dport 2` gives tcp the second).
        let at = BASE_LONGOPTS.len().min(self.longopts.len());
        let new = info.options.iter().enumerate().map(|(i, o)| LongOpt {
            name: o.name.to_string(),
            has_arg: o.has_arg,
            code: EXT_BASE * (owner + 1) + i as u32,
        });
        self.longopts.splice(at..at, new);
    }

    fn load_match(&mut self, name: &str, info: &'static ExtInfo) {
        let already = self.matches.iter().any(|m| m.ext.info().name == info.name);
        for m in self.matches.iter_mut() {
            if m.ext.info().name == info.name {
                m.completed = true;
            }
        }
        let _ = name;
        let ctor = info.new_match.expect("match extension without constructor");
        self.matches.push(MatchSlot {
            ext: ctor(),
            seen: 0,
            completed: false,
        });
        if !already {
            self.merge_options(info);
        }
    }
}

fn cx<'a>(env: &'a ParseEnv, table: &'a str, ip: &IpSpec, rest: &'a [String]) -> ParseCx<'a> {
    ParseCx {
        table,
        proto: ip.proto,
        proto_invert: ip.proto_inv,
        sets: env.sets,
        nfacct: env.nfacct,
        warnings: Vec::new(),
        rest,
        consumed: 0,
    }
}

/// Guided option checks before an extension's own parse (`xtables_option_parse`).
fn guided_pre(info: &ExtInfo, idx: usize, seen: u64, invert: bool, arg: Option<&str>) -> XtResult {
    if !info.guided {
        return Ok(());
    }
    // libxtables finds the entry by id: aliases report the first name.
    let id = info.options[idx].id;
    let o = info
        .options
        .iter()
        .find(|o| o.id == id)
        .unwrap_or(&info.options[idx]);
    let b = 1u64 << o.id;
    if (!o.multi || o.excl & b != 0) && seen & b != 0 {
        return Err(XtError::new(format!(
            "{}: option \"--{}\" can only be used once.\n",
            info.name, o.name
        )));
    }
    if invert && !o.invert {
        return Err(XtError::new(format!(
            "{}: option \"--{}\" cannot be inverted.\n",
            info.name, o.name
        )));
    }
    if o.has_arg != HasArg::No && arg.is_none() {
        return Err(XtError::new(format!(
            "{}: option \"--{}\" requires an argument.\n",
            info.name, o.name
        )));
    }
    Ok(())
}

/// Guided final checks (`xtables_options_fcheck`): for each option in table
/// order, "must be specified", then against every other option id in id order
/// (the first table entry of that id names it): "also requires" before
/// "cannot be used together".
pub fn guided_final(info: &ExtInfo, seen: u64) -> XtResult {
    if !info.guided {
        return Ok(());
    }
    for o in info.options {
        let b = 1u64 << o.id;
        if o.mandatory && seen & b == 0 {
            return Err(XtError::new(format!(
                "{}: option \"--{}\" must be specified\n",
                info.name, o.name
            )));
        }
        if seen & b == 0 {
            continue;
        }
        // Other options by ascending id, each under its first name
        // (xtables_option_fcheck2: "also" before "excl").
        for id in 0..64u8 {
            let Some(other) = info.options.iter().find(|x| x.id == id) else {
                continue;
            };
            if other.id == o.id {
                continue;
            }
            let ob = 1u64 << other.id;
            if o.also & ob != 0 && seen & ob == 0 {
                return Err(XtError::new(format!(
                    "{}: option \"--{}\" also requires \"--{}\".\n",
                    info.name, o.name, other.name
                )));
            }
            if o.excl & ob != 0 && seen & ob != 0 {
                return Err(XtError::new(format!(
                    "{}: option \"--{}\" cannot be used together with \"--{}\".\n",
                    info.name, o.name, other.name
                )));
            }
        }
    }
    Ok(())
}

/// Parses one iptables command line (`argv[0]` is the program name).
pub fn parse(argv: &[String], env: &ParseEnv) -> XtResult<Parsed> {
    parse_with_warnings(argv, env).0
}

/// Like [`parse`], and also returns the warnings printed while parsing, which
/// iptables prints even when the command then fails (`warn: ...`, a target
/// whose kernel module is missing).
pub fn parse_with_warnings(argv: &[String], env: &ParseEnv) -> (XtResult<Parsed>, Vec<String>) {
    let mut warnings = Vec::new();
    let r = parse_inner(argv, env, &mut warnings);
    let r = r.map(|mut p| {
        p.warnings = warnings.clone();
        p
    });
    (r, warnings)
}

fn parse_inner(argv: &[String], env: &ParseEnv, warn: &mut Vec<String>) -> XtResult<Parsed> {
    let mut p = Parsed {
        table: "filter".to_string(),
        ..Default::default()
    };
    let mut st = State {
        env,
        longopts: BASE_LONGOPTS
            .iter()
            .map(|(n, h, c)| LongOpt {
                name: n.to_string(),
                has_arg: *h,
                code: *c as u32,
            })
            .collect(),
        owners: Vec::new(),
        matches: Vec::new(),
        target: None,
        protocol: None,
        proto_used: false,
    };
    let mut ip = IpSpec::default();
    let mut shost: Option<String> = None;
    let mut dhost: Option<String> = None;
    let mut invert = false;
    let mut table_set = false;
    let mut g = Getopt::new(argv, OPTSTRING);
    loop {
        let got = g.next(&st.longopts);
        let (code, optarg) = match got {
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
                if try_load_proto(&mut st, &mut g) {
                    continue;
                }
                let shown = match optopt {
                    Some(c) => format!("-{c}"),
                    None => argv[g.optind - 1].clone(),
                };
                return Err(XtError::new(format!("unknown option \"{shown}\"")));
            }
            Got::MissingArg => {
                if try_load_proto(&mut st, &mut g) {
                    continue;
                }
                return Err(XtError::new(format!(
                    "option \"{}\" requires an argument",
                    argv[g.optind - 1]
                )));
            }
        };
        let arg = optarg.clone().unwrap_or_default();
        if code >= EXT_BASE {
            let owner = (code / EXT_BASE - 1) as usize;
            let idx = (code % EXT_BASE) as usize;
            let (name, kind) = st.owners[owner];
            let rest = &argv[g.optind.min(argv.len())..];
            let mut pcx = cx(env, &p.table, &ip, rest);
            match kind {
                ExtKind::Target => {
                    let (t, seen) = st.target.as_mut().expect("target owner without target");
                    let info = t.info();
                    guided_pre(info, idx, *seen, invert, optarg.as_deref())?;
                    let id = info.options[idx].id;
                    let r = t.parse(id, optarg.as_deref(), invert, &mut pcx);
                    warn.append(&mut pcx.warnings);
                    r?;
                    *seen |= 1 << id;
                }
                ExtKind::Match => {
                    let slot = st
                        .matches
                        .iter_mut()
                        .rev()
                        .find(|m| m.ext.info().name == name && !m.completed)
                        .or(None);
                    let Some(slot) = slot else {
                        return Err(XtError::new(format!(
                            "unknown option \"{}\"",
                            argv[g.optind - 1]
                        )));
                    };
                    let info = slot.ext.info();
                    guided_pre(info, idx, slot.seen, invert, optarg.as_deref())?;
                    let id = info.options[idx].id;
                    let r = slot.ext.parse(id, optarg.as_deref(), invert, &mut pcx);
                    warn.append(&mut pcx.warnings);
                    r?;
                    slot.seen |= 1 << id;
                }
            }
            g.optind += pcx.consumed;
            invert = false;
            continue;
        }
        let c = char::from_u32(code).unwrap_or('?');
        match c {
            'A' => {
                add_command(&mut p.command, CMD_APPEND, 0, invert)?;
                p.chain = Some(arg);
            }
            'C' => {
                add_command(&mut p.command, CMD_CHECK, 0, invert)?;
                p.chain = Some(arg);
            }
            'D' => {
                add_command(&mut p.command, CMD_DELETE, 0, invert)?;
                p.chain = Some(arg);
                if has_arg(argv, g.optind) {
                    p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
                    g.optind += 1;
                    p.command = CMD_DELETE_NUM;
                }
            }
            'R' => {
                add_command(&mut p.command, CMD_REPLACE, 0, invert)?;
                p.chain = Some(arg);
                if has_arg(argv, g.optind) {
                    p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
                    g.optind += 1;
                } else {
                    return Err(XtError::new("-R requires a rule number"));
                }
            }
            'I' => {
                add_command(&mut p.command, CMD_INSERT, 0, invert)?;
                p.chain = Some(arg);
                if has_arg(argv, g.optind) {
                    p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
                    g.optind += 1;
                } else {
                    p.rulenum = Some(1);
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
                    p.chain = Some(a);
                } else if has_arg(argv, g.optind) {
                    p.chain = Some(argv[g.optind].clone());
                    g.optind += 1;
                }
                if has_arg(argv, g.optind) {
                    p.rulenum = Some(parse_rulenumber(&argv[g.optind])?);
                    g.optind += 1;
                    if c == 'Z' {
                        p.command = (p.command & !CMD_ZERO) | CMD_ZERO_NUM;
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
                    p.chain = Some(a);
                } else if has_arg(argv, g.optind) {
                    p.chain = Some(argv[g.optind].clone());
                    g.optind += 1;
                }
            }
            'N' => {
                assert_valid_chain_name(&arg)?;
                add_command(&mut p.command, CMD_NEW_CHAIN, 0, invert)?;
                p.chain = Some(arg);
            }
            'E' => {
                add_command(&mut p.command, CMD_RENAME_CHAIN, 0, invert)?;
                p.chain = Some(arg);
                if has_arg(argv, g.optind) {
                    p.newname = Some(argv[g.optind].clone());
                    g.optind += 1;
                } else {
                    return Err(XtError::new(
                        "-E requires old-chain-name and new-chain-name",
                    ));
                }
                assert_valid_chain_name(p.newname.as_deref().unwrap_or(""))?;
            }
            'P' => {
                add_command(&mut p.command, CMD_SET_POLICY, 0, invert)?;
                if has_arg(argv, g.optind) {
                    p.chain = Some(arg);
                    p.policy = Some(argv[g.optind].clone());
                    g.optind += 1;
                } else {
                    return Err(XtError::new("-P requires a chain and a policy"));
                }
            }
            'h' => {
                let mut names: Vec<&'static ExtInfo> = Vec::new();
                if let Some((t, _)) = &st.target {
                    names.push(t.info());
                }
                for m in &st.matches {
                    names.push(m.ext.info());
                }
                if st.matches.is_empty() {
                    if let Some(proto) = &st.protocol {
                        if let Some(info) = ext::find(proto, ExtKind::Match) {
                            names.push(info);
                        }
                    }
                }
                p.help = Some(super::help::full_help(&names));
                return Ok(p);
            }
            'p' => {
                set_option(&mut p.options, OPT_PROTOCOL, invert)?;
                ip.proto_inv = invert;
                let lower = arg.to_lowercase();
                ip.proto = parse_protocol(&lower)?;
                if ip.proto == 0 && invert {
                    return Err(XtError::new("rule would never match protocol"));
                }
                st.protocol = Some(lower);
            }
            's' => {
                set_option(&mut p.options, OPT_SOURCE, invert)?;
                ip.src_inv = invert;
                shost = Some(arg);
            }
            'd' => {
                set_option(&mut p.options, OPT_DESTINATION, invert)?;
                ip.dst_inv = invert;
                dhost = Some(arg);
            }
            'g' => {
                set_option(&mut p.options, OPT_JUMP, invert)?;
                p.goto = true;
                p.jumpto = Some(parse_target_name(&arg)?.to_string());
            }
            'j' => {
                set_option(&mut p.options, OPT_JUMP, invert)?;
                let name = parse_target_name(&arg)?.to_string();
                if name != "CONTINUE" {
                    match ext::find(&name, ExtKind::Target) {
                        Some(info) => {
                            let ctor = info.new_target.expect("target without constructor");
                            let t = ctor();
                            warn.extend(t.load_warning());
                            st.target = Some((t, 0));
                            st.merge_options(info);
                            p.jumpto = Some(name);
                        }
                        None => p.jumpto = Some(name),
                    }
                }
            }
            'i' => {
                if arg.is_empty() {
                    return Err(XtError::new("Empty interface is likely to be undesired"));
                }
                set_option(&mut p.options, OPT_VIANAMEIN, invert)?;
                ip.in_inv = invert;
                ip.in_iface = parse_interface(&arg)?;
            }
            'o' => {
                if arg.is_empty() {
                    return Err(XtError::new("Empty interface is likely to be undesired"));
                }
                set_option(&mut p.options, OPT_VIANAMEOUT, invert)?;
                ip.out_inv = invert;
                ip.out_iface = parse_interface(&arg)?;
            }
            'f' => {
                set_option(&mut p.options, OPT_FRAGMENT, invert)?;
                ip.frag = true;
                ip.frag_inv = invert;
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
                match ext::find(&arg, ExtKind::Match) {
                    Some(info) => st.load_match(&arg, info),
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
                if env.restore && table_set {
                    return Err(XtError::new(
                        "The -t option cannot be used in iptables-restore.\n",
                    ));
                }
                if env.restore {
                    return Err(XtError::new(
                        "The -t option cannot be used in iptables-restore.\n",
                    ));
                }
                p.table = arg;
                table_set = true;
            }
            'x' => set_option(&mut p.options, OPT_EXPANDED, invert)?,
            'V' => {
                p.version = true;
                return Ok(p);
            }
            'w' | 'W' => {
                if env.restore {
                    return Err(XtError::new(format!(
                        "You cannot use `-{c}' from iptables-restore"
                    )));
                }
                if optarg.is_none() && has_arg(argv, g.optind) {
                    g.optind += 1;
                }
            }
            '0' => set_option(&mut p.options, OPT_LINENUMBERS, invert)?,
            'M' => {}
            'c' => {
                set_option(&mut p.options, OPT_COUNTERS, invert)?;
                let (pc, bc) = match arg.split_once(',') {
                    Some((a, b)) => (a.to_string(), Some(b.to_string())),
                    None => {
                        let b = if has_arg(argv, g.optind) {
                            g.optind += 1;
                            Some(argv[g.optind - 1].clone())
                        } else {
                            None
                        };
                        (arg.clone(), b)
                    }
                };
                let Some(bc) = bc else {
                    return Err(XtError::new("-c requires packet and byte counter"));
                };
                let pn =
                    scan_u64(&pc).ok_or_else(|| XtError::new("-c packet counter not numeric"))?;
                let bn =
                    scan_u64(&bc).ok_or_else(|| XtError::new("-c byte counter not numeric"))?;
                p.counters = Some((pn, bn));
            }
            '4' => {}
            '6' => return Err(XtError::bare_try()),
            _ => {
                return Err(XtError::new(format!("Unknown arg \"{arg}\"")));
            }
        }
        invert = false;
    }

    if p.table == "nat"
        && (p.policy.as_deref() == Some("DROP") || p.jumpto.as_deref() == Some("DROP"))
    {
        return Err(XtError::new(
            "\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n",
        ));
    }

    // Final checks of every match and the target, in order.
    let table = p.table.clone();
    for slot in st.matches.iter_mut() {
        let mut pcx = cx(env, &table, &ip, &[]);
        let info = slot.ext.info();
        // xtables_option_mfcall: the extension's own check runs before the guided ones.
        let r = slot.ext.final_check(slot.seen, &mut pcx);
        warn.append(&mut pcx.warnings);
        r?;
        guided_final(info, slot.seen)?;
    }
    if let Some((t, seen)) = st.target.as_mut() {
        let mut pcx = cx(env, &table, &ip, &[]);
        let info = t.info();
        let r = t.final_check(*seen, &mut pcx);
        warn.append(&mut pcx.warnings);
        r?;
        guided_final(info, *seen)?;
    }

    if g.optind < argv.len() {
        return Err(XtError::new("unknown arguments found on commandline"));
    }
    if p.command == 0 {
        return Err(XtError::new("no command specified"));
    }
    if invert {
        return Err(XtError::new("nothing appropriate following !"));
    }

    // generic_opt_check
    for (i, allowed) in OPTIONS_V_COMMANDS.iter().enumerate() {
        let bit = 1u32 << i;
        if p.options & bit != 0 && allowed & p.command == 0 {
            return Err(XtError::new(format!(
                "Illegal option `-{}' with this command",
                OPT_CHARS[i]
            )));
        }
    }
    if let Some(chain) = &p.chain {
        if chain.len() >= 29 {
            return Err(XtError::new(format!(
                "chain name `{chain}' too long (must be under 29 chars)"
            )));
        }
    }
    let rule_cmd =
        p.command & (CMD_APPEND | CMD_DELETE | CMD_CHECK | CMD_INSERT | CMD_REPLACE) != 0;
    if rule_cmd {
        let chain = p.chain.as_deref().unwrap_or("");
        if (chain == "PREROUTING" || chain == "INPUT") && p.has(OPT_VIANAMEOUT) {
            return Err(XtError::new(format!("Can't use -o with {chain}\n")));
        }
        if (chain == "POSTROUTING" || chain == "OUTPUT") && p.has(OPT_VIANAMEIN) {
            return Err(XtError::new(format!("Can't use -i with {chain}\n")));
        }
    }

    if rule_cmd {
        let srcs = parse_addresses(shost.as_deref().unwrap_or("0.0.0.0/0"), env)?;
        let dsts = parse_addresses(dhost.as_deref().unwrap_or("0.0.0.0/0"), env)?;
        if (srcs.len() > 1 || dsts.len() > 1) && (ip.src_inv || ip.dst_inv) {
            return Err(XtError::new(
                "! not allowed with multiple source or destination IP addresses",
            ));
        }
        let target = match (&st.target, &p.jumpto) {
            (Some((t, _)), _) => RuleTarget::Ext(t.box_clone()),
            (None, Some(name)) => match Verdict::from_name(name) {
                Some(v) if !p.goto => RuleTarget::Verdict(v),
                _ if p.goto => RuleTarget::Goto(name.clone()),
                _ => RuleTarget::Jump(name.clone()),
            },
            (None, None) => RuleTarget::None,
        };
        // What iptables-nft reads back from the kernel (native matches rebuilt).
        let mut matches: Vec<Box<dyn Match>> = Vec::new();
        for slot in st.matches {
            let mut pcx = cx(env, &table, &ip, &[]);
            if slot.ext.nft_readback(&mut pcx, &mut matches)? {
                matches.push(slot.ext);
            }
        }
        let (pc, bc) = p.counters.unwrap_or((0, 0));
        for s in &srcs {
            for d in &dsts {
                let mut rip = ip.clone();
                rip.src = *s;
                rip.dst = *d;
                p.rules.push(Rule {
                    ip: rip,
                    matches: matches.clone(),
                    target: target.clone(),
                    counters: crate::ruleset::Counters {
                        packets: pc,
                        bytes: bc,
                    },
                });
            }
        }
    }
    Ok(p)
}

fn scan_u64(s: &str) -> Option<u64> {
    let t = s.trim_start();
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// If a protocol was given and its match is not loaded yet, load it and retry
/// the current argument (`load_proto` in iptables).
fn try_load_proto(st: &mut State, g: &mut Getopt) -> bool {
    let Some(proto) = st.protocol.clone() else {
        return false;
    };
    if st.proto_used {
        return false;
    }
    st.proto_used = true;
    let Some(name) = proto_match_name(&proto) else {
        return false;
    };
    let Some(info) = ext::find(&name, ExtKind::Match) else {
        return false;
    };
    st.load_match(&name, info);
    // Re-read the same argument with the new options.
    g.optind -= 1;
    let _ = st.env;
    true
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
    if s.chars().any(|c| c.is_ascii_whitespace()) {
        return Err(XtError::new(format!("Invalid target name `{s}'")));
    }
    Ok(s)
}

pub fn assert_valid_chain_name(name: &str) -> XtResult {
    if name.len() >= 29 {
        return Err(XtError::new(format!(
            "chain name `{name}' too long (must be under 29 chars)"
        )));
    }
    if name.starts_with('-') || name.starts_with('!') {
        return Err(XtError::new(format!(
            "chain name not allowed to start with `{}'",
            &name[..1]
        )));
    }
    if ext::find(name, ExtKind::Target).is_some() || Verdict::from_name(name).is_some() {
        return Err(XtError::new("chain name may not clash with target name"));
    }
    if name.chars().any(|c| c.is_ascii_whitespace()) {
        return Err(XtError::new(format!("Invalid chain name `{name}'")));
    }
    Ok(())
}
