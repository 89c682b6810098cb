//! `-m osf --genre NAME`: passive OS fingerprinting of TCP SYN packets
//! against the kernel's loaded fingerprint list.

use super::EvalCx;
use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::{check::hooks_outside, Hook};

const O_GENRE: u8 = 0;
const O_TTL: u8 = 1;
const O_LOG: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "osf",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("genre", O_GENRE).mand().inv(),
        OptSpec::arg("ttl", O_TTL),
        OptSpec::arg("log", O_LOG),
    ],
    guided: true,
    help: concat!(
        "OS fingerprint match options:\n",
        "[!] --genre string     Operating system genre guessed from the SYN packet\n",
        "--ttl level            How the packet's TTL is compared with the fingerprint's:\n",
        "       0                       must be equal (hosts on the same network)\n",
        "       1                       may be lower (hosts further away)\n",
        "       2                       not compared (also finds nmap probes, less reliable)\n",
        "--log level            Log guessed genres to the kernel log, matching or not:\n",
        "       0                       every match and every unknown packet\n",
        "       1                       the first match only\n",
        "       2                       every known match\n",
    ),
    new_match: Some(|| Box::new(Osf::default())),
    new_target: None,
};

/// The kernel keeps 31 characters of the genre.
const MAX_GENRE: usize = 31;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Osf {
    pub genre: String,
    pub inv: bool,
    pub ttl: Option<u32>,
    pub log: Option<u32>,
}

impl Match for Osf {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_GENRE => {
                let mut end = arg.len().min(MAX_GENRE);
                while !arg.is_char_boundary(end) {
                    end -= 1;
                }
                self.genre = arg[..end].to_string();
                self.inv = inv;
            }
            O_TTL => self.ttl = Some(xtopt::uint("osf", "ttl", arg, 0, 2)? as u32),
            O_LOG => self.log = Some(xtopt::uint("osf", "log", arg, 0, 2)? as u32),
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.proto != 6 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        if hooks_outside(cx.hooks, &[Hook::Prerouting, Hook::Input, Hook::Forward]) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        // No fingerprints are loaded (nfnl_osf): nothing matches, whatever
        // the inversion (the kernel ignores it).
        Some(false)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        format!(
            "`{}` did not match: no OS fingerprints are loaded",
            opt.trim_start()
        )
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        // Saved as is, without quotes, as iptables does.
        out.push_str(&format!(" --genre {}", self.genre));
        if let Some(t) = self.ttl {
            out.push_str(&format!(" --ttl {t}"));
        }
        if let Some(l) = self.log {
            out.push_str(&format!(" --log {l}"));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " OS fingerprint match {}{}",
            if self.inv { "! " } else { "" },
            self.genre
        ));
    }

    fn explain(&self) -> String {
        format!(
            "Matches TCP SYN packets whose fingerprint {} the \"{}\" operating system",
            if self.inv {
                "does not look like"
            } else {
                "looks like"
            },
            self.genre
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp};

    #[test]
    fn nothing_without_fingerprints() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -p tcp -m osf --genre Linux");
        sh(&mut w, 0, "iptables -A INPUT -p tcp -m osf ! --genre Linux");
        inject(&mut w, tcp("10.0.0.2", 1, "10.0.0.1", 2, "S"));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn needs_tcp_and_input_side_hooks() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m osf --genre linux").exit,
            4
        );
        assert_eq!(
            run(&mut h, "iptables -A OUTPUT -p tcp -m osf --genre linux").exit,
            4
        );
        let out = run(
            &mut h,
            "iptables -A INPUT -p tcp -m osf ! --genre Linux --log 1",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -p tcp -m osf ! --genre Linux --log 1\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with("anywhere             OS fingerprint match ! Linux\n"));
        assert!(
            run(&mut h, "iptables -A INPUT -p tcp -m osf --genre x --ttl 3")
                .stderr
                .contains("osf: bad value for option \"--ttl\", or out of range (0-2).\n\n")
        );
    }
}
