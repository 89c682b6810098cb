//! The fast path of apply for a small change to a large ruleset.
//!
//! After an apply of canonical restore text (tables, chain lines, `-A`
//! lines, COMMIT: what iptables-save and kube-proxy write) the text is kept
//! under `/run/iptplay` with, for each of its lines, where it starts, the
//! table it is in and the kernel handle of the rule an `-A` line made, and
//! the generation id the kernel had right after. When the next input
//! differs from that text only in `-A` lines (and blank or comment lines),
//! and the kernel is still at that generation (nobody wrote since), only
//! the lines between the common beginning and the common end of the two
//! texts are looked at: in each chain, the rules of removed lines are
//! deleted by handle and new lines parsed and inserted before the next
//! unchanged rule. Nothing else of the text is parsed or split into lines.
//! Anything else (another frame, a line that fails or warns, one naming
//! ipsets or nfacct objects, a refusal by the kernel, a generation that
//! moved) takes the full path, which reads the kernel and parses
//! everything, and whose errors are iptables-restore's own.

use super::msg::{self, Msg, Position};
use super::rule::encode_rule;
use super::sock::{BatchOutcome, NfSock};
use super::Result;
use crate::iptables::parse::{parse, ParseEnv};
use crate::iptables::restore::split_rule_line;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

/// First line of a state file (its layout's version).
const MAGIC: &str = "iptplay-fast 2";

/// One line of canonical restore text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line<'a> {
    /// Blank or a comment.
    Skip,
    /// `*TABLE`.
    Table(&'a str),
    /// `COMMIT`.
    Commit,
    /// `:CHAIN POLICY [p:b]` (the line).
    Chain(&'a str),
    /// `-A CHAIN ...`: the line and the chain.
    Rule(&'a str, &'a str),
}

/// What a line is; `None` when it is not canonical (or needs more than
/// the line: counters, ipsets, nfacct objects).
fn classify(raw: &str) -> Option<Line<'_>> {
    let line = raw.trim_end_matches('\r');
    if line.is_empty() || line.starts_with('#') {
        return Some(Line::Skip);
    }
    if let Some(rest) = line.strip_prefix("-A ") {
        let chain = rest.split(' ').next()?;
        if line.contains(" -c ") || line.contains("-set ") || line.contains("--nfacct") {
            return None;
        }
        return Some(Line::Rule(line, chain));
    }
    if let Some(t) = line.strip_prefix('*') {
        return Some(Line::Table(t));
    }
    if line == "COMMIT" {
        return Some(Line::Commit);
    }
    if line.starts_with(':') {
        return Some(Line::Chain(line));
    }
    None
}

/// The text taken apart, for [`remember`]: per line (the pieces between
/// `\n`s) where it starts and the table it is in (1-based index in
/// `tables`, 0 outside).
struct Layout<'a> {
    tables: Vec<&'a str>,
    offsets: Vec<u32>,
    ctx: Vec<u8>,
}

/// `None` when the text is not canonical.
fn layout(text: &str) -> Option<Layout<'_>> {
    if text.len() > u32::MAX as usize {
        return None;
    }
    let mut out = Layout {
        tables: Vec::new(),
        offsets: Vec::new(),
        ctx: Vec::new(),
    };
    let mut cur: u8 = 0;
    let mut off = 0usize;
    for raw in text.split('\n') {
        out.offsets.push(off as u32);
        off += raw.len() + 1;
        match classify(raw)? {
            Line::Skip => {}
            Line::Table(t) => {
                if cur != 0 || out.tables.contains(&t) || out.tables.len() >= u8::MAX as usize {
                    return None;
                }
                out.tables.push(t);
                cur = out.tables.len() as u8;
            }
            Line::Commit => {
                if cur == 0 {
                    return None;
                }
                cur = 0;
            }
            Line::Chain(_) => {
                if cur == 0 {
                    return None;
                }
            }
            Line::Rule(..) => {
                if cur == 0 {
                    return None;
                }
            }
        }
        out.ctx.push(cur);
    }
    if cur != 0 {
        return None;
    }
    Some(out)
}

