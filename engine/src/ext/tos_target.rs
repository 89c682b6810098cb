//! `-j TOS`: rewrites the IPv4 Type of Service byte (set under a mask, and,
//! or, xor). Only in the mangle table.

use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext::tos::{parse_tos, tos_symbol};
use crate::ext_boilerplate;

const O_SET: u8 = 0;
const O_AND: u8 = 1;
const O_OR: u8 = 2;
const O_XOR: u8 = 3;
const F_ANY: u64 = 0b1111;

pub static INFO: ExtInfo = ExtInfo {
    name: "TOS",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("set-tos", O_SET).excl(F_ANY),
        OptSpec::arg("and-tos", O_AND).excl(F_ANY),
        OptSpec::arg("or-tos", O_OR).excl(F_ANY),
        OptSpec::arg("xor-tos", O_XOR).excl(F_ANY),
    ],
    guided: true,
    help: "TOS target options:\n\
\x20 --set-tos value[/mask]  Clear the bits of mask, then XOR value into the TOS byte\n\
\x20 --set-tos symbol        Set the TOS by name (clears the low 6 bits first)\n\
\x20                         Names known:\n\
\x20                           (0x10) 16 Minimize-Delay\n\
\x20                           (0x08)  8 Maximize-Throughput\n\
\x20                           (0x04)  4 Maximize-Reliability\n\
\x20                           (0x02)  2 Minimize-Cost\n\
\x20                           (0x00)  0 Normal-Service\n\
\n\
\x20 --and-tos bits          AND the TOS byte with bits\n\
\x20 --or-tos  bits          OR the TOS byte with bits\n\
\x20 --xor-tos bits          XOR the TOS byte with bits\n",
    new_match: None,
    new_target: Some(|| Box::new(TosTarget::default())),
};

/// New TOS = (old & !mask) ^ value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TosTarget {
    pub value: u8,
    pub mask: u8,
}

impl TosTarget {
    pub fn apply(&self, tos: u8) -> u8 {
        (tos & !self.mask) ^ self.value
    }
}

impl Target for TosTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let byte = |opt: &str| xtopt::uint("TOS", opt, arg, 0, 255).map(|v| v as u8);
        match id {
            O_SET => {
                let (v, m) = parse_tos(arg, 0x3f)?;
                self.value = v;
                self.mask = m;
            }
            O_AND => {
                let b = byte("and-tos")?;
                self.value = 0;
                self.mask = !b;
            }
            O_OR => {
                let b = byte("or-tos")?;
                self.value = b;
                self.mask = b;
            }
            O_XOR => {
                let b = byte("xor-tos")?;
                self.value = b;
                self.mask = 0;
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & F_ANY == 0 {
            return Err(XtError::new("TOS: An action is required"));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --set-tos 0x{:02x}/0x{:02x}",
            self.value, self.mask
        ));
    }

    fn print(&self, out: &mut String, numeric: bool) {
        if numeric {
            out.push_str(&format!(
                " TOS set 0x{:02x}/0x{:02x}",
                self.value, self.mask
            ));
        } else if let Some(name) = tos_symbol(self.value, self.mask) {
            out.push_str("  TOS set");
            out.push_str(name);
        } else if self.value == 0 {
            out.push_str(&format!(" TOS and 0x{:02x}", !self.mask));
        } else if self.value == self.mask {
            out.push_str(&format!(" TOS or 0x{:02x}", self.value));
        } else if self.mask == 0 {
            out.push_str(&format!(" TOS xor 0x{:02x}", self.value));
        } else {
            out.push_str(&format!(
                " TOS set 0x{:02x}/0x{:02x}",
                self.value, self.mask
            ));
        }
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let new = self.apply(cx.hdr.tos);
        if new != cx.hdr.tos {
            cx.pkt.set_tos(new);
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        if let Some(name) = tos_symbol(self.value, self.mask) {
            return format!("set the TOS to {name} (0x{:02x}) and continue", self.value);
        }
        format!(
            "rewrite the TOS byte: clear bits 0x{:02x}, then XOR 0x{:02x}; continue",
            self.mask, self.value
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
    fn and_or_xor_save_as_set() {
        let mut h = Host::new("h");
        for (rule, saved) in [
            ("--and-tos 0x12", "--set-tos 0x00/0xed"),
            ("--or-tos 0x12", "--set-tos 0x12/0x12"),
            ("--xor-tos 0x12", "--set-tos 0x12/0x00"),
            ("--set-tos 0x1f", "--set-tos 0x1f/0xff"),
        ] {
            run(&mut h, "iptables -t mangle -F");
            assert_eq!(
                run(
                    &mut h,
                    &format!("iptables -t mangle -A OUTPUT -j TOS {rule}")
                )
                .exit,
                0
            );
            assert_eq!(
                run(&mut h, "iptables -t mangle -S OUTPUT").stdout,
                format!("-P OUTPUT ACCEPT\n-A OUTPUT -j TOS {saved}\n")
            );
        }
    }

    #[test]
    fn needs_action_and_mangle() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -t mangle -A OUTPUT -j TOS");
        assert!(o.stderr.contains("TOS: An action is required\nTry"));
        let o = run(&mut h, "iptables -A OUTPUT -j TOS --set-tos 1");
        assert_eq!(o.exit, 4);
    }

    #[test]
    fn list_forms() {
        let mut h = Host::new("h");
        run(
            &mut h,
            "iptables -t mangle -A OUTPUT -j TOS --set-tos Minimize-Delay",
        );
        run(&mut h, "iptables -t mangle -A OUTPUT -j TOS --and-tos 0x12");
        let l = run(&mut h, "iptables -t mangle -L OUTPUT").stdout;
        assert!(
            l.contains("anywhere              TOS setMinimize-Delay\n"),
            "{l}"
        );
        assert!(l.contains("anywhere             TOS and 0x12\n"), "{l}");
    }

    #[test]
    fn rewrites_the_tos_byte() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        for (rule, before, after) in [
            ("--set-tos 0x10", 0x03, 0x10),
            ("--set-tos Minimize-Cost", 0xc3, 0xc2),
            ("--and-tos 0x0f", 0xbb, 0x0b),
            ("--or-tos 0x10", 0x03, 0x13),
            ("--xor-tos 0xff", 0x0f, 0xf0),
        ] {
            run(&mut w.hosts[0], "iptables -t mangle -F");
            ipt(
                &mut w,
                &format!("iptables -t mangle -A FORWARD -j TOS {rule}"),
            );
            let mut p = ping("10.0.1.9", "10.0.2.5");
            p.set_tos(before);
            assert!(passed(&send_at(&mut w, SEC, p)));
            let out = last_sent(&w);
            assert_eq!(out[1], after, "{rule}");
            assert!(checksums_ok(&out));
        }
    }
}
