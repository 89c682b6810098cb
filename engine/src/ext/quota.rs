//! `-m quota --quota BYTES`: matches until the rule has let this many bytes
//! through, then stops matching (counted per rule).

use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "quota",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("quota", 0).mand().inv()],
    guided: true,
    help: concat!(
        "quota match options:\n",
        "[!] --quota quota\t\tbytes the rule matches before it stops matching\n",
    ),
    new_match: Some(|| Box::new(Quota::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    pub quota: u64,
    pub inv: bool,
}

impl Match for Quota {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.quota = xtopt::uint("quota", "quota", arg.unwrap_or_default(), 0, u64::MAX)?;
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" --quota {}", self.quota));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        // iptables 1.8.9 does not show the inversion here.
        out.push_str(&format!(" quota: {} bytes", self.quota));
    }

    fn explain(&self) -> String {
        if self.inv {
            format!(
                "Matches only after the rule has seen {} bytes (the quota is used up)",
                self.quota
            )
        } else {
            format!(
                "Matches until the rule has let {} bytes through",
                self.quota
            )
        }
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
    fn save_and_list() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m quota ! --quota 0x10").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m quota ! --quota 16\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with("anywhere             quota: 16 bytes\n"));
        assert!(run(
            &mut h,
            "iptables -A INPUT -m quota --quota 18446744073709551616"
        )
        .stderr
        .contains("(0-18446744073709551615).\n\n"));
    }
}