/// What the last apply left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Inode of the network namespace: a namespace made again under the
    /// same name starts its generations over.
    pub ns: u64,
    pub genid: u32,
    /// The tables the text names, in order.
    pub tables: Vec<String>,
    /// Per line of `text` (the pieces between `\n`s): the handle of the
    /// rule an `-A` line made (0 for other lines, and until known: a full
    /// apply does not read them back, the first change to a chain does)...
    pub handles: Vec<u64>,
    /// ...the byte where it starts...
    pub offsets: Vec<u32>,
    /// ...and the table it is in, or the one a `*TABLE` line opens
    /// (1-based index in `tables`; 0 outside a table and on COMMIT).
    pub ctx: Vec<u8>,
}

/// The inode of the namespace `/run/netns/NAME` (ours when `None`).
pub fn ns_inode(netns: Option<&str>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let p = match netns {
        Some(n) => format!("/run/netns/{n}"),
        None => "/proc/self/ns/net".to_string(),
    };
    std::fs::metadata(p).map(|m| m.ino()).unwrap_or(0)
}

fn path(netns: Option<&str>) -> PathBuf {
    PathBuf::from(super::confirm::DIR).join(format!("state-{}", netns.unwrap_or("host")))
}

/// Forgets the state (the next apply takes the full path).
pub fn forget(netns: Option<&str>) {
    let _ = std::fs::remove_file(path(netns));
}

/// Keeps the state (best effort: without it the next apply is slower).
/// Layout: a header line, the table names one a line, then the handles
/// (8 bytes each), offsets (4 bytes) and tables (1 byte) of the lines,
/// little-endian, then the text.
pub fn save(netns: Option<&str>, st: &State, text: &[u8]) {
    let n = st.handles.len();
    if st.offsets.len() != n || st.ctx.len() != n {
        forget(netns);
        return;
    }
    let mut head = format!(
        "{MAGIC} {} {} {} {} {}\n",
        st.ns,
        st.genid,
        n,
        st.tables.len(),
        text.len()
    );
    for t in &st.tables {
        head.push_str(t);
        head.push('\n');
    }
    let mut lines = Vec::with_capacity(n * 13);
    for h in &st.handles {
        lines.extend_from_slice(&h.to_le_bytes());
    }
    for o in &st.offsets {
        lines.extend_from_slice(&o.to_le_bytes());
    }
    lines.extend_from_slice(&st.ctx);
    let _ = std::fs::create_dir_all(super::confirm::DIR);
    let tmp = path(netns).with_extension("tmp");
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(head.as_bytes())?;
        f.write_all(&lines)?;
        f.write_all(text)
    });
    match written {
        Ok(()) => {
            if std::fs::rename(&tmp, path(netns)).is_err() {
                let _ = std::fs::remove_file(&tmp);
                forget(netns);
            }
        }
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
            forget(netns);
        }
    }
}

/// The state and the text it was made from.
pub fn load(netns: Option<&str>) -> Option<(State, Vec<u8>)> {
    use std::io::{BufRead, Read};
    let mut f = std::io::BufReader::new(std::fs::File::open(path(netns)).ok()?);
    let mut line = || -> Option<String> {
        let mut l = Vec::new();
        f.read_until(b'\n', &mut l).ok()?;
        l.pop().filter(|c| *c == b'\n')?;
        String::from_utf8(l).ok()
    };
    let head = line()?;
    let nums = head.strip_prefix(MAGIC)?.strip_prefix(' ')?;
    let nums: Vec<u64> = nums
        .split(' ')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [ns, genid, n, ntables, textlen] = nums[..] else {
        return None;
    };
    let mut tables = Vec::new();
    for _ in 0..ntables {
        tables.push(line()?);
    }
    let n = usize::try_from(n).ok()?;
    let textlen = usize::try_from(textlen).ok()?;
    let mut lines = vec![0u8; n.checked_mul(13)?];
    f.read_exact(&mut lines).ok()?;
    let mut text = Vec::with_capacity(textlen);
    f.read_to_end(&mut text).ok()?;
    if text.len() != textlen {
        return None;
    }
    let (h, rest) = lines.split_at(n * 8);
    let (o, c) = rest.split_at(n * 4);
    let handles = h
        .chunks_exact(8)
        .map(|b| <[u8; 8]>::try_from(b).map(u64::from_le_bytes))
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    let offsets = o
        .chunks_exact(4)
        .map(|b| <[u8; 4]>::try_from(b).map(u32::from_le_bytes))
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    let st = State {
        ns,
        genid: u32::try_from(genid).ok()?,
        tables,
        handles,
        offsets,
        ctx: c.to_vec(),
    };
    Some((st, text))
}

