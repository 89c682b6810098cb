//! `iptables-restore`: the restore file format as iptables-nft 1.8.9 reads
//! it. Each `*table` … `COMMIT` block is one batch: its lines are parsed as
//! they come (parse errors stop at their line) and run at `COMMIT`, where a
//! refusal leaves that table as it was; blocks committed before stay.

use super::exec::fail_text;
use super::getopt::{Item, Permute};
use super::nft::{Batch, Fail, NameHashes};
use super::opts::{CMD_APPEND, CMD_IDRAC, OPT_VERBOSE};
use super::parse::{self, scan_llu, Parsed};
use super::{format_error, VERSION};
use crate::command::Output;
use crate::ext::{HasArg, XtError};
use crate::ruleset::{table_hooks, Counters, Table};
use crate::sim::host::Host;

const PROG: &str = "iptables-restore";

const LONGOPTS: &[(&str, HasArg, char)] = &[
    ("counters", HasArg::No, 'c'),
    ("verbose", HasArg::No, 'v'),
    ("version", HasArg::No, 'V'),
    ("test", HasArg::No, 't'),
    ("help", HasArg::No, 'h'),
    ("noflush", HasArg::No, 'n'),
    ("modprobe", HasArg::Required, 'M'),
    ("table", HasArg::Required, 'T'),
    ("wait", HasArg::Optional, 'w'),
    ("wait-interval", HasArg::Optional, 'W'),
];

const USAGE: &str = "Usage: iptables-restore [-c] [-v] [-V] [-t] [-h] [-n] [-T table] [-M command] [-4] [-6] [file]\n\t   [ --counters ]\n\t   [ --verbose ]\n\t   [ --version]\n\t   [ --test ]\n\t   [ --help ]\n\t   [ --noflush ]\n\t   [ --table=<TABLE> ]\n\t   [ --modprobe=<command> ]\n\t   [ --ipv4 ]\n\t   [ --ipv6 ]\n";

/// Options of iptables-restore.
#[derive(Debug, Default)]
struct Opts {
    counters: bool,
    noflush: bool,
    test: bool,
    verbose: bool,
    table: Option<String>,
    file: Option<String>,
    /// Complaints that do not stop the run (`-b`).
    notes: String,
}

fn parse_opts(argv: &[String]) -> Result<Opts, Output> {
    let mut o = Opts::default();
    let mut stderr = String::new();
    let mut g = Permute::new(argv, "bcvVthnM:T:wW", LONGOPTS);
    while let Some(item) = g.next_item() {
        match item {
            Item::Opt('b', _) => stderr.push_str("-b/--binary option is not implemented\n"),
            Item::Opt('c', _) => o.counters = true,
            Item::Opt('v', _) => o.verbose = true,
            Item::Opt('t', _) => o.test = true,
            Item::Opt('n', _) => o.noflush = true,
            Item::Opt('T', t) => o.table = t,
            Item::Opt('V', _) => {
                return Err(Output {
                    stdout: format!("{PROG} {VERSION}\n"),
                    stderr,
                    exit: 0,
                })
            }
            Item::Opt('h', _) => {
                stderr.push_str(USAGE);
                return Err(Output {
                    stdout: String::new(),
                    stderr,
                    exit: 0,
                });
            }
            Item::Opt('w' | 'W', arg) => {
                if arg.is_none() {
                    g.take_word();
                }
            }
            Item::Opt(_, _) => {}
            Item::Error(e) => {
                stderr.push_str(&e);
                stderr.push_str(&format!("Try `{PROG} -h' for more information.\n"));
                return Err(Output {
                    stdout: String::new(),
                    stderr,
                    exit: 1,
                });
            }
        }
    }
    match g.words.len() {
        0 => {}
        1 => o.file = g.words.pop(),
        _ => {
            stderr.push_str("Unknown arguments found on commandline\n");
            return Err(Output {
                stdout: String::new(),
                stderr,
                exit: 1,
            });
        }
    }
    o.notes = stderr;
    Ok(o)
}

/// `add_param_to_argv`: splits a rule line into words; double quotes group,
/// a backslash escapes inside them.
pub fn split_rule_line(line: &str) -> Vec<String> {
    let mut words = Words::default();
    split_rule_line_into(line, &mut words);
    words.as_slice().to_vec()
}

/// Words of a command line, reused from line to line (the strings keep
/// their buffers).
#[derive(Debug, Default)]
struct Words {
    words: Vec<String>,
    len: usize,
    /// The word being put together.
    cur: String,
}

