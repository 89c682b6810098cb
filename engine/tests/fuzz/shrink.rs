//! Shrinking a disagreement: drop cases, packets, rules, options of rules
//! and set members while the same kind of disagreement remains, so the
//! reproducer is the smallest ruleset and packet list we can find within a
//! budget of reruns.

use super::gen::{Ruleset, Step};
use super::kernel::Kernel;
use super::run::{run, Kind, Outcome};
use std::time::{Duration, Instant};

pub struct Shrunk {
    pub ruleset: Ruleset,
    pub steps: Vec<Step>,
    pub outcome: Outcome,
    pub trials: usize,
}

struct Shrinker<'a> {
    k: &'a mut Kernel,
    tag: &'a str,
    kind: Kind,
    trials: usize,
    max_trials: usize,
    deadline: Instant,
}

impl Shrinker<'_> {
    fn exhausted(&self) -> bool {
        self.trials >= self.max_trials || Instant::now() > self.deadline
    }

    /// Whether the candidate still disagrees the same way.
    fn fails(&mut self, rs: &Ruleset, steps: &[Step]) -> Option<Outcome> {
        if self.exhausted() {
            return None;
        }
        self.trials += 1;
        let mut rs = rs.clone();
        rs.prune();
        let out = run(self.k, self.tag, &rs, steps, true);
        (out.mismatches.first().map(|m| m.kind) == Some(self.kind)).then_some(out)
    }
}

/// Candidates with one rule made simpler each: the rule gone, a part gone,
/// an option of a part gone, the target gone or reduced to its name.
fn rule_candidates(rs: &Ruleset) -> Vec<Ruleset> {
    let mut v = Vec::new();
    // Whole tables without rules (their chains registered hooks).
    for t in super::gen::TABLES {
        let has_chains = rs.chains.iter().any(|c| c.table == t);
        if has_chains && !rs.rules.iter().any(|r| r.table == t) {
            let mut c = rs.clone();
            c.chains.retain(|c| c.table != t);
            v.push(c);
        }
    }
    for i in (0..rs.rules.len()).rev() {
        if rs.rules[i].pinned {
            continue;
        }
        let mut c = rs.clone();
        c.rules.remove(i);
        v.push(c);
    }
    for (i, r) in rs.rules.iter().enumerate() {
        if r.pinned {
            continue;
        }
        for p in 0..r.parts.len() {
            let mut c = rs.clone();
            c.rules[i].parts.remove(p);
            v.push(c);
            for ch in (1..r.parts[p].chunks.len()).rev() {
                let mut c = rs.clone();
                c.rules[i].parts[p].chunks.remove(ch);
                v.push(c);
            }
        }
        if let Some(t) = &r.target {
            let mut c = rs.clone();
            c.rules[i].target = None;
            v.push(c);
            for ch in (1..t.chunks.len()).rev() {
                let mut c = rs.clone();
                if let Some(t) = c.rules[i].target.as_mut() {
                    t.chunks.remove(ch);
                }
                v.push(c);
            }
        }
    }
    for (i, ch) in rs.chains.iter().enumerate() {
        if ch.policy == Some("DROP") {
            let mut c = rs.clone();
            c.chains[i].policy = Some("ACCEPT");
            v.push(c);
        }
    }
    for (i, set) in rs.sets.iter().enumerate() {
        for m in (0..set.members.len()).rev() {
            let mut c = rs.clone();
            c.sets[i].members.remove(m);
            v.push(c);
        }
    }
    v
}

pub fn shrink(
    k: &mut Kernel,
    tag: &str,
    rs: &Ruleset,
    steps: &[Step],
    first: &Outcome,
    max_trials: usize,
    max_time: Duration,
) -> Shrunk {
    let kind = first.mismatches[0].kind;
    let mut sh = Shrinker {
        k,
        tag,
        kind,
        trials: 0,
        max_trials,
        deadline: Instant::now() + max_time,
    };
    let mut rs = rs.clone();
    // Packets after the end of the case that showed the disagreement do not matter.
    let last_case = steps[first.mismatches[0].step].case;
    let cut = steps
        .iter()
        .rposition(|s| s.case == last_case)
        .map(|i| i + 1)
        .unwrap_or(steps.len());
    let mut steps: Vec<Step> = steps[..cut].to_vec();
    let mut best: Option<Outcome> = None;
    loop {
        let mut progress = false;
        // Whole cases, from the first.
        let cases: Vec<usize> = {
            let mut c: Vec<usize> = steps.iter().map(|s| s.case).collect();
            c.dedup();
            c
        };
        for c in cases {
            if steps.iter().all(|s| s.case == c) {
                continue;
            }
            let cand: Vec<Step> = steps.iter().filter(|s| s.case != c).cloned().collect();
            if let Some(o) = sh.fails(&rs, &cand) {
                steps = cand;
                best = Some(o);
                progress = true;
            }
        }
        // Cases cut short, one packet at a time from their end: a prefix
        // of a conversation keeps its sequence numbers consistent (the
        // simulator has no window tracking; a hole would make a different
        // disagreement).
        let mut i = steps.len();
        while i > 0 && steps.len() > 1 {
            i -= 1;
            let last_of_case = steps.get(i + 1).is_none_or(|n| n.case != steps[i].case);
            if !last_of_case {
                continue;
            }
            let mut cand = steps.clone();
            cand.remove(i);
            if let Some(o) = sh.fails(&rs, &cand) {
                steps = cand;
                best = Some(o);
                progress = true;
                // The packet before it may now end its case.
                i = (i + 1).min(steps.len());
            }
        }
        // The ruleset, one simplification at a time (restarting on success).
        'rules: loop {
            for cand in rule_candidates(&rs) {
                if sh.exhausted() {
                    break 'rules;
                }
                let mut pruned = cand.clone();
                pruned.prune();
                if let Some(o) = sh.fails(&pruned, &steps) {
                    rs = pruned;
                    best = Some(o);
                    progress = true;
                    continue 'rules;
                }
            }
            break;
        }
        if !progress || sh.exhausted() {
            break;
        }
    }
    rs.prune();
    let outcome = match best {
        Some(o) => o,
        None => {
            let again = run(sh.k, tag, &rs, &steps, true);
            if again.mismatches.is_empty() {
                // It did not come back: show what was seen the first time.
                first.clone()
            } else {
                again
            }
        }
    };
    Shrunk {
        ruleset: rs,
        steps,
        outcome,
        trials: sh.trials,
    }
}
