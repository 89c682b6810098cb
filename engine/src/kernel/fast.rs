//! The fast path of apply for a small change to a large ruleset.
//!
//! After an apply of canonical restore text (tables, chain lines, `-A`
//! lines, COMMIT: what iptables-save and kube-proxy write) the text and
//! the kernel handle of the rule each `-A` line made are kept under
//! `/run/iptplay`, with the generation id the kernel had right after. When
//! the next input has the same tables and chains, and the kernel is still
//! at that generation (nobody wrote since), only the `-A` lines that
//! differ are parsed and sent: the rules of removed lines deleted by
//! handle, new lines inserted before the next unchanged rule. Anything
//! else (another shape, a line that fails or warns, one naming ipsets or
//! nfacct objects, a refusal by the kernel, a generation that moved) takes
//! the full path, which reads the kernel and parses everything, and whose
//! errors are iptables-restore's own.

use super::msg::{self, Msg, Position};
use super::rule::encode_rule;
use super::sock::{BatchOutcome, NfSock};
use super::Result;
use crate::iptables::parse::{parse, ParseEnv};
use crate::iptables::restore::split_rule_line;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Canonical restore text, taken apart: the lines that are not `-A`
/// (its shape), and the `-A` lines of each (table, chain) in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape<'a> {
    pub frame: Vec<&'a str>,
    pub rules: HashMap<(&'a str, &'a str), Vec<&'a str>>,
}

/// `None` when the text is not canonical.
pub fn shape(text: &str) -> Option<Shape<'_>> {
    let mut frame = Vec::new();
    let mut rules: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    let mut table: Option<&str> = None;
    let mut seen = std::collections::BTreeSet::new();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("-A ") {
            let t = table?;
            let chain = rest.split(' ').next()?;
            // Counters, sets and nfacct objects need more than the line.
            if line.contains(" -c ") || line.contains("-set ") || line.contains("--nfacct") {
                return None;
            }
            rules.entry((t, chain)).or_default().push(line);
        } else if let Some(t) = line.strip_prefix('*') {
            if table.is_some() || !seen.insert(t) {
                return None;
            }
            table = Some(t);
            frame.push(line);
        } else if line == "COMMIT" {
            table.take()?;
            frame.push(line);
        } else if line.starts_with(':') {
            table?;
            frame.push(line);
        } else {
            return None;
        }
    }
    if table.is_some() {
        return None;
    }
    Some(Shape { frame, rules })
}

/// What the last apply left: the namespace, its generation, the text, the
/// handles per (table, chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Inode of the network namespace: a namespace made again under the
    /// same name starts its generations over.
    pub ns: u64,
    pub genid: u32,
    pub text: String,
    pub handles: BTreeMap<(String, String), Vec<u64>>,
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
pub fn save(netns: Option<&str>, st: &State) {
    let mut out = format!("{} {}\n", st.ns, st.genid);
    for ((t, c), hs) in &st.handles {
        let list: Vec<String> = hs.iter().map(u64::to_string).collect();
        out.push_str(&format!("{t} {c} {}\n", list.join(" ")));
    }
    out.push_str("--\n");
    out.push_str(&st.text);
    let _ = std::fs::create_dir_all(super::confirm::DIR);
    let tmp = path(netns).with_extension("tmp");
    if std::fs::write(&tmp, out).is_ok() {
        let _ = std::fs::rename(tmp, path(netns));
    }
}