impl Words {
    fn clear(&mut self) {
        self.len = 0;
    }
    fn push(&mut self, w: &str) {
        match self.words.get_mut(self.len) {
            Some(slot) => {
                slot.clear();
                slot.push_str(w);
            }
            None => self.words.push(w.to_string()),
        }
        self.len += 1;
    }
    /// Ends the word being put together.
    fn push_cur(&mut self) {
        let cur = std::mem::take(&mut self.cur);
        self.push(&cur);
        self.cur = cur;
        self.cur.clear();
    }
    fn as_slice(&self) -> &[String] {
        &self.words[..self.len]
    }
}

/// What reading a command line keeps for the next: word buffers and the
/// plain-line parser's lists.
#[derive(Default)]
struct LineRoom {
    words: Words,
    plain: parse::PlainRoom,
}

/// Bytes that end a run outside double quotes.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'"' as usize] = true;
    t
};

impl Words {
    /// Ends a word whose last run is `run` (a word of one run is copied
    /// straight in).
    fn end_word(&mut self, run: &str, keep_empty: bool) {
        if self.cur.is_empty() {
            if keep_empty || !run.is_empty() {
                self.push(run);
            }
        } else {
            self.cur.push_str(run);
            self.push_cur();
        }
    }
}

/// [`split_rule_line`] into `out` (after the words already there). The
/// characters that matter are ASCII: the text between them is copied in runs.
fn split_rule_line_into(line: &str, out: &mut Words) {
    out.cur.clear();
    let b = line.as_bytes();
    let mut quote = false;
    // Start of the run of plain characters not yet copied.
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if quote {
            match b[i..].iter().position(|c| *c == b'\\' || *c == b'"') {
                Some(k) => i += k,
                None => break,
            }
            if b[i] == b'\\' {
                // The backslash goes, the character after it stays.
                out.cur.push_str(&line[start..i]);
                start = i + 1;
                i += 2;
            } else {
                // The closing quote ends the word, even an empty one.
                out.end_word(&line[start..i], true);
                quote = false;
                i += 1;
                start = i;
            }
            continue;
        }
        match b[i..].iter().position(|c| SPECIAL[*c as usize]) {
            Some(k) => i += k,
            None => break,
        }
        if b[i] == b'"' {
            out.cur.push_str(&line[start..i]);
            quote = true;
        } else {
            out.end_word(&line[start..i], false);
        }
        i += 1;
        start = i;
    }
    let rest = line.get(start..).unwrap_or("");
    out.end_word(rest, false);
}

/// The delimiters of a [`strtok`]: ASCII characters, so that every cut
/// falls between characters; a table by byte, made once, and one above
/// the highest delimiter when all are blanks or control characters (the
/// token's end is then looked for eight bytes at a time), else 0.
struct Delims([bool; 256], u8);

impl Delims {
    const fn of(chars: &str) -> Delims {
        let b = chars.as_bytes();
        let mut set = [false; 256];
        let mut above = 0;
        let mut i = 0;
        while i < b.len() {
            assert!(b[i].is_ascii());
            set[b[i] as usize] = true;
            if b[i] >= above {
                above = b[i] + 1;
            }
            i += 1;
        }
        Delims(set, if above <= b' ' + 1 { above } else { 0 })
    }

    /// The first delimiter in `b` from `i` on.
    fn find(&self, b: &[u8], mut i: usize) -> Option<usize> {
        if self.1 != 0 {
            while i + 8 <= b.len() {
                let flags = crate::bytescan::below(crate::bytescan::word_at(b, i), self.1);
                if flags == 0 {
                    i += 8;
                    continue;
                }
                let k = i + crate::bytescan::lowest(flags);
                if self.0[b[k] as usize] {
                    return Some(k);
                }
                i = k + 1;
            }
        }
        b.get(i..)?
            .iter()
            .position(|c| self.0[*c as usize])
            .map(|k| i + k)
    }
}

/// Blanks that end the words of a table, chain or policy line.
const BLANKS: Delims = Delims::of(" \t\n");

/// C `strtok` over a string: the next token not made of `delims`, and the rest.
fn strtok<'s>(s: &'s str, delims: &Delims) -> Option<(&'s str, &'s str)> {
    let delim = |c: &u8| delims.0[*c as usize];
    let b = s.as_bytes();
    let start = b.iter().position(|c| !delim(c))?;
    match delims.find(b, start) {
        Some(end) => Some((&s[start..end], &s[end + 1..])),
        None => Some((&s[start..], "")),
    }
}

/// `tokenize_rule_counters`: `[pkts:bytes]` before a rule; the rest of the line.
/// The `[pkts:bytes]` words of a rule line.
type RuleCounters = Option<(String, String)>;

