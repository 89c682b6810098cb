//! The `ipset` command line: global options, command words (with ipset's
//! prefix matching and aliases), per-command arguments and execution
//! against the host's sets.

use super::elem::{self, Elem, TestResult};
use super::parse;
use super::print::{self, ListOpts, Mode};
use super::set::{ExtArgs, Header, IpSet, KErr};
use super::types::{self, Adt, Arg, Kind};
use crate::command::Output;
use crate::sim::host::Host;

/// Prefix of every error line.
pub const TAG: &str = "ipset v7.17";
const TRY: &str = "Try `ipset help' for more information.\n";

/// Why a command stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// Bad command line: exit 2 with the `Try` line.
    Param(String),
    /// Parse or kernel error: exit 1.
    Session(String),
}

/// Global options (`-exist`, `-o`, ...). They stay set for a whole restore.
#[derive(Debug, Clone, Default)]
pub(super) struct Env {
    sorted: bool,
    quiet: bool,
    pub(super) exist: bool,
    names: bool,
    terse: bool,
    mode: Option<Mode>,
    pub(super) file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Create,
    Add,
    Del,
    Test,
    Destroy,
    List,
    Save,
    Restore,
    Flush,
    Rename,
    Swap,
    Help,
    Version,
    Quit,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Args {
    None,
    Optional,
    Two,
}

const COMMANDS: &[(Cmd, &[&str], Args)] = &[
    (Cmd::Create, &["create", "new", "-N"], Args::Two),
    (Cmd::Add, &["add", "-A"], Args::Two),
    (Cmd::Del, &["del", "-D"], Args::Two),
    (Cmd::Test, &["test", "-T"], Args::Two),
    (Cmd::Destroy, &["destroy", "x", "-X"], Args::Optional),
    (Cmd::List, &["list", "-L"], Args::Optional),
    (Cmd::Save, &["save", "-S"], Args::Optional),
    (Cmd::Restore, &["restore", "-R"], Args::None),
    (Cmd::Flush, &["flush", "-F"], Args::Optional),
    (Cmd::Rename, &["rename", "e", "-E"], Args::Two),
    (Cmd::Swap, &["swap", "w", "-W"], Args::Two),
    (Cmd::Help, &["help", "-h", "-H"], Args::Optional),
    (Cmd::Version, &["version", "-v", "-V"], Args::None),
    (Cmd::Quit, &["quit"], Args::None),
];

/// `ipset_match_cmd`: the word (two leading dashes ignored) is a prefix of a name.
fn match_cmd(word: &str) -> Option<(Cmd, &'static str, Args)> {
    let skip = if word.starts_with("--") { 2 } else { 0 };
    if word.len() <= skip || word == "-" {
        return None;
    }
    let w = &word[skip..];
    COMMANDS
        .iter()
        .find(|(_, names, _)| names.iter().any(|n| n.starts_with(w)))
        .map(|(c, names, a)| (*c, names[0], *a))
}

/// Global options: names, whether they take a value.
const ENVOPTS: &[(&str, &str, bool)] = &[
    ("-o", "-output", true),
    ("-s", "-sorted", false),
    ("-q", "-quiet", false),
    ("-r", "-resolve", false),
    ("-!", "-exist", false),
    ("-n", "-name", false),
    ("-t", "-terse", false),
    ("-f", "-file", true),
];

/// One parsed command line.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Create {
        name: String,
        kind: Kind,
        header: Header,
        warnings: Vec<String>,
    },
    Adt {
        adt: Adt,
        set: String,
        elem: Elem,
        ext: ExtArgs,
        /// The element as echoed by `test`.
        shown: String,
    },
    Destroy(Option<String>),
    Flush(Option<String>),
    List(Option<String>, bool),
    Rename(String, String),
    Swap(String, String),
    Restore,
    Version,
    Help(Option<String>),
    Quit,
    /// `ipset -`: commands from standard input with a prompt.
    Interactive,
    /// A line of interactive mode without a command.
    NoCommand,
}

/// State of one `ipset` invocation (one restore is one session).
pub(super) struct Session<'h> {
    pub(super) host: &'h mut Host,
    pub(super) env: Env,
    pub(super) out: Output,
    /// Restore line number (0 outside restore).
    pub(super) line: usize,
    /// Pending add/del lines of a restore: (line, op) for one set and command.
    pub(super) batch: Vec<(usize, Adt, String, Elem, ExtArgs, bool)>,
    pub(super) interactive: bool,
}

