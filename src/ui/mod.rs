//! The user interface (WebAssembly only): one App holding the session, and
//! components that draw it and send the user's input back.

pub mod builder;
pub mod dom;
pub mod rules;
pub mod teach;
pub mod terminal;
pub mod topology;
pub mod trace;

use crate::adapter::{self, PacketSpec};
use crate::labs;
use crate::session::{clock_text, parse_clock, parse_duration, Saved, Session};
use crate::share::{self, ShareError};
use builder::PacketBuilder;
use gloo::events::EventListener;
use gloo::file::callbacks::FileReader;
use rules::{Hit, RulesView};
use std::cell::RefCell;
use std::rc::Rc;
use teach::{ChecksPanel, LabEditor, LabGuide};
use terminal::Terminal;
use topology::Topology;
use trace::TraceView;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// The session as components see it: shared, with a generation number so
/// a component redraws exactly when something changed.
#[derive(Clone)]
pub struct SessRef {
    pub rc: Rc<RefCell<Session>>,
    pub gen: u64,
}

impl PartialEq for SessRef {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.rc, &o.rc) && self.gen == o.gen
    }
}

#[derive(Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    /// Offer the state as a file (a link was too long).
    pub offer_file: bool,
}

/// Largest saved state kept in local storage (bytes of JSON).
const AUTOSAVE_MAX: usize = 4 << 20;

pub enum Msg {
    Submit(usize, String),
    Paste(usize, String),
    Interrupt(usize, String),
    Clear(usize),
    Open(usize),
    Table(String),
    Send(String, PacketSpec, u32),
    Go(usize, usize),
    ClockSet,
    Advance(u64),
    AdvanceBy,
    ClockInput(String),
    DurationInput(String),
    LabChoice(String),
    LoadBuiltin,
    /// A served built-in lab arrived (id, text or why not).
    BuiltinFetched(String, Result<String, String>),
    Files(Vec<web_sys::File>),
    FileLoaded(String, Result<String, String>),
    Reset,
    Share,
    DownloadState,
    ExportSave,
    ExportIpset,
    ExportPcap,
    PcapIface(String),
    Theme,
    Dismiss,
    NoticeTimeout,
    HashChanged,
    Drag(bool),
    /// A step's command chip: (host, command) typed into that host's terminal.
    TypeCmd(String, String),
    ToggleEditor,
    ApplyLab(String),
    ShareLab(String),
    /// A share link was made (from the lab editor?): its fragment, why not,
    /// or why the browser could not compress the state.
    Shared(Result<Result<String, ShareError>, String>, bool),
}

pub struct App {
    sess: Rc<RefCell<Session>>,
    tick: u64,
    rules_host: usize,
    rules_table: String,
    trace_sel: (usize, usize),
    notice: Option<Notice>,
    share_url: Option<String>,
    autosave_warned: bool,
    lab_choice: String,
    /// The served built-in lab being fetched, if any (a later choice or
    /// another lab opened meanwhile wins).
    lab_fetching: Option<String>,
    clock_input: String,
    duration_input: String,
    pcap_iface: String,
    dragging: bool,
    readers: Vec<FileReader>,
    /// Hides an information notice after a while (errors stay).
    notice_timer: Option<(String, gloo::timers::callback::Timeout)>,
    /// Text a chip typed into the open terminal, with a generation.
    typed: (u64, String),
    editing: bool,
    /// The lab editor mounts when first opened (its code is fetched then)
    /// and stays mounted while closed, so its draft and helpers' state stay.
    editor_mounted: bool,
    /// Whether every check passed after the last change.
    solved: bool,
    /// Bumped whenever a new lab starts.
    started: u64,
    _hash: Option<EventListener>,
}

