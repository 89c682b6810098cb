//! Rollback: a snapshot of the kernel's iptables tables and of the ipsets
//! an apply touches, taken before it, and the way back to it.
//!
//! The way back works on the kernel's own expressions, not on decoded
//! rules: every rule comes back exactly as it was (counters included, and
//! rules iptplay cannot represent too), rules still in place stay, and
//! tables the apply created are deleted. Sets the apply created are
//! destroyed once no rule names them; sets it changed get their members
//! back.

use super::expr::{CmpOp, Expr, META_L4PROTO, REG_1};
use super::ipset::{self, KernelSet};
use super::live::{self, Live, LiveChain, LiveRule};
use super::msg::{Msg, Position, COMPAT_F_INV};
use super::plan::{self, Op};
use super::rule::Encoded;
use super::sock::{BatchOutcome, NfSock};
use super::{setplan, Error, Result};
use crate::ipset::set::IpSet;
use crate::iptables::save::rule_line;
use crate::ruleset::{Verdict, TABLE_ORDER};
use crate::sim::host::Host;
use std::collections::BTreeSet;

/// The state an apply may have to go back to.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub live: Live,
    /// The sets the apply names: their saved lines if they existed.
    pub sets: Vec<(String, Option<KernelSet>)>,
}

/// Reads what an apply naming the sets `set_names` may change.
pub fn take(sock: &mut NfSock, set_names: &[String]) -> Result<Snapshot> {
    let live = live::read(sock)?;
    let sets = set_names
        .iter()
        .map(|n| {
            let ks = live.ipsets.iter().find(|s| &s.name == n).cloned();
            (n.clone(), ks)
        })
        .collect();
    Ok(Snapshot { live, sets })
}

/// What rollback did.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    pub set_ops: Vec<String>,
    pub ops: Vec<String>,
    pub destroyed: Vec<String>,
}

/// The compat attribute a kernel rule needs to be added again: its
/// `-p`, as iptables-nft reads it from the l4proto test.
fn compat_of(exprs: &[Expr]) -> (u32, u32) {
    for w in exprs.windows(2) {
        if let [Expr::Meta {
            key: META_L4PROTO,
            dreg: REG_1,
        }, Expr::Cmp {
            sreg: REG_1,
            op,
            data,
        }] = w
        {
            if let ([p], CmpOp::Eq | CmpOp::Neq) = (&data[..], op) {
                let inv = if *op == CmpOp::Neq { COMPAT_F_INV } else { 0 };
                return (*p as u32, inv);
            }
        }
    }
    (0, 0)
}

fn rule_text(target: &Live, table: &str, chain: &str, r: &LiveRule) -> String {
    match r.rule(&target.sets, table) {
        Ok(rule) => rule_line(chain, rule, false),
        Err(_) => format!("(rule handle {} of {chain}, as it was)", r.handle),
    }
}