/// Index pairs (old, new) of the lines two runs of lines share.
fn common(old: &[&str], new: &[&str]) -> Vec<(usize, usize)> {
    let (n, m) = (old.len(), new.len());
    let mut pre = 0;
    while pre < n && pre < m && old[pre] == new[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < n - pre && suf < m - pre && old[n - 1 - suf] == new[m - 1 - suf] {
        suf += 1;
    }
    let mut pairs: Vec<(usize, usize)> = (0..pre).map(|i| (i, i)).collect();
    pairs.extend((0..suf).map(|k| (n - suf + k, m - suf + k)));
    pairs
}

/// Length of the common beginning of two byte strings (compared a block
/// at a time, then byte by byte in the block that differs).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Length of the common end of two byte strings.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[la - i - BLOCK..la - i] == b[lb - i - BLOCK..lb - i] {
        i += BLOCK;
    }
    while i < n && a[la - 1 - i] == b[lb - 1 - i] {
        i += 1;
    }
    i
}

/// One parsed line: the rule a restore of it makes (or nothing: fall back).
fn parse_line(table: &str, line: &str) -> Option<crate::ruleset::Rule> {
    let mut argv = vec![
        "iptables-restore".to_string(),
        "-t".to_string(),
        table.to_string(),
    ];
    argv.extend(split_rule_line(line));
    let resolve = |_: &str| Vec::new();
    let sets = |_: &str| None;
    let nfacct = |_: &str| false;
    let env = ParseEnv {
        resolve: &resolve,
        sets: &sets,
        nfacct: &nfacct,
        restore: true,
    };
    let mut warnings = Vec::new();
    let mut p = parse(&argv, &env, &mut warnings).ok()?;
    if !warnings.is_empty() || p.output.is_some() || p.rules.len() != 1 {
        return None;
    }
    p.rules.pop()
}

/// The lines of the part of a text that differs: the text from `start`
/// (a line start) to `end`: a line start when `to_end` is false (the
/// piece after the last `\n` is then the first line of the common end),
/// else the end of the text.
fn pieces(text: &str, start: usize, end: usize, to_end: bool) -> Option<Vec<&str>> {
    let mid = text.get(start..end)?;
    let mut v: Vec<&str> = mid.split('\n').collect();
    if !to_end {
        v.pop();
    }
    Some(v)
}

/// One side of the part that differs, read line by line from the table
/// the part starts in: the frame lines, each line's table, and the rules
/// (table, chain, index among the lines of the part, line).
struct Part<'a> {
    frame: Vec<&'a str>,
    ctx: Vec<u8>,
    rules: Vec<(u8, &'a str, usize, &'a str)>,
}

fn read_part<'a>(lines: &[&'a str], tables: &[String], mut cur: u8) -> Option<Part<'a>> {
    let mut part = Part {
        frame: Vec::new(),
        ctx: Vec::with_capacity(lines.len()),
        rules: Vec::new(),
    };
    for (i, raw) in lines.iter().enumerate() {
        match classify(raw)? {
            Line::Skip => {}
            Line::Table(t) => {
                if cur != 0 {
                    return None;
                }
                let k = tables.iter().position(|x| x == t)?;
                cur = u8::try_from(k + 1).ok()?;
                part.frame.push(raw.trim_end_matches('\r'));
            }
            Line::Commit => {
                if cur == 0 {
                    return None;
                }
                cur = 0;
                part.frame.push("COMMIT");
            }
            Line::Chain(l) => {
                if cur == 0 {
                    return None;
                }
                part.frame.push(l);
            }
            Line::Rule(l, chain) => {
                if cur == 0 {
                    return None;
                }
                part.rules.push((cur, chain, i, l));
            }
        }
        part.ctx.push(cur);
    }
    Some(part)
}

/// What the fast path did: the changes made.
pub struct Done {
    pub ops: Vec<String>,
}

