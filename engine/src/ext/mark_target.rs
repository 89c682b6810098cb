//! `-j MARK`: set, clear or flip bits of the packet's firewall mark (nfmark),
//! which later rules, routing rules and qdiscs can look at.

use super::{bit, xtopt, ExtInfo, ExtKind, OptSpec, ParseCx, Target, XtError, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_SET_XMARK: u8 = 0;
const O_SET_MARK: u8 = 1;
const O_AND_MARK: u8 = 2;
const O_OR_MARK: u8 = 3;
const O_XOR_MARK: u8 = 4;
const F_ANY: u64 =
    bit(O_SET_XMARK) | bit(O_SET_MARK) | bit(O_AND_MARK) | bit(O_OR_MARK) | bit(O_XOR_MARK);

pub static INFO: ExtInfo = ExtInfo {
    name: "MARK",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("set-xmark", O_SET_XMARK).excl(F_ANY),
        OptSpec::arg("set-mark", O_SET_MARK).excl(F_ANY),
        OptSpec::arg("and-mark", O_AND_MARK).excl(F_ANY),
        OptSpec::arg("or-mark", O_OR_MARK).excl(F_ANY),
        OptSpec::arg("xor-mark", O_XOR_MARK).excl(F_ANY),
    ],
    guided: true,
    help: "MARK target options:\n  \
--set-xmark value[/mask]  Clear the mask bits, then XOR in value\n  \
--set-mark value[/mask]   Clear the mask bits, then OR in value\n  \
--and-mark bits           AND the mark with bits\n  \
--or-mark bits            OR the mark with bits\n  \
--xor-mark bits           XOR the mark with bits\n",
    new_match: None,
    new_target: Some(|| Box::new(MarkTarget::default())),
};

/// `mark = (mark & !mask) ^ value`, which every option reduces to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkTarget {
    pub value: u32,
    pub mask: u32,
}

/// The four-way `-L` text shared with CONNMARK (`and`, `or`, `xor`, `set`, `xset`).
pub fn xmark_text(value: u32, mask: u32) -> String {
    if value == 0 {
        format!("and 0x{:x}", !mask)
    } else if value == mask {
        format!("or 0x{value:x}")
    } else if mask == 0 {
        format!("xor 0x{value:x}")
    } else if mask == u32::MAX {
        format!("set 0x{value:x}")
    } else {
        format!("xset 0x{value:x}/0x{mask:x}")
    }
}

/// Plain English for `(x & !mask) ^ value` applied to `what`.
pub fn xmark_explain(what: &str, value: u32, mask: u32) -> String {
    if value == 0 {
        format!("keep only the bits 0x{:x} of the {what}", !mask)
    } else if value == mask {
        format!("set the bits 0x{value:x} in the {what}")
    } else if mask == 0 {
        format!("flip the bits 0x{value:x} of the {what}")
    } else if mask == u32::MAX {
        format!("set the {what} to 0x{value:x}")
    } else {
        format!("clear the bits 0x{mask:x} of the {what}, then flip in 0x{value:x}")
    }
}

impl Target for MarkTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let u32opt = |name: &str| -> XtResult<u32> {
            Ok(xtopt::uint("MARK", name, arg, 0, u32::MAX as u64)? as u32)
        };
        match id {
            O_SET_XMARK => {
                let (v, m) = xtopt::markmask("MARK", "set-xmark", arg)?;
                self.value = v;
                self.mask = m;
            }
            O_SET_MARK => {
                let (v, m) = xtopt::markmask("MARK", "set-mark", arg)?;
                self.value = v;
                self.mask = v | m;
            }
            O_AND_MARK => {
                let v = u32opt("and-mark")?;
                self.value = 0;
                self.mask = !v;
            }
            O_OR_MARK => {
                let v = u32opt("or-mark")?;
                self.value = v;
                self.mask = v;
            }
            O_XOR_MARK => {
                let v = u32opt("xor-mark")?;
                self.value = v;
                self.mask = 0;
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & F_ANY == 0 {
            return Err(XtError::new(
                "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --set-xmark 0x{:x}/0x{:x}",
            self.value, self.mask
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" MARK ");
        out.push_str(&xmark_text(self.value, self.mask));
    }

    /// `mark_tg`: `nfmark = (nfmark & !mask) ^ value`, then on.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        cx.pkt.meta.mark = (cx.pkt.meta.mark & !self.mask) ^ self.value;
        Some(TargetVerdict::Continue)
    }

    fn keeps_bytes(&self) -> bool {
        true
    }

    fn explain(&self) -> String {
        format!(
            "Marks : {} (then they go on to the next rule)",
            xmark_explain("packet mark", self.value, self.mask)
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
    fn every_option_saves_as_set_xmark() {
        let mut h = Host::new("h");
        for o in [
            "--set-mark 5/0xff",
            "--and-mark 0xf0",
            "--or-mark 0x4000",
            "--xor-mark 3",
            "--set-mark 0",
        ] {
            assert_eq!(
                run(&mut h, &format!("iptables -A OUTPUT -j MARK {o}")).exit,
                0
            );
        }
        assert_eq!(
            run(&mut h, "iptables -S OUTPUT").stdout,
            "-P OUTPUT ACCEPT\n\
-A OUTPUT -j MARK --set-xmark 0x5/0xff\n\
-A OUTPUT -j MARK --set-xmark 0x0/0xffffff0f\n\
-A OUTPUT -j MARK --set-xmark 0x4000/0x4000\n\
-A OUTPUT -j MARK --set-xmark 0x3/0x0\n\
-A OUTPUT -j MARK --set-xmark 0x0/0xffffffff\n"
        );
        let l = run(&mut h, "iptables -L OUTPUT").stdout;
        for t in [
            "MARK xset 0x5/0xff\n",
            "MARK and 0xf0\n",
            "MARK or 0x4000\n",
            "MARK xor 0x3\n",
            "MARK and 0x0\n",
        ] {
            assert!(l.contains(t), "{t}");
        }
    }

    #[test]
    fn one_operation_required() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -A OUTPUT -j MARK");
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let o = run(
            &mut h,
            "iptables -A OUTPUT -j MARK --or-mark 2 --set-mark 1",
        );
        assert!(o.stderr.contains(
            "MARK: option \"--set-mark\" cannot be used together with \"--or-mark\".\n\n"
        ));
    }

    use crate::ext::targets_testkit::{ping, Lab};

    #[test]
    fn set_xor_and_or_on_the_packet_mark() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            r#"iptables -t mangle -A PREROUTING -j MARK --set-mark 0xf0f
               iptables -t mangle -A PREROUTING -j MARK --xor-mark 0x3
               iptables -t mangle -A PREROUTING -j MARK --and-mark 0xff
               iptables -t mangle -A PREROUTING -j MARK --or-mark 0x100
               iptables -t mangle -A PREROUTING -j MARK --set-xmark 0x20/0x30
               iptables -A FORWARD -j LOG --log-prefix "M: ""#,
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        // 0xf0f ^ 3 = 0xf0c; & 0xff = 0x0c; | 0x100 = 0x10c; (& !0x30) ^ 0x20 = 0x12c.
        assert!(
            lab.kmsg(r)[0].ends_with(" MARK=0x12c "),
            "{:?}",
            lab.kmsg(r)
        );
        // The mark stays on the host: the server's packets arrive unmarked.
        assert!(lab.kmsg(r)[1].ends_with(" MARK=0x12c "));
    }
}
