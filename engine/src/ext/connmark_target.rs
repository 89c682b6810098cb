//! `-j CONNMARK`: set bits of the connection's mark (ctmark), or copy marks
//! between the packet (nfmark) and its connection, with masks and shifts.

use super::mark_target::{xmark_explain, xmark_text};
use super::{
    bit, xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult,
};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_SET_MARK: u8 = 0;
const O_SAVE_MARK: u8 = 1;
const O_RESTORE_MARK: u8 = 2;
const O_AND_MARK: u8 = 3;
const O_OR_MARK: u8 = 4;
const O_XOR_MARK: u8 = 5;
const O_LEFT_SHIFT_MARK: u8 = 6;
const O_RIGHT_SHIFT_MARK: u8 = 7;
const O_SET_XMARK: u8 = 8;
const O_CTMASK: u8 = 9;
const O_NFMASK: u8 = 10;
const O_MASK: u8 = 11;
const F_OP_ANY: u64 = bit(O_SET_MARK)
    | bit(O_SAVE_MARK)
    | bit(O_RESTORE_MARK)
    | bit(O_AND_MARK)
    | bit(O_OR_MARK)
    | bit(O_XOR_MARK)
    | bit(O_SET_XMARK);

pub static INFO: ExtInfo = ExtInfo {
    name: "CONNMARK",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("set-xmark", O_SET_XMARK).excl(F_OP_ANY),
        OptSpec::arg("set-mark", O_SET_MARK).excl(F_OP_ANY),
        OptSpec::arg("and-mark", O_AND_MARK).excl(F_OP_ANY),
        OptSpec::arg("or-mark", O_OR_MARK).excl(F_OP_ANY),
        OptSpec::arg("xor-mark", O_XOR_MARK).excl(F_OP_ANY),
        OptSpec::flag("save-mark", O_SAVE_MARK).excl(F_OP_ANY),
        OptSpec::flag("restore-mark", O_RESTORE_MARK).excl(F_OP_ANY),
        OptSpec::arg("left-shift-mark", O_LEFT_SHIFT_MARK),
        OptSpec::arg("right-shift-mark", O_RIGHT_SHIFT_MARK),
        OptSpec::arg("ctmask", O_CTMASK).excl(bit(O_MASK)),
        OptSpec::arg("nfmask", O_NFMASK).excl(bit(O_MASK)),
        OptSpec::arg("mask", O_MASK).excl(bit(O_CTMASK) | bit(O_NFMASK)),
    ],
    guided: true,
    help: "CONNMARK target options:\n  \
--set-xmark value[/ctmask]    Clear the ctmask bits of the ctmark, then XOR in value\n  \
--save-mark [--ctmask mask] [--nfmask mask]\n                                \
Copy the packet mark into the ctmark, through the masks\n  \
--restore-mark [--ctmask mask] [--nfmask mask]\n                                \
Copy the ctmark into the packet mark, through the masks\n  \
--set-mark value[/mask]       Clear the mask bits of the ctmark, then OR in value\n  \
--save-mark [--mask mask]     Copy the packet mark into the ctmark\n  \
--restore-mark [--mask mask]  Copy the ctmark into the packet mark\n  \
--and-mark value              AND the ctmark with bits\n  \
--or-mark value               OR  the ctmark with bits\n  \
--xor-mark value              XOR the ctmark with bits\n  \
--left-shift-mark value       Shift the copied mark left by this many bits\n  \
--right-shift-mark value      Shift the copied mark right by this many bits\n",
    new_match: None,
    new_target: Some(|| Box::new(ConnmarkTarget::default())),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Set,
    Save,
    Restore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnmarkTarget {
    pub mode: Mode,
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    /// Shift direction (`true` = right) and bit count.
    pub shift_right: bool,
    pub shift_bits: u8,
}

impl Default for ConnmarkTarget {
    fn default() -> Self {
        ConnmarkTarget {
            mode: Mode::Set,
            ctmark: 0,
            ctmask: u32::MAX,
            nfmask: u32::MAX,
            shift_right: false,
            shift_bits: 0,
        }
    }
}

impl ConnmarkTarget {
    fn shift_name(&self) -> &'static str {
        if self.shift_right {
            "right-shift-mark"
        } else {
            "left-shift-mark"
        }
    }
}