pub fn load(netns: Option<&str>) -> Option<State> {
    let data = std::fs::read_to_string(path(netns)).ok()?;
    let (head, text) = data.split_once("\n--\n")?;
    let mut lines = head.lines();
    let (ns, genid) = lines.next()?.split_once(' ')?;
    let (ns, genid) = (ns.parse().ok()?, genid.parse().ok()?);
    let mut handles = BTreeMap::new();
    for l in lines {
        let mut w = l.split(' ');
        let (t, c) = (w.next()?, w.next()?);
        let hs: Vec<u64> = w
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        handles.insert((t.to_string(), c.to_string()), hs);
    }
    Some(State {
        ns,
        genid,
        text: text.to_string(),
        handles,
    })
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

/// What the fast path did: the changes and the new state.
pub struct Done {
    pub ops: Vec<String>,
}

/// Tries the fast path; `Ok(None)` means "take the full path".
pub fn try_apply(sock: &mut NfSock, netns: Option<&str>, text: &str) -> Result<Option<Done>> {
    let Some(st) = load(netns) else {
        return Ok(None);
    };
    let (Some(old), Some(new)) = (shape(&st.text), shape(text)) else {
        return Ok(None);
    };
    if old.frame != new.frame || st.ns != ns_inode(netns) || sock.genid()? != st.genid {
        return Ok(None);
    }
    let keys: std::collections::BTreeSet<(&str, &str)> =
        old.rules.keys().chain(new.rules.keys()).copied().collect();
    let empty: Vec<&str> = Vec::new();
    let no_handles: Vec<u64> = Vec::new();
    let mut msgs: Vec<Msg> = Vec::new();
    let mut texts = Vec::new();
    // Per message: the new rule's (table, chain, index in the chain's lines).
    let mut placed: Vec<Option<(String, String, usize)>> = Vec::new();
    let mut handles: BTreeMap<(String, String), Vec<Option<u64>>> = BTreeMap::new();
    for key in keys {
        let o = old.rules.get(&key).unwrap_or(&empty);
        let n = new.rules.get(&key).unwrap_or(&empty);
        let owned = (key.0.to_string(), key.1.to_string());
        let hs = st.handles.get(&owned).unwrap_or(&no_handles);
        if hs.len() != o.len() {
            return Ok(None);
        }
        let pairs = common(o, n);
        let mut mine: Vec<Option<u64>> = vec![None; n.len()];
        for (oi, ni) in &pairs {
            mine[*ni] = Some(hs[*oi]);
        }
        let kept: std::collections::BTreeSet<usize> = pairs.iter().map(|p| p.0).collect();
        for (oi, line) in o.iter().enumerate() {
            if !kept.contains(&oi) {
                msgs.push(msg::del_rule(key.0, key.1, hs[oi]));
                texts.push(line.replacen("-A ", "- -D ", 1));
                placed.push(None);
            }
        }
        for (ni, line) in n.iter().enumerate() {
            if mine[ni].is_some() {
                continue;
            }
            let Some(rule) = parse_line(key.0, line) else {
                return Ok(None);
            };
            let Ok(enc) = encode_rule(&[], key.0, &rule, true) else {
                return Ok(None);
            };
            let pos = match mine[ni..].iter().flatten().next() {
                Some(h) => Position::Before(*h),
                None => Position::Append,
            };
            let mut m = msg::new_rule(key.0, key.1, &enc.exprs, enc.compat, pos);
            m.flags |= msg::NLM_F_ECHO;
            msgs.push(m);
            texts.push(format!("+ {line}"));
            placed.push(Some((owned.0.clone(), owned.1.clone(), ni)));
        }
        handles.insert(owned, mine);
    }
    if msgs.is_empty() {
        return Ok(Some(Done { ops: texts }));
    }
    let (outcome, echoed) = sock.batch_echo(st.genid, &msgs)?;
    if outcome != BatchOutcome::Done {
        return Ok(None);
    }
    for (p, h) in placed.iter().zip(echoed) {
        if let (Some((t, c, i)), Some(h)) = (p, h) {
            if let Some(v) = handles.get_mut(&(t.clone(), c.clone())) {
                v[*i] = Some(h);
            }
        }
    }
    let mut full = BTreeMap::new();
    for (k, v) in handles {
        match v.into_iter().collect::<Option<Vec<u64>>>() {
            Some(v) => {
                full.insert(k, v);
            }
            None => {
                forget(netns);
                return Ok(Some(Done { ops: texts }));
            }
        }
    }
    save(
        netns,
        &State {
            ns: ns_inode(netns),
            genid: sock.genid()?,
            text: text.to_string(),
            handles: full,
        },
    );
    Ok(Some(Done { ops: texts }))
}

/// After a full apply of `text`: keeps the state when the text is
/// canonical and the kernel's chains hold exactly its rules.
pub fn remember(sock: &mut NfSock, netns: Option<&str>, text: &str) -> Result<()> {
    forget(netns);
    let Some(sh) = shape(text) else {
        return Ok(());
    };
    let genid = sock.genid()?;
    let mut handles = BTreeMap::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (k, v) in &sh.rules {
        counts.insert((k.0.to_string(), k.1.to_string()), v.len());
    }
    // Every chain of the tables named: its rules' handles in order.
    let tables: std::collections::BTreeSet<String> = sh
        .frame
        .iter()
        .filter_map(|l| l.strip_prefix('*').map(str::to_string))
        .collect();
    let chains: Vec<super::msg::ChainObj> = sock
        .request(&msg::get(msg::NFT_MSG_GETCHAIN, msg::NFPROTO_IPV4, true))?
        .iter()
        .map(|b| msg::parse_chain(b))
        .collect::<Result<_>>()?;
    for c in chains.iter().filter(|c| tables.contains(&c.table)) {
        let hs: Vec<u64> = sock
            .request(&msg::get_rules(&c.table, &c.name))?
            .iter()
            .map(|b| msg::parse_rule(b).map(|r| r.handle))
            .collect::<Result<_>>()?;
        let key = (c.table.clone(), c.name.clone());
        if hs.len() != counts.remove(&key).unwrap_or(0) {
            return Ok(());
        }
        if !hs.is_empty() {
            handles.insert(key, hs);
        }
    }
    if counts.values().any(|n| *n > 0) || sock.genid()? != genid {
        return Ok(());
    }
    save(
        netns,
        &State {
            ns: ns_inode(netns),
            genid,
            text: text.to_string(),
            handles,
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_only() {
        let t = "# x\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n";
        let s = shape(t).unwrap();
        assert_eq!(s.frame, vec!["*filter", ":INPUT ACCEPT [0:0]", "COMMIT"]);
        assert_eq!(s.rules[&("filter", "INPUT")], vec!["-A INPUT -j ACCEPT"]);
        for bad in [
            "*filter\n-I INPUT -j ACCEPT\nCOMMIT\n",
            "*filter\n-A INPUT -j ACCEPT\n",
            "*filter\nCOMMIT\n*filter\nCOMMIT\n",
            "*filter\n-A INPUT -m set --match-set s src\nCOMMIT\n",
            "-A INPUT -j ACCEPT\n",
        ] {
            assert_eq!(shape(bad), None, "{bad}");
        }
    }

    #[test]
    fn state_round_trips() {
        let mut handles = BTreeMap::new();
        handles.insert(("filter".to_string(), "INPUT".to_string()), vec![4, 9]);
        let st = State {
            ns: 1,
            genid: 7,
            text: "*filter\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n".into(),
            handles,
        };
        let name = format!("unit-test-{}", std::process::id());
        save(Some(&name), &st);
        match load(Some(&name)) {
            Some(back) => assert_eq!(back, st),
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
}