fn default_session() -> Session {
    // The built-in lab always loads; a broken build would show it here.
    Session::new(labs::DEFAULT_LAB).unwrap_or_else(|e| {
        Session::new(r#"{"version":1,"hosts":[{"name":"host"}]}"#)
            .map(|mut s| {
                s.lab_description = format!("The built-in lab did not load: {e}");
                s
            })
            .unwrap_or_else(|_| unreachable_session())
    })
}

/// A session on an empty world: only reached if no lab at all loads.
fn unreachable_session() -> Session {
    Session {
        lab_text: String::new(),
        lab: None,
        checks: Vec::new(),
        checks_gen: 0,
        lab_name: "empty".into(),
        lab_description: String::new(),
        world: adapter::World::new(),
        terms: Vec::new(),
        actions: Vec::new(),
        open: 0,
        reports: Vec::new(),
        reports_label: String::new(),
        reports_gen: 0,
        gen: 0,
    }
}

/// Where the playground starts: a share link, else the autosave, else the
/// default lab. A bad link says why and leaves the saved lab alone.
fn initial() -> (Session, Option<Notice>) {
    let frag = dom::fragment();
    let mut notice = None;
    if !frag.is_empty() && frag != "#" {
        dom::set_fragment("");
        match share::decode(&frag) {
            Ok(Some(saved)) => match Session::restore(&saved) {
                Ok(s) => {
                    let text = format!("Opened a shared lab: {}", saved_name(&saved));
                    return (s, Some(info(text)));
                }
                Err(e) => {
                    notice = Some(err(format!("This share link cannot be opened: {e}.")));
                }
            },
            Ok(None) => {}
            Err(e) => notice = Some(err(e.to_string())),
        }
    }
    if let Some(text) = dom::load(dom::STATE_KEY) {
        let restored = serde_json::from_str::<Saved>(&text)
            .map_err(|e| e.to_string())
            .and_then(|s| Session::restore(&s));
        match restored {
            Ok(s) => return (s, notice),
            Err(e) => {
                dom::forget(dom::STATE_KEY);
                let text =
                    format!("The saved lab could not be restored ({e}); the default lab is open.");
                return (default_session(), notice.or(Some(err(text))));
            }
        }
    }
    (default_session(), notice)
}

fn info(text: String) -> Notice {
    Notice {
        text,
        error: false,
        offer_file: false,
    }
}

fn err(text: String) -> Notice {
    Notice {
        text,
        error: true,
        offer_file: false,
    }
}

fn saved_name(s: &Saved) -> String {
    serde_json::from_str::<serde_json::Value>(&s.lab)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
        .unwrap_or_else(|| "lab".into())
}

fn is_saved_state(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("v").is_some() && v.get("lab").is_some())
}

impl App {
    fn sref(&self) -> SessRef {
        SessRef {
            rc: self.sess.clone(),
            gen: self.tick,
        }
    }

    fn changed(&mut self) {
        self.tick += 1;
        self.sess.borrow_mut().refresh_checks();
        let solved = crate::teach::all_pass(&self.sess.borrow().checks);
        if solved && !self.solved {
            self.notice = Some(info(
                "✓ Every check passes: this lab is solved. A share link proves it.".into(),
            ));
        }
        self.solved = solved;
        self.autosave();
    }

    fn autosave(&mut self) {
        // Browsers keep about 5 MB per site: skip what cannot fit without
        // copying and encoding it first.
        let ok = self.sess.borrow().size_hint() <= AUTOSAVE_MAX && {
            let saved = self.sess.borrow().saved(true);
            serde_json::to_string(&saved)
                .is_ok_and(|text| text.len() <= AUTOSAVE_MAX && dom::store(dom::STATE_KEY, &text))
        };
        if !ok {
            dom::forget(dom::STATE_KEY);
            if !self.autosave_warned {
                self.autosave_warned = true;
                self.notice = Some(Notice {
                    text: "This lab is too big for the browser's storage: it will not be restored after a reload. Export it as a lab file to keep it.".into(),
                    error: false,
                    offer_file: true,
                });
            }
        }
    }

    fn replace(&mut self, mut s: Session) {
        self.rules_host = s.open;
        s.refresh_checks();
        // A lab that opens solved is no news.
        self.solved = crate::teach::all_pass(&s.checks);
        *self.sess.borrow_mut() = s;
        self.trace_sel = (0, 0);
        self.share_url = None;
        self.autosave_warned = false;
        self.started += 1;
        self.lab_fetching = None;
        self.changed();
    }

