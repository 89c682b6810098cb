//! Replay files: a (shrunk) case written out exactly — sets, ruleset and
//! packets as bytes — so `FUZZ_REPLAY=FILE` reruns it without the
//! generator or the shrinker.
//!
//! ```text
//! == ipset
//! create s1 hash:ip
//! == restore
//! *filter
//! ...
//! == sysctl
//! net.netfilter.nf_conntrack_tcp_be_liberal=1
//! == steps
//! ID CASE ORIGIN MAC HEX [r=ID:HEX] [q=ID:HEX:FROM_DEST]
//! ```
//!
//! The `sysctl` section is there only when the router's settings differ
//! from the defaults.

use super::gen::{Origin, Ruleset, Step, TAG};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd hex length: {s}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn write(rs: &Ruleset, steps: &[Step], log_tag: &str) -> String {
    let mut s = String::from("# kernel fuzz replay v1\n== ipset\n");
    s.push_str(&rs.ipset_text());
    s.push_str("== restore\n");
    s.push_str(&rs.restore_text(log_tag).replace(log_tag, TAG));
    if !rs.sysctls.is_empty() {
        s.push_str("== sysctl\n");
        for (k, v) in &rs.sysctls {
            s.push_str(&format!("{k}={v}\n"));
        }
    }
    s.push_str("== steps\n");
    for st in steps {
        let origin = match st.origin {
            Origin::Client => "C",
            Origin::Server => "S",
            Origin::Router => "R",
        };
        s.push_str(&format!(
            "{} {} {origin} {} {}",
            st.id,
            st.case,
            mac(&st.src_mac),
            hex(&st.pkt)
        ));
        if let Some((id, p)) = &st.reply_to {
            s.push_str(&format!(" r={id}:{}", hex(p)));
        }
        if let Some((id, p, d)) = &st.quote {
            s.push_str(&format!(" q={id}:{}:{}", hex(p), u8::from(*d)));
        }
        s.push('\n');
    }
    s
}

pub fn read(text: &str) -> Result<(Ruleset, Vec<Step>), String> {
    let (mut ipset, mut restore, mut steps) = (String::new(), String::new(), Vec::new());
    let mut sysctls = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if line.starts_with('#') && section != "restore" {
            continue;
        }
        if let Some(name) = line.strip_prefix("== ") {
            section = match name.trim() {
                "ipset" => "ipset",
                "restore" => "restore",
                "steps" => "steps",
                "sysctl" => "sysctl",
                other => return Err(format!("unknown section {other}")),
            };
            continue;
        }
        match section {
            "ipset" => {
                ipset.push_str(line);
                ipset.push('\n');
            }
            "restore" => {
                restore.push_str(line);
                restore.push('\n');
            }
            "sysctl" if !line.trim().is_empty() => {
                let (k, v) = line
                    .split_once('=')
                    .ok_or_else(|| format!("not KEY=VALUE: {line}"))?;
                sysctls.push((k.trim().to_string(), v.trim().to_string()));
            }
            "steps" if !line.trim().is_empty() => {
                let w: Vec<&str> = line.split_whitespace().collect();
                if w.len() < 5 {
                    return Err(format!("short step line: {line}"));
                }
                let num = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
                let origin = match w[2] {
                    "C" => Origin::Client,
                    "S" => Origin::Server,
                    "R" => Origin::Router,
                    o => return Err(format!("unknown origin {o}")),
                };
                let mut src_mac = [0u8; 6];
                for (i, b) in w[3].split(':').enumerate().take(6) {
                    src_mac[i] = u8::from_str_radix(b, 16).map_err(|e| e.to_string())?;
                }
                let mut st = Step {
                    id: num(w[0])?,
                    case: num(w[1])?,
                    origin,
                    src_mac,
                    pkt: unhex(w[4])?,
                    reply_to: None,
                    quote: None,
                };
                for extra in &w[5..] {
                    if let Some(r) = extra.strip_prefix("r=") {
                        let (id, p) = r.split_once(':').ok_or("bad r=")?;
                        st.reply_to = Some((num(id)?, unhex(p)?));
                    } else if let Some(q) = extra.strip_prefix("q=") {
                        let parts: Vec<&str> = q.split(':').collect();
                        if parts.len() != 3 {
                            return Err("bad q=".into());
                        }
                        st.quote = Some((num(parts[0])?, unhex(parts[1])?, parts[2] == "1"));
                    }
                }
                steps.push(st);
            }
            _ => {}
        }
    }
    Ok((
        Ruleset {
            verbatim: Some((ipset, restore)),
            sysctls,
            ..Default::default()
        },
        steps,
    ))
}