/// Runs `ipset ARGS...` on a host.
// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(host: &mut Host, argv: &[String], stdin: Option<&str>) -> Output {
    let now = host.clock_ns;
    host.ipsets.expire(now);
    let mut s = Session {
        host,
        env: Env::default(),
        out: Output::default(),
        line: 0,
        batch: Vec::new(),
        interactive: false,
    };
    let args: Vec<String> = argv.to_vec();
    match s.parse(&args) {
        Err(p) => s.fail(p),
        Ok(Op::Restore) => s.restore(stdin.unwrap_or("")),
        Ok(Op::Interactive) => s.interactive(stdin.unwrap_or("")),
        Ok(op) => {
            if let Err(p) = s.exec(op) {
                s.fail(p);
            }
        }
    }
    s.out
}

impl Session<'_> {
    /// The host clock in nanoseconds (member timeouts run on it).
    fn now(&self) -> u64 {
        self.host.clock_ns
    }

    /// Prints an error and sets the exit code.
    pub(super) fn fail(&mut self, p: Problem) {
        let quiet = self.env.quiet;
        let (msg, exit) = match p {
            Problem::Param(m) => (format!("{TAG}: {m}\n{TRY}"), 2),
            Problem::Session(m) => {
                if self.line > 0 {
                    (format!("{TAG}: Error in line {}: {m}\n", self.line), 1)
                } else {
                    (format!("{TAG}: {m}\n"), 1)
                }
            }
        };
        if !quiet {
            self.out.stderr.push_str(&msg);
        }
        self.out.exit = exit;
    }

    fn warn(&mut self, msgs: &[String]) {
        if msgs.is_empty() || self.env.quiet {
            return;
        }
        self.out.stderr.push_str("Warning: ");
        self.out.stderr.push_str(&msgs.join("\n"));
        self.out.stderr.push('\n');
    }

    fn write_out(&mut self, text: &str) {
        match &self.env.file {
            Some(f) => {
                self.host.files.insert(f.clone(), text.to_string());
            }
            None => self.out.stdout.push_str(text),
        }
    }

    /// `ipset_parser`: global options, the command word, its arguments.
    pub(super) fn parse(&mut self, argv: &[String]) -> Result<Op, Problem> {
        let mut args: Vec<String> = argv.to_vec();
        for (short, long, has_arg) in ENVOPTS {
            let mut i = 1;
            while i < args.len() {
                let a = &args[i];
                let w = if a.starts_with("--") {
                    &a[1..]
                } else {
                    a.as_str()
                };
                if w != *short && w != *long {
                    i += 1;
                    continue;
                }
                args.remove(i);
                let value = if *has_arg {
                    if i >= args.len() {
                        return Err(Problem::Param(format!(
                            "Missing mandatory argument to option {short}"
                        )));
                    }
                    Some(args.remove(i))
                } else {
                    None
                };
                match *short {
                    "-o" => {
                        let v = value.unwrap_or_default();
                        self.env.mode = Some(match v.as_str() {
                            "plain" => Mode::Plain,
                            "save" => Mode::Save,
                            "xml" => Mode::Xml,
                            _ => {
                                return Err(Problem::Session(format!(
                                    "Syntax error: unknown output mode '{v}'"
                                )))
                            }
                        });
                    }
                    "-f" => {
                        if self.env.file.is_some() {
                            return Err(Problem::Param(
                                "-file option cannot be used when full io is activated".into(),
                            ));
                        }
                        self.env.file = value;
                    }
                    "-s" => self.env.sorted = true,
                    "-q" => self.env.quiet = true,
                    "-!" => self.env.exist = true,
                    "-n" => self.env.names = true,
                    "-t" => self.env.terse = true,
                    _ => {}
                }
            }
        }
        let Some(word) = args.get(1).cloned() else {
            if self.interactive {
                return Ok(Op::NoCommand);
            }
            return Err(Problem::Param("No command specified.".into()));
        };
        let Some((cmd, cname, has)) = match_cmd(&word) else {
            if self.interactive {
                return Ok(Op::NoCommand);
            }
            if word == "-" {
                return Ok(Op::Interactive);
            }
            return Err(Problem::Param(format!(
                "No command specified: unknown argument {word}"
            )));
        };
        if self.line > 0 && matches!(cmd, Cmd::Restore | Cmd::Version | Cmd::Help) {
            return Err(Problem::Param(format!(
                "Command `{cname}' is invalid in restore mode."
            )));
        }
        let mut rest: Vec<String> = args[2..].to_vec();
        let mut arg0 = None;
        let mut arg1 = None;
        match has {
            Args::Two => {
                if rest.is_empty() {
                    return Err(Problem::Param(format!(
                        "Missing mandatory argument to command {cname}"
                    )));
                }
                arg0 = Some(rest.remove(0));
                if rest.is_empty() {
                    return Err(Problem::Param(format!(
                        "Missing second mandatory argument to command {cname}"
                    )));
                }
                arg1 = Some(rest.remove(0));
            }
            Args::Optional => {
                if !rest.is_empty() {
                    arg0 = Some(rest.remove(0));
                }
            }
            Args::None => {}
        }
        let op = match cmd {
            Cmd::Version => return Ok(Op::Version),
            Cmd::Help => return Ok(Op::Help(arg0)),
            Cmd::Quit => return Ok(Op::Quit),
            Cmd::Create => {
                let name = arg0.unwrap_or_default();
                let tname = arg1.unwrap_or_default();
                return self.parse_create(&name, &tname, &rest);
            }
            Cmd::Add | Cmd::Del | Cmd::Test => {
                let adt = match cmd {
                    Cmd::Add => Adt::Add,
                    Cmd::Del => Adt::Del,
                    _ => Adt::Test,
                };
                return self.parse_adt(
                    adt,
                    &arg0.unwrap_or_default(),
                    &arg1.unwrap_or_default(),
                    &rest,
                );
            }
            Cmd::Destroy | Cmd::Flush | Cmd::List | Cmd::Save => {
                if let Some(n) = &arg0 {
                    parse::setname(n).map_err(Problem::Session)?;
                }
                match cmd {
                    Cmd::Destroy => Op::Destroy(arg0),
                    Cmd::Flush => Op::Flush(arg0),
                    Cmd::List => Op::List(arg0, false),
                    _ => Op::List(arg0, true),
                }
            }
            Cmd::Rename | Cmd::Swap => {
                let a = arg0.unwrap_or_default();
                let b = arg1.unwrap_or_default();
                parse::setname(&a).map_err(Problem::Session)?;
                parse::setname(&b).map_err(Problem::Session)?;
                if cmd == Cmd::Rename {
                    Op::Rename(a, b)
                } else {
                    Op::Swap(a, b)
                }
            }
            Cmd::Restore => {
                if let Some(a) = rest.first() {
                    return Err(Problem::Param(format!("Unknown argument {a}")));
                }
                return Ok(Op::Restore);
            }
        };
        if let Some(a) = rest.first() {
            return Err(Problem::Param(format!("Unknown argument {a}")));
        }
        Ok(op)
    }

    fn parse_create(&mut self, name: &str, tname: &str, rest: &[String]) -> Result<Op, Problem> {
        parse::setname(name).map_err(Problem::Session)?;
        if tname.len() > parse::MAXNAMELEN {
            return Err(Problem::Session(format!(
                "Syntax error: typename '{tname}' is longer than 31 characters"
            )));
        }
        let kind = match types::resolve(tname) {
            Ok(k) => k,
            Err(true) => {
                return Err(Problem::Session(
                    "Kernel error received: set type not supported".into(),
                ))
            }
            Err(false) => {
                return Err(Problem::Session(format!(
                    "Syntax error: typename '{tname}' is unknown"
                )))
            }
        };
        let opts = split_args(kind.create_args(), rest)?;
        let mut h = Header {
            hashsize: 1024,
            maxelem: 65536,
            bucketsize: 12,
            size: 8,
            ..Default::default()
        };
        let mut warnings = Vec::new();
        let mut seen: Vec<Arg> = Vec::new();
        let mut family_set = false;
        let mut initval = None;
        let mut range_given = false;
        // Family options first, then the others, as ipset does.
        for pass in [true, false] {
            for (arg, word, value) in &opts {
                let is_family = matches!(arg, Arg::Family | Arg::Inet | Arg::Inet6);
                if is_family != pass {
                    continue;
                }
                let key = if is_family { Arg::Family } else { *arg };
                if seen.contains(&key) && !matches!(arg, Arg::Probes | Arg::Resize | Arg::Gc) {
                    return Err(Problem::Session(format!(
                        "Syntax error: {} already specified",
                        word.trim_start_matches("--")
                    )));
                }
                seen.push(key);
                let v = value.as_deref().unwrap_or("");
                let se = Problem::Session;
                match arg {
                    Arg::Family => {
                        h.inet6 = match v {
                            "inet" | "ipv4" | "-4" => false,
                            "inet6" | "ipv6" | "-6" => true,
                            "any" | "unspec" => {
                                return Err(se(
                                    "Protocol family not supported by the set type".into()
                                ))
                            }
                            _ => return Err(se(format!("Syntax error: unknown inet family {v}"))),
                        };
                        family_set = true;
                    }
                    Arg::Inet => h.inet6 = false,
                    Arg::Inet6 => h.inet6 = true,
                    Arg::HashSize => h.hashsize = parse::u32_(v).map_err(se)?,
                    Arg::MaxElem => h.maxelem = parse::u32_(v).map_err(se)?,
                    Arg::Netmask => {
                        if h.bitmask.is_some() {
                            return Err(se("Syntax error: bitmask and netmask are mutually exclusive, provide only one".into()));
                        }
                        let max = if h.inet6 { 128 } else { 32 };
                        let c = parse::cidr(v, 1, max).map_err(|e| {
                            se(format!(
                                "{e}\nSyntax error: netmask is out of the inclusive range of 1-{max}"
                            ))
                        })?;
                        h.netmask = Some(c);
                    }
                    Arg::Bitmask => {
                        if h.netmask.is_some() {
                            return Err(se("Syntax error: bitmask and netmask are mutually exclusive, provide only one".into()));
                        }
                        let m = parse::inet_aton(v).ok_or_else(|| {
                            se(format!(
                                "Syntax error: cannot parse {v}: resolving to IPv4 address failed"
                            ))
                        })?;
                        h.bitmask = Some(u32::from(m));
                    }
                    Arg::Timeout => h.timeout = Some(parse::timeout(v).map_err(se)?),
                    Arg::Counters => h.counters = true,
                    Arg::Comment => h.comment = true,
                    Arg::ForceAdd => h.forceadd = true,
                    Arg::SkbInfo => h.skbinfo = true,
                    Arg::BucketSize => h.bucketsize = parse::u8_(v).map_err(se)?,
                    Arg::InitVal => initval = Some(parse::u32_(v).map_err(se)?),
                    Arg::Probes | Arg::Resize | Arg::Gc => {
                        warnings.push(format!(
                            "Option '--{} {v}' is ignored. Please upgrade your syntax.",
                            arg.names()[0]
                        ));
                    }
                    Arg::Range => {
                        range_given = true;
                        if kind == Kind::BitmapPort {
                            let (a, b) = parse::tcp_udp_port(v, "create").map_err(se)?;
                            let Some(b) = b else {
                                return Err(Problem::Param(
                                    "Mandatory option `to' is missing".into(),
                                ));
                            };
                            let (a, b) = if a <= b { (a, b) } else { (b, a) };
                            h.range = (a as u32, b as u32);
                        } else {
                            let host = &*self.host;
                            let resolve = |n: &str| host.resolve(n);
                            let mut w = Vec::new();
                            let a = parse::addr(v, parse::AddrForm::NetRange, &resolve, &mut w)
                                .map_err(se)?;
                            let (f, t) = match (a.cidr, a.to) {
                                (Some(c), _) => {
                                    let m = super::set::mask(c);
                                    (a.ip & m, (a.ip & m) | !m)
                                }
                                (None, Some(t)) if t < a.ip => (t, a.ip),
                                (None, Some(t)) => (a.ip, t),
                                (None, None) => (a.ip, a.ip),
                            };
                            h.range = (f, t);
                        }
                    }
                    Arg::Size => h.size = parse::u32_(v).map_err(se)?,
                    _ => {}
                }
            }
        }
        let _ = family_set;
        if kind.is_bitmap() && !range_given {
            return Err(Problem::Param("Mandatory option `range' is missing".into()));
        }
        // What the kernel makes of the values.
        if kind.is_hash() {
            let hs = h.hashsize.max(64) as u64;
            let rounded = hs.next_power_of_two();
            if rounded > 1 << 27 {
                return Err(Problem::Session(
                    "Kernel error received: Cannot allocate memory".into(),
                ));
            }
            h.hashsize = rounded as u32;
            let mut b = h.bucketsize.clamp(2, 12);
            b += b % 2;
            h.bucketsize = b;
            h.initval = match initval {
                Some(v) => v,
                None => {
                    let seed = self.host.clock_secs() ^ 0x9e37_79b9_7f4a_7c15;
                    self.host.ipsets.next_initval(seed)
                }
            };
        }
        if kind == Kind::ListSet {
            h.size = h.size.max(4);
        }
        if kind == Kind::BitmapIp || kind == Kind::BitmapIpMac {
            let n = h.netmask.unwrap_or(32);
            let m = super::set::mask(n);
            h.range = (h.range.0 & m, h.range.1 | !m);
            let elems = ((h.range.1 - h.range.0) as u64 >> (32 - n as u32)) + 1;
            if elems > 65536 {
                return Err(Problem::Session(
                    "The range you specified exceeds the size limit of the set type".into(),
                ));
            }
        }
        Ok(Op::Create {
            name: name.to_string(),
            kind,
            header: h,
            warnings,
        })
    }

    fn parse_adt(
        &mut self,
        adt: Adt,
        setname: &str,
        elem_str: &str,
        rest: &[String],
    ) -> Result<Op, Problem> {
        parse::setname(setname).map_err(Problem::Session)?;
        let Some(kind) = self.host.ipsets.get(setname).map(|s| s.kind) else {
            return Err(Problem::Session(
                "The set with the given name does not exist".into(),
            ));
        };
        let mut warn = Vec::new();
        let mut e = {
            let host = &*self.host;
            let resolve = |n: &str| host.resolve(n);
            elem::parse_elem(kind, elem_str, adt, &resolve, &mut warn).map_err(Problem::Session)?
        };
        self.warn_now(&warn);
        let allowed = match adt {
            Adt::Add => kind.add_args(),
            Adt::Del => kind.del_args(),
            Adt::Test => kind.test_args(),
        };
        let opts = split_args(allowed, rest)?;
        let mut ext = ExtArgs::default();
        let mut seen: Vec<Arg> = Vec::new();
        for (arg, word, value) in &opts {
            let key = if matches!(arg, Arg::Before | Arg::After) {
                Arg::Before
            } else {
                *arg
            };
            if seen.contains(&key) {
                let what = if key == Arg::Before && e.nameref.is_some() {
                    "before"
                } else {
                    word.trim_start_matches("--")
                };
                return Err(Problem::Session(format!(
                    "Syntax error: {what} already specified"
                )));
            }
            seen.push(key);
            let v = value.as_deref().unwrap_or("");
            let se = Problem::Session;
            match arg {
                Arg::Timeout => ext.timeout = Some(parse::timeout(v).map_err(se)?),
                Arg::Packets => ext.packets = Some(parse::u64_(v).map_err(se)?),
                Arg::Bytes => ext.bytes = Some(parse::u64_(v).map_err(se)?),
                Arg::AdtComment => {
                    if v.contains('"') {
                        return Err(se(
                            "Syntax error: \" character is not permitted in comments".into(),
                        ));
                    }
                    if v.len() > 255 {
                        return Err(se(
                            "Syntax error: Comment is longer than the maximum allowed 255 characters"
                                .into(),
                        ));
                    }
                    ext.comment = Some(v.to_string());
                }
                Arg::SkbMark => ext.skbmark = Some(parse::skbmark(v).map_err(se)?),
                Arg::SkbPrio => ext.skbprio = Some(parse::skbprio(v).map_err(se)?),
                Arg::SkbQueue => ext.skbqueue = Some(parse::u16_(v).map_err(se)?),
                Arg::NoMatch => ext.nomatch = true,
                Arg::Wildcard => e.wildcard = true,
                Arg::Before | Arg::After => {
                    if e.nameref.is_some() {
                        return Err(se(
                            "Syntax error: mixed syntax, before|after option already used".into(),
                        ));
                    }
                    parse::setname(v).map_err(se)?;
                    e.nameref = Some((v.to_string(), *arg == Arg::Before));
                }
                _ => {}
            }
        }
        elem::check_allowed(kind, adt, &e).map_err(Problem::Session)?;
        let shown = elem::fmt_elem(kind, &e);
        Ok(Op::Adt {
            adt,
            set: setname.to_string(),
            elem: e,
            ext,
            shown,
        })
    }

    fn warn_now(&mut self, msgs: &[String]) {
        for m in msgs {
            if !self.env.quiet {
                self.out.stderr.push_str(&format!("Warning: {m}\n"));
            }
        }
    }

    fn refs(&self, name: &str) -> usize {
        super::references(&self.host.ruleset, &self.host.ipsets, name)
    }

    fn missing() -> Problem {
        Problem::Session("The set with the given name does not exist".into())
    }

    /// Runs a parsed command. `Ok` may still have set a non-zero exit (test).
    pub(super) fn exec(&mut self, op: Op) -> Result<(), Problem> {
        let now = self.now();
        match op {
            Op::Version => {
                self.out
                    .stdout
                    .push_str("ipset v7.17, protocol version: 7\n");
            }
            Op::Quit | Op::Interactive => {}
            Op::Restore => {
                if self.interactive {
                    self.out
                        .stdout
                        .push_str("Restore command is not supported in interactive mode\n");
                }
            }
            Op::NoCommand => self.out.stdout.push_str("No command specified\n"),
            Op::Help(t) => {
                self.out.stdout.push_str(&super::help::general());
                if self.env.quiet {
                    return Ok(());
                }
                match t {
                    None => self.out.stdout.push_str(&super::help::types_list()),
                    Some(name) => match types::resolve(&name) {
                        Ok(k) => self.out.stdout.push_str(&super::help::type_help(k)),
                        Err(_) => return Err(Problem::Param(format!("Unknown settype: `{name}'"))),
                    },
                }
            }
            Op::Create {
                name,
                kind,
                header,
                warnings,
            } => {
                if let Some(old) = self.host.ipsets.get(&name) {
                    let same =
                        self.env.exist && old.kind == kind && same_set(&old.header, &header, kind);
                    if !same {
                        return Err(Problem::Session(
                            "Set cannot be created: set with the same name already exists".into(),
                        ));
                    }
                } else {
                    self.host.ipsets.insert(IpSet::new(&name, kind, header));
                }
                self.warn(&warnings);
            }
            Op::Destroy(None) => {
                let names: Vec<String> = self
                    .host
                    .ipsets
                    .sets()
                    .iter()
                    .map(|s| s.name.clone())
                    .collect();
                if names.iter().any(|n| self.refs(n) > 0) {
                    return Err(Problem::Session(
                        "Set cannot be destroyed: it is in use by a kernel component".into(),
                    ));
                }
                self.host.ipsets.clear();
            }
            Op::Destroy(Some(n)) => {
                if self.host.ipsets.get(&n).is_none() {
                    return Err(Self::missing());
                }
                if self.refs(&n) > 0 {
                    return Err(Problem::Session(
                        "Set cannot be destroyed: it is in use by a kernel component".into(),
                    ));
                }
                self.host.ipsets.remove(&n);
            }
            Op::Flush(None) => {
                let names: Vec<String> = self
                    .host
                    .ipsets
                    .sets()
                    .iter()
                    .map(|s| s.name.clone())
                    .collect();
                for n in names {
                    if let Some(s) = self.host.ipsets.get_mut(&n) {
                        s.flush();
                    }
                }
            }
            Op::Flush(Some(n)) => match self.host.ipsets.get_mut(&n) {
                Some(s) => s.flush(),
                None => return Err(Self::missing()),
            },
            Op::Rename(a, b) => {
                if self.host.ipsets.get(&a).is_none() {
                    return Err(Self::missing());
                }
                if self.refs(&a) > 0 {
                    return Err(Problem::Session(
                        "Set cannot be renamed: it is in use by another system".into(),
                    ));
                }
                if self.host.ipsets.get(&b).is_some() {
                    return Err(Problem::Session(
                        "Set cannot be renamed: a set with the new name already exists".into(),
                    ));
                }
                self.host.ipsets.rename(&a, &b);
            }
            Op::Swap(a, b) => {
                let Some(sa) = self.host.ipsets.get(&a) else {
                    return Err(Self::missing());
                };
                let Some(sb) = self.host.ipsets.get(&b) else {
                    return Err(Problem::Session(
                        "Sets cannot be swapped: the second set does not exist".into(),
                    ));
                };
                if sa.kind != sb.kind || sa.header.inet6 != sb.header.inet6 {
                    return Err(Problem::Session(
                        "The sets cannot be swapped: their type does not match".into(),
                    ));
                }
                self.host.ipsets.swap(&a, &b);
            }
            Op::List(name, save) => {
                let mode = self
                    .env
                    .mode
                    .unwrap_or(if save { Mode::Save } else { Mode::Plain });
                let o = ListOpts {
                    mode,
                    terse: self.env.terse,
                    names_only: self.env.names,
                    sorted: self.env.sorted,
                    now,
                };
                let text = {
                    let sets: Vec<&IpSet> = match &name {
                        Some(n) => match self.host.ipsets.get(n) {
                            Some(s) => vec![s],
                            None => return Err(Self::missing()),
                        },
                        None => self.host.ipsets.sets(),
                    };
                    let refs = |n: &str| self.refs(n);
                    print::list(&sets, &o, &refs)
                };
                self.write_out(&text);
            }
            Op::Adt {
                adt,
                set,
                elem,
                ext,
                shown,
            } => {
                if adt == Adt::Test {
                    return self.test(&set, &elem, &ext, &shown);
                }
                let exist = self.env.exist;
                self.apply_adt(adt, &set, &elem, &ext, exist)
                    .map_err(|e| Problem::Session(e.message(adt.name()).to_string()))?;
            }
        }
        Ok(())
    }

    pub(super) fn apply_adt(
        &mut self,
        adt: Adt,
        set: &str,
        e: &Elem,
        ext: &ExtArgs,
        exist: bool,
    ) -> Result<(), KErr> {
        let now = self.now();
        let kind = match self.host.ipsets.get(set) {
            Some(s) => s.kind,
            None => return Err(KErr::Name),
        };
        if kind == Kind::ListSet {
            return self.list_adt(adt, set, e, ext, exist);
        }
        let s = self.host.ipsets.get_mut(set).ok_or(KErr::Name)?;
        elem::add_del(s, e, adt, ext, exist, now)
    }

    /// list:set add/del: members must exist and may not be list:sets.
    fn list_adt(
        &mut self,
        adt: Adt,
        set: &str,
        e: &Elem,
        ext: &ExtArgs,
        exist: bool,
    ) -> Result<(), KErr> {
        let now = self.now();
        let name = e.name.clone().unwrap_or_default();
        let store = &self.host.ipsets;
        let Some(member) = store.get(&name) else {
            return Err(KErr::Name);
        };
        if member.kind == Kind::ListSet {
            return Err(KErr::Loop);
        }
        if let Some((r, _)) = &e.nameref {
            if store.get(r).is_none() {
                return Err(KErr::NameRef);
            }
        }
        let s = self.host.ipsets.get_mut(set).ok_or(KErr::Name)?;
        s.check_ext(ext)?;
        let nameref = e.nameref.as_ref().map(|(r, b)| (r.as_str(), *b));
        match adt {
            Adt::Add => s.list_add(&name, nameref, ext, exist, now),
            _ => s.list_del(&name, nameref, exist),
        }
    }

    fn test(&mut self, set: &str, e: &Elem, ext: &ExtArgs, shown: &str) -> Result<(), Problem> {
        let s = self.host.ipsets.get(set).ok_or_else(Self::missing)?;
        let r = if s.kind == Kind::ListSet {
            let name = e.name.clone().unwrap_or_default();
            if let Some((r, _)) = &e.nameref {
                if self.host.ipsets.get(r).is_none() {
                    return Err(Problem::Session(KErr::NameRef.message("test").into()));
                }
            }
            let nameref = e.nameref.as_ref().map(|(r, b)| (r.as_str(), *b));
            if s.list_test(&name, nameref) {
                TestResult::In
            } else {
                TestResult::NotIn
            }
        } else {
            elem::test(s, e, ext.nomatch).map_err(|k| Problem::Session(k.message("test").into()))?
        };
        match r {
            TestResult::In => self.warn(&[format!("{shown} is in set {set}.")]),
            TestResult::NotIn => {
                if !self.env.quiet {
                    self.out
                        .stderr
                        .push_str(&format!("{shown} is NOT in set {set}.\n"));
                }
                self.out.exit = 1;
            }
        }
        Ok(())
    }
}

