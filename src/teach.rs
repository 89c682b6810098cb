//! Teaching in the page: a lab's introduction as paragraphs with `code`,
//! the checks' live states and their summary, and the lab editor's helpers
//! (a step from the commands typed on a host, a check from a small form),
//! which add to the lab file's JSON text without reordering what the
//! teacher wrote.

use crate::session::Action;
use serde::Serialize;

/// A piece of a paragraph: plain text or `code` (in backquotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    Code(String),
}

/// Paragraphs (blank line between them) of spans; an unclosed backquote is text.
pub fn paragraphs(text: &str) -> Vec<Vec<Span>> {
    let mut out = Vec::new();
    let mut para = String::new();
    let flush = |para: &mut String, out: &mut Vec<Vec<Span>>| {
        let p = para.trim();
        if !p.is_empty() {
            out.push(spans(p));
        }
        para.clear();
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut para, &mut out);
        } else {
            if !para.is_empty() {
                para.push(' ');
            }
            para.push_str(line.trim());
        }
    }
    flush(&mut para, &mut out);
    out
}

/// Text with `code` in backquotes.
pub fn spans(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('`') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('`') else {
            break;
        };
        if i > 0 {
            out.push(Span::Text(rest[..i].to_string()));
        }
        out.push(Span::Code(after[..j].to_string()));
        rest = &after[j + 1..];
    }
    if !rest.is_empty() {
        out.push(Span::Text(rest.to_string()));
    }
    out
}

/// One check as the checks panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckState {
    pub id: String,
    pub title: String,
    /// The teacher's nudge, shown while the check fails.
    pub hint: String,
    pub pass: bool,
    /// Why it fails (or what was seen), in words.
    pub detail: String,
}

/// "3/5 checks pass", or "All 5 checks pass" (`None` without checks).
pub fn summary(states: &[CheckState]) -> Option<String> {
    let total = states.len();
    if total == 0 {
        return None;
    }
    let pass = states.iter().filter(|c| c.pass).count();
    Some(match (pass == total, total) {
        (true, 1) => "The check passes".to_string(),
        (true, _) => format!("All {total} checks pass"),
        (false, 1) => "0/1 checks pass".to_string(),
        (false, _) => format!("{pass}/{total} checks pass"),
    })
}

/// Whether every check passes (and there is at least one).
pub fn all_pass(states: &[CheckState]) -> bool {
    !states.is_empty() && states.iter().all(|c| c.pass)
}

/// The commands typed on host `host` from action `from` on, one entry per
/// command text (a here-document stays one entry).
pub fn commands_since(actions: &[Action], host: &str, from: usize) -> Vec<String> {
    actions
        .iter()
        .skip(from)
        .filter_map(|a| match a {
            Action::Cmd { h, t } if h == host => {
                let t = t.trim_end_matches('\n').trim();
                (!t.is_empty()).then(|| t.to_string())
            }
            _ => None,
        })
        .collect()
}

/// A step as the lab file writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NewStep {
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub look: String,
}

/// The kinds of check the editor's form writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckForm {
    Reach {
        from: String,
        to: String,
        proto: String,
        port: String,
        expect: String,
    },
    Policy {
        host: String,
        table: String,
        chain: String,
        is: String,
    },
    Output {
        host: String,
        command: String,
        /// One substring a line.
        contains: String,
        lacks: String,
    },
}

#[derive(Serialize)]
struct ReachOut {
    from: String,
    to: String,
    proto: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    expect: String,
}

#[derive(Serialize)]
struct PolicyOut {
    host: String,
    table: String,
    chain: String,
    is: String,
}

#[derive(Serialize)]
struct OutputOut {
    host: String,
    command: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contains: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lacks: Vec<String>,
}

#[derive(Serialize)]
struct CheckOut {
    id: String,
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reach: Option<ReachOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<OutputOut>,
}

