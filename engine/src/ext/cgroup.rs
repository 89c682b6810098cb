//! `-m cgroup`: matches locally generated or delivered packets by the control
//! group of their socket, by cgroup2 path or net_cls class id.

use super::EvalCx;
use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::{check::hooks_outside, Hook};

const O_PATH: u8 = 0;
const O_CLASSID: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "cgroup",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("path", O_PATH).inv(),
        OptSpec::arg("cgroup", O_CLASSID).inv(),
    ],
    guided: true,
    help: concat!(
        "cgroup match options:\n",
        "[!] --path path                 Socket's cgroup2 is this one or below it\n",
        "[!] --cgroup classid            Socket's net_cls class id (not with --path)\n",
    ),
    new_match: Some(|| Box::new(Cgroup::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cgroup {
    pub path: Option<(String, bool)>,
    pub classid: Option<(u32, bool)>,
}

/// Cgroup2 paths that exist on a simulated host: only the root.
fn path_exists(p: &str) -> bool {
    p.is_empty() || p.trim_start_matches('/').is_empty()
}

/// A locally generated packet (it has a socket).
fn local(cx: &EvalCx) -> bool {
    matches!(cx.hook, Hook::Output | Hook::Postrouting) && cx.pkt.meta.in_iface.is_none()
}

impl Match for Cgroup {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_PATH => self.path = Some((arg.to_string(), inv)),
            O_CLASSID => {
                let v = xtopt::uint("cgroup", "cgroup", arg, 0, u32::MAX as u64)? as u32;
                self.classid = Some((v, inv));
            }
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if hooks_outside(cx.hooks, &[Hook::Input, Hook::Output, Hook::Postrouting]) {
            return Err(KernelError::Invalid);
        }
        match (&self.path, &self.classid) {
            (Some(_), Some(_)) | (None, None) => Err(KernelError::Invalid),
            (Some((p, _)), None) if !path_exists(p) => Err(KernelError::Invalid),
            _ => Ok(()),
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        // Only locally generated packets have a socket; every process of a
        // simulated host lives in the root cgroup "/" with class id 0.
        if !local(cx) {
            return Some(false);
        }
        Some(match (&self.path, self.classid) {
            (Some((_, inv)), _) => !inv,
            (None, Some((id, inv))) => (id == 0) != inv,
            (None, None) => false,
        })
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let why = if !local(cx) {
            "the packet has no local socket (not sent by this host)"
        } else if self.path.is_some() {
            "the sending process is in the root cgroup /"
        } else {
            "the socket's class id is 0"
        };
        format!("`{}` did not match: {why}", opt.trim_start())
    }

    fn save(&self, out: &mut String) {
        if let Some((p, inv)) = &self.path {
            out.push_str(if *inv { " ! --path " } else { " --path " });
            out.push_str(&xtopt::save_string(p));
        }
        if let Some((c, inv)) = self.classid {
            out.push_str(&format!("{} --cgroup {c}", if inv { " !" } else { "" }));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" cgroup");
        if let Some((p, inv)) = &self.path {
            out.push_str(&format!(" {}{p}", if *inv { "! " } else { "" }));
        }
        if let Some((c, inv)) = self.classid {
            out.push_str(&format!(" {}{c}", if inv { "! " } else { "" }));
        }
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        if let Some((p, inv)) = &self.path {
            parts.push(format!(
                "the socket's cgroup is {}{p} or below it",
                if *inv { "not " } else { "" }
            ));
        }
        if let Some((c, inv)) = self.classid {
            parts.push(format!(
                "the socket's net_cls class id is {}{c}",
                if inv { "not " } else { "" }
            ));
        }
        format!("Matches when {}", parts.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, sh, udp, why};

    #[test]
    fn root_cgroup_and_class_zero() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A OUTPUT -m cgroup --path /");
        sh(&mut w, 0, "iptables -A OUTPUT -m cgroup ! --path /");
        sh(&mut w, 0, "iptables -A OUTPUT -m cgroup --cgroup 0");
        sh(&mut w, 0, "iptables -A OUTPUT -m cgroup --cgroup 10");
        w.send(0, udp("10.0.0.1", 1, "10.0.0.2", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "OUTPUT"), vec![1, 0, 1, 0]);
        assert_eq!(
            why(&w, "OUTPUT", 4),
            "`--cgroup 10` did not match: the socket's class id is 0"
        );
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn kernel_rules() {
        let mut h = Host::new("h");
        let add = |h: &mut Host, a: &str| run(h, &format!("iptables -t mangle -A {a}")).exit;
        assert_eq!(add(&mut h, "OUTPUT -m cgroup ! --path /"), 0);
        assert_eq!(add(&mut h, "INPUT -m cgroup --cgroup 0x10"), 0);
        assert_eq!(add(&mut h, "FORWARD -m cgroup --cgroup 1"), 4);
        assert_eq!(add(&mut h, "OUTPUT -m cgroup"), 4);
        assert_eq!(add(&mut h, "OUTPUT -m cgroup --cgroup 1 --path /"), 4);
        assert_eq!(add(&mut h, "OUTPUT -m cgroup --path /no/such"), 4);
        assert_eq!(
            run(&mut h, "iptables -t mangle -S")
                .stdout
                .lines()
                .filter(|l| l.starts_with("-A"))
                .collect::<Vec<_>>(),
            vec![
                "-A INPUT -m cgroup --cgroup 16",
                "-A OUTPUT -m cgroup ! --path \"/\""
            ]
        );
        let l = run(&mut h, "iptables -t mangle -L OUTPUT -n").stdout;
        assert!(l.ends_with("0.0.0.0/0            cgroup ! /\n"), "{l}");
    }
}
