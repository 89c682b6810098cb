//! `-m socket`: matches packets that belong to a local socket (an
//! established one, or a listener), as transparent proxying needs.

use super::{CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::{check::hooks_outside, Hook};

const O_TRANSPARENT: u8 = 0;
const O_NOWILDCARD: u8 = 1;
const O_RESTORESKMARK: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "socket",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("transparent", O_TRANSPARENT),
        OptSpec::flag("nowildcard", O_NOWILDCARD),
        OptSpec::flag("restore-skmark", O_RESTORESKMARK),
    ],
    guided: true,
    help: concat!(
        "socket match options:\n",
        "  --nowildcard     Also count listeners bound to the any-address (0.0.0.0)\n",
        "  --transparent    Only sockets with IP_TRANSPARENT set\n",
        "  --restore-skmark Copy the socket's mark to the packet when\n",
        "                   the socket matches and the --transparent /\n",
        "                   --nowildcard conditions hold\n",
        "\n",
    ),
    new_match: Some(|| Box::new(Socket::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Socket {
    pub transparent: bool,
    pub nowildcard: bool,
    pub restore_skmark: bool,
}

impl Socket {
    fn flags(&self) -> String {
        let mut s = String::new();
        for (on, name) in [
            (self.transparent, " --transparent"),
            (self.nowildcard, " --nowildcard"),
            (self.restore_skmark, " --restore-skmark"),
        ] {
            if on {
                s.push_str(name);
            }
        }
        s
    }
}

impl Match for Socket {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        match id {
            O_TRANSPARENT => self.transparent = true,
            O_NOWILDCARD => self.nowildcard = true,
            O_RESTORESKMARK => self.restore_skmark = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if hooks_outside(cx.hooks, &[Hook::Prerouting, Hook::Input]) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&self.flags());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" socket");
        out.push_str(&self.flags());
    }

    fn explain(&self) -> String {
        let mut s = String::from("Matches packets that belong to a local socket");
        if self.transparent {
            s.push_str(" marked transparent");
        }
        if !self.nowildcard {
            s.push_str(" (listeners on 0.0.0.0 do not count)");
        }
        if self.restore_skmark {
            s.push_str("; the packet takes the socket's mark");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn hooks_and_texts() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -t mangle -A PREROUTING -m socket --restore-skmark --transparent",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -t mangle -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -m socket --transparent --restore-skmark\n"
        );
        assert!(run(&mut h, "iptables -t mangle -L PREROUTING")
            .stdout
            .ends_with("anywhere             socket --transparent --restore-skmark\n"));
        assert_eq!(run(&mut h, "iptables -A OUTPUT -m socket").exit, 4);
        assert_eq!(run(&mut h, "iptables -A INPUT -m socket").exit, 0);
    }
}