/// Tries the fast path; `Ok(None)` means "take the full path".
pub fn try_apply(sock: &mut NfSock, netns: Option<&str>, text: &str) -> Result<Option<Done>> {
    let Some((st, old)) = load(netns) else {
        return Ok(None);
    };
    if st.ns != ns_inode(netns) || sock.genid()? != st.genid {
        return Ok(None);
    }
    let nlines = st.handles.len();
    if st.offsets.len() != nlines || st.ctx.len() != nlines || nlines == 0 {
        return Ok(None);
    }
    let (old, new) = (&old[..], text.as_bytes());
    if old == new {
        return Ok(Some(Done { ops: Vec::new() }));
    }
    // The part that differs, in whole lines: from the start of the line
    // where the texts part...
    let p = common_prefix(old, new);
    let first = st.offsets.partition_point(|o| (*o as usize) <= p).max(1) - 1;
    let start = st.offsets[first] as usize;
    // ...to the first line start both share in their common end.
    let s = common_suffix(&old[start..], &new[start..]);
    let (os, ns) = (old.len() - s, new.len() - s);
    let mut last = st.offsets.partition_point(|o| (*o as usize) < os);
    if last < nlines && st.offsets[last] as usize == os && !(ns == 0 || new[ns - 1] == b'\n') {
        last += 1;
    }
    let (old_end, new_end) = match st.offsets.get(last) {
        Some(o) => (*o as usize, *o as usize - os + ns),
        None => (old.len(), new.len()),
    };
    let Ok(old_text) = std::str::from_utf8(&old[start..old_end]) else {
        return Ok(None);
    };
    let to_end = last == nlines;
    let (Some(old_lines), Some(new_lines)) = (
        pieces(old_text, 0, old_text.len(), to_end),
        pieces(text, start, new_end, to_end),
    ) else {
        return Ok(None);
    };
    if old_lines.len() != last - first {
        return Ok(None);
    }
    let cur = if first == 0 { 0 } else { st.ctx[first - 1] };
    let (Some(o), Some(n)) = (
        read_part(&old_lines, &st.tables, cur),
        read_part(&new_lines, &st.tables, cur),
    ) else {
        return Ok(None);
    };
    if o.frame != n.frame {
        return Ok(None);
    }
    // Per chain: the old and the new lines of the part.
    type Runs<'a> = (Vec<(usize, &'a str)>, Vec<(usize, &'a str)>);
    let mut chains: BTreeMap<(u8, &str), Runs> = BTreeMap::new();
    for (t, c, i, l) in &o.rules {
        chains.entry((*t, *c)).or_default().0.push((first + i, *l));
    }
    for (t, c, i, l) in &n.rules {
        chains.entry((*t, *c)).or_default().1.push((*i, *l));
    }
    // Every line of the old text in a chain the change touches, in order.
    let mut lines_of: HashMap<(u8, &[u8]), Vec<usize>> = chains
        .keys()
        .map(|(t, c)| ((*t, c.as_bytes()), Vec::new()))
        .collect();
    for i in 0..nlines {
        let t = st.ctx[i];
        if t == 0 {
            continue;
        }
        let Some(line) = old.get(st.offsets[i] as usize..) else {
            return Ok(None);
        };
        let Some(rest) = line.strip_prefix(b"-A ") else {
            continue;
        };
        let end = rest
            .iter()
            .position(|b| *b == b' ' || *b == b'\n' || *b == b'\r')
            .unwrap_or(rest.len());
        if let Some(v) = lines_of.get_mut(&(t, &rest[..end])) {
            v.push(i);
        }
    }
    // Their rules' handles: a chain with one not known yet is read from
    // the kernel (one small dump), and must hold as many rules as lines.
    let mut handles = st.handles;
    for ((t, c), lines) in &lines_of {
        if lines.iter().all(|i| handles[*i] != 0) {
            continue;
        }
        let (Some(table), Ok(chain)) = (st.tables.get(*t as usize - 1), std::str::from_utf8(c))
        else {
            return Ok(None);
        };
        let mut hs = Vec::with_capacity(lines.len());
        sock.dump_each(&msg::get_rules(table, chain), |b| {
            hs.push(msg::parse_rule_head(b)?.2);
            Ok(())
        })?;
        if hs.len() != lines.len() || hs.contains(&0) {
            return Ok(None);
        }
        for (i, h) in lines.iter().zip(hs) {
            handles[*i] = h;
        }
    }
    // Handles of the new part's lines (None: inserted, known after the
    // batch), the messages, what they do, and where inserted rules go.
    let mut mine: Vec<Option<u64>> = vec![Some(0); new_lines.len()];
    let mut msgs: Vec<Msg> = Vec::new();
    let mut texts = Vec::new();
    let mut placed: Vec<Option<usize>> = Vec::new();
    // Inserted rules with no kept rule after them in the part: the next
    // rule of their chain after it, looked up in one pass afterwards.
    let mut after: Vec<(usize, u8, &str, super::rule::Encoded)> = Vec::new();
    for ((t, chain), (ol, nl)) in &chains {
        let Some(table) = st.tables.get(*t as usize - 1) else {
            return Ok(None);
        };
        let otexts: Vec<&str> = ol.iter().map(|x| x.1).collect();
        let ntexts: Vec<&str> = nl.iter().map(|x| x.1).collect();
        let pairs = common(&otexts, &ntexts);
        let mut kept: Vec<Option<u64>> = vec![None; nl.len()];
        for (oi, ni) in &pairs {
            kept[*ni] = Some(handles[ol[*oi].0]);
        }
        let old_kept: std::collections::BTreeSet<usize> = pairs.iter().map(|p| p.0).collect();
        for (oi, (line, l)) in ol.iter().enumerate() {
            if !old_kept.contains(&oi) {
                let h = handles[*line];
                if h == 0 {
                    return Ok(None);
                }
                msgs.push(msg::del_rule(table, chain, h));
                texts.push(l.replacen("-A ", "- -D ", 1));
                placed.push(None);
            }
        }
        for (k, (i, l)) in nl.iter().enumerate() {
            if let Some(h) = kept[k] {
                mine[*i] = Some(h);
                continue;
            }
            mine[*i] = None;
            let Some(rule) = parse_line(table, l) else {
                return Ok(None);
            };
            let Ok(enc) = encode_rule(&[], table, &rule, true) else {
                return Ok(None);
            };
            let pos = match kept[k..].iter().flatten().next() {
                Some(h) => Position::Before(*h),
                None => {
                    after.push((msgs.len(), *t, chain, enc.clone()));
                    Position::Append
                }
            };
            let mut m = msg::new_rule(table, chain, &enc.exprs, enc.compat, pos);
            m.flags |= msg::NLM_F_ECHO;
            msgs.push(m);
            texts.push(format!("+ {l}"));
            placed.push(Some(*i));
        }
    }
    if msgs.is_empty() {
        return Ok(Some(Done { ops: texts }));
    }
    // Those go before the first rule of their chain in the common end.
    for (k, t, chain, enc) in &after {
        let first_after = lines_of
            .get(&(*t, chain.as_bytes()))
            .and_then(|v| v.iter().find(|i| **i >= last))
            .map(|i| handles[*i]);
        let (Some(h), Some(table)) = (first_after, st.tables.get(*t as usize - 1)) else {
            continue;
        };
        let mut m = msg::new_rule(table, chain, &enc.exprs, enc.compat, Position::Before(h));
        m.flags |= msg::NLM_F_ECHO;
        msgs[*k] = m;
    }
    let (outcome, echoed) = sock.batch_echo(st.genid, &msgs)?;
    if outcome != BatchOutcome::Done {
        return Ok(None);
    }
    for (p, h) in placed.iter().zip(echoed) {
        if let (Some(i), Some(h)) = (p, h) {
            mine[*i] = Some(h);
        }
    }
    let Some(mine) = mine.into_iter().collect::<Option<Vec<u64>>>() else {
        forget(netns);
        return Ok(Some(Done { ops: texts }));
    };
    // The new state: the common beginning and end as they were, the part
    // as it is now (offsets of the common end moved by the change in size).
    let shift = |o: u32| {
        (o as usize + ns)
            .checked_sub(os)
            .and_then(|x| u32::try_from(x).ok())
    };
    let mut offsets = Vec::with_capacity(first + new_lines.len() + nlines - last);
    offsets.extend_from_slice(&st.offsets[..first]);
    let mut off = start;
    for l in &new_lines {
        offsets.push(off as u32);
        off += l.len() + 1;
    }
    for o in &st.offsets[last..] {
        match shift(*o) {
            Some(x) => offsets.push(x),
            None => {
                forget(netns);
                return Ok(Some(Done { ops: texts }));
            }
        }
    }
    let mut all = Vec::with_capacity(offsets.len());
    all.extend_from_slice(&handles[..first]);
    all.extend_from_slice(&mine);
    all.extend_from_slice(&handles[last..]);
    let mut ctx = Vec::with_capacity(offsets.len());
    ctx.extend_from_slice(&st.ctx[..first]);
    ctx.extend_from_slice(&n.ctx);
    ctx.extend_from_slice(&st.ctx[last..]);
    let genid = sock.genid()?;
    save(
        netns,
        &State {
            ns: st.ns,
            genid,
            tables: st.tables,
            handles: all,
            offsets,
            ctx,
        },
        text.as_bytes(),
    );
    Ok(Some(Done { ops: texts }))
}