    fn open_builtin(&mut self, id: &str, text: &str) {
        match Session::new(text) {
            Ok(s) => {
                self.replace(s);
                self.notice = None;
            }
            Err(e) => self.error(format!("Lab {id} did not load: {e}")),
        }
    }

    /// Makes a share link: the state's JSON compressed by the browser, then
    /// `Msg::Shared`.
    fn share(&mut self, ctx: &Context<Self>, saved: &Saved, from_editor: bool) {
        let link = ctx.link().clone();
        let json = match share::state_json(saved) {
            Ok(json) => json,
            Err(e) => return link.send_message(Msg::Shared(Ok(Err(e)), from_editor)),
        };
        wasm_bindgen_futures::spawn_local(async move {
            let made = dom::deflate_raw(&json)
                .await
                .map(|packed| share::fragment(&packed));
            link.send_message(Msg::Shared(made, from_editor));
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: true,
            offer_file: false,
        });
    }

    fn hit(&self) -> Option<Hit> {
        let s = self.sess.borrow();
        let r = s.reports.get(self.trace_sel.0)?;
        let st = r.trace.steps.get(self.trace_sel.1)?;
        Some(Hit {
            host: st.host.clone(),
            table: st.table.clone(),
            chain: st.chain.clone(),
            rule: st.rule,
            matched: st.matched,
        })
    }

    /// The first hop of the last action that met a rule (else the first hop).
    fn first_hop_with_rules(&self) -> usize {
        let s = self.sess.borrow();
        s.reports
            .iter()
            .position(|r| !r.trace.steps.is_empty())
            .unwrap_or(0)
    }

    /// Follows the current trace step in the rules view.
    fn follow_step(&mut self) {
        if let Some(h) = self.hit() {
            let s = self.sess.borrow();
            if let Some(i) = s.world.host_index(&h.host) {
                drop(s);
                self.rules_host = i;
                self.rules_table = h.table;
            }
        }
    }

    fn run_readonly(&self, host: usize, cmd: &str) -> adapter::Output {
        let mut s = self.sess.borrow_mut();
        match adapter::parse_script(cmd) {
            Ok(c) if !c.is_empty() => adapter::run_cmd(&mut s.world, host, &c[0]),
            _ => adapter::Output::default(),
        }
    }

