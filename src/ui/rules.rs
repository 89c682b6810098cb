//! The rules of the selected host: tables → chains → rules with counters
//! exactly as `iptables -L -v` prints them, policies, ipsets; each rule's
//! plain-English explanation on hover or focus; the rule of the current
//! trace step highlighted. Only the rows in view are drawn, so a table of
//! 100 000 rules scrolls as lightly as one of ten.

use super::SessRef;
use crate::adapter;
use crate::views::{chain_of, row_explain, row_text, row_warnings, table_rows, warning_place, Row};
use engine::ipset::print::{list, ListOpts, Mode};
use web_sys::HtmlElement;
use yew::prelude::*;

/// Height of one row in pixels (the CSS sets the same).
pub const ROW_H: f64 = 18.0;
const OVERSCAN: usize = 10;

/// A rule a trace step is at: (host, table, chain, rule number 1-based or None for the policy).
#[derive(Clone, PartialEq, Debug)]
pub struct Hit {
    pub host: String,
    pub table: String,
    pub chain: String,
    pub rule: Option<usize>,
    pub matched: bool,
}

#[derive(Properties, PartialEq)]
pub struct RulesProps {
    pub sess: SessRef,
    pub host: usize,
    pub table: AttrValue,
    pub on_table: Callback<String>,
    pub hit: Option<Hit>,
}

const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

