//! A host's terminal: output as the commands print it, the prompt, history
//! (Up/Down, Ctrl-R), Tab completion, Ctrl-L, Ctrl-C, multi-line paste and
//! here-documents (continuation prompt `> `).

use super::SessRef;
use crate::adapter::PROGRAMS;
use crate::complete::complete;
use crate::session::{prompt, LineKind};
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement, KeyboardEvent};
use yew::prelude::*;

/// Lines drawn (the newest); older ones stay in the session.
const DRAWN: usize = 2000;

#[derive(Properties, PartialEq)]
pub struct TermProps {
    pub sess: SessRef,
    pub host: usize,
    pub on_submit: Callback<(usize, String)>,
    /// Text with newlines: every complete line runs; the rest stays typed.
    pub on_paste: Callback<(usize, String)>,
    pub on_interrupt: Callback<(usize, String)>,
    pub on_clear: Callback<usize>,
    /// Text to put on the command line (a step's command), with a generation.
    #[prop_or_default]
    pub typed: (u64, AttrValue),
}

/// Ctrl-R state: the query and how many older matches to skip.
#[derive(Clone, PartialEq, Default)]
struct Search {
    query: String,
    skip: usize,
}

fn find_match(history: &[String], s: &Search) -> Option<String> {
    if s.query.is_empty() {
        return None;
    }
    history
        .iter()
        .rev()
        .filter(|h| h.contains(&s.query))
        .nth(s.skip)
        .cloned()
}

