//! `-m helper --helper NAME`: matches packets of connections that a
//! conntrack helper (ftp, sip, ...) handles or created.

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "helper",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("helper", 0).mand().inv()],
    guided: true,
    help: concat!(
        "helper match options:\n",
        "[!] --helper string        Match connections handled by the named helper\n",
    ),
    new_match: Some(|| Box::new(Helper::default())),
    new_target: None,
};

/// The kernel keeps 29 characters of the name.
const MAX_NAME: usize = 29;

/// The helper of the connection's master (the connection that expected
/// this one), as `helper_mt` looks it up.
fn master_helper<'a>(cx: &'a EvalCx) -> Option<&'a str> {
    let master = cx.ct_entry()?.master?;
    cx.conntrack
        .iter()
        .find(|e| e.id == master)?
        .helper
        .as_deref()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub inv: bool,
}

impl Match for Helper {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let mut end = arg.len().min(MAX_NAME);
        while !arg.is_char_boundary(end) {
            end -= 1;
        }
        self.name = arg[..end].to_string();
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --helper ");
        out.push_str(&xtopt::save_string(&self.name));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " helper match {}\"{}\"",
            if self.inv { "! " } else { "" },
            self.name
        ));
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(match master_helper(cx) {
            // The kernel compares as many bytes as the helper's name has.
            Some(h) => (self.name.is_empty() || self.name.starts_with(h)) != self.inv,
            None => self.inv,
        })
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let opt = opt.trim_start();
        match (cx.ct_entry(), master_helper(cx)) {
            (None, _) => format!("`{opt}` did not match: the packet has no connection"),
            (Some(e), None) if e.master.is_none() => {
                format!("`{opt}` did not match: the connection was not expected by a helper")
            }
            (Some(_), None) => {
                format!("`{opt}` did not match: the master connection has no helper")
            }
            (Some(_), Some(h)) => format!("`{opt}` did not match: the helper is \"{h}\""),
        }
    }

    fn explain(&self) -> String {
        format!(
            "Matches connections {}expected by the \"{}\" helper (such as FTP data \
             connections), by the helper of their master connection",
            if self.inv { "not " } else { "" },
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, why};

    #[test]
    fn matches_connections_a_helper_expected() {
        let mut w = lab::world();
        for port in [21, 5001] {
            w.hosts[0].listeners.push(crate::sim::host::Listener {
                proto: 6,
                port,
                addr: None,
                service: String::new(),
            });
        }
        sh(&mut w, 0, "iptables -A INPUT -m helper --helper ftp");
        sh(&mut w, 0, "iptables -A INPUT -m helper --helper ftp-2121");
        sh(&mut w, 0, "iptables -A INPUT -m helper ! --helper sip");
        sh(&mut w, 0, "iptables -A INPUT -m helper --helper \"\"");
        // The control connection (port 21) itself is not matched.
        inject(&mut w, tcp("10.0.0.2", 4000, "10.0.0.1", 21, "S"));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0, 1, 0]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--helper ftp` did not match: the connection was not expected by a helper"
        );
        // A data connection, as the ftp helper's expectation would make it.
        inject(&mut w, tcp("10.0.0.2", 20, "10.0.0.1", 5001, "S"));
        let ids: Vec<(usize, u32)> = (0..4)
            .filter_map(|i| w.hosts[0].conntrack.get(i).map(|e| (i, e.id)))
            .collect();
        let (ctl, data) = (ids[0], ids[1]);
        w.hosts[0].conntrack.get_mut(ctl.0).unwrap().helper = Some("ftp".into());
        w.hosts[0].conntrack.get_mut(data.0).unwrap().master = Some(ctl.1);
        inject(&mut w, tcp("10.0.0.2", 20, "10.0.0.1", 5001, "S"));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1, 3, 1]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_list_truncation() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m helper ! --helper ftp").exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m helper --helper 123456789012345678901234567890"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m helper ! --helper ftp\n\
-A INPUT -m helper --helper 12345678901234567890123456789\n"
        );
        let l = run(&mut h, "iptables -L INPUT").stdout;
        assert!(l.contains("anywhere             helper match ! \"ftp\"\n"));
    }
}
