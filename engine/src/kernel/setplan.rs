//! The ipset part of a plan: the sets an input names (in `ipset save` /
//! `ipset restore` form) made exactly what it says, members added and
//! deleted one by one; sets it does not name are left alone. ipset has no
//! transactions, so every change carries its undo, which apply uses when
//! the rule batch after it fails and rollback uses to restore.

use super::ipset;
use super::live::Live;
use super::msg::Msg;
use super::{Error, Result};
use crate::ipset::print::{create_line, elem_text};
use crate::ipset::set::{Entry, IpSet};
use crate::ipset::types::Kind;
use std::collections::BTreeMap;

/// One change to the kernel's sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOp {
    pub msg: Msg,
    /// What undoes it (`None`: nothing to undo).
    pub undo: Option<Msg>,
    /// One line for `diff` and `--dry-run`.
    pub text: String,
    /// A set this change creates (it has no kernel index yet).
    pub creates: Option<String>,
}

impl SetOp {
    pub fn describe(&self) -> String {
        self.text.clone()
    }
}

/// The create line without what only shapes the kernel's hash table
/// (bucket size, seed) or what the kernel does not report (forceadd).
fn header_key(set: &IpSet) -> String {
    let line = create_line(set);
    let mut words: Vec<&str> = Vec::new();
    let mut it = line.split_whitespace();
    while let Some(w) = it.next() {
        match w {
            "bucketsize" | "initval" => {
                it.next();
            }
            "forceadd" => {}
            w => words.push(w),
        }
    }
    words.join(" ")
}

/// A member's identity, and the extensions an update has to carry.
fn member_key(set: &IpSet, e: &Entry) -> (String, String) {
    let mut k = elem_text(set.kind, e);
    if e.nomatch {
        k.push_str(" nomatch");
    }
    if e.key.wildcard {
        k.push_str(" wildcard");
    }
    let ext = format!(
        "{:?} {:?} {:?} {}",
        e.comment, e.skbmark, e.skbprio, e.skbqueue
    );
    (k, ext)
}

fn members(set: &IpSet) -> BTreeMap<String, (String, &Entry)> {
    set.members()
        .into_iter()
        .map(|e| {
            let (k, ext) = member_key(set, e);
            (k, (ext, e))
        })
        .collect()
}

/// The changes that make the kernel's sets named in `want` what it holds
/// (`now`: the clock of `want`'s member timeouts).
pub fn plan(live: &Live, want: &[IpSet], now: u64) -> Result<Vec<SetOp>> {
    plan_inner(live, want, now, false)
}

/// Every set of `store` made so in the kernel, and kernel sets it lacks
/// destroyed: the changes before the rules, and the destroys (after the
/// rules, which may have named the sets).
pub fn plan_sync(
    live: &Live,
    store: &crate::ipset::Store,
    now: u64,
) -> Result<(Vec<SetOp>, Vec<SetOp>)> {
    let want: Vec<IpSet> = store.sets().into_iter().cloned().collect();
    let before = plan_inner(live, &want, now, true)?;
    let after = live
        .store
        .sets()
        .into_iter()
        .filter(|l| store.get(&l.name).is_none())
        .map(|l| SetOp {
            msg: ipset::destroy(&l.name),
            undo: None,
            text: format!("- ipset {}", l.name),
            creates: None,
        })
        .collect();
    Ok((before, after))
}

fn plan_inner(live: &Live, want: &[IpSet], now: u64, recreate: bool) -> Result<Vec<SetOp>> {
    let mut creates = Vec::new();
    let mut dels = Vec::new();
    let mut adds = Vec::new();
    for d in want {
        let list = d.kind == Kind::ListSet;
        let existing = match live.store.get(&d.name) {
            Some(l) if l.kind != d.kind || header_key(l) != header_key(d) => {
                if !recreate {
                    return Err(Error::Refused(format!(
                        "ipset {} exists with another header ({}); the input wants {}: \
                         destroy it first, nothing was changed",
                        d.name,
                        create_line(l).trim_end(),
                        create_line(d).trim_end()
                    )));
                }
                creates.push((
                    list,
                    SetOp {
                        msg: ipset::destroy(&d.name),
                        undo: None,
                        text: format!("- ipset {}", d.name),
                        creates: None,
                    },
                ));
                None
            }
            other => other,
        };
        match existing {
            None => {
                creates.push((
                    list,
                    SetOp {
                        msg: ipset::create(d)?,
                        undo: Some(ipset::destroy(&d.name)),
                        text: format!("+ ipset {}", create_line(d).trim_end()),
                        creates: Some(d.name.clone()),
                    },
                ));
                for e in d.members() {
                    adds.push((list, add_op(d, e, now, false)));
                }
            }
            Some(l) => {
                let have = members(l);
                let need = members(d);
                for (k, (ext, e)) in &have {
                    match need.get(k) {
                        Some((want_ext, _)) if want_ext == ext => {}
                        _ => dels.push((list, del_op(l, e, live.now))),
                    }
                }
                for (k, (ext, e)) in &need {
                    match have.get(k) {
                        Some((have_ext, _)) if have_ext == ext => {}
                        _ => adds.push((list, add_op(d, e, now, true))),
                    }
                }
            }
        }
    }
    // Sets first (list:sets after their members), members of list:sets
    // deleted first and added last.
    let mut out = Vec::new();
    for pass in [false, true] {
        out.extend(creates.iter().filter(|c| c.0 == pass).map(|c| c.1.clone()));
    }
    for pass in [true, false] {
        out.extend(dels.iter().filter(|c| c.0 == pass).map(|c| c.1.clone()));
    }
    for pass in [false, true] {
        out.extend(adds.iter().filter(|c| c.0 == pass).map(|c| c.1.clone()));
    }
    Ok(out)
}

fn add_op(set: &IpSet, e: &Entry, now: u64, undo: bool) -> SetOp {
    SetOp {
        msg: ipset::add(set, e, now),
        // Members of a set this plan creates go with the set.
        undo: undo.then(|| ipset::del(set, e)),
        text: format!("+ ipset add {} {}", set.name, elem_text(set.kind, e)),
        creates: None,
    }
}

fn del_op(set: &IpSet, e: &Entry, now: u64) -> SetOp {
    SetOp {
        msg: ipset::del(set, e),
        undo: Some(ipset::add(set, e, now)),
        text: format!("- ipset del {} {}", set.name, elem_text(set.kind, e)),
        creates: None,
    }
}
