//! `-j IDLETIMER`: restart a named timer for each packet; when no packet has
//! come for the timeout, userspace is notified (sysfs file or alarm).

use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_TIMEOUT: u8 = 0;
const O_LABEL: u8 = 1;
const O_ALARM: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "IDLETIMER",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("timeout", O_TIMEOUT).mand(),
        OptSpec::arg("label", O_LABEL).mand(),
        OptSpec::flag("alarm", O_ALARM),
    ],
    guided: true,
    help: "IDLETIMER target options:\n \
--timeout time\tSeconds without packets before userspace is told\n \
--label string\tName of the timer (shared by rules using it)\n \
--alarm\tUse an alarm timer (wakes a suspended system)\n\n",
    new_match: None,
    new_target: Some(|| Box::new(Idletimer::default())),
};

/// Longest label kept (28-byte field with its terminating zero).
const LABEL_MAX: usize = 27;

/// A host's idle timers: when each label's timer runs out (lab clock, ns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdleTimers {
    pub expires: std::collections::BTreeMap<String, u64>,
}

impl IdleTimers {
    /// Seconds left on a label's timer (0 once it ran out), as its sysfs file reads.
    pub fn seconds_left(&self, label: &str, now_ns: u64) -> Option<u64> {
        self.expires
            .get(label)
            .map(|e| e.saturating_sub(now_ns) / 1_000_000_000)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Idletimer {
    pub timeout: u32,
    pub label: String,
    pub alarm: bool,
}

impl Target for Idletimer {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_TIMEOUT => {
                self.timeout = xtopt::uint("IDLETIMER", "timeout", arg, 0, u32::MAX as u64)? as u32
            }
            O_LABEL => self.label = super::log::truncate_bytes(arg, LABEL_MAX),
            O_ALARM => self.alarm = true,
            _ => {}
        }
        Ok(())
    }

    /// The kernel refuses a zero or too long timeout and a label that cannot
    /// be a sysfs file name.
    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if self.timeout == 0 || self.timeout >= i32::MAX as u32 / 1000 {
            return Err(KernelError::Invalid);
        }
        if self.label.is_empty()
            || self.label == "."
            || self.label == ".."
            || self.label.contains('/')
        {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --timeout {} --label {}",
            self.timeout, self.label
        ));
        if self.alarm {
            out.push_str(" --alarm");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(" timeout:{} label:{}", self.timeout, self.label));
        if self.alarm {
            out.push_str(" alarm");
        }
    }

    /// `idletimer_tg`: restarts the timer of the label (the kernel's sysfs
    /// file `/sys/class/xt_idletimer/timers/LABEL` tells the seconds left),
    /// then on. The timers are kept per host in [`IdleTimers`].
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let until = cx.now_ns + self.timeout as u64 * 1_000_000_000;
        cx.ext
            .get_mut::<IdleTimers>("IDLETIMER")
            .expires
            .insert(self.label.clone(), until);
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        format!(
            "restart the idle timer \"{}\" ({} s{}), then continue with the next rule",
            self.label,
            self.timeout,
            if self.alarm { ", alarm" } else { "" }
        )
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
    fn save_and_limits() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -j IDLETIMER --timeout 42 --label bar --alarm"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -j IDLETIMER --timeout 42 --label bar --alarm\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .contains(" timeout:42 label:bar alarm\n"));
        for bad in [
            "--timeout 0 --label a",
            "--timeout 2147483 --label a",
            "--timeout 5 --label x/y",
        ] {
            assert_eq!(
                run(&mut h, &format!("iptables -A INPUT -j IDLETIMER {bad}")).exit,
                4
            );
        }
        let o = run(&mut h, "iptables -A INPUT -j IDLETIMER --timeout 42");
        assert!(o
            .stderr
            .contains("IDLETIMER: option \"--label\" must be specified\n\n"));
    }

    #[test]
    fn each_packet_restarts_the_timer() {
        use super::IdleTimers;
        use crate::ext::targets_testkit::{ping, Lab};
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A FORWARD -j IDLETIMER --timeout 60 --label uplink",
        );
        lab.w.now_ns = 1_000_000_000_000;
        // Frames take time on the links: the timer starts when the router forwards.
        let sent_at = lab.w.now_ns;
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.client).len(), 1);
        let t = lab.w.hosts[r]
            .ext_state
            .get::<IdleTimers>("IDLETIMER")
            .unwrap()
            .clone();
        assert_eq!(t.seconds_left("uplink", sent_at), Some(60));
        assert_eq!(t.seconds_left("uplink", sent_at + 59_000_000_000), Some(1));
        assert_eq!(
            t.seconds_left("uplink", lab.w.now_ns + 90_000_000_000),
            Some(0)
        );
        assert_eq!(t.seconds_left("other", lab.w.now_ns), None);
    }
}
