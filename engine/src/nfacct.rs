//! nfacct accounting objects (`nfacct add/list/get/delete/flush/restore`),
//! which `-m nfacct` rules name; messages as nfacct 1.0.2 prints them.
//! Objects named by rules are in use: deleting them fails, flush skips them.

use crate::command::Output;
use crate::ruleset::Ruleset;
use crate::sim::host::Host;

const TAG: &str = "nfacct v1.0.2";
const USAGE: &str = "Usage: nfacct command [parameters]...\n";
/// Longest object name the kernel keeps (NFACCT_NAME_MAX - 1).
const NAME_MAX: usize = 31;

#[derive(Debug, Clone, Default)]
pub struct Store {
    pub objects: Vec<Object>,
}

/// A quota on an object: counted in bytes or packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub bytes: bool,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub name: String,
    pub packets: u64,
    pub bytes: u64,
    pub quota: Option<Quota>,
}

impl Object {
    pub fn new(name: &str) -> Object {
        Object {
            name: name.to_string(),
            packets: 0,
            bytes: 0,
            quota: None,
        }
    }

    /// Whether the quota has been passed.
    pub fn overquota(&self) -> bool {
        match self.quota {
            Some(q) if q.bytes => self.bytes > q.limit,
            Some(q) => self.packets > q.limit,
            None => false,
        }
    }
}

impl Store {
    pub fn exists(&self, name: &str) -> bool {
        self.objects.iter().any(|o| o.name == name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Object> {
        self.objects.iter_mut().find(|o| o.name == name)
    }
}

/// Object names that `-m nfacct` rules use (read from their saved text).
pub fn referenced(ruleset: &Ruleset) -> Vec<String> {
    let mut v = Vec::new();
    for r in ruleset
        .tables
        .iter()
        .flat_map(|t| t.chains.iter())
        .flat_map(|c| c.rules.iter())
    {
        for m in &r.matches {
            if m.save_name() != "nfacct" {
                continue;
            }
            let mut s = String::new();
            m.save(&mut s);
            if let Some(rest) = s.trim().strip_prefix("--nfacct-name") {
                v.push(unquote(rest.trim()));
            }
        }
    }
    v
}

fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut esc = false;
            for c in inner.chars() {
                if esc || c != '\\' {
                    out.push(c);
                    esc = false;
                } else {
                    esc = true;
                }
            }
            out
        }
        None => s.to_string(),
    }
}

fn err(msg: &str) -> Output {
    Output::err(format!("{TAG}: {msg}\n"), 1)
}

fn truncate(name: &str) -> String {
    let mut n = name.to_string();
    while n.len() > NAME_MAX {
        n.pop();
    }
    n
}

/// `nfacct COMMAND ...`.
pub fn run(host: &mut Host, argv: &[String]) -> Output {
    run_stdin(host, argv, None)
}

