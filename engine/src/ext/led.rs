//! `-j LED`: blink an LED trigger (`netfilter-<id>`) for each packet. The
//! reference kernel has no LED trigger support: loading prints a warning and
//! every rule is refused with ENOENT.

use super::{
    xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult,
};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_TRIGGER_ID: u8 = 0;
const O_DELAY: u8 = 1;
const O_ALWAYS_BLINK: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "LED",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("led-trigger-id", O_TRIGGER_ID).mand(),
        OptSpec::arg("led-delay", O_DELAY),
        OptSpec::flag("led-always-blink", O_ALWAYS_BLINK),
    ],
    guided: true,
    help: "LED target options:\n\
--led-trigger-id name           name of the trigger, after \"netfilter-\"\n\
--led-delay ms                  keep the LED lit this many milliseconds\n                                \
after a packet (or \"inf\").\n\
--led-always-blink              blink for every packet, even when the\n                                \
LED is already lit.\n",
    new_match: None,
    new_target: Some(|| Box::new(Led::default())),
};

/// Longest trigger id accepted.
const ID_MAX: usize = 16;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Led {
    pub id: String,
    /// Milliseconds the LED stays lit, `-1` for `inf`.
    pub delay: i64,
    pub always_blink: bool,
}

/// The id with `"` and `\` escaped, as LED's save and print write it.
fn escaped(id: &str) -> String {
    let mut s = String::new();
    for c in id.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

impl Target for Led {
    ext_boilerplate!(INFO, Target);

    fn load_warning(&self) -> Option<String> {
        Some("Warning: Extension LED revision 0 not supported, missing kernel module?".to_string())
    }

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_TRIGGER_ID => {
                if arg.len() > ID_MAX {
                    return Err(XtError::new(format!(
                        "Argument must have a maximum length of {ID_MAX} characters\n"
                    )));
                }
                self.id = arg.to_string();
            }
            O_DELAY => {
                self.delay = if arg.len() >= 3 && arg[..3].eq_ignore_ascii_case("inf") {
                    -1
                } else {
                    xtopt::strtoul_all(arg, 0, u32::MAX as u64).ok_or_else(|| {
                        XtError::new("Delay value must be within range 0..4294967295")
                    })? as i64
                };
            }
            O_ALWAYS_BLINK => self.always_blink = true,
            _ => {}
        }
        Ok(())
    }

    /// No LED trigger support in the kernel: the target does not exist.
    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        Err(KernelError::NoEntry)
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(" --led-trigger-id \"{}\"", escaped(&self.id)));
        if self.delay > 0 {
            out.push_str(&format!(" --led-delay {}", self.delay));
        } else if self.delay == -1 {
            out.push_str(" --led-delay inf");
        }
        if self.always_blink {
            out.push_str(" --led-always-blink");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(" led-trigger-id:\"{}\"", escaped(&self.id)));
        if self.delay == -1 {
            out.push_str(" led-delay:inf");
        } else {
            out.push_str(&format!(" led-delay:{}ms", self.delay));
        }
        if self.always_blink {
            out.push_str(" led-always-blink");
        }
    }

    /// Blinks the LED trigger; the simulator has no LEDs, so it only goes on.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        format!(
            "blink the LED trigger netfilter-{} for each packet, then continue with the next rule",
            self.id
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
    fn warning_then_error() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -A INPUT -j LED");
        assert_eq!(
            o.stderr,
            "Warning: Extension LED revision 0 not supported, missing kernel module?\n\
iptables v1.8.9 (nf_tables): LED: option \"--led-trigger-id\" must be specified\n\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let o = run(
            &mut h,
            "iptables -A INPUT -j LED --led-trigger-id foo --led-delay 42",
        );
        assert_eq!(o.exit, 4);
        assert_eq!(
            o.stderr,
            "Warning: Extension LED revision 0 not supported, missing kernel module?\n\
iptables v1.8.9 (nf_tables):  RULE_APPEND failed (No such file or directory): rule in chain INPUT\n"
        );
    }

    #[test]
    fn goes_on() {
        use crate::ext::targets_testkit::{fire_alone, ping};
        let mut p = ping("10.0.0.1", "10.0.0.2", 1);
        let before = p.clone();
        let mut t = (super::INFO.new_target.unwrap())();
        let (v, emitted, log) =
            fire_alone(t.as_mut(), crate::ruleset::Hook::Input, "mangle", &mut p);
        assert_eq!(v, Some(crate::ext::TargetVerdict::Continue));
        assert!(emitted.is_empty() && log.is_empty());
        assert_eq!(p, before);
    }
}