#[function_component(Terminal)]
pub fn terminal(p: &TermProps) -> Html {
    let input = use_state(String::new);
    let search = use_state(|| None::<Search>);
    let listing = use_state(Vec::<String>::new);
    let hist_pos = use_mut_ref(|| None::<usize>);
    let draft = use_mut_ref(String::new);
    let tab_leaves = use_mut_ref(|| false);
    let input_ref = use_node_ref();
    let screen_ref = use_node_ref();

    let sess = p.sess.rc.borrow();
    let host = p.host.min(sess.world.hosts.len().saturating_sub(1));
    let Some(term) = sess.terms.get(host) else {
        return html! {};
    };
    let name = sess.world.hosts[host].name.clone();
    let history = term.history.clone();
    let continuing = !term.pending.is_empty();
    let term_gen = term.gen;

    // Keep the newest output in view.
    {
        let screen_ref = screen_ref.clone();
        use_effect_with((term_gen, host, listing.len()), move |_| {
            if let Some(el) = screen_ref.cast::<HtmlElement>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }
    // A step's command chip: typed, not run; the cursor waits after it.
    {
        let input = input.clone();
        let input_ref = input_ref.clone();
        let typed = p.typed.clone();
        use_effect_with(typed.0, move |g| {
            if *g > 0 {
                input.set(typed.1.to_string());
                if let Some(el) = input_ref.cast::<HtmlInputElement>() {
                    let _ = el.focus();
                }
            }
        });
    }
    // A new host: forget the typed line's history walk.
    {
        let hist_pos = hist_pos.clone();
        let search = search.clone();
        let listing = listing.clone();
        use_effect_with(host, move |_| {
            *hist_pos.borrow_mut() = None;
            search.set(None);
            listing.set(Vec::new());
        });
    }

    let onkeydown = {
        let input = input.clone();
        let search = search.clone();
        let listing = listing.clone();
        let hist_pos = hist_pos.clone();
        let draft = draft.clone();
        let tab_leaves = tab_leaves.clone();
        let sess_rc = p.sess.rc.clone();
        let history = history.clone();
        let on_submit = p.on_submit.clone();
        let on_interrupt = p.on_interrupt.clone();
        let on_clear = p.on_clear.clone();
        Callback::from(move |e: KeyboardEvent| {
            let key = e.key();
            let ctrl = e.ctrl_key() || e.meta_key();
            if key != "Tab" {
                *tab_leaves.borrow_mut() = false;
            }
            // Ctrl-R: search the history.
            if ctrl && (key == "r" || key == "R") {
                e.prevent_default();
                let next = match &*search {
                    Some(s) => Search {
                        query: s.query.clone(),
                        skip: s.skip + 1,
                    },
                    None => Search {
                        query: (*input).clone(),
                        skip: 0,
                    },
                };
                if next.skip > 0 && find_match(&history, &next).is_none() {
                    return;
                }
                search.set(Some(next));
                return;
            }
            if let Some(s) = &*search {
                match key.as_str() {
                    "Enter" => {
                        e.prevent_default();
                        let line = find_match(&history, s).unwrap_or_default();
                        search.set(None);
                        input.set(String::new());
                        on_submit.emit((host, line));
                    }
                    "Escape" | "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" | "Tab" => {
                        e.prevent_default();
                        input.set(find_match(&history, s).unwrap_or_default());
                        search.set(None);
                    }
                    "c" | "g" if ctrl => {
                        e.prevent_default();
                        search.set(None);
                    }
                    _ => {}
                }
                return;
            }
            match key.as_str() {
                "Enter" => {
                    e.prevent_default();
                    let line = (*input).clone();
                    input.set(String::new());
                    listing.set(Vec::new());
                    *hist_pos.borrow_mut() = None;
                    on_submit.emit((host, line));
                }
                "ArrowUp" | "ArrowDown" => {
                    e.prevent_default();
                    if history.is_empty() {
                        return;
                    }
                    let mut pos = hist_pos.borrow_mut();
                    let next = match (*pos, key.as_str()) {
                        (None, "ArrowUp") => {
                            *draft.borrow_mut() = (*input).clone();
                            Some(history.len() - 1)
                        }
                        (None, _) => None,
                        (Some(0), "ArrowUp") => Some(0),
                        (Some(i), "ArrowUp") => Some(i - 1),
                        (Some(i), _) if i + 1 < history.len() => Some(i + 1),
                        (Some(_), _) => None,
                    };
                    *pos = next;
                    match next {
                        Some(i) => input.set(history[i].clone()),
                        None => input.set(draft.borrow().clone()),
                    }
                }
                "Tab" if !e.shift_key() => {
                    // Tab on an empty line (or twice after Escape) moves the focus on.
                    if input.is_empty() || *tab_leaves.borrow() {
                        return;
                    }
                    e.prevent_default();
                    let line = (*input).clone();
                    let s = sess_rc.borrow();
                    let Some(h) = s.world.hosts.get(host) else {
                        return;
                    };
                    let c = complete(h, PROGRAMS, &line);
                    match c.options.len() {
                        0 => listing.set(Vec::new()),
                        1 => {
                            let o = &c.options[0];
                            let sep = if o.ends_with(':') { "" } else { " " };
                            input.set(format!("{}{o}{sep}", &line[..c.start]));
                            listing.set(Vec::new());
                        }
                        _ => {
                            let common = c.common_prefix();
                            if common.len() > line.len() - c.start {
                                input.set(format!("{}{common}", &line[..c.start]));
                            }
                            listing.set(c.options.clone());
                        }
                    }
                }
                "Escape" => {
                    listing.set(Vec::new());
                    *tab_leaves.borrow_mut() = true;
                }
                "l" | "L" if ctrl => {
                    e.prevent_default();
                    listing.set(Vec::new());
                    on_clear.emit(host);
                }
                "c" | "C" if ctrl => {
                    // Copy when text is selected; otherwise interrupt like a shell.
                    let selected = gloo::utils::window()
                        .get_selection()
                        .ok()
                        .flatten()
                        .and_then(|s| s.to_string().as_string())
                        .is_some_and(|s| !s.is_empty());
                    let input_sel = e
                        .target()
                        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                        .and_then(|i| Some(i.selection_start().ok()?? != i.selection_end().ok()??))
                        .unwrap_or(false);
                    if selected || input_sel {
                        return;
                    }
                    e.prevent_default();
                    let line = (*input).clone();
                    input.set(String::new());
                    listing.set(Vec::new());
                    *hist_pos.borrow_mut() = None;
                    on_interrupt.emit((host, line));
                }
                _ => {}
            }
        })
    };

    let oninput = {
        let input = input.clone();
        let search = search.clone();
        Callback::from(move |e: InputEvent| {
            let Some(el) = e.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            let v = el.value();
            if search.is_some() {
                search.set(Some(Search { query: v, skip: 0 }));
            } else {
                input.set(v);
            }
        })
    };

    let onpaste = {
        let input = input.clone();
        let on_paste = p.on_paste.clone();
        Callback::from(move |e: Event| {
            let Some(ce) = e.dyn_ref::<web_sys::ClipboardEvent>() else {
                return;
            };
            let Some(text) = ce
                .clipboard_data()
                .and_then(|d| d.get_data("text/plain").ok())
            else {
                return;
            };
            if !text.contains('\n') {
                return;
            }
            e.prevent_default();
            let all = format!("{}{}", *input, text.replace("\r\n", "\n"));
            let (done, rest) = match all.rfind('\n') {
                Some(i) => (all[..i].to_string(), all[i + 1..].to_string()),
                None => (String::new(), all),
            };
            input.set(rest);
            on_paste.emit((host, done));
        })
    };

    let focus_input = {
        let input_ref = input_ref.clone();
        Callback::from(move |_: MouseEvent| {
            let has_selection = gloo::utils::window()
                .get_selection()
                .ok()
                .flatten()
                .and_then(|s| s.to_string().as_string())
                .is_some_and(|s| !s.is_empty());
            if !has_selection {
                if let Some(el) = input_ref.cast::<HtmlInputElement>() {
                    let _ = el.focus();
                }
            }
        })
    };

    // A typed rule command explains itself on hover (computed then, once).
    let onmouseover = {
        let sess_rc = p.sess.rc.clone();
        let prompt_text = prompt(&name);
        Callback::from(move |e: MouseEvent| {
            let Some(el) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            else {
                return;
            };
            if !el
                .get_attribute("class")
                .is_some_and(|c| c.contains("rule-cmd"))
            {
                if el.has_attribute("data-explained") {
                    let _ = el.remove_attribute("title");
                    let _ = el.remove_attribute("data-explained");
                }
                return;
            }
            let text = el.text_content().unwrap_or_default();
            // Drawn lines are reused for other lines: the title says which it explains.
            if el.get_attribute("data-explained").as_deref() == Some(text.as_str()) {
                return;
            }
            let line = text.strip_prefix(&prompt_text).unwrap_or(&text);
            let Ok(mut s) = sess_rc.try_borrow_mut() else {
                return;
            };
            let ex =
                crate::adapter::explain_command(&mut s.world, host, line).unwrap_or_else(|| {
                    "No explanation: iptables would not accept this rule now.".into()
                });
            let _ = el.set_attribute("title", &ex);
            let _ = el.set_attribute("data-explained", &text);
        })
    };
    let lines = &term.lines[term.lines.len().saturating_sub(DRAWN)..];
    let prompt_text = if let Some(s) = &*search {
        let m = find_match(&history, s).unwrap_or_default();
        format!("(reverse-i-search)`{}': {m}   ", s.query)
    } else if continuing {
        "> ".to_string()
    } else {
        prompt(&name)
    };
    let value = match &*search {
        Some(s) => s.query.clone(),
        None => (*input).clone(),
    };
    let input_id = format!("term-input-{host}");
    html! {
        <section class="terminal" aria-label={format!("Terminal of {name}")} onclick={focus_input}>
            <div class="screen" ref={screen_ref} role="log" aria-live="polite"
                 aria-label={format!("Output of {name}")} data-testid="screen" {onmouseover}>
                { for lines.iter().map(|l| {
                    let class = match l.kind {
                        LineKind::Input if crate::adapter::is_rule_command(&l.text[l.text.find("# ").map_or(0, |i| i + 2)..]) => "ln in rule-cmd",
                        LineKind::Input => "ln in",
                        LineKind::Stdout => "ln out",
                        LineKind::Stderr => "ln err",
                        LineKind::Info => "ln info",
                    };
                    html! { <div class={class}>{ if l.text.is_empty() { " ".to_string() } else { l.text.clone() } }</div> }
                }) }
                if !listing.is_empty() {
                    <div class="ln completions" data-testid="completions">{ listing.join("  ") }</div>
                }
                <div class="prompt-line">
                    <label class="prompt" for={input_id.clone()}>{ prompt_text }</label>
                    <input id={input_id} ref={input_ref} class="cmd" type="text" value={value}
                        {onkeydown} {oninput} {onpaste}
                        autocomplete="off" autocapitalize="off" spellcheck="false"
                        aria-label={format!("Command line of {name}")}
                        aria-describedby="term-help" data-testid="cmd" />
                </div>
            </div>
            <p id="term-help" class="hint">
                {"Tab completes · ↑/↓ history · Ctrl-R search · Ctrl-L clear · Ctrl-C cancel · Esc then Tab leaves the terminal"}
            </p>
        </section>
    }
}