fn rule_counters(line: &str, lineno: usize) -> Result<(RuleCounters, &str), XtError> {
    let Some(body) = line.strip_prefix('[') else {
        return Ok((None, line));
    };
    let Some(close) = body.find(']') else {
        return Err(XtError::new(format!("Bad line {lineno}: need ]")));
    };
    let rest = &body[close + 1..];
    let Some((pcnt, after)) = strtok(body, &const { Delims::of(":") }) else {
        return Err(XtError::new(format!("Bad line {lineno}: need :")));
    };
    let Some((bcnt, _)) = strtok(after, &const { Delims::of("]") }) else {
        return Err(XtError::new(format!("Bad line {lineno}: need ]")));
    };
    Ok((Some((pcnt.to_string(), bcnt.to_string())), rest))
}

/// What a block line queued for its `COMMIT`.
enum Queued {
    /// The table flush that starts a block without `--noflush`.
    Flush { verbose: bool },
    /// `:BUILTIN POLICY [p:b]`.
    Policy {
        chain: String,
        policy: String,
        counters: Counters,
    },
    /// `:CHAIN - [0:0]`.
    UserChain(String),
    /// A command line.
    Command(Box<Parsed>),
}

/// The block being read. Its lines run on the batch as they come (unless
/// `--test`); the batch's first refusal stops the rest and is reported at
/// `COMMIT`, after every line parsed (a later parse error wins, as when the
/// batch only runs at `COMMIT`).
struct Block<'r> {
    table: &'static str,
    batch: Option<Batch<'r>>,
    /// A run of `:CHAIN` lines not yet run (they go in at once).
    chains: Vec<(usize, String)>,
    /// Command lines read and not yet run, oldest first. They run
    /// together, [`WAITING`] at a time: the code of parsing, then the
    /// code of running, each stays in the processor's cache for many
    /// lines instead of pushing the other out at every line; and the
    /// memory that finding a line's chains reads is loaded a few lines
    /// ahead (the name slots when it is read, the chains they point to
    /// two lines before it runs). Nothing shows the delay (a block's
    /// effects and output only show at `COMMIT`).
    pending: Vec<(usize, Box<Parsed>, NameHashes)>,
    failure: Option<(usize, Fail)>,
    /// Command lines done with, for the lines read next to fill (see
    /// [`parse::PlainRoom`]).
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Parsed>>,
}

/// How many command lines of a block wait to run together.
const WAITING: usize = 256;

impl Block<'_> {
    /// Queues a line: a command line runs with the next few ones, any
    /// other line at once (after the commands before it).
    fn take(&mut self, line: usize, q: Queued) {
        let (Some(batch), None) = (self.batch.as_ref(), &self.failure) else {
            if let Queued::Command(p) = q {
                self.spare.push(p);
            }
            return;
        };
        let Queued::Command(p) = q else {
            self.run_pending();
            self.apply(line, q);
            return;
        };
        let hashes = batch.prefetch_chains(&p);
        self.pending.push((line, p, hashes));
        if self.pending.len() >= WAITING {
            self.run_pending();
        }
    }

    /// Runs the command lines left waiting, in order.
    fn run_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        let (mut run_left, mut run_end) = (0, 0);
        let mut lines = pending.drain(..);
        // Where the chains of this line and the next are, found two lines ahead.
        let mut located = [None; 3];
        for i in 0.. {
            // The lines from this one on.
            let ahead = lines.as_slice();
            if let (Some(batch), Some((_, next, hashes))) = (self.batch.as_ref(), ahead.get(2)) {
                located[(i + 2) % 3] = batch.locate(next, *hashes);
            }
            if i >= run_end {
                let (lines, rules) = append_run(ahead);
                (run_left, run_end) = (rules, i + lines.max(1));
            }
            let Some((line, p, _)) = lines.next() else {
                break;
            };
            let rules = p.rules.len();
            if let Some(batch) = self.batch.as_mut() {
                batch.appends_ahead = run_left;
                batch.located = std::mem::take(&mut located[i % 3]);
            }
            self.apply(line, Queued::Command(p));
            run_left = run_left.saturating_sub(rules);
        }
        drop(lines);
        if let Some(batch) = self.batch.as_mut() {
            batch.appends_ahead = 0;
        }
        // The list keeps its room for the next lines.
        self.pending = pending;
    }

    fn apply(&mut self, line: usize, q: Queued) {
        if self.batch.is_none() || self.failure.is_some() {
            if let Queued::Command(p) = q {
                self.spare.push(p);
            }
            return;
        }
        if let Queued::UserChain(name) = q {
            self.chains.push((line, name));
            return;
        }
        self.run_chains();
        let Some(batch) = self.batch.as_mut() else {
            return;
        };
        batch.line = line;
        let r = match q {
            Queued::Flush { verbose: true } => batch
                .flush(None, true)
                .and_then(|()| batch.delete_chain(None, true)),
            Queued::Flush { verbose: false } => {
                batch.table_flush();
                Ok(())
            }
            Queued::Policy {
                chain,
                policy,
                counters,
            } => batch.policy(&chain, &policy, Some(counters)),
            Queued::UserChain(_) => Ok(()),
            Queued::Command(mut p) => {
                let r = batch.run(&mut p);
                self.spare.push(p);
                r
            }
        };
        if let Err(f) = r {
            self.failure = Some((line, f));
        }
    }

    /// Runs the pending `:CHAIN` lines.
    fn run_chains(&mut self) {
        let (Some(batch), Some((last, _))) = (self.batch.as_mut(), self.chains.last()) else {
            return;
        };
        batch.line = *last;
        let names: Vec<String> = self.chains.drain(..).map(|(_, n)| n).collect();
        batch.restore_chains(names);
    }
}