#[function_component(RulesView)]
pub fn rules_view(p: &RulesProps) -> Html {
    let scroll = use_state(|| 0.0f64);
    let view_h = use_state(|| 480.0f64);
    let explained = use_state(|| None::<String>);
    let list_ref = use_node_ref();

    let rows = {
        let rc = p.sess.rc.clone();
        let host = p.host;
        let table = p.table.to_string();
        use_memo((p.sess.gen, host, table.clone()), move |_| {
            let s = rc.borrow();
            s.world
                .hosts
                .get(host)
                .and_then(|h| h.ruleset.table(&table))
                .map(table_rows)
        })
    };

    let warnings = {
        let rc = p.sess.rc.clone();
        let host = p.host;
        use_memo((p.sess.gen, host), move |_| {
            adapter::lint(&rc.borrow().world, host)
        })
    };
    let no_warnings = Vec::new();
    let warns: &[adapter::Warning] = warnings.as_ref().as_ref().unwrap_or(&no_warnings);

    let s = p.sess.rc.borrow();
    let Some(host) = s.world.hosts.get(p.host) else {
        return html! {};
    };
    let Some(table) = host.ruleset.table(&p.table) else {
        return html! {};
    };
    let Some(rows) = rows.as_ref() else {
        return html! {};
    };

    // The row of the current trace step, when it is on this host and table.
    let hit_row: Option<usize> = p.hit.as_ref().and_then(|h| {
        if h.host != host.name || h.table != table.name {
            return None;
        }
        rows.rows.iter().position(|r| match (r, h.rule) {
            (Row::Rule(c, n), Some(k)) => *n + 1 == k && chain_of(table, *c).name == h.chain,
            (Row::Title(c), None) => chain_of(table, *c).name == h.chain,
            _ => false,
        })
    });
    // Bring the hit row into view.
    {
        let list_ref = list_ref.clone();
        let scroll = scroll.clone();
        use_effect_with(hit_row, move |hit| {
            if let (Some(i), Some(el)) = (*hit, list_ref.cast::<HtmlElement>()) {
                let top = i as f64 * ROW_H;
                let h = el.client_height() as f64;
                let cur = el.scroll_top() as f64;
                if top < cur || top + ROW_H > cur + h {
                    let t = (top - h / 3.0).max(0.0);
                    el.set_scroll_top(t as i32);
                    scroll.set(t);
                }
            }
        });
    }

    // A new host or table starts at the top; the viewport height is measured.
    {
        let list_ref = list_ref.clone();
        let scroll = scroll.clone();
        let view_h = view_h.clone();
        use_effect_with((p.host, p.table.clone()), move |_| {
            if let Some(el) = list_ref.cast::<HtmlElement>() {
                el.set_scroll_top(0);
                view_h.set((el.client_height() as f64).max(ROW_H));
            }
            scroll.set(0.0);
        });
    }

    let onscroll = {
        let scroll = scroll.clone();
        let view_h = view_h.clone();
        Callback::from(move |e: Event| {
            if let Some(el) = e.target_dyn_into::<HtmlElement>() {
                scroll.set(el.scroll_top() as f64);
                view_h.set(el.client_height() as f64);
            }
        })
    };

    let total = rows.rows.len();
    let first = ((*scroll / ROW_H) as usize)
        .saturating_sub(OVERSCAN)
        .min(total);
    let count = (*view_h / ROW_H) as usize + 2 * OVERSCAN;
    let last = (first + count).min(total);
    let rule_count: usize = table.chains.iter().map(|c| c.rules.len()).sum();

    let drawn = (first..last).map(|i| {
        let row = rows.rows[i];
        let text = row_text(host, table, rows, row);
        let mut explain = row_explain(table, row);
        let row_warns = row_warnings(table, row, warns);
        if let (Some(ex), false) = (&mut explain, row_warns.is_empty()) {
            for w in &row_warns {
                ex.push_str(&format!("\n⚠ {}", w.message));
            }
        }
        let mut class = match row {
            Row::Title(_) => "row title".to_string(),
            Row::Columns(_) => "row cols".to_string(),
            Row::Rule(..) => "row rule".to_string(),
            Row::Blank => "row blank".to_string(),
        };
        if !row_warns.is_empty() {
            class.push_str(" warn");
        }
        if hit_row == Some(i) {
            class.push_str(if p.hit.as_ref().is_some_and(|h| h.matched) {
                " hit matched"
            } else {
                " hit"
            });
        }
        let style = format!("top:{}px", engine::decimal::fixed(i as f64 * ROW_H, 0));
        match explain {
            Some(ex) => {
                let e1 = explained.clone();
                let x1 = ex.clone();
                let e2 = explained.clone();
                let x2 = ex.clone();
                let e3 = explained.clone();
                let x3 = ex.clone();
                let label = match row {
                    Row::Rule(c, n) => format!(
                        "{} rule {}: {}",
                        chain_of(table, c).name,
                        n + 1,
                        text.trim()
                    ),
                    _ => text.clone(),
                };
                html! {
                    <div class={class} {style} tabindex="0" title={ex.clone()}
                         aria-label={label} aria-description={ex}
                         onmouseenter={Callback::from(move |_| e1.set(Some(x1.clone())))}
                         onfocus={Callback::from(move |_| e2.set(Some(x2.clone())))}
                         onclick={Callback::from(move |_| e3.set(Some(x3.clone())))}>
                        { text }
                    </div>
                }
            }
            None => html! { <div class={class} {style} aria-hidden="true">{ text }</div> },
        }
    });

    let tabs = TABLES.iter().map(|t| {
        let on_table = p.on_table.clone();
        let name = t.to_string();
        let selected = *t == p.table.as_str();
        html! {
            <button role="tab" aria-selected={selected.to_string()} class={if selected { "tab on" } else { "tab" }}
                    onclick={Callback::from(move |_| on_table.emit(name.clone()))}>{ *t }</button>
        }
    });

    let sets = host.ipsets.sets();
    let sets_text = if sets.is_empty() {
        String::new()
    } else {
        let o = ListOpts {
            mode: Mode::Plain,
            terse: false,
            names_only: false,
            sorted: true,
            now: host.clock_ns,
        };
        let refs = |n: &str| engine::ipset::references(&host.ruleset, &host.ipsets, n);
        let text = list(&sets, &o, &refs);
        let mut lines: Vec<&str> = text.lines().take(300).collect();
        if text.lines().count() > 300 {
            lines.push("…");
        }
        lines.join("\n")
    };

    html! {
        <section class="rules" aria-label={format!("Rules of {}", host.name)}>
            <div class="rules-head">
                <h2>{ format!("Rules on {}", host.name) }</h2>
                <div role="tablist" aria-label="Table" class="tabs">{ for tabs }</div>
                <span class="muted" data-testid="rule-count">{ format!("{rule_count} {}", if rule_count == 1 { "rule" } else { "rules" }) }</span>
            </div>
            <div class="rule-list" ref={list_ref} {onscroll} data-testid="rule-list" data-rows={total.to_string()}>
                <div class="rule-canvas" style={format!("height:{}px", engine::decimal::fixed(total as f64 * ROW_H, 0))}>
                    { for drawn }
                </div>
            </div>
            <p class="explain" aria-live="polite" data-testid="explain">
                { (*explained).clone().unwrap_or_else(|| "Hover or focus a rule to read what it does.".into()) }
            </p>
            if warnings.is_none() {
                <p class="lint muted small">{ format!("Lint is off on hosts with more than {} rules.", adapter::LINT_MAX_RULES) }</p>
            } else if !warns.is_empty() {
                <details class="lint" open=true data-testid="lint">
                    <summary>{ format!("⚠ {} lint {} on {}", warns.len(), if warns.len() == 1 { "warning" } else { "warnings" }, host.name) }</summary>
                    <ul>{ for warns.iter().map(|w| {
                        let on_table = p.on_table.clone();
                        let t = w.table.clone();
                        html! {
                            <li data-lint={w.kind}>
                                <button class="linklike" onclick={Callback::from(move |_| on_table.emit(t.clone()))}>{ warning_place(w) }</button>
                                { ": " }{ w.message.clone() }
                            </li>
                        }
                    }) }</ul>
                </details>
            }
            if !sets_text.is_empty() {
                <details class="ipsets" open=true>
                    <summary>{ format!("ipsets ({})", sets.len()) }</summary>
                    <pre>{ sets_text }</pre>
                </details>
            }
        </section>
    }
}