impl Target for ConnmarkTarget {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let u32opt = |name: &str| -> XtResult<u32> {
            Ok(xtopt::uint("CONNMARK", name, arg, 0, u32::MAX as u64)? as u32)
        };
        match id {
            O_SET_XMARK => {
                let (v, m) = xtopt::markmask("CONNMARK", "set-xmark", arg)?;
                self.mode = Mode::Set;
                self.ctmark = v;
                self.ctmask = m;
            }
            O_SET_MARK => {
                let (v, m) = xtopt::markmask("CONNMARK", "set-mark", arg)?;
                self.mode = Mode::Set;
                self.ctmark = v;
                self.ctmask = v | m;
            }
            O_AND_MARK => {
                let v = u32opt("and-mark")?;
                self.mode = Mode::Set;
                self.ctmark = 0;
                self.ctmask = !v;
            }
            O_OR_MARK => {
                let v = u32opt("or-mark")?;
                self.mode = Mode::Set;
                self.ctmark = v;
                self.ctmask = v;
            }
            O_XOR_MARK => {
                let v = u32opt("xor-mark")?;
                self.mode = Mode::Set;
                self.ctmark = v;
                self.ctmask = 0;
            }
            O_SAVE_MARK => self.mode = Mode::Save,
            O_RESTORE_MARK => self.mode = Mode::Restore,
            O_MASK => {
                let v = u32opt("mask")?;
                self.nfmask = v;
                self.ctmask = v;
            }
            O_CTMASK => self.ctmask = u32opt("ctmask")?,
            O_NFMASK => self.nfmask = u32opt("nfmask")?,
            O_LEFT_SHIFT_MARK | O_RIGHT_SHIFT_MARK => {
                let name = if id == O_LEFT_SHIFT_MARK {
                    "left-shift-mark"
                } else {
                    "right-shift-mark"
                };
                self.shift_bits = xtopt::uint("CONNMARK", name, arg, 0, 32)? as u8;
                self.shift_right = id == O_RIGHT_SHIFT_MARK;
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & F_OP_ANY == 0 {
            return Err(XtError::new("CONNMARK target: No operation specified"));
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if self.shift_bits > 31 {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        match self.mode {
            Mode::Set => out.push_str(&format!(
                " --set-xmark 0x{:x}/0x{:x}",
                self.ctmark, self.ctmask
            )),
            Mode::Save | Mode::Restore => out.push_str(&format!(
                " --{}-mark --nfmask 0x{:x} --ctmask 0x{:x}",
                if self.mode == Mode::Save {
                    "save"
                } else {
                    "restore"
                },
                self.nfmask,
                self.ctmask
            )),
        }
        if self.shift_bits != 0 {
            out.push_str(&format!(" --{} {}", self.shift_name(), self.shift_bits));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" CONNMARK ");
        match self.mode {
            Mode::Set => out.push_str(&xmark_text(self.ctmark, self.ctmask)),
            Mode::Save => {
                if self.nfmask == u32::MAX && self.ctmask == u32::MAX {
                    out.push_str("save");
                } else if self.nfmask == self.ctmask {
                    out.push_str(&format!("save mask 0x{:x}", self.nfmask));
                } else {
                    out.push_str(&format!(
                        "save nfmask 0x{:x} ctmask ~0x{:x}",
                        self.nfmask, self.ctmask
                    ));
                }
            }
            Mode::Restore => {
                if self.ctmask == u32::MAX && self.nfmask == u32::MAX {
                    out.push_str("restore");
                } else if self.ctmask == self.nfmask {
                    out.push_str(&format!("restore mask 0x{:x}", self.ctmask));
                } else {
                    out.push_str(&format!(
                        "restore ctmask 0x{:x} nfmask ~0x{:x}",
                        self.ctmask, self.nfmask
                    ));
                }
            }
        }
        if self.shift_bits != 0 {
            out.push_str(&format!(" {} {}", self.shift_name(), self.shift_bits));
        }
    }

    /// `connmark_tg_shift`: set the ctmark, or copy between nfmark and
    /// ctmark through the masks and the shift. Nothing for a packet
    /// without a connection (untracked, invalid).
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let shift = |v: u32| -> u32 {
            let n = self.shift_bits as u32;
            if n >= 32 {
                0
            } else if self.shift_right {
                v >> n
            } else {
                v << n
            }
        };
        let nfmark = cx.pkt.meta.mark;
        let Some(e) = cx.ct_entry_mut() else {
            return Some(TargetVerdict::Continue);
        };
        match self.mode {
            Mode::Set => e.mark = shift((e.mark & !self.ctmask) ^ self.ctmark),
            Mode::Save => e.mark = (e.mark & !self.ctmask) ^ shift(nfmark & self.nfmask),
            Mode::Restore => {
                let m = shift(e.mark & self.ctmask);
                cx.pkt.meta.mark = (nfmark & !self.nfmask) ^ m;
            }
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        let masks = |a: &str, am: u32, b: &str, bm: u32| {
            let mut s = String::new();
            if am != u32::MAX {
                s.push_str(&format!(", taking only the bits 0x{am:x} of the {a}"));
            }
            if bm != u32::MAX {
                s.push_str(&format!(", changing only the bits 0x{bm:x} of the {b}"));
            }
            s
        };
        let mut s = match self.mode {
            Mode::Set => xmark_explain("connection mark", self.ctmark, self.ctmask),
            Mode::Save => format!(
                "copy the packet mark into the connection mark{}",
                masks("packet mark", self.nfmask, "connection mark", self.ctmask)
            ),
            Mode::Restore => format!(
                "copy the connection mark into the packet mark{}",
                masks("connection mark", self.ctmask, "packet mark", self.nfmask)
            ),
        };
        if self.shift_bits != 0 {
            s.push_str(&format!(
                ", shifted {} by {} bits",
                if self.shift_right { "right" } else { "left" },
                self.shift_bits
            ));
        }
        s.push_str(", then continue with the next rule");
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
    fn save_restore_forms() {
        let mut h = Host::new("h");
        for o in [
            "--restore-mark",
            "--save-mark --mask 0xff",
            "--save-mark --nfmask 0xff",
            "--restore-mark --ctmask 0xff --nfmask 0xf --right-shift-mark 3",
            "--set-mark 1 --ctmask 3",
        ] {
            assert_eq!(
                run(
                    &mut h,
                    &format!("iptables -t mangle -A OUTPUT -j CONNMARK {o}")
                )
                .exit,
                0,
                "{o}"
            );
        }
        assert_eq!(
            run(&mut h, "iptables -t mangle -S OUTPUT").stdout,
            "-P OUTPUT ACCEPT\n\
-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff\n\
-A OUTPUT -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff\n\
-A OUTPUT -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xffffffff\n\
-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xf --ctmask 0xff --right-shift-mark 3\n\
-A OUTPUT -j CONNMARK --set-xmark 0x1/0x3\n"
        );
        let l = run(&mut h, "iptables -t mangle -L OUTPUT").stdout;
        for t in [
            "CONNMARK restore\n",
            "CONNMARK save mask 0xff\n",
            "CONNMARK save nfmask 0xff ctmask ~0xffffffff\n",
            "CONNMARK restore ctmask 0xff nfmask ~0xf right-shift-mark 3\n",
            "CONNMARK xset 0x1/0x3\n",
        ] {
            assert!(l.contains(t), "{t}");
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -t mangle -A OUTPUT -j CONNMARK --mask 3");
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): CONNMARK target: No operation specified\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let o = run(
            &mut h,
            "iptables -t mangle -A OUTPUT -j CONNMARK --save-mark --mask 1 --nfmask 2",
        );
        assert!(o.stderr.contains(
            "CONNMARK: option \"--nfmask\" cannot be used together with \"--mask\".\n\n"
        ));
        let o = run(
            &mut h,
            "iptables -t mangle -A OUTPUT -j CONNMARK --save-mark --left-shift-mark 32",
        );
        assert_eq!(o.exit, 4);
    }

    use crate::ext::targets_testkit::{ping, tcp, Lab};

    #[test]
    fn save_and_restore_between_packet_and_connection() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            r#"iptables -t mangle -A PREROUTING -i eth0 -p tcp -j MARK --set-mark 0x5
               iptables -t mangle -A POSTROUTING -o eth1 -j CONNMARK --save-mark --mask 0xff
               iptables -t mangle -A PREROUTING -i eth1 -j CONNMARK --restore-mark
               iptables -A FORWARD -i eth1 -j LOG --log-prefix "BACK: ""#,
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4000, 80, "S"));
        // The SYN-ACK coming back carries the mark its connection saved.
        let log = lab.kmsg(r);
        assert_eq!(log.len(), 1);
        assert!(log[0].contains("SPT=80 DPT=4000") && log[0].ends_with(" MARK=0x5 "));
        let e = lab.w.hosts[r].conntrack.iter().next().unwrap().clone();
        assert_eq!(e.mark, 5);
    }

    #[test]
    fn set_with_masks_and_shifts() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            r#"iptables -t mangle -A PREROUTING -j CONNMARK --set-xmark 0x12/0xff
               iptables -t mangle -A PREROUTING -j CONNMARK --or-mark 0x300
               iptables -t mangle -A PREROUTING -j MARK --set-mark 0xab00
               iptables -t mangle -A FORWARD -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff --right-shift-mark 8
               iptables -t mangle -A POSTROUTING -j MARK --set-mark 0
               iptables -t mangle -A POSTROUTING -j CONNMARK --restore-mark --ctmask 0xf00 --nfmask 0xffff --left-shift-mark 4
               iptables -t mangle -A POSTROUTING -j LOG --log-prefix "R: ""#,
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 2));
        let e = lab.w.hosts[r].conntrack.iter().next().unwrap().clone();
        // 0x12 | 0x300 = 0x312; save: (0x312 & !0xff) ^ (0xab00 >> 8) = 0x3ab.
        assert_eq!(e.mark, 0x3ab);
        // restore: (0 & !0xffff) ^ ((0x3ab & 0xf00) << 4) = 0x3000.
        assert!(lab.kmsg(r)[0].ends_with(" MARK=0x3000 "));
        // Untracked packets have no connection: nothing happens.
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            r#"iptables -t raw -A PREROUTING -j CT --notrack
               iptables -t mangle -A PREROUTING -j CONNMARK --set-mark 7
               iptables -t mangle -A PREROUTING -j CONNMARK --restore-mark
               iptables -A FORWARD -j LOG --log-prefix "U: ""#,
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 3));
        assert!(lab.kmsg(r)[0].ends_with("SEQ=1 "));
        assert!(lab.w.hosts[r].conntrack.is_empty());
    }
}