/// The chain an `-A` line appends to.
fn appended_chain(p: &Parsed) -> Option<&str> {
    (p.command == CMD_APPEND)
        .then_some(p.chain.as_deref())
        .flatten()
}

/// How many `-A` lines at the start of `lines` append to the first one's
/// chain, and how many rules they put in (none when the first is no `-A`).
fn append_run(lines: &[(usize, Box<Parsed>, NameHashes)]) -> (usize, usize) {
    let Some(chain) = lines.first().and_then(|(_, p, _)| appended_chain(p)) else {
        return (0, 0);
    };
    let run = lines
        .iter()
        .take_while(|(_, p, _)| appended_chain(p) == Some(chain))
        .map(|(_, p, _)| p.rules.len());
    run.fold((0, 0), |(n, rules), r| (n + 1, rules + r))
}

fn fail(stdout: String, stderr: String, exit: i32) -> Output {
    Output {
        stdout,
        stderr,
        exit,
    }
}

/// Runs `iptables-restore ARGS...` on a host, with the text on standard input.
// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run_restore(host: &mut Host, argv: &[String], stdin: &str) -> Output {
    let o = match parse_opts(argv) {
        Ok(o) => o,
        Err(out) => return out,
    };
    let text: std::borrow::Cow<str> = match &o.file {
        Some(f) => match host.files.get(f) {
            Some(t) => t.clone().into(),
            None => {
                return fail(
                    String::new(),
                    format!("Can't open {f}: No such file or directory\n"),
                    1,
                )
            }
        },
        None => stdin.into(),
    };
    let out = restore_text(host, &o, &text);
    if o.notes.is_empty() {
        return out;
    }
    Output {
        stderr: o.notes.clone() + &out.stderr,
        ..out
    }
}

fn restore_text(host: &mut Host, o: &Opts, text: &str) -> Output {
    let mut stdout = String::new();
    let mut stderr = String::new();
    let names = host.names.clone();
    let reverse = move |a: std::net::Ipv4Addr| {
        names
            .iter()
            .find(|(_, addrs)| addrs.contains(&a))
            .map(|(n, _)| n.clone())
    };
    let mut block: Option<Block> = None;
    // The table of the current or last block (`-T` skips others silently).
    let mut curtable: Option<&'static str> = None;
    let mut lineno = 0;
    let mut room = LineRoom::default();
    for raw in crate::bytescan::lines_inclusive(text) {
        lineno += 1;
        if raw.starts_with('\n') {
            continue;
        }
        if raw.starts_with('#') {
            if o.verbose {
                stdout.push_str(raw);
            }
            continue;
        }
        let is_commit =
            raw.starts_with("COMMIT") && matches!(raw.as_bytes().get(6), None | Some(b'\n'));
        if is_commit && block.is_some() {
            let b = block.take().expect("in a block");
            if o.test {
                continue;
            }
            if let Err(out) = commit(host, b, lineno, &mut stdout) {
                return out;
            }
            continue;
        }
        if raw.starts_with('*') && block.is_none() {
            let Some((name, _)) = strtok(&raw[1..], &BLANKS) else {
                let e = XtError::new(format!("{PROG}: line {lineno} table name invalid"));
                return fail(stdout, format_error(PROG, &e, Some(lineno)), 2);
            };
            let Some(table) = crate::ruleset::TABLE_ORDER.iter().find(|t| **t == name) else {
                let e = XtError::new(format!("{PROG}: line {lineno} table name '{name}' invalid"));
                return fail(stdout, format_error(PROG, &e, Some(lineno)), 2);
            };
            curtable = Some(table);
            if o.table.as_deref().is_some_and(|t| t != name) {
                continue;
            }
            let batch = (!o.test).then(|| {
                let kernel = host
                    .ruleset
                    .table(table)
                    .expect("every known table is present");
                let others: Vec<&Table> = host
                    .ruleset
                    .tables
                    .iter()
                    .filter(|t| t.name != *table)
                    .collect();
                Batch::new(kernel, &others, &reverse)
            });
            let mut b = Block {
                table,
                batch,
                chains: Vec::new(),
                pending: Vec::with_capacity(WAITING),
                failure: None,
                spare: Vec::new(),
            };
            if !o.noflush {
                b.apply(lineno, Queued::Flush { verbose: o.verbose });
            }
            block = Some(b);
            continue;
        }
        let Some(b) = block.as_mut() else {
            let skipped = o
                .table
                .as_deref()
                .is_some_and(|t| curtable.is_some_and(|c| c != t));
            if skipped {
                continue;
            }
            return fail(stdout, format!("{PROG}: line {lineno} failed\n"), 1);
        };
        let queued = if let Some(decl) = raw.strip_prefix(':') {
            chain_line(b.table, decl, lineno, o.counters)
        } else {
            rule_line(host, b.table, raw, lineno, o, &mut stderr, &mut room)
        };
        match queued {
            Ok(Some(q)) => {
                b.take(lineno, q);
                if !b.spare.is_empty() {
                    room.plain.give_back(&mut b.spare);
                }
            }
            Ok(None) => {}
            Err(out) => {
                let mut out = out;
                out.stdout = stdout + &out.stdout;
                return out;
            }
        }
    }
    if block.is_some() {
        return fail(
            stdout,
            format!("{PROG}: COMMIT expected at line {}\n", lineno + 1),
            1,
        );
    }
    Output {
        stdout,
        stderr: String::new(),
        exit: 0,
    }
}