/// An id from a title: lower case words joined by `-`, unique among `taken`.
pub fn check_id(title: &str, taken: &[String]) -> String {
    let mut base = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            base.push(c.to_ascii_lowercase());
        } else if !base.ends_with('-') && !base.is_empty() {
            base.push('-');
        }
        if base.len() >= 32 {
            break;
        }
    }
    let base = base.trim_end_matches('-');
    let base = if base.is_empty() { "check" } else { base };
    let mut id = base.to_string();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn lines_of(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// A check's JSON from the form; `taken` are the ids the lab has.
pub fn check_json(
    title: &str,
    hint: &str,
    form: &CheckForm,
    taken: &[String],
) -> Result<String, String> {
    let title = title.trim();
    if title.is_empty() {
        return Err("a check needs a title".into());
    }
    let need = |v: &str, what: &str| -> Result<String, String> {
        let v = v.trim();
        if v.is_empty() {
            Err(format!("a check needs {what}"))
        } else {
            Ok(v.to_string())
        }
    };
    let mut out = CheckOut {
        id: check_id(title, taken),
        title: title.to_string(),
        hint: hint.trim().to_string(),
        reach: None,
        policy: None,
        output: None,
    };
    match form {
        CheckForm::Reach {
            from,
            to,
            proto,
            port,
            expect,
        } => {
            let proto = if proto.trim().is_empty() {
                "tcp".to_string()
            } else {
                proto.trim().to_ascii_lowercase()
            };
            let port = match port.trim() {
                "" => None,
                p => Some(
                    p.parse::<u16>()
                        .map_err(|_| format!("\"{p}\" is not a port number (0-65535)"))?,
                ),
            };
            let ports = proto == "tcp" || proto == "udp";
            if port.is_none() && ports {
                return Err(format!("a {proto} reachability check needs a port"));
            }
            out.reach = Some(ReachOut {
                from: need(from, "the host the probe leaves from")?,
                to: need(to, "the host or address it goes to")?,
                proto,
                port: if ports { port } else { None },
                expect: need(expect, "what is expected")?,
            });
        }
        CheckForm::Policy {
            host,
            table,
            chain,
            is,
        } => {
            out.policy = Some(PolicyOut {
                host: need(host, "a host")?,
                table: if table.trim().is_empty() {
                    "filter".into()
                } else {
                    table.trim().to_string()
                },
                chain: need(chain, "a chain")?,
                is: need(is, "the policy (ACCEPT or DROP)")?.to_ascii_uppercase(),
            });
        }
        CheckForm::Output {
            host,
            command,
            contains,
            lacks,
        } => {
            let contains = lines_of(contains);
            let lacks = lines_of(lacks);
            if contains.is_empty() && lacks.is_empty() {
                return Err("an output check needs a text the output contains or lacks".into());
            }
            out.output = Some(OutputOut {
                host: need(host, "a host")?,
                command: need(command, "a command")?,
                contains,
                lacks,
            });
        }
    }
    serde_json::to_string_pretty(&out).map_err(|e| e.to_string())
}

/// A step's JSON.
pub fn step_json(step: &NewStep) -> Result<String, String> {
    if step.title.trim().is_empty() {
        return Err("a step needs a title".into());
    }
    serde_json::to_string_pretty(step).map_err(|e| e.to_string())
}

/// A top-level member of a JSON object: its key and its value's byte range.
type Member = (String, usize, usize);

/// The byte offsets of a JSON object's `{` and `}` and its top-level members.
fn members(text: &str) -> Option<(usize, usize, Vec<Member>)> {
    let b = text.as_bytes();
    let open = text.find('{')?;
    let mut depth = 0usize;
    let mut i = open;
    let mut out = Vec::new();
    let mut key: Option<String> = None;
    let mut value_start: Option<usize> = None;
    let mut last_string: Option<(usize, usize)> = None;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            if depth == 1 && key.is_none() {
                last_string = Some((start + 1, i.min(b.len())));
            }
            i += 1;
            continue;
        }
        match c {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 1 {
                    if let (Some(k), Some(s)) = (key.take(), value_start.take()) {
                        out.push((k, s, i));
                    }
                    return Some((open, i, out));
                }
                depth = depth.checked_sub(1)?;
            }
            b':' if depth == 1 && key.is_none() => {
                let (s, e) = last_string.take()?;
                key = Some(text.get(s..e)?.to_string());
                value_start = Some(i + 1);
            }
            b',' if depth == 1 => {
                if let (Some(k), Some(s)) = (key.take(), value_start.take()) {
                    out.push((k, s, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn indent(json: &str, by: &str) -> String {
    json.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{by}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lab text with `item` (JSON) appended to the top-level array `key`
/// (made when missing). Everything else stays as written.
pub fn append_item(text: &str, key: &str, item: &str) -> Result<String, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| format!("the lab is not valid JSON ({e})"))?
        .as_object()
        .ok_or("the lab file is not a JSON object")?;
    let (_, close, members) = members(text).ok_or("the lab file is not a JSON object")?;
    let item = indent(item, "    ");
    match members.iter().find(|(k, _, _)| k == key) {
        Some((_, s, e)) => {
            let value = &text[*s..*e];
            let v = value.trim();
            if !v.starts_with('[') || !v.ends_with(']') {
                return Err(format!("\"{key}\" is not a list"));
            }
            let lead = value.len() - value.trim_start().len();
            let open = s + lead;
            let end = s + value.trim_end().len() - 1;
            let inner = text[open + 1..end].trim();
            let mut out = String::with_capacity(text.len() + item.len() + 16);
            if inner.is_empty() {
                out.push_str(&text[..=open]);
                out.push_str(&format!("\n    {item}\n  "));
                out.push_str(&text[end..]);
            } else {
                let last = open + 1 + text[open + 1..end].trim_end().len();
                out.push_str(&text[..last]);
                out.push_str(&format!(",\n    {item}"));
                out.push_str(&text[last..]);
            }
            Ok(out)
        }
        None => {
            let last = text[..close].trim_end().len();
            let comma = if members.is_empty() { "" } else { "," };
            Ok(format!(
                "{}{comma}\n  \"{key}\": [\n    {item}\n  ]\n{}",
                &text[..last],
                &text[close..]
            ))
        }
    }
}

/// The ids of a lab text's checks (for unique new ids).
pub fn check_ids(text: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.get("checks")?.as_array().map(|a| {
                a.iter()
                    .filter_map(|c| c.get("id")?.as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intro_paragraphs_and_code() {
        let p = paragraphs("First `iptables -L`\nline two.\n\n  \nSecond `x` and `open");
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0],
            vec![
                Span::Text("First ".into()),
                Span::Code("iptables -L".into()),
                Span::Text(" line two.".into())
            ]
        );
        assert_eq!(
            p[1],
            vec![
                Span::Text("Second ".into()),
                Span::Code("x".into()),
                Span::Text(" and `open".into())
            ]
        );
        assert!(paragraphs("\n\n").is_empty());
    }

    fn st(pass: bool) -> CheckState {
        CheckState {
            id: "a".into(),
            title: "t".into(),
            hint: String::new(),
            pass,
            detail: String::new(),
        }
    }

    #[test]
    fn summaries() {
        assert_eq!(summary(&[]), None);
        assert_eq!(
            summary(&[st(true), st(false), st(true)]).unwrap(),
            "2/3 checks pass"
        );
        assert_eq!(summary(&[st(true), st(true)]).unwrap(), "All 2 checks pass");
        assert!(all_pass(&[st(true)]));
        assert!(!all_pass(&[]));
        assert!(!all_pass(&[st(true), st(false)]));
    }

    #[test]
    fn ids_are_unique_slugs() {
        let taken = vec!["ssh-dropped".to_string()];
        assert_eq!(check_id("SSH dropped!", &taken), "ssh-dropped-2");
        assert_eq!(check_id("INPUT policy", &taken), "input-policy");
        assert_eq!(check_id("!!", &[]), "check");
    }

    const LAB: &str =
        "{\n  \"version\": 1,\n  \"name\": \"x\",\n  \"hosts\": [ { \"name\": \"a\" } ]\n}\n";

    #[test]
    fn appends_keep_the_text_and_its_order() {
        let step = step_json(&NewStep {
            title: "Look".into(),
            host: "a".into(),
            commands: vec!["iptables -L".into()],
            ..Default::default()
        })
        .unwrap();
        let one = append_item(LAB, "steps", &step).unwrap();
        assert!(
            one.starts_with("{\n  \"version\": 1,\n  \"name\": \"x\""),
            "{one}"
        );
        let v: serde_json::Value = serde_json::from_str(&one).unwrap();
        assert_eq!(v["steps"][0]["commands"][0], "iptables -L");
        assert_eq!(v["hosts"][0]["name"], "a");
        // Keys in the lab file's order: title first.
        assert!(one.find("\"title\"").unwrap() < one.find("\"host\": \"a\"").unwrap());
        let two = append_item(&one, "steps", &step).unwrap();
        let v: serde_json::Value = serde_json::from_str(&two).unwrap();
        assert_eq!(v["steps"].as_array().unwrap().len(), 2);
        // An empty list is filled; a string value with brackets does not confuse it.
        let t = r#"{"name": "a [b] {c}", "checks": [ ], "hosts": []}"#;
        let c = check_json(
            "Policy",
            "",
            &CheckForm::Policy {
                host: "a".into(),
                table: String::new(),
                chain: "INPUT".into(),
                is: "drop".into(),
            },
            &check_ids(t),
        )
        .unwrap();
        let out = append_item(t, "checks", &c).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["name"], "a [b] {c}");
        assert_eq!(v["checks"][0]["policy"]["is"], "DROP");
        assert_eq!(v["checks"][0]["policy"]["table"], "filter");
        assert_eq!(check_ids(&out), vec!["policy".to_string()]);
        assert!(append_item("[1]", "steps", &c).is_err());
        assert!(append_item("{\"steps\": 3}", "steps", &c).is_err());
        assert!(append_item("{", "steps", &c).is_err());
        let empty = append_item("{}", "steps", &step).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&empty).unwrap()["steps"].is_array());
    }

    #[test]
    fn check_forms() {
        let reach = |proto: &str, port: &str| CheckForm::Reach {
            from: "client".into(),
            to: "fw".into(),
            proto: proto.into(),
            port: port.into(),
            expect: "dropped".into(),
        };
        let j = check_json("SSH", "try -j DROP", &reach("", "22"), &[]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["reach"]["proto"], "tcp");
        assert_eq!(v["reach"]["port"], 22);
        assert_eq!(v["hint"], "try -j DROP");
        assert!(check_json("SSH", "", &reach("tcp", ""), &[]).is_err());
        assert!(check_json("SSH", "", &reach("tcp", "99999"), &[]).is_err());
        assert!(check_json("", "", &reach("tcp", "22"), &[]).is_err());
        let v: serde_json::Value =
            serde_json::from_str(&check_json("ping", "", &reach("icmp", ""), &[]).unwrap())
                .unwrap();
        assert!(v["reach"].get("port").is_none());
        let out = CheckForm::Output {
            host: "a".into(),
            command: "nmap fw".into(),
            contains: "22/tcp filtered\n\n".into(),
            lacks: String::new(),
        };
        let v: serde_json::Value =
            serde_json::from_str(&check_json("scan", "", &out, &[]).unwrap()).unwrap();
        assert_eq!(v["output"]["contains"][0], "22/tcp filtered");
        assert!(v["output"].get("lacks").is_none());
    }

    #[test]
    fn commands_of_a_host_since_a_mark() {
        let a = vec![
            Action::Cmd {
                h: "fw".into(),
                t: "iptables -F\n".into(),
            },
            Action::Cmd {
                h: "client".into(),
                t: "ping x\n".into(),
            },
            Action::ClockAdvance { ns: 1 },
            Action::Cmd {
                h: "fw".into(),
                t: "iptables -P INPUT DROP\n".into(),
            },
        ];
        assert_eq!(
            commands_since(&a, "fw", 0),
            vec!["iptables -F", "iptables -P INPUT DROP"]
        );
        assert_eq!(commands_since(&a, "fw", 1), vec!["iptables -P INPUT DROP"]);
        assert!(commands_since(&a, "fw", 9).is_empty());
    }
}
