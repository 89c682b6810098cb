//! The trace stepper: the packets of the last action, and each packet's
//! path through the hooks and tables, one rule at a time, with the failing
//! condition, the verdict, the headers before and after rewrites and the
//! events the packet caused.

use super::SessRef;
use crate::views::{
    event_text, headers_before, headers_text, step_text, table_at_hook, TABLES_BY_PRIORITY,
};
use engine::ruleset::Hook;
use yew::prelude::*;

/// The rule a step is at, as `iptables -S` prints it.
fn rule_text(world: &crate::adapter::World, st: &engine::sim::trace::Step) -> Option<String> {
    let n = st.rule?;
    let host = world.hosts.iter().find(|h| h.name == st.host)?;
    let chain = host.ruleset.table(&st.table)?.chain(&st.chain)?;
    let rule = chain.rules.get(n.checked_sub(1)?)?;
    Some(
        engine::iptables::save::rule_line(&st.chain, rule, false)
            .trim_end()
            .to_string(),
    )
}

#[derive(Properties, PartialEq)]
pub struct TraceProps {
    pub sess: SessRef,
    /// (packet, step).
    pub sel: (usize, usize),
    pub on_go: Callback<(usize, usize)>,
}

#[function_component(TraceView)]
pub fn trace_view(p: &TraceProps) -> Html {
    let s = p.sess.rc.borrow();
    let reports = &s.reports;
    if reports.is_empty() {
        return html! {
            <section class="trace" aria-label="Packet trace">
                <h2>{"Trace"}</h2>
                <p class="muted">{"Send a packet with the packet builder (or run a tool that sends packets) to follow its path rule by rule."}</p>
            </section>
        };
    }
    let (pi, si) = (p.sel.0.min(reports.len() - 1), p.sel.1);
    let r = &reports[pi];
    let steps = &r.trace.steps;
    let si = si.min(steps.len().saturating_sub(1));
    let step = steps.get(si);

    // A long scan leaves thousands of entries: list those around the current one.
    let window = pi.saturating_sub(100)..(pi + 100).min(reports.len());
    let hidden_before = window.start;
    let hidden_after = reports.len() - window.end;
    let packets = reports[window.clone()].iter().enumerate().map(|(k, rep)| {
        let i = window.start + k;
        let on_go = p.on_go.clone();
        let label = format!(
            "{}: {} → {}",
            rep.host,
            rep.trace.headers.as_ref().map(headers_text).unwrap_or_default(),
            rep.outcome
        );
        let cur = i == pi;
        html! {
            <li>
                <button class={if cur { "pkt on" } else { "pkt" }} aria-current={if cur { "true" } else { "false" }}
                        onclick={Callback::from(move |_| on_go.emit((i, 0)))}>
                    { format!("{}. {label}", i + 1) }
                </button>
            </li>
        }
    });

    let prev = {
        let on_go = p.on_go.clone();
        let target = if si > 0 {
            Some((pi, si - 1))
        } else if pi > 0 {
            Some((pi - 1, reports[pi - 1].trace.steps.len().saturating_sub(1)))
        } else {
            None
        };
        (
            target,
            Callback::from(move |_| {
                if let Some(t) = target {
                    on_go.emit(t)
                }
            }),
        )
    };
    let next = {
        let on_go = p.on_go.clone();
        let target = if si + 1 < steps.len() {
            Some((pi, si + 1))
        } else if pi + 1 < reports.len() {
            Some((pi + 1, 0))
        } else {
            None
        };
        (
            target,
            Callback::from(move |_| {
                if let Some(t) = target {
                    on_go.emit(t)
                }
            }),
        )
    };

    // Hooks × tables: where this packet went, and where it is now.
    let visited = |hook: &str, table: &str| {
        steps.iter().any(|st| {
            st.hook == hook
                && st.table == table
                && st.host == step.map(|x| x.host.as_str()).unwrap_or("")
        })
    };
    let grid_rows = TABLES_BY_PRIORITY.iter().map(|t| {
        let cells = Hook::ALL.iter().map(|h| {
            let exists = table_at_hook(t, *h);
            let now = step.is_some_and(|st| st.hook == h.name() && st.table == *t);
            let class = if !exists {
                "cell none"
            } else if now {
                "cell now"
            } else if visited(h.name(), t) {
                "cell seen"
            } else {
                "cell"
            };
            let label = if now {
                "current step"
            } else if !exists {
                "no chain"
            } else if visited(h.name(), t) {
                "passed"
            } else {
                ""
            };
            html! { <td class={class} aria-label={label}>{ if exists { if now { "●" } else if visited(h.name(), t) { "○" } else { "·" } } else { "" } }</td> }
        });
        html! { <tr><th scope="row">{ *t }</th>{ for cells }</tr> }
    });

    let details = match step {
        None => html! { <p>{ format!("No rule met this packet: {}", r.outcome) }</p> },
        Some(st) => {
            let before = headers_before(r.trace.headers.as_ref(), steps, si);
            html! {
                <dl class="step" data-testid="step">
                    <dt>{"Where"}</dt><dd data-testid="step-where">{ step_text(st) }</dd>
                    if let Some(rule) = rule_text(&s.world, st) {
                        <dt>{"Rule"}</dt><dd><code>{ rule }</code></dd>
                    }
                    if let Some(f) = &st.failed {
                        <dt>{"Failed"}</dt><dd class="failed" data-testid="step-failed">{ f.clone() }</dd>
                    }
                    if let Some(v) = &st.verdict {
                        <dt>{"Verdict"}</dt><dd data-testid="step-verdict">{ v.clone() }</dd>
                    }
                    <dt>{"Headers"}</dt><dd><code>{ before.as_ref().map(headers_text).unwrap_or_default() }</code></dd>
                    if let Some(after) = &st.rewritten {
                        <dt>{"Rewritten"}</dt><dd><code data-testid="step-rewritten">{ headers_text(after) }</code></dd>
                    }
                </dl>
            }
        }
    };

    // Left and right arrows step while the focus is in the trace.
    let onkeydown = {
        let on_go = p.on_go.clone();
        let (back, fwd) = (prev.0, next.0);
        Callback::from(move |e: KeyboardEvent| {
            let target = match e.key().as_str() {
                "ArrowLeft" => back,
                "ArrowRight" => fwd,
                _ => return,
            };
            e.prevent_default();
            if let Some(t) = target {
                on_go.emit(t);
            }
        })
    };
    html! {
        <section class="trace" aria-label="Packet trace (left and right arrows step)" {onkeydown}>
            <h2>{ format!("Trace: {}", s.reports_label) }</h2>
            <p class="muted small">{"Each entry is one packet on one host: follow it from host to host."}</p>
            <ol class="packets" aria-label="Packets, one entry per host crossed" start={(hidden_before + 1).to_string()}>
                if hidden_before > 0 {
                    <li class="muted">{ format!("… {hidden_before} earlier") }</li>
                }
                { for packets }
                if hidden_after > 0 {
                    <li class="muted">{ format!("… {hidden_after} more") }</li>
                }
            </ol>
            <div class="stepper">
                <button onclick={prev.1} disabled={prev.0.is_none()} aria-label="Previous step" data-testid="step-prev">{"◀ Back"}</button>
                <span aria-live="polite" data-testid="step-pos">{ format!("hop {} of {}, step {} of {}", pi + 1, reports.len(), if steps.is_empty() { 0 } else { si + 1 }, steps.len()) }</span>
                <button onclick={next.1} disabled={next.0.is_none()} aria-label="Next step" data-testid="step-next">{"Forward ▶"}</button>
            </div>
            <table class="flow" aria-label="Hooks and tables: the current step is marked">
                <thead><tr><th></th>{ for Hook::ALL.iter().map(|h| html! { <th scope="col">{ h.name() }</th> }) }</tr></thead>
                <tbody>{ for grid_rows }</tbody>
            </table>
            { details }
            <p class="outcome" data-testid="outcome">{ format!("Outcome: {}", r.outcome) }</p>
            if !r.trace.events.is_empty() {
                <ul class="events" aria-label="Events">
                    { for r.trace.events.iter().map(|e| html! { <li>{ event_text(e) }</li> }) }
                </ul>
            }
        </section>
    }
}