    fn host_name(&self, i: usize) -> String {
        self.sess
            .borrow()
            .world
            .hosts
            .get(i)
            .map(|h| h.name.clone())
            .unwrap_or_default()
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let (s, notice) = initial();
        let link = ctx.link().clone();
        let hash = EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
            link.send_message(Msg::HashChanged)
        });
        let open = s.open;
        let solved = crate::teach::all_pass(&s.checks);
        let mut app = App {
            sess: Rc::new(RefCell::new(s)),
            tick: 1,
            rules_host: open,
            rules_table: "filter".into(),
            trace_sel: (0, 0),
            notice,
            share_url: None,
            autosave_warned: false,
            lab_choice: labs::DEFAULT_ID.into(),
            lab_fetching: None,
            clock_input: String::new(),
            duration_input: "1m".into(),
            pcap_iface: String::new(),
            dragging: false,
            readers: Vec::new(),
            notice_timer: None,
            typed: (0, String::new()),
            editing: false,
            editor_mounted: false,
            solved,
            started: 0,
            _hash: Some(hash),
        };
        app.autosave();
        app
    }

    fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
        // An information notice fades after 8 s; a new one starts its own wait.
        match &self.notice {
            Some(n) if !n.error && !n.offer_file => {
                if self.notice_timer.as_ref().is_none_or(|(t, _)| *t != n.text) {
                    let link = ctx.link().clone();
                    let timer = gloo::timers::callback::Timeout::new(8000, move || {
                        link.send_message(Msg::NoticeTimeout)
                    });
                    self.notice_timer = Some((n.text.clone(), timer));
                }
            }
            _ => self.notice_timer = None,
        }
        if first_render {
            dom::mark_body("ready-ms", &engine::decimal::fixed(dom::now_ms(), 0));
            dom::mark_body("ready", "1");
        }
        dom::mark_body("tick", &self.tick.to_string());
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Submit(h, line) => {
                let before = self.sess.borrow().reports_gen;
                self.sess.borrow_mut().submit_line(h, &line);
                if self.sess.borrow().reports_gen != before {
                    self.trace_sel = (self.first_hop_with_rules(), 0);
                }
                self.changed();
            }
            Msg::Paste(h, text) => {
                self.sess.borrow_mut().paste(h, &text);
                self.changed();
            }
            Msg::Interrupt(h, line) => {
                self.sess.borrow_mut().interrupt(h, &line);
                self.changed();
            }
            Msg::Clear(h) => {
                self.sess.borrow_mut().clear_screen(h);
                self.changed();
            }
            Msg::Open(i) => {
                self.sess.borrow_mut().open = i;
                self.rules_host = i;
                self.changed();
            }
            Msg::Table(t) => self.rules_table = t,
            Msg::Send(host, spec, n) => {
                let r = self.sess.borrow_mut().send(&host, spec, n);
                match r {
                    Ok(()) => {
                        self.trace_sel = (self.first_hop_with_rules(), 0);
                        self.follow_step();
                    }
                    Err(e) => self.error(format!("The packet was not sent: {e}")),
                }
                self.changed();
            }
            Msg::Go(p, st) => {
                self.trace_sel = (p, st);
                self.follow_step();
            }
            Msg::ClockInput(v) => self.clock_input = v,
            Msg::DurationInput(v) => self.duration_input = v,
            Msg::ClockSet => match parse_clock(&self.clock_input) {
                Ok(ns) => {
                    self.sess.borrow_mut().set_clock(ns);
                    self.clock_input.clear();
                    self.changed();
                }
                Err(e) => self.error(e),
            },
            Msg::Advance(ns) => {
                self.sess.borrow_mut().advance(ns);
                self.changed();
            }
            Msg::AdvanceBy => match parse_duration(&self.duration_input) {
                Ok(ns) => {
                    self.sess.borrow_mut().advance(ns);
                    self.changed();
                }
                Err(e) => self.error(e),
            },
            Msg::LabChoice(id) => self.lab_choice = id,
            Msg::LoadBuiltin => {
                let id = self.lab_choice.clone();
                if id == labs::DEFAULT_ID {
                    self.lab_fetching = None;
                    self.open_builtin(&id, labs::DEFAULT_LAB);
                } else if let Some(url) = labs::url_of(&id) {
                    self.lab_fetching = Some(id.clone());
                    let link = ctx.link().clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let r = dom::fetch_text(&url).await;
                        link.send_message(Msg::BuiltinFetched(id, r));
                    });
                }
            }
            Msg::BuiltinFetched(id, r) => {
                if self.lab_fetching.as_deref() != Some(id.as_str()) {
                    return false;
                }
                self.lab_fetching = None;
                match r {
                    Ok(text) => self.open_builtin(&id, &text),
                    Err(e) => self.error(format!("Lab {id} could not be fetched: {e}")),
                }
            }
            Msg::Files(files) => {
                self.dragging = false;
                for f in files.into_iter().take(1) {
                    let name = f.name();
                    if f.size() > 64.0 * 1024.0 * 1024.0 {
                        self.error(format!("{name} is larger than 64 MB"));
                        continue;
                    }
                    let link = ctx.link().clone();
                    let gf = gloo::file::File::from(f);
                    let reader = gloo::file::callbacks::read_as_text(&gf, move |r| {
                        link.send_message(Msg::FileLoaded(name, r.map_err(|e| e.to_string())))
                    });
                    self.readers.push(reader);
                }
            }
            Msg::FileLoaded(name, r) => {
                self.readers.clear();
                let text = match r {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(format!("{name} could not be read: {e}"));
                        return true;
                    }
                };
                let t0 = dom::now_ms();
                if name.ends_with(".json") || text.trim_start().starts_with('{') {
                    let res = if is_saved_state(&text) {
                        serde_json::from_str::<Saved>(&text)
                            .map_err(|e| e.to_string())
                            .and_then(|s| Session::restore(&s))
                    } else {
                        Session::new(&text)
                    };
                    match res {
                        Ok(s) => {
                            self.replace(s);
                            self.notice = Some(Notice {
                                text: format!("Opened {name}"),
                                error: false,
                                offer_file: false,
                            });
                        }
                        Err(e) => self.error(format!("{name} is not a lab file: {e}")),
                    }
                } else {
                    // A rules file: iptables-restore on the open host.
                    let hi = self.sess.borrow().open;
                    let file: String = name
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    let r = {
                        let mut s = self.sess.borrow_mut();
                        s.write_file(hi, &file, &text)
                            .and_then(|_| s.command(hi, &format!("iptables-restore < {file}\n")))
                    };
                    if let Err(e) = r {
                        self.error(e);
                    }
                    self.rules_host = hi;
                    let host = self.host_name(hi);
                    self.notice = Some(Notice {
                        text: format!("{name} restored on {host} (iptables-restore)"),
                        error: false,
                        offer_file: false,
                    });
                    self.changed();
                }
                dom::mark_body("load-ms", &engine::decimal::fixed(dom::now_ms() - t0, 0));
            }
            Msg::Reset => {
                let text = self.sess.borrow().lab_text.clone();
                match Session::new(&text) {
                    Ok(s) => self.replace(s),
                    Err(e) => self.error(e),
                }
            }
            Msg::Share => {
                let saved = self.sess.borrow().saved(false);
                self.share(ctx, &saved, false);
            }
            Msg::DownloadState => {
                let saved = self.sess.borrow().saved(true);
                if let Ok(text) = serde_json::to_string_pretty(&saved) {
                    let name = saved_name(&saved)
                        .to_ascii_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
                    dom::download(
                        &format!("{name}.lab.json"),
                        "application/json",
                        text.as_bytes(),
                    );
                }
            }
            Msg::ExportSave => {
                let out = self.run_readonly(self.rules_host, "iptables-save");
                let name = self.host_name(self.rules_host);
                dom::download(
                    &format!("{name}.rules"),
                    "text/plain",
                    out.stdout.as_bytes(),
                );
            }
            Msg::ExportIpset => {
                let out = self.run_readonly(self.rules_host, "ipset save");
                let name = self.host_name(self.rules_host);
                dom::download(
                    &format!("{name}.ipset"),
                    "text/plain",
                    out.stdout.as_bytes(),
                );
            }
            Msg::PcapIface(i) => self.pcap_iface = i,
            Msg::ExportPcap => {
                let s = self.sess.borrow();
                let Some(h) = s.world.hosts.get(self.rules_host) else {
                    return false;
                };
                let iface = if h.iface(&self.pcap_iface).is_some() {
                    self.pcap_iface.clone()
                } else {
                    h.ifaces
                        .iter()
                        .find(|i| !i.is_loopback())
                        .map(|i| i.name.clone())
                        .unwrap_or_else(|| "lo".into())
                };
                let bytes = adapter::pcap(&s.world, &h.name, &iface);
                dom::download(
                    &format!("{}-{iface}.pcap", h.name),
                    "application/vnd.tcpdump.pcap",
                    &bytes,
                );
            }
            Msg::Theme => {
                let t = if dom::theme() == "dark" {
                    "light"
                } else {
                    "dark"
                };
                dom::set_theme(t);
            }
            Msg::Dismiss => {
                self.notice = None;
                self.share_url = None;
            }
            Msg::NoticeTimeout => {
                self.notice_timer = None;
                if self
                    .notice
                    .as_ref()
                    .is_some_and(|n| !n.error && !n.offer_file)
                {
                    self.notice = None;
                } else {
                    return false;
                }
            }
            Msg::HashChanged => {
                let frag = dom::fragment();
                if frag.is_empty() || frag == "#" {
                    return false;
                }
                dom::set_fragment("");
                match share::decode(&frag) {
                    Ok(Some(saved)) => match Session::restore(&saved) {
                        Ok(s) => {
                            self.replace(s);
                            self.notice = Some(Notice {
                                text: format!("Opened a shared lab: {}", saved_name(&saved)),
                                error: false,
                                offer_file: false,
                            });
                        }
                        Err(e) => self.error(format!("This share link cannot be opened: {e}.")),
                    },
                    Ok(None) => {}
                    Err(e) => self.error(e.to_string()),
                }
            }
            Msg::Drag(on) => self.dragging = on,
            Msg::TypeCmd(host, cmd) => {
                let Some(i) = self.sess.borrow().world.host_index(&host) else {
                    self.error(format!("This step's host \"{host}\" is not in the lab"));
                    return true;
                };
                self.sess.borrow_mut().open = i;
                self.rules_host = i;
                if cmd.contains('\n') {
                    // A multi-line command (a here-document) runs as pasted.
                    self.sess.borrow_mut().paste(i, &cmd);
                    self.changed();
                } else {
                    self.typed = (self.typed.0 + 1, cmd);
                }
            }
            Msg::ToggleEditor => {
                self.editing = !self.editing;
                self.editor_mounted |= self.editing;
            }
            Msg::ApplyLab(text) => match Session::new(&text) {
                Ok(s) => {
                    self.replace(s);
                    self.notice = Some(info("The lab was started from the editor.".into()));
                }
                Err(e) => self.error(format!("The lab cannot start: {e}")),
            },
            Msg::ShareLab(text) => match Session::new(&text) {
                Ok(s) => self.share(ctx, &s.saved(false), true),
                Err(e) => self.error(format!("The lab cannot start: {e}")),
            },
            Msg::Shared(Err(e), _) => self.error(format!(
                "The browser could not compress the lab for a link: {e}"
            )),
            Msg::Shared(Ok(Ok(frag)), _) => {
                self.share_url = Some(format!("{}#{frag}", dom::page_url()));
            }
            Msg::Shared(Ok(Err(e)), from_editor) => {
                if !from_editor {
                    self.share_url = None;
                }
                match e {
                    ShareError::TooLong(_) => {
                        self.notice = Some(Notice {
                            text: e.to_string(),
                            error: false,
                            offer_file: !from_editor,
                        })
                    }
                    ShareError::Bad(_) if from_editor => {
                        self.notice = Some(Notice {
                            text: e.to_string(),
                            error: true,
                            offer_file: false,
                        })
                    }
                    ShareError::Bad(_) => self.error(e.to_string()),
                }
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let sref = self.sref();
        let s = self.sess.borrow();
        let open = s.open.min(s.terms.len().saturating_sub(1));
        let rules_host = self.rules_host.min(s.world.hosts.len().saturating_sub(1));
        let lab_options = std::iter::once((labs::DEFAULT_ID, labs::default_title()))
            .chain(labs::served().map(|l| (l.id, l.title.to_string())));
        let clock = clock_text(s.clock());
        let host_tabs = s.world.hosts.iter().enumerate().map(|(i, h)| {
            let onclick = link.callback(move |_| Msg::Open(i));
            html! {
                <button role="tab" class={if i == open { "tab on" } else { "tab" }} aria-selected={(i == open).to_string()}
                        data-host-tab={h.name.clone()} {onclick}>{ h.name.clone() }</button>
            }
        });
        let ifaces: Vec<String> = s
            .world
            .hosts
            .get(rules_host)
            .map(|h| h.ifaces.iter().map(|i| i.name.clone()).collect())
            .unwrap_or_default();
        let notice = self.notice.clone();
        let ondragover = link.callback(|e: DragEvent| {
            e.prevent_default();
            Msg::Drag(true)
        });
        let ondragleave = link.callback(|_: DragEvent| Msg::Drag(false));
        let ondrop = link.callback(|e: DragEvent| {
            e.prevent_default();
            let mut files = Vec::new();
            if let Some(list) = e.data_transfer().and_then(|d| d.files()) {
                for i in 0..list.length() {
                    if let Some(f) = list.get(i) {
                        files.push(f);
                    }
                }
            }
            Msg::Files(files)
        });
        let onfile = link.callback(|e: Event| {
            let mut files = Vec::new();
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                if let Some(list) = input.files() {
                    for i in 0..list.length() {
                        if let Some(f) = list.get(i) {
                            files.push(f);
                        }
                    }
                }
                input.set_value("");
            }
            Msg::Files(files)
        });
        html! {
            <div class={if self.dragging { "app dragging" } else { "app" }} {ondragover} {ondragleave} {ondrop}>
                <header class="top">
                    <h1>{"iptables playground"}</h1>
                    <div class="group" role="group" aria-label="Labs">
                        <label class="sr-only" for="lab-select">{"Built-in lab"}</label>
                        <select id="lab-select" data-testid="lab-select" onchange={link.callback(|e: Event| Msg::LabChoice(e.target_dyn_into::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default()))}>
                            { for lab_options.map(|(id, title)| html! { <option value={id} selected={id == self.lab_choice}>{ title }</option> }) }
                        </select>
                        <button onclick={link.callback(|_| Msg::LoadBuiltin)} data-testid="load-lab">{"Open lab"}</button>
                        <label class="button" for="file-input">{"Open file…"}</label>
                        <input id="file-input" class="sr-only" type="file" accept=".json,.rules,.txt,.v4,.save" onchange={onfile} data-testid="file-input" />
                        <button onclick={link.callback(|_| Msg::Reset)} title="Start this lab again" data-testid="reset">{"Reset"}</button>
                        <button onclick={link.callback(|_| Msg::ToggleEditor)} aria-pressed={self.editing.to_string()} title="Write or change this lab: steps, checks, topology" data-testid="edit-lab">{"Edit lab"}</button>
                    </div>
                    <div class="group clock" role="group" aria-label="Lab clock">
                        <span class="clock-now" data-testid="clock" aria-label="Lab clock">{ clock }</span>
                        <input aria-label="Set the clock to (YYYY-MM-DD HH:MM:SS)" placeholder="YYYY-MM-DD HH:MM:SS" size="19" value={self.clock_input.clone()}
                               oninput={link.callback(|e: InputEvent| Msg::ClockInput(e.target_dyn_into::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default()))}
                               onkeydown={link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::ClockSet))} data-testid="clock-input" />
                        <button onclick={link.callback(|_| Msg::ClockSet)} data-testid="clock-set">{"Set"}</button>
                        <input aria-label="Fast-forward by (30s, 5m, 2h, 1d)" size="4" value={self.duration_input.clone()}
                               oninput={link.callback(|e: InputEvent| Msg::DurationInput(e.target_dyn_into::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default()))}
                               onkeydown={link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::AdvanceBy))} data-testid="ff-input" />
                        <button onclick={link.callback(|_| Msg::AdvanceBy)} data-testid="ff">{"Fast-forward"}</button>
                        <button onclick={link.callback(|_| Msg::Advance(60_000_000_000))} aria-label="Fast-forward one minute">{"+1m"}</button>
                    </div>
                    <div class="group" role="group" aria-label="Share and export">
                        <button onclick={link.callback(|_| Msg::Share)} data-testid="share">{"Share link"}</button>
                        <details class="menu">
                            <summary>{"Export"}</summary>
                            <div class="menu-body">
                                <button onclick={link.callback(|_| Msg::DownloadState)} data-testid="export-lab">{"Lab file (.json)"}</button>
                                <button onclick={link.callback(|_| Msg::ExportSave)}>{ format!("iptables-save of {}", self.host_name(rules_host)) }</button>
                                <button onclick={link.callback(|_| Msg::ExportIpset)}>{ format!("ipset save of {}", self.host_name(rules_host)) }</button>
                                <label>{"pcap of "}
                                    <select aria-label="Interface for pcap" onchange={link.callback(|e: Event| Msg::PcapIface(e.target_dyn_into::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default()))}>
                                        { for ifaces.iter().map(|i| html! { <option value={i.clone()} selected={*i == self.pcap_iface}>{ i.clone() }</option> }) }
                                    </select>
                                </label>
                                <button onclick={link.callback(|_| Msg::ExportPcap)}>{"Download pcap"}</button>
                            </div>
                        </details>
                        <button onclick={link.callback(|_| Msg::Theme)} aria-label="Switch light or dark theme" data-testid="theme">{"◐ Theme"}</button>
                    </div>
                </header>
                <div class="notices" aria-live="polite">
                    if let Some(n) = notice {
                        <div class={if n.error { "notice error" } else { "notice" }} role={if n.error { "alert" } else { "status" }} data-testid="notice">
                            <span>{ n.text.clone() }</span>
                            if n.offer_file {
                                <button onclick={link.callback(|_| Msg::DownloadState)}>{"Download lab file"}</button>
                            }
                            <button onclick={link.callback(|_| Msg::Dismiss)} aria-label="Dismiss">{"✕"}</button>
                        </div>
                    }
                    if let Some(url) = &self.share_url {
                        <div class="notice share" role="status">
                            <label for="share-url">{"Share link: "}</label>
                            <input id="share-url" readonly=true value={url.clone()} data-testid="share-url"
                                   onfocus={Callback::from(|e: FocusEvent| { if let Some(i) = e.target_dyn_into::<HtmlInputElement>() { i.select(); } })} />
                            <span class="muted">{ format!("{} characters", url.len()) }</span>
                            <button onclick={link.callback(|_| Msg::Dismiss)} aria-label="Close the share link">{"✕"}</button>
                        </div>
                    }
                </div>
                <main class="grid">
                    <aside class="left">
                        <section class="lab-info" aria-label="Lab">
                            <h2 data-testid="lab-name">{ s.lab_name.clone() }</h2>
                            <p class="muted">{ s.lab_description.clone() }</p>
                        </section>
                        <ChecksPanel sess={sref.clone()} />
                        <LabGuide sess={sref.clone()} on_type={link.callback(|(h, c)| Msg::TypeCmd(h, c))} />
                        <Topology sess={sref.clone()} open={open} on_open={link.callback(Msg::Open)} />
                        <PacketBuilder sess={sref.clone()} open={open} on_send={link.callback(|(h, p, n)| Msg::Send(h, p, n))} />
                    </aside>
                    <section class="center">
                        <div role="tablist" aria-label="Hosts" class="tabs host-tabs">{ for host_tabs }</div>
                        <Terminal sess={sref.clone()} host={open}
                            on_submit={link.callback(|(h, l)| Msg::Submit(h, l))}
                            on_paste={link.callback(|(h, t)| Msg::Paste(h, t))}
                            on_interrupt={link.callback(|(h, l)| Msg::Interrupt(h, l))}
                            on_clear={link.callback(Msg::Clear)}
                            typed={(self.typed.0, AttrValue::from(self.typed.1.clone()))} />
                    </section>
                    if self.editor_mounted {
                        <div class="editor-drawer" hidden={!self.editing}>
                            <LabEditor sess={sref.clone()} started={self.started}
                                on_apply={link.callback(Msg::ApplyLab)} on_share={link.callback(Msg::ShareLab)}
                                on_close={link.callback(|_| Msg::ToggleEditor)} />
                        </div>
                    }
                    <section class="right">
                        <RulesView sess={sref.clone()} host={rules_host} table={AttrValue::from(self.rules_table.clone())}
                            on_table={link.callback(Msg::Table)} hit={self.hit()} />
                        <TraceView sess={sref} sel={self.trace_sel} on_go={link.callback(|(p, s)| Msg::Go(p, s))} />
                    </section>
                </main>
            </div>
        }
    }
}

/// Mounts the app on `<body>`.
pub fn start() {
    yew::Renderer::<App>::new().render();
}