fn policy(v: Option<u32>) -> Verdict {
    match v {
        Some(0) => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

/// Rules of chain `chain` of `table` going from `cur` to `tgt`.
fn plan_chain(
    target: &Live,
    table: &str,
    cur: Option<&LiveChain>,
    tgt: &LiveChain,
    ops: &mut Vec<Op>,
) {
    let empty = Vec::new();
    let have = cur.map_or(&empty, |c| &c.rules);
    let ids: Vec<Option<&Encoded>> = have.iter().map(|r| Some(r.identity())).collect();
    let want: Vec<Encoded> = tgt.rules.iter().map(|r| r.identity().clone()).collect();
    let pairs = plan::common(&ids, &want);
    let kept: BTreeSet<usize> = pairs.iter().map(|p| p.0).collect();
    for (i, r) in have.iter().enumerate() {
        if !kept.contains(&i) {
            ops.push(Op::DelRule {
                table: table.to_string(),
                chain: tgt.name.clone(),
                handle: r.handle,
                text: rule_text(target, table, &tgt.name, r).replacen("-A ", "-D ", 1),
            });
        }
    }
    let kept_want: std::collections::BTreeMap<usize, usize> =
        pairs.iter().map(|p| (p.1, p.0)).collect();
    for (j, r) in tgt.rules.iter().enumerate() {
        if kept_want.contains_key(&j) {
            continue;
        }
        let pos = match kept_want.range(j..).next() {
            Some((_, li)) => Position::Before(have[*li].handle),
            None => Position::Append,
        };
        ops.push(Op::NewRule {
            table: table.to_string(),
            chain: tgt.name.clone(),
            enc: Encoded {
                exprs: r.exprs.clone(),
                compat: compat_of(&r.exprs),
            },
            pos,
            text: rule_text(target, table, &tgt.name, r),
        });
    }
}

/// The batch that takes the iptables tables of `cur` back to `target`.
pub fn plan_to(cur: &Live, target: &Live) -> Vec<Op> {
    let mut ops = Vec::new();
    for name in TABLE_ORDER {
        match (cur.table(name), target.table(name)) {
            (None, None) => {}
            (Some(_), None) => ops.push(Op::DelTable {
                table: name.to_string(),
            }),
            (c, Some(t)) => {
                if c.is_none() {
                    ops.push(Op::NewTable {
                        table: name.to_string(),
                    });
                }
                if let Some(c) = c {
                    for ch in &c.chains {
                        if t.chain(&ch.name).is_some() {
                            continue;
                        }
                        for r in &ch.rules {
                            ops.push(Op::DelRule {
                                table: name.to_string(),
                                chain: ch.name.clone(),
                                handle: r.handle,
                                text: rule_text(cur, name, &ch.name, r).replacen("-A ", "-D ", 1),
                            });
                        }
                        ops.push(Op::DelChain {
                            table: name.to_string(),
                            chain: ch.name.clone(),
                        });
                    }
                }
                for tc in &t.chains {
                    let cc = c.and_then(|c| c.chain(&tc.name));
                    match (&tc.hook, cc) {
                        (Some(h), None) => ops.push(Op::NewBaseChain {
                            table: name.to_string(),
                            chain: tc.name.clone(),
                            hook: h.clone(),
                            policy: policy(tc.policy),
                            counters: tc.counters.is_some(),
                        }),
                        (None, None) => ops.push(Op::NewUserChain {
                            table: name.to_string(),
                            chain: tc.name.clone(),
                        }),
                        (Some(_), Some(cc)) if policy(cc.policy) != policy(tc.policy) => {
                            ops.push(Op::SetPolicy {
                                table: name.to_string(),
                                chain: tc.name.clone(),
                                policy: policy(tc.policy),
                            })
                        }
                        _ => {}
                    }
                    plan_chain(target, name, cc, tc, &mut ops);
                }
            }
        }
    }
    ops.sort_by_key(|o| o.rank());
    ops
}

/// The sets of the snapshot that existed, as the engine models them.
fn old_sets(snap: &Snapshot) -> Result<Vec<IpSet>> {
    let existed: Vec<KernelSet> = snap.sets.iter().filter_map(|s| s.1.clone()).collect();
    let mut host = Host::new("kernel");
    host.clock_ns = snap.live.now;
    host.ipsets = snap.live.store.clone();
    for s in &existed {
        host.ipsets.remove(&s.name);
    }
    ipset::restore_into(&mut host, &existed)?;
    Ok(existed
        .iter()
        .filter_map(|s| host.ipsets.get(&s.name).cloned())
        .collect())
}

/// Goes back to `snap`: members of changed sets first, then the rules in
/// one batch (re-planned if someone writes meanwhile), then the sets the
/// apply created are destroyed.
pub fn restore(sock: &mut NfSock, snap: &Snapshot) -> Result<Restored> {
    let mut out = Restored::default();
    let old = old_sets(snap)?;
    let cur = live::read(sock)?;
    let set_ops = setplan::plan(&cur, &old, snap.live.now)?;
    let msgs: Vec<(Msg, String)> = set_ops
        .iter()
        .map(|o| (o.msg.clone(), o.text.clone()))
        .collect();
    ipset::send_all(sock, &msgs)?;
    out.set_ops = set_ops.iter().map(|o| o.describe()).collect();
    let mut done = false;
    for _ in 0..plan::MAX_ATTEMPTS {
        let cur = live::read(sock)?;
        let ops = plan_to(&cur, &snap.live);
        if ops.is_empty() {
            done = true;
            break;
        }
        let msgs: Vec<Msg> = ops.iter().map(Op::msg).collect();
        match sock.batch(cur.genid, &msgs, true)? {
            BatchOutcome::Done => {
                out.ops = ops.iter().map(Op::describe).collect();
                done = true;
                break;
            }
            BatchOutcome::Restart => continue,
            BatchOutcome::Failed(answers) => return Err(plan::refusal(&ops, &answers)),
        }
    }
    if !done {
        return Err(Error::Busy(plan::MAX_ATTEMPTS));
    }
    for (name, before) in &snap.sets {
        if before.is_none() && ipset::index_of(sock, name)?.is_some() {
            ipset::destroy_when_free(sock, name)?;
            out.destroyed.push(name.clone());
        }
    }
    Ok(out)
}