/// Splits the words after an element (or a type name) into keyword options
/// (`call_parser`): unknown words and missing values are parameter problems.
fn split_args(
    allowed: &[Arg],
    rest: &[String],
) -> Result<Vec<(Arg, String, Option<String>)>, Problem> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let w = &rest[i];
        let Some(arg) = allowed.iter().copied().find(|a| a.matches(w)) else {
            return Err(Problem::Param(format!("Unknown argument: `{w}'")));
        };
        i += 1;
        let value = if arg.takes_value() {
            if i >= rest.len() {
                return Err(Problem::Param(format!(
                    "Missing mandatory argument of option `{}'",
                    arg.names()[0]
                )));
            }
            i += 1;
            Some(rest[i - 1].clone())
        } else {
            None
        };
        out.push((arg, w.clone(), value));
    }
    Ok(out)
}

/// The kernel's `same_set`: what `create -exist` compares.
fn same_set(a: &Header, b: &Header, kind: Kind) -> bool {
    let ext = |h: &Header| (h.timeout, h.counters, h.comment, h.skbinfo, h.inet6);
    if ext(a) != ext(b) {
        return false;
    }
    match kind {
        Kind::BitmapIp | Kind::BitmapIpMac | Kind::BitmapPort => {
            a.range == b.range && a.netmask == b.netmask
        }
        Kind::ListSet => a.size == b.size,
        _ => a.maxelem == b.maxelem && a.netmask == b.netmask && a.bitmask == b.bitmask,
    }
}

