//! Component tests of the web app in headless Chromium
//! (`cargo test -p playground --target wasm32-unknown-unknown`): the whole
//! App mounted in a page, driven through the DOM like a user.
#![cfg(target_arch = "wasm32")]

use gloo::storage::Storage;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

async fn tick() {
    yew::platform::time::sleep(Duration::from_millis(30)).await;
}

fn doc() -> web_sys::Document {
    gloo::utils::document()
}

fn q(sel: &str) -> Element {
    doc()
        .query_selector(sel)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no element {sel}"))
}

fn text(sel: &str) -> String {
    q(sel).text_content().unwrap_or_default()
}

/// Mounts a fresh App (no autosave, no link) in its own root.
async fn mount() {
    gloo::storage::LocalStorage::raw().clear().ok();
    if let Some(old) = doc().get_element_by_id("app-root") {
        old.remove();
    }
    let root = doc().create_element("div").unwrap();
    root.set_id("app-root");
    doc().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<playground::ui::App>::with_root(root).render();
    tick().await;
}

fn key(el: &Element, k: &str, ctrl: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(k);
    init.set_ctrl_key(ctrl);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    el.dispatch_event(&e).unwrap();
}

async fn type_line(line: &str) {
    let input: HtmlInputElement = q("[data-testid=cmd]").dyn_into().unwrap();
    input.set_value(line);
    let init = web_sys::InputEventInit::new();
    init.set_bubbles(true);
    let e = web_sys::InputEvent::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&e).unwrap();
    tick().await;
}

async fn run(line: &str) {
    type_line(line).await;
    key(&q("[data-testid=cmd]"), "Enter", false);
    tick().await;
}

#[wasm_bindgen_test]
async fn terminal_runs_commands_and_rules_view_follows() {
    mount().await;
    assert!(text(".prompt").starts_with("root@client:~# "));
    run("iptables -A INPUT -p tcp --dport 22 -j DROP").await;
    run("iptables -S INPUT").await;
    let screen = text("[data-testid=screen]");
    assert!(
        screen.contains("-A INPUT -p tcp -m tcp --dport 22 -j DROP"),
        "{screen}"
    );
    // The rules view lists it like iptables -L -v, with its explanation.
    let rules = text("[data-testid=rule-list]");
    assert!(rules.contains("tcp dpt:ssh"), "{rules}");
    let row = q(".row.rule");
    assert!(row
        .get_attribute("title")
        .unwrap_or_default()
        .to_lowercase()
        .contains("drops tcp packets to port 22"));
    // Errors print as iptables prints them.
    run("iptables -A NOPE -j DROP").await;
    assert!(text("[data-testid=screen]").contains("iptables: No chain/target/match by that name."));
}

#[wasm_bindgen_test]
async fn tab_completion_history_and_ctrl_l() {
    mount().await;
    type_line("iptables -A IN").await;
    key(&q("[data-testid=cmd]"), "Tab", false);
    tick().await;
    let input: HtmlInputElement = q("[data-testid=cmd]").dyn_into().unwrap();
    assert_eq!(input.value(), "iptables -A INPUT ");
    run("iptables -L INPUT").await;
    key(&q("[data-testid=cmd]"), "ArrowUp", false);
    tick().await;
    let input: HtmlInputElement = q("[data-testid=cmd]").dyn_into().unwrap();
    assert_eq!(input.value(), "iptables -L INPUT");
    key(&q("[data-testid=cmd]"), "l", true);
    tick().await;
    assert_eq!(doc().query_selector_all(".screen .ln").unwrap().length(), 0);
}

#[wasm_bindgen_test]
async fn here_document_uses_continuation_prompt() {
    mount().await;
    run("iptables-restore <<EOF").await;
    assert_eq!(text(".prompt"), "> ");
    run("*filter").await;
    run("-A FORWARD -s 10.1.2.3 -j DROP").await;
    run("COMMIT").await;
    run("EOF").await;
    run("iptables -S FORWARD").await;
    assert!(text("[data-testid=screen]").contains("-A FORWARD -s 10.1.2.3/32 -j DROP"));
}

#[wasm_bindgen_test]
async fn topology_click_opens_host_and_builder_traces() {
    mount().await;
    let server = q("g[data-host=server]");
    server
        .dispatch_event(
            &web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &{
                let i = web_sys::MouseEventInit::new();
                i.set_bubbles(true);
                i
            })
            .unwrap(),
        )
        .unwrap();
    tick().await;
    assert!(text(".prompt").starts_with("root@server:~# "));
    run("iptables -A INPUT -p tcp --dport 22 -j DROP").await;
    // Send a SYN from client to server:22 with the builder's defaults.
    let select: web_sys::HtmlSelectElement = q("[aria-label='From host']").dyn_into().unwrap();
    select.set_value("0");
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    select
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap())
        .unwrap();
    tick().await;
    let dst: HtmlInputElement = q("[data-testid=dst]").dyn_into().unwrap();
    dst.set_value("10.0.0.80");
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    dst.dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap())
        .unwrap();
    tick().await;
    let send: HtmlElement = q("[data-testid=send]").dyn_into().unwrap();
    send.click();
    tick().await;
    // The stepper opens on the first hop that met a rule: server's INPUT.
    assert_eq!(text("[data-testid=step-pos]"), "hop 3 of 3, step 1 of 1");
    assert!(text("[data-testid=step-where]").starts_with("server filter INPUT rule 1: matched"));
    assert_eq!(q(".cell.now").text_content().unwrap_or_default(), "●");
    let trace = text(".trace");
    assert!(trace.contains("dropped on server in INPUT"), "{trace}");
}

#[wasm_bindgen_test]
async fn lab_steps_type_commands_and_checks_turn_green() {
    let lab = r#"{"version":1,"name":"policy","links":[{"name":"l"}],
        "intro":"Make `DROP` the policy.",
        "hosts":[{"name":"pc","interfaces":[{"name":"eth0","address":"10.0.0.2/24","link":"l"}]},
                 {"name":"fw","interfaces":[{"name":"eth0","address":"10.0.0.1/24","link":"l"}]}],
        "steps":[{"title":"Policy","host":"fw","commands":["iptables -P INPUT DROP"]}],
        "checks":[{"id":"pol","title":"INPUT policy is DROP","hint":"use -P",
                   "policy":{"host":"fw","chain":"INPUT","is":"DROP"}}]}"#;
    let s = playground::session::Session::new(lab).unwrap();
    let frag = playground::share::encode(&s.saved(false)).unwrap();
    playground::ui::dom::set_fragment(&frag);
    mount().await;
    assert_eq!(text("[data-testid=checks-summary]"), "0/1 checks pass");
    assert!(text("[data-check=pol]").contains("Hint: use -P"));
    assert_eq!(text("[data-testid=guide] .intro code"), "DROP");
    // The chip types the command into fw's terminal; Enter runs it.
    q("[data-testid=chip]")
        .dyn_into::<HtmlElement>()
        .unwrap()
        .click();
    tick().await;
    let input: HtmlInputElement = q("[data-testid=cmd]").dyn_into().unwrap();
    assert_eq!(input.value(), "iptables -P INPUT DROP");
    assert!(text(".prompt").starts_with("root@fw"));
    assert_eq!(text("[data-testid=checks-summary]"), "0/1 checks pass");
    key(&q("[data-testid=cmd]"), "Enter", false);
    tick().await;
    assert_eq!(text("[data-testid=checks-summary]"), "The check passes");
    assert_eq!(
        q("[data-check=pol]").get_attribute("data-pass").as_deref(),
        Some("true")
    );
}