/// `nfacct COMMAND ...` with standard input (for `restore`).
// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run_stdin(host: &mut Host, argv: &[String], stdin: Option<&str>) -> Output {
    let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let Some(cmd) = args.first() else {
        return Output::err(USAGE, 1);
    };
    let rest = &args[1..];
    match *cmd {
        "list" => {
            let (reset, xml) = match options(rest) {
                Ok(o) => o,
                Err(o) => return o,
            };
            let text = render(host.nfacct.objects.iter(), xml);
            if reset {
                host.nfacct.objects.iter_mut().for_each(|o| {
                    o.packets = 0;
                    o.bytes = 0;
                });
            }
            Output::ok(text)
        }
        "add" => {
            let Some(name) = rest.first() else {
                return err("missing object name");
            };
            let mut obj = Object::new(&truncate(name));
            if rest.len() >= 2 {
                if rest.len() < 3 {
                    return err("missing quota value");
                }
                let bytes = match rest[1] {
                    "byte" => true,
                    "packet" => false,
                    _ => return err("argument must \"byte\" or \"packet\""),
                };
                let Some(limit) = crate::ext::xtopt::strtoul_all(rest[2], 0, u64::MAX) else {
                    return err("error reading quota");
                };
                obj.quota = Some(Quota { bytes, limit });
            }
            if host.nfacct.exists(&obj.name) {
                return err("error: Device or resource busy");
            }
            host.nfacct.objects.push(obj);
            Output::default()
        }
        "delete" | "del" => {
            let Some(name) = rest.first() else {
                return err("missing object name");
            };
            if rest.len() > 1 {
                return err("too many arguments");
            }
            let name = truncate(name);
            if !host.nfacct.exists(&name) {
                return err("error: No such file or directory");
            }
            if referenced(&host.ruleset).contains(&name) {
                return err("error: Device or resource busy");
            }
            host.nfacct.objects.retain(|o| o.name != name);
            Output::default()
        }
        "get" => {
            let Some(name) = rest.first() else {
                return err("missing object name");
            };
            let (reset, xml) = match options(&rest[1..]) {
                Ok(o) => o,
                Err(o) => return o,
            };
            let name = truncate(name);
            let Some(o) = host.nfacct.get_mut(&name) else {
                return err("error: No such file or directory");
            };
            let text = render(std::iter::once(&*o), xml);
            if reset {
                o.packets = 0;
                o.bytes = 0;
            }
            Output::ok(text)
        }
        "flush" => {
            if !rest.is_empty() {
                return err("too many arguments");
            }
            let used = referenced(&host.ruleset);
            host.nfacct.objects.retain(|o| used.contains(&o.name));
            Output::default()
        }
        "restore" => restore(host, stdin.unwrap_or("")),
        "version" => Output::ok(format!(
            "{TAG}: utility for the Netfilter extended accounting infrastructure\n"
        )),
        "help" => Output::ok(format!(
            "{TAG}: utility for the Netfilter extended accounting infrastructure\n{USAGE}\n\
Commands:\n\
  list [reset]\t\tShow every accounting object (and zero them)\n\
  add object-name\tMake a new accounting object\n\
  delete object-name\tRemove an accounting object\n\
  get object-name\tShow one accounting object\n\
  flush\t\t\tRemove every object no rule uses\n\
  restore\t\tRead objects back from 'list' output on stdin\n\
  monitor\t\tWait for quota notifications\n\
  version\t\tShow the version\n\
  help\t\t\tShow this help\n"
        )),
        other => Output::err(format!("{TAG}: Unknown command: {other}\n{USAGE}"), 1),
    }
}

/// `reset` and `xml` words of list/get.
fn options(words: &[&str]) -> Result<(bool, bool), Output> {
    let (mut reset, mut xml) = (false, false);
    for w in words {
        match *w {
            "reset" => reset = true,
            "xml" => xml = true,
            _ => return Err(err("unknown argument")),
        }
    }
    Ok((reset, xml))
}

fn render<'a>(objs: impl Iterator<Item = &'a Object>, xml: bool) -> String {
    let mut out = String::new();
    if xml {
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<nfacct>\n");
    }
    for o in objs {
        if xml {
            out.push_str(&format!(
                "<obj><name>{}</name><pkts>{:020}</pkts><bytes>{:020}</bytes></obj>\n",
                o.name, o.packets, o.bytes
            ));
        } else {
            out.push_str(&line(o));
        }
    }
    if xml {
        out.push_str("</nfacct>\n");
    }
    out
}

fn line(o: &Object) -> String {
    match o.quota {
        None => format!(
            "{{ pkts = {:020}, bytes = {:020} }} = {};\n",
            o.packets, o.bytes, o.name
        ),
        Some(q) => format!(
            "{{ pkts = {:020}, bytes = {:020}, quota = {:020}, mode = {}, overquota = {} }} = {};\n",
            o.packets,
            o.bytes,
            q.limit,
            if q.bytes { "byte" } else { "packet" },
            if o.overquota() { "yes" } else { "no" },
            o.name
        ),
    }
}

