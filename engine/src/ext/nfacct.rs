//! `-m nfacct --nfacct-name NAME`: counts matching packets and bytes in a
//! named accounting object (made with `nfacct add NAME`); always matches.

use super::XtResult;
use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError,
};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "nfacct",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("nfacct-name", 0).mand()],
    guided: true,
    help: concat!(
        "nfacct match options:\n",
        " --nfacct-name STRING\t\tAccounting object to count the packets in\n",
    ),
    new_match: Some(|| Box::new(Nfacct::default())),
    new_target: None,
};

/// The kernel keeps 31 characters of the name.
const MAX_NAME: usize = 31;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nfacct {
    pub name: String,
    /// Whether the object existed when the rule was made (the kernel looks it up then).
    pub found: bool,
}

impl Match for Nfacct {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        if arg.is_empty() {
            return Err(XtError::new(
                "Argument must have a minimum length of 1 characters\n",
            ));
        }
        let mut end = arg.len().min(MAX_NAME);
        while !arg.is_char_boundary(end) {
            end -= 1;
        }
        self.name = arg[..end].to_string();
        self.found = (cx.nfacct)(&self.name);
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if self.found {
            Ok(())
        } else {
            Err(KernelError::NoEntry)
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let len = cx.pkt.len() as u64;
        if let Some(o) = cx.nfacct.objects.iter_mut().find(|o| o.name == self.name) {
            o.packets += 1;
            o.bytes += len;
        }
        // Objects without a quota never say "over quota": always a match.
        Some(true)
    }

    fn save(&self, out: &mut String) {
        // Two blanks: iptables prints one before the quoted name itself.
        out.push_str(" --nfacct-name  ");
        out.push_str(&xtopt::save_string(&self.name));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" nfacct-name  ");
        out.push_str(&xtopt::save_string(&self.name));
    }

    fn explain(&self) -> String {
        format!(
            "Always matches; counts the packet in the accounting object \"{}\"",
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp};

    #[test]
    fn counts_into_the_object() {
        let mut w = lab::world();
        sh(&mut w, 0, "nfacct add web");
        sh(&mut w, 0, "iptables -A INPUT -m nfacct --nfacct-name web");
        sh(
            &mut w,
            0,
            "iptables -A INPUT -p udp -m nfacct --nfacct-name web",
        );
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 12));
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 2));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![2, 2]);
        assert_eq!(
            sh(&mut w, 0, "nfacct get web"),
            "{ pkts = 00000000000000000004, bytes = 00000000000000000140 } = web;\n"
        );
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn needs_the_object() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -m nfacct --nfacct-name web");
        assert_eq!(out.exit, 4);
        assert_eq!(
            out.stderr,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (No such file or directory): rule in chain INPUT\n"
        );
        assert_eq!(run(&mut h, "nfacct add web").exit, 0);
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m nfacct --nfacct-name web").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m nfacct --nfacct-name  web\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with("anywhere             nfacct-name  web\n"));
        assert!(
            run(&mut h, "iptables -A INPUT -m nfacct ! --nfacct-name web")
                .stderr
                .contains("nfacct: option \"--nfacct-name\" cannot be inverted.\n\n")
        );
    }
}
