//! Teaching panels: the lab guide (introduction and numbered steps whose
//! commands type themselves into the step's host terminal), the live checks
//! with their summary, and the teacher's lab editor (the lab file's JSON,
//! checked as it is typed; Apply, Share; a step from the commands typed on a
//! host; a check from a small form).

use super::SessRef;
use crate::adapter;
use crate::teach::{
    append_item, check_ids, check_json, commands_since, paragraphs, step_json, summary, CheckForm,
    NewStep, Span,
};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

fn spans_html(text: &str) -> Html {
    let paras = paragraphs(text);
    html! {
        { for paras.into_iter().map(|p| html! {
            <p>{ for p.into_iter().map(|s| match s {
                Span::Text(t) => html! { { t } },
                Span::Code(c) => html! { <code>{ c }</code> },
            }) }</p>
        }) }
    }
}

#[derive(Properties, PartialEq)]
pub struct GuideProps {
    pub sess: SessRef,
    /// (host name, command): type it into that host's terminal.
    pub on_type: Callback<(String, String)>,
}

/// The lab's introduction and steps (nothing when the lab has neither).
#[function_component(LabGuide)]
pub fn lab_guide(p: &GuideProps) -> Html {
    let s = p.sess.rc.borrow();
    let Some(lab) = &s.lab else {
        return html! {};
    };
    if lab.intro.trim().is_empty() && lab.steps.is_empty() {
        return html! {};
    }
    let steps = lab.steps.iter().enumerate().map(|(i, st)| {
        let chips = st.commands.iter().map(|c| {
            let on_type = p.on_type.clone();
            let host = st.host.clone();
            let cmd = c.clone();
            let label = if c.contains('\n') {
                format!("Run it on {}", st.host)
            } else {
                format!("Type it into {}'s terminal", st.host)
            };
            html! {
                <li><button class="chip" data-testid="chip" title={label}
                        onclick={Callback::from(move |_| on_type.emit((host.clone(), cmd.clone())))}>
                    <code>{ c.clone() }</code>
                </button></li>
            }
        });
        html! {
            <li class="step-item" data-step={(i + 1).to_string()}>
                <details open={i == 0}>
                    <summary><span class="step-no">{ format!("{}.", i + 1) }</span>{ st.title.clone() }</summary>
                    { spans_html(&st.text) }
                    if !st.commands.is_empty() {
                        <p class="small muted">{ format!("On {}:", st.host) }</p>
                        <ul class="chips">{ for chips }</ul>
                    }
                    if !st.look.trim().is_empty() {
                        <div class="look"><strong>{"What to look at: "}</strong>{ spans_html(&st.look) }</div>
                    }
                </details>
            </li>
        }
    });
    html! {
        <section class="guide" aria-label="Lab guide" data-testid="guide">
            <details open=true>
                <summary><h2>{ if lab.steps.is_empty() { "Introduction".to_string() } else { format!("Lab guide ({} steps)", lab.steps.len()) } }</h2></summary>
                <div class="intro">{ spans_html(&lab.intro) }</div>
                <ol class="steps">{ for steps }</ol>
            </details>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct ChecksProps {
    pub sess: SessRef,
}

/// Every check with its live state and the summary.
#[function_component(ChecksPanel)]
pub fn checks_panel(p: &ChecksProps) -> Html {
    let s = p.sess.rc.borrow();
    let Some(sum) = summary(&s.checks) else {
        return html! {};
    };
    let all = crate::teach::all_pass(&s.checks);
    let items = s.checks.iter().map(|c| {
        html! {
            <li class={if c.pass { "check pass" } else { "check fail" }} data-check={c.id.clone()}
                data-pass={c.pass.to_string()} title={c.detail.clone()}>
                <span class="mark" aria-hidden="true">{ if c.pass { "✓" } else { "✗" } }</span>
                <div>
                    <div class="check-title">{ c.title.clone() }<span class="sr-only">{ if c.pass { " (passes)" } else { " (fails)" } }</span></div>
                    if !c.pass && !c.detail.is_empty() {
                        <div class="check-detail">{ c.detail.clone() }</div>
                    }
                    if !c.pass && !c.hint.is_empty() {
                        <div class="check-hint">{ "Hint: " }{ spans_html(&c.hint) }</div>
                    }
                </div>
            </li>
        }
    });
    html! {
        <section class={if all { "checks all" } else { "checks" }} aria-label="Checks" data-testid="checks">
            <div class="checks-head">
                <h2>{"Checks"}</h2>
                <span class="checks-summary" role="status" aria-live="polite" data-testid="checks-summary">{ sum }</span>
            </div>
            if all {
                <p class="all-pass" data-testid="all-pass">{"✓ Every check passes: this lab is solved."}</p>
            }
            <ul class="check-list">{ for items }</ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct EditorProps {
    pub sess: SessRef,
    /// Bumped whenever a new lab starts (the editor then shows its text).
    pub started: u64,
    /// Start the lab from this text.
    pub on_apply: Callback<String>,
    /// A link to this lab, fresh.
    pub on_share: Callback<String>,
    pub on_close: Callback<()>,
}

#[derive(Clone, PartialEq)]
struct CheckFields {
    kind: String,
    title: String,
    hint: String,
    host: String,
    to: String,
    proto: String,
    port: String,
    expect: String,
    table: String,
    chain: String,
    policy: String,
    command: String,
    contains: String,
    lacks: String,
}

impl Default for CheckFields {
    fn default() -> Self {
        CheckFields {
            kind: "reach".into(),
            title: String::new(),
            hint: String::new(),
            host: String::new(),
            to: String::new(),
            proto: "tcp".into(),
            port: "22".into(),
            expect: "dropped".into(),
            table: "filter".into(),
            chain: "INPUT".into(),
            policy: "DROP".into(),
            command: String::new(),
            contains: String::new(),
            lacks: String::new(),
        }
    }
}

impl CheckFields {
    fn form(&self, default_host: &str) -> CheckForm {
        let host = if self.host.is_empty() {
            default_host.to_string()
        } else {
            self.host.clone()
        };
        match self.kind.as_str() {
            "policy" => CheckForm::Policy {
                host,
                table: self.table.clone(),
                chain: self.chain.clone(),
                is: self.policy.clone(),
            },
            "output" => CheckForm::Output {
                host,
                command: self.command.clone(),
                contains: self.contains.clone(),
                lacks: self.lacks.clone(),
            },
            _ => CheckForm::Reach {
                from: host,
                to: self.to.clone(),
                proto: self.proto.clone(),
                port: self.port.clone(),
                expect: self.expect.clone(),
            },
        }
    }
}

fn input_value(e: InputEvent) -> String {
    e.target_dyn_into::<HtmlInputElement>()
        .map(|i| i.value())
        .or_else(|| {
            e.target_dyn_into::<HtmlTextAreaElement>()
                .map(|t| t.value())
        })
        .unwrap_or_default()
}

fn select_value(e: Event) -> String {
    e.target_dyn_into::<HtmlSelectElement>()
        .map(|s| s.value())
        .unwrap_or_default()
}

#[derive(Properties, PartialEq)]
pub struct ChoiceProps {
    /// (value, label) of each option.
    pub options: Vec<(String, String)>,
    pub value: String,
    pub onchange: Callback<String>,
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

/// A select whose shown choice always follows `value` (a form reset or a
/// default that changes moves it too).
#[function_component(Choice)]
pub fn choice(p: &ChoiceProps) -> Html {
    let node = use_node_ref();
    {
        let node = node.clone();
        let value = p.value.clone();
        use_effect(move || {
            if let Some(sel) = node.cast::<HtmlSelectElement>() {
                if sel.value() != value {
                    sel.set_value(&value);
                }
            }
        });
    }
    let cb = p.onchange.clone();
    html! {
        <select ref={node} data-testid={p.testid.clone()} onchange={Callback::from(move |e: Event| cb.emit(select_value(e)))}>
            { for p.options.iter().map(|(v, l)| html! { <option value={v.clone()}>{ l.clone() }</option> }) }
        </select>
    }
}

fn opts(list: &[&str]) -> Vec<(String, String)> {
    list.iter()
        .map(|v| (v.to_string(), v.to_string()))
        .collect()
}

/// The teacher's lab editor.
#[function_component(LabEditor)]
pub fn lab_editor(p: &EditorProps) -> Html {
    let text = use_state(|| p.sess.rc.borrow().lab_text.clone());
    let mark = use_state(|| 0usize);
    let step = use_state(NewStep::default);
    let step_host = use_state(String::new);
    let fields = use_state(CheckFields::default);
    let form_msg = use_state(|| None::<(bool, String)>);

    // A lab started: commands count from its start.
    {
        let mark = mark.clone();
        use_effect_with(p.started, move |_| mark.set(0));
    }
    // Another lab's text: the editor shows it (a reset of the same lab keeps the draft).
    {
        let text = text.clone();
        let lab_text = p.sess.rc.borrow().lab_text.clone();
        use_effect_with(lab_text, move |t| text.set(t.clone()));
    }
    let validation = {
        let t = (*text).clone();
        use_memo(t, |t| adapter::validate_lab(t))
    };

    let s = p.sess.rc.borrow();
    let hosts = s.host_names();
    let open_host = hosts.get(s.open).cloned().unwrap_or_default();
    let shost = if step_host.is_empty() || !hosts.contains(&step_host) {
        open_host.clone()
    } else {
        (*step_host).clone()
    };
    let from = if *mark > s.actions.len() { 0 } else { *mark };
    let cmds = commands_since(&s.actions, &shost, from);
    let actions_len = s.actions.len();
    drop(s);

    let set_text = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| text.set(input_value(e)))
    };

    let add_step = {
        let text = text.clone();
        let step = step.clone();
        let mark = mark.clone();
        let form_msg = form_msg.clone();
        let cmds = cmds.clone();
        let shost = shost.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut st = (*step).clone();
            st.host = shost.clone();
            st.commands = cmds.clone();
            if st.title.trim().is_empty() {
                st.title = format!("On {shost}");
            }
            let r = step_json(&st).and_then(|j| append_item(&text, "steps", &j));
            match r {
                Ok(t) => {
                    text.set(t);
                    step.set(NewStep::default());
                    mark.set(actions_len);
                    form_msg.set(Some((
                        true,
                        format!(
                            "Step \"{}\" added with {} command(s). Apply to use it.",
                            st.title,
                            st.commands.len()
                        ),
                    )));
                }
                Err(e) => form_msg.set(Some((false, e))),
            }
        })
    };

    let add_check = {
        let text = text.clone();
        let fields = fields.clone();
        let form_msg = form_msg.clone();
        let open_host = open_host.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let f = (*fields).clone();
            let r = check_json(&f.title, &f.hint, &f.form(&open_host), &check_ids(&text))
                .and_then(|j| append_item(&text, "checks", &j));
            match r {
                Ok(t) => {
                    text.set(t);
                    fields.set(CheckFields {
                        kind: f.kind.clone(),
                        ..CheckFields::default()
                    });
                    form_msg.set(Some((
                        true,
                        format!("Check \"{}\" added. Apply to use it.", f.title.trim()),
                    )));
                }
                Err(e) => form_msg.set(Some((false, e))),
            }
        })
    };

    macro_rules! field {
        ($name:ident) => {{
            let fields = fields.clone();
            Callback::from(move |e: InputEvent| {
                let mut f = (*fields).clone();
                f.$name = input_value(e);
                fields.set(f);
            })
        }};
    }
    macro_rules! choice {
        ($name:ident) => {{
            let fields = fields.clone();
            Callback::from(move |v: String| {
                let mut f = (*fields).clone();
                f.$name = v;
                fields.set(f);
            })
        }};
    }
    macro_rules! step_field {
        ($name:ident) => {{
            let step = step.clone();
            Callback::from(move |e: InputEvent| {
                let mut st = (*step).clone();
                st.$name = input_value(e);
                step.set(st);
            })
        }};
    }
    let host_opts: Vec<(String, String)> = hosts.iter().map(|h| (h.clone(), h.clone())).collect();
    let f = (*fields).clone();
    let check_host = if f.host.is_empty() {
        open_host.clone()
    } else {
        f.host.clone()
    };
    let kind_fields = match f.kind.as_str() {
        "policy" => html! {
            <>
                <label>{"Host"}<Choice options={host_opts.clone()} value={check_host.clone()} onchange={choice!(host)} testid="check-host" /></label>
                <label>{"Table"}<Choice options={opts(&["filter", "nat", "mangle", "raw", "security"])} value={f.table.clone()} onchange={choice!(table)} /></label>
                <label>{"Chain"}<input value={f.chain.clone()} oninput={field!(chain)} data-testid="check-chain" /></label>
                <label>{"Policy is"}<Choice options={opts(&["DROP", "ACCEPT"])} value={f.policy.clone()} onchange={choice!(policy)} testid="check-policy" /></label>
            </>
        },
        "output" => html! {
            <>
                <label>{"Host"}<Choice options={host_opts.clone()} value={check_host.clone()} onchange={choice!(host)} testid="check-host" /></label>
                <label>{"Command"}<input value={f.command.clone()} oninput={field!(command)} placeholder="nmap -p 22 fw" data-testid="check-command" /></label>
                <label>{"Output contains (one a line)"}<textarea rows="2" value={f.contains.clone()} oninput={field!(contains)} data-testid="check-contains" /></label>
                <label>{"Output lacks (one a line)"}<textarea rows="2" value={f.lacks.clone()} oninput={field!(lacks)} /></label>
            </>
        },
        _ => html! {
            <>
                <label>{"From host"}<Choice options={host_opts.clone()} value={check_host.clone()} onchange={choice!(host)} testid="check-host" /></label>
                <label>{"To (host or address)"}<input value={f.to.clone()} oninput={field!(to)} data-testid="check-to" /></label>
                <label>{"Protocol"}<Choice options={opts(&["tcp", "udp", "icmp"])} value={f.proto.clone()} onchange={choice!(proto)} /></label>
                <label>{"Port"}<input value={f.port.clone()} oninput={field!(port)} size="5" data-testid="check-port" /></label>
                <label>{"Expect"}<Choice options={opts(&["delivered", "answered", "refused", "rejected", "dropped"])} value={f.expect.clone()} onchange={choice!(expect)} testid="check-expect" /></label>
            </>
        },
    };

    let on_apply = {
        let cb = p.on_apply.clone();
        let text = text.clone();
        Callback::from(move |_| cb.emit((*text).clone()))
    };
    let on_share = {
        let cb = p.on_share.clone();
        let text = text.clone();
        Callback::from(move |_| cb.emit((*text).clone()))
    };
    let on_revert = {
        let text = text.clone();
        let rc = p.sess.rc.clone();
        Callback::from(move |_| text.set(rc.borrow().lab_text.clone()))
    };
    let valid = validation.is_ok();
    let step_hosts = {
        let step_host = step_host.clone();
        Callback::from(move |v: String| step_host.set(v))
    };
    let st = (*step).clone();
    html! {
        <section class="editor" aria-label="Lab editor" data-testid="editor">
            <div class="editor-head">
                <h2>{"Lab editor"}</h2>
                <button class="primary" onclick={on_apply} disabled={!valid} data-testid="lab-apply" title="Start the lab from this text">{"Apply"}</button>
                <button onclick={on_share} disabled={!valid} data-testid="lab-share" title="A link that opens this lab, fresh">{"Share"}</button>
                <button onclick={on_revert} title="Back to the text of the running lab">{"Revert"}</button>
                <button onclick={p.on_close.reform(|_| ())} aria-label="Close the editor">{"✕"}</button>
            </div>
            <label class="sr-only" for="lab-json">{"Lab file (JSON)"}</label>
            <textarea id="lab-json" class="lab-json" spellcheck="false" value={(*text).clone()} oninput={set_text} data-testid="lab-json" />
            <p class={if valid { "validation ok" } else { "validation error" }} role="status" data-testid="lab-validation">
                { match &*validation {
                    Ok(sum) => format!("✓ A valid lab: {sum}."),
                    Err(e) => format!("✗ {e}"),
                } }
            </p>
            if let Some((ok, m)) = &*form_msg {
                <p class={if *ok { "small" } else { "small error" }} data-testid="editor-msg">{ m.clone() }</p>
            }
            <details class="helper">
                <summary>{"Add a step from my commands"}</summary>
                <form class="grid-form" onsubmit={add_step}>
                    <label>{"Host"}<Choice options={host_opts.clone()} value={shost.clone()} onchange={step_hosts} testid="step-host" /></label>
                    <label>{"Title"}<input value={st.title.clone()} oninput={step_field!(title)} data-testid="step-title" /></label>
                    <label class="wide">{"What to do and why"}<textarea rows="2" value={st.text.clone()} oninput={step_field!(text)} /></label>
                    <label class="wide">{"What to look at"}<input value={st.look.clone()} oninput={step_field!(look)} /></label>
                    <div class="wide small">
                        { if cmds.is_empty() { format!("No commands typed on {shost} yet (since the last step).") } else { format!("Commands typed on {shost}:") } }
                        <ul class="chips">{ for cmds.iter().map(|c| html! { <li><code>{ c.clone() }</code></li> }) }</ul>
                    </div>
                    <button type="submit" data-testid="add-step">{"Add my last commands as a step"}</button>
                </form>
            </details>
            <details class="helper">
                <summary>{"Add a check"}</summary>
                <form class="grid-form" onsubmit={add_check}>
                    <label>{"Kind"}<Choice options={vec![("reach".to_string(), "reachability".to_string()), ("policy".into(), "chain policy".into()), ("output".into(), "command output".into())]} value={f.kind.clone()} onchange={choice!(kind)} testid="check-kind" /></label>
                    <label>{"Title"}<input value={f.title.clone()} oninput={field!(title)} data-testid="check-title" /></label>
                    { kind_fields }
                    <label class="wide">{"Hint (shown while it fails)"}<input value={f.hint.clone()} oninput={field!(hint)} /></label>
                    <button type="submit" data-testid="add-check">{"Add check"}</button>
                </form>
            </details>
        </section>
    }
}