/// `nfacct restore`: `{ pkts = N, bytes = N } = NAME;` lines.
fn restore(host: &mut Host, text: &str) -> Output {
    for l in text.lines() {
        if l.trim().is_empty() {
            continue;
        }
        let Some(obj) = parse_line(l) else {
            return err("invalid line");
        };
        if host.nfacct.exists(&obj.name) {
            return err("error: Device or resource busy");
        }
        host.nfacct.objects.push(obj);
    }
    Output::default()
}

fn parse_line(l: &str) -> Option<Object> {
    let rest = l.trim_start().strip_prefix("{ pkts =")?;
    let (pk, rest) = rest.split_once(',')?;
    let rest = rest.trim_start().strip_prefix("bytes =")?;
    let (by, rest) = rest.split_once('}')?;
    let name = rest.trim_start().strip_prefix('=')?.trim();
    let name = name.strip_suffix(';').unwrap_or(name);
    let mut o = Object::new(&truncate(name));
    o.packets = pk.trim().parse().ok()?;
    o.bytes = by.trim().trim_end_matches(',').trim().parse().ok()?;
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(h: &mut Host, s: &str) -> Output {
        let argv: Vec<String> = s.split(' ').map(String::from).collect();
        run(h, &argv)
    }

    #[test]
    fn add_list_get_delete() {
        let mut h = Host::new("h");
        assert_eq!(sh(&mut h, "nfacct add a").exit, 0);
        assert_eq!(
            sh(&mut h, "nfacct add a").stderr,
            "nfacct v1.0.2: error: Device or resource busy\n"
        );
        sh(&mut h, "nfacct add q byte 100");
        assert_eq!(
            sh(&mut h, "nfacct list").stdout,
            "{ pkts = 00000000000000000000, bytes = 00000000000000000000 } = a;\n\
{ pkts = 00000000000000000000, bytes = 00000000000000000000, quota = 00000000000000000100, mode = byte, overquota = no } = q;\n"
        );
        assert_eq!(
            sh(&mut h, "nfacct get nosuch").stderr,
            "nfacct v1.0.2: error: No such file or directory\n"
        );
        assert_eq!(
            sh(&mut h, "nfacct list foo").stderr,
            "nfacct v1.0.2: unknown argument\n"
        );
        assert_eq!(
            sh(&mut h, "nfacct add x 1").stderr,
            "nfacct v1.0.2: missing quota value\n"
        );
        assert_eq!(
            sh(&mut h, "nfacct add x packets 1").stderr,
            "nfacct v1.0.2: argument must \"byte\" or \"packet\"\n"
        );
        assert_eq!(
            sh(&mut h, "nfacct delete a b").stderr,
            "nfacct v1.0.2: too many arguments\n"
        );
        assert_eq!(sh(&mut h, "nfacct del a").exit, 0);
        assert_eq!(
            sh(&mut h, "nfacct foo").stderr,
            "nfacct v1.0.2: Unknown command: foo\nUsage: nfacct command [parameters]...\n"
        );
        assert_eq!(sh(&mut h, "nfacct").stderr, USAGE);
    }

    #[test]
    fn names_truncate_and_restore() {
        let mut h = Host::new("h");
        sh(&mut h, "nfacct add 123456789012345678901234567890123");
        assert!(h.nfacct.exists("1234567890123456789012345678901"));
        let o = run_stdin(
            &mut h,
            &["nfacct".into(), "restore".into()],
            Some("{ pkts = 1, bytes = 2 } = r2;\n"),
        );
        assert_eq!(o.exit, 0);
        assert_eq!(h.nfacct.get_mut("r2").map(|o| o.bytes), Some(2));
        let o = run_stdin(
            &mut h,
            &["nfacct".into(), "restore".into()],
            Some("garbage\n"),
        );
        assert_eq!(o.stderr, "nfacct v1.0.2: invalid line\n");
    }
}