/// A `:CHAIN POLICY [p:b]` line.
fn chain_line(
    table: &str,
    decl: &str,
    lineno: usize,
    counters: bool,
) -> Result<Option<Queued>, Output> {
    let perr = |e: XtError| fail(String::new(), format_error(PROG, &e, Some(lineno)), 2);
    let Some((chain, rest)) = strtok(decl, &BLANKS) else {
        return Err(perr(XtError::new(format!(
            "{PROG}: line {lineno} chain name invalid"
        ))));
    };
    let builtin = table_hooks(table).is_some_and(|hs| hs.iter().any(|h| h.name() == chain));
    if !builtin {
        parse::assert_valid_chain_name(chain).map_err(perr)?;
    }
    let Some((policy, rest)) = strtok(rest, &BLANKS) else {
        return Err(perr(XtError::new(format!(
            "{PROG}: line {lineno} policy invalid"
        ))));
    };
    if !builtin {
        return Ok(Some(Queued::UserChain(chain.to_string())));
    }
    let mut count = Counters::default();
    if counters {
        let parsed = strtok(rest, &BLANKS).and_then(|(c, _)| parse_policy_counters(c));
        match parsed {
            Some(c) => count = c,
            None => {
                return Err(perr(XtError::new(format!(
                    "invalid policy counters for chain '{chain}'"
                ))))
            }
        }
    }
    Ok(Some(Queued::Policy {
        chain: chain.to_string(),
        policy: policy.to_string(),
        counters: count,
    }))
}

/// `sscanf("[%llu:%llu]") == 2`.
fn parse_policy_counters(s: &str) -> Option<Counters> {
    let inner = s.strip_prefix('[')?;
    let (packets, rest) = scan_llu_prefix(inner)?;
    let (bytes, _) = scan_llu_prefix(rest.strip_prefix(':')?)?;
    Some(Counters { packets, bytes })
}

/// `%llu` at the start of `s`: the value and the rest.
fn scan_llu_prefix(s: &str) -> Option<(u64, &str)> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let sign = usize::from(t.starts_with(['+', '-']));
    let digits = t[sign..].bytes().take_while(u8::is_ascii_digit).count();
    let end = sign + digits;
    Some((scan_llu(&t[..end])?, &t[end..]))
}

