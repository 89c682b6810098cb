//! `-m cpu --cpu N`: matches packets being processed on the given CPU.

use super::EvalCx;
use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "cpu",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("cpu", 0).mand().inv()],
    guided: true,
    help: concat!(
        "cpu match options:\n",
        "[!] --cpu number   Match packets handled by this CPU (0 = first)\n",
    ),
    new_match: Some(|| Box::new(Cpu::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cpu {
    pub cpu: u32,
    pub inv: bool,
}

impl Match for Cpu {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.cpu = xtopt::uint("cpu", "cpu", arg.unwrap_or_default(), 0, u32::MAX as u64)? as u32;
        self.inv = inv;
        Ok(())
    }

    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        // Every simulated packet is handled by CPU 0.
        Some((self.cpu == 0) != self.inv)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        format!(
            "`{}` did not match: the packet is handled by CPU 0",
            opt.trim_start()
        )
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            "{} --cpu {}",
            if self.inv { " !" } else { "" },
            self.cpu
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " cpu {}{}",
            if self.inv { "! " } else { "" },
            self.cpu
        ));
    }

    fn explain(&self) -> String {
        format!(
            "Matches packets {}handled by CPU {}",
            if self.inv { "not " } else { "" },
            self.cpu
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn everything_runs_on_cpu_0() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m cpu --cpu 0");
        sh(&mut w, 0, "iptables -A INPUT -m cpu --cpu 1");
        sh(&mut w, 0, "iptables -A INPUT -m cpu ! --cpu 1");
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 0, 1]);
        assert_eq!(
            why(&w, "INPUT", 2),
            "`--cpu 1` did not match: the packet is handled by CPU 0"
        );
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_and_list() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A INPUT -m cpu ! --cpu 3").exit, 0);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m cpu ! --cpu 3\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with("anywhere             cpu ! 3\n"));
    }
}