/// Used by unit tests and the help: whether a word selects a command.
pub fn is_command(word: &str) -> bool {
    match_cmd(word).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;

    fn sh(h: &mut Host, s: &str) -> Output {
        let cmds = crate::command::script::parse_script(s).unwrap();
        let mut out = Output::default();
        for c in &cmds {
            out = crate::command::script::run_cmd(h, c, &|_| Err("none".into()));
        }
        out
    }

    #[test]
    fn command_words_match_by_prefix() {
        assert!(matches!(match_cmd("c"), Some((Cmd::Create, _, _))));
        assert!(matches!(match_cmd("d"), Some((Cmd::Del, _, _))));
        assert!(matches!(match_cmd("des"), Some((Cmd::Destroy, _, _))));
        assert!(matches!(match_cmd("--list"), Some((Cmd::List, _, _))));
        assert!(matches!(match_cmd("-N"), Some((Cmd::Create, _, _))));
        assert!(matches!(match_cmd("s"), Some((Cmd::Save, _, _))));
        assert!(matches!(match_cmd("sw"), Some((Cmd::Swap, _, _))));
        assert!(match_cmd("-").is_none());
        assert!(match_cmd("foo").is_none());
        assert!(is_command("x"));
    }

    #[test]
    fn errors_and_exit_codes() {
        let mut h = Host::new("h");
        let o = sh(&mut h, "ipset");
        assert_eq!(o.exit, 2);
        assert_eq!(
            o.stderr,
            "ipset v7.17: No command specified.\nTry `ipset help' for more information.\n"
        );
        let o = sh(&mut h, "ipset create a");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Missing second mandatory argument to command create\nTry `ipset help' for more information.\n"
        );
        assert_eq!(sh(&mut h, "ipset create a hash:ip").exit, 0);
        let o = sh(&mut h, "ipset create a hash:ip");
        assert_eq!(
            (o.stderr.as_str(), o.exit),
            (
                "ipset v7.17: Set cannot be created: set with the same name already exists\n",
                1
            )
        );
        assert_eq!(sh(&mut h, "ipset -exist create a hash:ip").exit, 0);
        assert_eq!(sh(&mut h, "ipset -! create a hash:ip maxelem 10").exit, 1);
        let o = sh(&mut h, "ipset add a 1.2.3.4/33");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Syntax error: '33' is out of range 0-32\n"
        );
        let o = sh(&mut h, "ipset create n hash:ip netmask 33");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Syntax error: '33' is out of range 1-32\nSyntax error: netmask is out of the inclusive range of 1-32\n"
        );
    }

    #[test]
    fn add_test_del_and_list() {
        let mut h = Host::new("h");
        h.clock_ns = 1000 * crate::ipset::set::SEC;
        sh(&mut h, "ipset create a hash:ip");
        assert_eq!(sh(&mut h, "ipset add a 10.0.0.1-10.0.0.3").exit, 0);
        let o = sh(&mut h, "ipset test a 10.0.0.2");
        assert_eq!(
            (o.stderr.as_str(), o.exit),
            ("Warning: 10.0.0.2 is in set a.\n", 0)
        );
        let o = sh(&mut h, "ipset test a 10.0.0.9");
        assert_eq!(
            (o.stderr.as_str(), o.exit),
            ("10.0.0.9 is NOT in set a.\n", 1)
        );
        let o = sh(&mut h, "ipset del a 10.0.0.9");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Element cannot be deleted from the set: it's not added\n"
        );
        let o = run_argv(&mut h, &["ipset".into(), "save".into()], None);
        let lines: Vec<&str> = o.stdout.lines().collect();
        assert!(lines[0].starts_with(
            "create a hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x"
        ));
        assert_eq!(
            &lines[1..],
            ["add a 10.0.0.1", "add a 10.0.0.2", "add a 10.0.0.3"]
        );
        let o = sh(&mut h, "ipset -n list");
        assert_eq!(o.stdout, "a\n");
    }

    #[test]
    fn restore_batches_and_reports_lines() {
        let mut h = Host::new("h");
        let input =
            "create r hash:ip\nadd r 1.1.1.1\nadd r 1.1.1.2\nadd r 1.1.1.1\nadd r 1.1.1.3\n";
        let o = run_argv(&mut h, &["ipset".into(), "restore".into()], Some(input));
        assert_eq!(
            o.stderr,
            "ipset v7.17: Error in line 4: Element cannot be added to the set: it's already added\n"
        );
        assert_eq!(h.ipsets.get("r").unwrap().len(), 2);
        let input = "create r2 hash:ip\nadd r2 1.1.1.1\nadd r2 bad\n";
        let o = run_argv(&mut h, &["ipset".into(), "restore".into()], Some(input));
        assert_eq!(o.exit, 1);
        assert_eq!(h.ipsets.get("r2").unwrap().len(), 0);
        let o = run_argv(
            &mut h,
            &["ipset".into(), "restore".into()],
            Some("version\n"),
        );
        assert_eq!(
            o.stderr,
            "ipset v7.17: Command `version' is invalid in restore mode.\nTry `ipset help' for more information.\n"
        );
    }

    #[test]
    fn swap_rename_destroy() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create x1 hash:ip");
        sh(&mut h, "ipset create x2 hash:ip");
        sh(&mut h, "ipset create n hash:net");
        sh(&mut h, "ipset add x1 1.1.1.1");
        assert_eq!(sh(&mut h, "ipset swap x1 x2").exit, 0);
        assert_eq!(h.ipsets.get("x2").unwrap().len(), 1);
        let o = sh(&mut h, "ipset swap x1 n");
        assert_eq!(
            o.stderr,
            "ipset v7.17: The sets cannot be swapped: their type does not match\n"
        );
        let o = sh(&mut h, "ipset swap x1 nosuch");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Sets cannot be swapped: the second set does not exist\n"
        );
        sh(&mut h, "ipset create l list:set");
        sh(&mut h, "ipset add l x1");
        let o = sh(&mut h, "ipset destroy x1");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n"
        );
        let o = sh(&mut h, "ipset rename x1 y");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Set cannot be renamed: it is in use by another system\n"
        );
        assert_eq!(sh(&mut h, "ipset destroy").exit, 1);
        assert_eq!(sh(&mut h, "ipset destroy l").exit, 0);
        assert_eq!(sh(&mut h, "ipset destroy").exit, 0);
        assert!(h.ipsets.is_empty());
    }
}