/// A command line of a block: parsed now, run at `COMMIT`.
fn rule_line(
    host: &Host,
    table: &'static str,
    raw: &str,
    lineno: usize,
    o: &Opts,
    stderr: &mut String,
    room: &mut LineRoom,
) -> Result<Option<Queued>, Output> {
    let LineRoom { words: argv, plain } = room;
    let perr = |e: XtError, warnings: &[String]| {
        let mut s: String = warnings.iter().map(|w| format!("{w}\n")).collect();
        s.push_str(&format_error(PROG, &e, Some(lineno)));
        fail(String::new(), s, e.exit)
    };
    let (counters, body) = rule_counters(raw, lineno).map_err(|e| perr(e, &[]))?;
    let mut warnings = Vec::new();
    let parsed = parse::with_host_env(host, true, |env| {
        if counters.is_none() {
            if let Some(p) = parse::parse_plain_line(body, table, env, plain) {
                return Ok(p);
            }
        }
        argv.clear();
        for w in [PROG, "-t", table] {
            argv.push(w);
        }
        split_rule_line_into(body, argv);
        if let (true, Some((p, b))) = (o.counters, &counters) {
            for w in ["--set-counters", p, b] {
                argv.push(w);
            }
        }
        parse::parse_boxed(argv.as_slice(), env, &mut warnings)
    });
    let p = parsed.map_err(|e| perr(e, &warnings))?;
    if let Some(text) = p.output {
        let stderr: String = warnings.iter().map(|w| format!("{w}\n")).collect();
        return Err(fail(text, stderr, 0));
    }
    stderr.extend(warnings.iter().map(|w| format!("{w}\n")));
    if p.ignored {
        return Ok(None);
    }
    Ok(Some(Queued::Command(verbose_rule(p, o))))
}

/// `-v` without `--noflush` makes every rule command verbose.
fn verbose_rule(mut p: Box<Parsed>, o: &Opts) -> Box<Parsed> {
    if o.verbose && !o.noflush && p.command & CMD_IDRAC != 0 {
        p.options |= OPT_VERBOSE;
    }
    p
}