/// After a full apply of `text` that left the kernel at generation
/// `genid`: keeps the state when the text is canonical and nobody wrote
/// since. The rules' handles are not read back here: each chain's are
/// read (and its rules counted) when a change first touches it.
pub fn remember(sock: &mut NfSock, netns: Option<&str>, text: &str, genid: u32) -> Result<()> {
    forget(netns);
    let Some(lay) = layout(text) else {
        return Ok(());
    };
    if sock.genid()? != genid {
        return Ok(());
    }
    save(
        netns,
        &State {
            ns: ns_inode(netns),
            genid,
            tables: lay.tables.iter().map(|t| t.to_string()).collect(),
            handles: vec![0; lay.offsets.len()],
            offsets: lay.offsets,
            ctx: lay.ctx,
        },
        text.as_bytes(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_only() {
        let t = "# x\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n";
        let l = layout(t).unwrap();
        assert_eq!(l.tables, vec!["filter"]);
        assert_eq!(l.offsets, vec![0, 4, 12, 32, 51, 58]);
        assert_eq!(l.ctx, vec![0, 1, 1, 1, 0, 0]);
        for bad in [
            "*filter\n-I INPUT -j ACCEPT\nCOMMIT\n",
            "*filter\n-A INPUT -j ACCEPT\n",
            "*filter\nCOMMIT\n*filter\nCOMMIT\n",
            "*filter\n-A INPUT -m set --match-set s src\nCOMMIT\n",
            "-A INPUT -j ACCEPT\n",
        ] {
            assert!(layout(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_part_that_differs_is_read_from_its_table() {
        let tables = vec!["filter".to_string(), "nat".to_string()];
        let lines = ["-A X -j DROP", "COMMIT", "*nat", "-A Y -j ACCEPT", "# c"];
        let p = read_part(&lines, &tables, 1).unwrap();
        assert_eq!(p.frame, vec!["COMMIT", "*nat"]);
        assert_eq!(p.ctx, vec![1, 0, 2, 2, 2]);
        assert_eq!(
            p.rules,
            vec![(1, "X", 0, "-A X -j DROP"), (2, "Y", 3, "-A Y -j ACCEPT")]
        );
        // A rule outside any table is not canonical.
        assert!(read_part(&["-A X -j DROP"], &tables, 0).is_none());
        assert!(read_part(&["*mangle"], &tables, 0).is_none());
    }

    #[test]
    fn state_round_trips() {
        let text = "*filter\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n";
        let st = State {
            ns: 1,
            genid: 7,
            tables: vec!["filter".into()],
            handles: vec![0, 4, 9, 0, 0],
            offsets: vec![0, 8, 27, 44, 51],
            ctx: vec![1, 1, 1, 0, 0],
        };
        let name = format!("unit-test-{}", std::process::id());
        save(Some(&name), &st, text.as_bytes());
        match load(Some(&name)) {
            Some(back) => assert_eq!(back, (st, text.as_bytes().to_vec())),
            // /run/iptplay is not writable here (not root).
            None => assert!(!path(Some(&name)).exists()),
        }
        forget(Some(&name));
        assert_eq!(load(Some(&name)), None);
    }

    #[test]
    fn shared_lines() {
        assert_eq!(
            common(&["a", "b", "c"], &["a", "x", "c"]),
            vec![(0, 0), (2, 2)]
        );
        assert_eq!(common(&["a"], &["a", "b"]), vec![(0, 0)]);
    }

    #[test]
    fn common_ends() {
        let a = "x".repeat(9000) + "A" + &"y".repeat(5000);
        let b = "x".repeat(9000) + "BB" + &"y".repeat(5000);
        assert_eq!(common_prefix(a.as_bytes(), b.as_bytes()), 9000);
        assert_eq!(common_suffix(a.as_bytes(), b.as_bytes()), 5000);
        assert_eq!(common_prefix(b"abc", b"abc"), 3);
        assert_eq!(common_suffix(b"abc", b"bc"), 2);
        assert_eq!(pieces("a\nb\nc\n", 2, 4, false), Some(vec!["b"]));
        assert_eq!(pieces("a\nb\nc", 2, 5, true), Some(vec!["b", "c"]));
        assert_eq!(pieces("a\nb\n", 2, 4, true), Some(vec!["b", ""]));
    }
}