/// Ends a block's batch: commits the table or reports why not.
fn commit(
    host: &mut Host,
    mut b: Block,
    commit_line: usize,
    stdout: &mut String,
) -> Result<(), Output> {
    b.run_pending();
    b.run_chains();
    let Some(batch) = b.batch else {
        return Ok(());
    };
    let failure = b.failure;
    let state_use = batch.known_state_use();
    let (out, committed) = batch.finish();
    stdout.push_str(&out);
    if let Some((line, f)) = failure {
        let (stderr, exit) = match &f {
            Fail::Msg { msg, .. } => (format!("{PROG}: line {line} failed: {msg}.\n"), 1),
            Fail::Param(e) => (format_error(PROG, e, Some(commit_line)), e.exit),
            Fail::Incompatible { .. } => fail_text(PROG, &f),
        };
        return Err(fail(std::mem::take(stdout), stderr, exit));
    }
    match committed {
        Ok(mut t) => {
            if let Some(u) = state_use {
                t.set_state_use(u);
            }
            *host.ruleset.table_mut(b.table).expect("known table") = t;
            crate::ext::after_commit(host);
            Ok(())
        }
        Err(ks) => {
            let mut s = format!("{PROG} {VERSION}: \n");
            for k in &ks {
                s.push_str(&format!(
                    "line {}: {} failed ({}): {}\n",
                    k.line,
                    k.op,
                    k.err.strerror(),
                    k.what
                ));
            }
            Err(fail(std::mem::take(stdout), s, 4))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_line_quoting() {
        assert_eq!(
            split_rule_line("-A INPUT -m comment --comment \"a b \\\" c\" -j ACCEPT\n"),
            vec![
                "-A",
                "INPUT",
                "-m",
                "comment",
                "--comment",
                "a b \" c",
                "-j",
                "ACCEPT"
            ]
        );
    }

    /// The splitter as iptables' `add_param_to_argv` reads a line, one
    /// character at a time (the reference for the faster one).
    fn split_reference(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut cur = String::new();
        let mut quote = false;
        let mut escaped = false;
        for c in line.chars() {
            if quote {
                if escaped {
                    cur.push(c);
                    escaped = false;
                    continue;
                } else if c == '\\' {
                    escaped = true;
                    continue;
                } else if c != '"' {
                    cur.push(c);
                    continue;
                }
                quote = false;
            } else if c == '"' {
                quote = true;
                continue;
            }
            match c {
                '"' => {}
                ' ' | '\t' | '\n' => {
                    if cur.is_empty() {
                        continue;
                    }
                }
                _ => {
                    cur.push(c);
                    continue;
                }
            }
            words.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        words
    }

    #[test]
    fn splitting_like_add_param_to_argv() {
        let alphabet = ['a', 'b', ' ', '\t', '"', '\\', '\n', 'é', '-', '€'];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut words = Words::default();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 12) as usize;
            let line: String = (0..len)
                .map(|i| alphabet[((x >> (i * 4)) % alphabet.len() as u64) as usize])
                .collect();
            words.clear();
            words.push("prog");
            split_rule_line_into(&line, &mut words);
            let mut want = vec!["prog".to_string()];
            want.extend(split_reference(&line));
            assert_eq!(words.as_slice(), want.as_slice(), "{line:?}");
        }
    }

    fn restore(h: &mut Host, text: &str) -> Output {
        crate::command::run_argv(h, &["iptables-restore".to_string()], Some(text))
    }

    /// Command lines run late: a refusal still shows at `COMMIT` (after
    /// later parse errors), and every line runs by then, in order, chain
    /// lines between them included.
    #[test]
    fn late_run_lines_keep_their_order_and_errors() {
        for (text, want) in [
            (
                "*filter\n-A INPUT -j NOPE\n-A INPUT -j ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n",
                "Chain 'NOPE' does not exist\nError occurred at line: 5\n",
            ),
            (
                "*filter\n-A INPUT -j NOPE\n-A INPUT -j ACCEPT\n-A INPUT -j ACCEPT\n-A INPUT --bogus\nCOMMIT\n",
                "unknown option \"--bogus\"\nError occurred at line: 5\n",
            ),
            (
                "*filter\n:X - [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -j X\n-A X -j NOPE\nCOMMIT\n",
                "Chain 'NOPE' does not exist\nError occurred at line: 6\n",
            ),
        ] {
            let mut h = Host::new("h");
            let out = restore(&mut h, text);
            assert_eq!(out.exit, 2, "{text}");
            assert!(out.stderr.contains(want), "{text}: {}", out.stderr);
            assert!(h.ruleset.tables.iter().all(|t| t.chains.iter().all(|c| c.rules.is_empty())));
        }
        let mut h = Host::new("h");
        let text = "*filter\n:X - [0:0]\n:Y - [0:0]\n-A INPUT -j X\n-A X -j Y\n-A Y -j ACCEPT\n:Z - [0:0]\n-A Z -j X\n-A INPUT -j Z\nCOMMIT\n";
        assert_eq!(restore(&mut h, text).exit, 0);
        let save = crate::command::run_argv(&mut h, &["iptables-save".to_string()], None).stdout;
        let rules: Vec<&str> = save.lines().filter(|l| l.starts_with("-A")).collect();
        assert_eq!(
            rules,
            [
                "-A INPUT -j X",
                "-A INPUT -j Z",
                "-A X -j Y",
                "-A Y -j ACCEPT",
                "-A Z -j X"
            ]
        );
    }

    /// Rule lines of a block: jumps between chains (no loop), lines of the
    /// shortcut parser and of the general one; `between` goes after each.
    fn many_rules(between: &str) -> String {
        let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
        for c in 0..7 {
            text.push_str(&format!(":C{c} - [0:0]\n"));
        }
        for i in 0..3 * WAITING + 5 {
            let line = match i % 5 {
                0 => format!("-A INPUT -s 10.0.{}.{}/32 -j C{}", i / 256, i % 256, i % 7),
                1 => format!("-A C{} -j C{}", i % 6, i % 6 + 1),
                2 => format!("-A C{} -p tcp -m tcp --dport {i} -j ACCEPT", i % 7),
                3 => format!("-A C{} -m comment --comment \"n {i}\" -j RETURN", i % 7),
                _ => format!("-I C{} 1 -i eth{i} -j DROP", i % 7),
            };
            text.push_str(&line);
            text.push('\n');
            text.push_str(between);
        }
        text + "COMMIT\n"
    }

    /// A chain's rules take the room of the run of `-A` lines that fill
    /// it, not the list's usual first room for four; a run that a line of
    /// another chain breaks, or one that goes on past the waiting lines,
    /// still grows as it needs. Two addresses make two rules of one line.
    #[test]
    fn appended_chains_take_the_room_of_their_run() {
        let mut text = String::from("*filter\n:ONE - [0:0]\n:TWO - [0:0]\n:LONG - [0:0]\n");
        text += "-A ONE -j ACCEPT\n-A TWO -s 10.0.0.1,10.0.0.2 -j DROP\n-A TWO -j RETURN\n";
        text += "-A INPUT -j ONE\n-A INPUT -j TWO\n-A ONE -j DROP\n";
        for i in 0..(WAITING + 10) {
            text += &format!("-A LONG -s 10.1.{}.{} -j ACCEPT\n", i / 256, i % 256);
        }
        text += "COMMIT\n";
        let mut h = Host::new("h");
        let out = restore(&mut h, &text);
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let filter = h.ruleset.table("filter").expect("filter");
        let chain = |name: &str| {
            let c = filter.chains.iter().find(|c| c.name == name).expect(name);
            (c.rules.len(), c.rules.capacity())
        };
        assert_eq!(chain("TWO"), (3, 3));
        assert_eq!(chain("INPUT"), (2, 2));
        let (len, _) = chain("ONE");
        assert_eq!(len, 2);
        let (len, room) = chain("LONG");
        assert!(len == WAITING + 10 && room >= len, "{len} {room}");
    }

    /// Lines that wait to run together leave the ruleset that lines run
    /// one at a time leave (a policy line runs the lines before it).
    #[test]
    fn waiting_lines_run_as_one_at_a_time() {
        let shown = |text: &str| {
            let mut h = Host::new("h");
            let out = restore(&mut h, text);
            assert_eq!(out.exit, 0, "{}", out.stderr);
            let mut listing = String::new();
            for argv in [
                &["iptables-save", "-c"][..],
                &["iptables", "-L", "-v", "-n", "-x"],
            ] {
                let argv: Vec<String> = argv.iter().map(|w| w.to_string()).collect();
                let out = crate::command::run_argv(&mut h, &argv, None);
                listing.extend(
                    out.stdout
                        .lines()
                        .filter(|l| !l.starts_with('#'))
                        .map(|l| l.to_string() + "\n"),
                );
            }
            listing
        };
        let together = shown(&many_rules(""));
        assert!(together.matches("-A C").count() > 2 * WAITING, "{together}");
        assert_eq!(together, shown(&many_rules(":INPUT ACCEPT [0:0]\n")));
    }

    /// A refusal keeps its line and a later parse error still wins,
    /// wherever the lines waiting to run are cut.
    #[test]
    fn waiting_lines_keep_their_line_numbers() {
        let head = "*filter\n:X - [0:0]\n";
        for at in [0, 1, WAITING - 1, WAITING, WAITING + 1, 2 * WAITING + 3] {
            let mut lines: Vec<String> = (0..3 * WAITING)
                .map(|i| format!("-A X -s 10.0.{}.{}/32 -j ACCEPT", i / 256, i % 256))
                .collect();
            lines[at] = "-A INPUT -j MASQUERADE".to_string();
            let text = format!("{head}{}\nCOMMIT\n", lines.join("\n"));
            let out = restore(&mut Host::new("h"), &text);
            assert_eq!(out.exit, 4, "{at}: {}", out.stderr);
            let want = format!(
                "\nline {}: RULE_APPEND failed (Invalid argument): rule in chain INPUT\n",
                at + 3
            );
            assert!(out.stderr.ends_with(&want), "{at}: {}", out.stderr);
            lines[at] = "-A INPUT -j NOPE".to_string();
            lines.push("-A X --bogus".to_string());
            let text = format!("{head}{}\nCOMMIT\n", lines.join("\n"));
            let out = restore(&mut Host::new("h"), &text);
            assert_eq!(out.exit, 2, "{at}: {}", out.stderr);
            let want = format!("Error occurred at line: {}\n", lines.len() + 2);
            assert!(
                out.stderr.contains("unknown option \"--bogus\""),
                "{at}: {}",
                out.stderr
            );
            assert!(out.stderr.contains(&want), "{at}: {}", out.stderr);
        }
    }

    /// `strtok` as C's: the word-at-a-time look for blanks finds what a
    /// byte-by-byte one finds.
    #[test]
    fn strtok_cuts_as_byte_by_byte() {
        fn reference<'s>(s: &'s str, delims: &str) -> Option<(&'s str, &'s str)> {
            let delim = |c: char| delims.contains(c);
            let start = s.find(|c| !delim(c))?;
            let rest = &s[start..];
            match rest.find(delim) {
                Some(len) => Some((&rest[..len], &rest[len + 1..])),
                None => Some((rest, "")),
            }
        }
        let alphabet = [
            b'a', b' ', b'\t', b'\n', b':', b']', 0x0b, 0x1f, b'!', 0xc3, 0xa9,
        ];
        crate::bytescan::random_texts(&alphabet, |b| {
            let Ok(s) = std::str::from_utf8(b) else {
                return;
            };
            assert_eq!(strtok(s, &BLANKS), reference(s, " \t\n"), "{s:?}");
            assert_eq!(
                strtok(s, &const { Delims::of(":") }),
                reference(s, ":"),
                "{s:?}"
            );
            assert_eq!(
                strtok(s, &const { Delims::of("]") }),
                reference(s, "]"),
                "{s:?}"
            );
        });
    }

    #[test]
    fn counters_prefix() {
        let (c, rest) = rule_counters("[1:2]-A INPUT", 1).unwrap();
        assert_eq!(c, Some(("1".into(), "2".into())));
        assert_eq!(rest, "-A INPUT");
        assert_eq!(
            rule_counters("[1 -A", 3).unwrap_err().msg,
            "Bad line 3: need ]"
        );
        assert_eq!(
            rule_counters("[:] -A", 3).unwrap_err().msg,
            "Bad line 3: need ]"
        );
    }
}
