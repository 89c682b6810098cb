//! `-m ipcomp` (also loaded by `-p ipcomp`): the CPI of IP compression (IPComp) packets.

use super::xtopt::{self, NoHeader, ALL_SPIS};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

const O_SPI: u8 = 0;
const O_COMPRES: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "ipcomp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("ipcompspi", O_SPI).inv(),
        OptSpec::flag("compres", O_COMPRES),
    ],
    guided: true,
    help: "comp match options:
[!] --ipcompspi spi[:spi]
                                 match the CPI (or a range of CPIs)\n",
    new_match: Some(|| Box::new(Ipcomp::default())),
    new_target: None,
};

/// Unlike ah and esp, the range starts as `0:0`: a bare `-m ipcomp` matches CPI 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipcomp {
    pub spis: (u32, u32),
    pub inv: bool,
    /// `--compres` (undocumented): the reserved header fields must be zero.
    pub hdrres: bool,
}

impl Match for Ipcomp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        if id == O_COMPRES {
            self.hdrres = true;
            return Ok(());
        }
        self.spis = xtopt::spi_range("ipcomp", "ipcompspi", arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // The ipcomp match is registered for IPPROTO_COMP.
        if cx.proto != 108 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn data_key(&self) -> String {
        format!("{self:?}")
    }

    fn save(&self, out: &mut String) {
        xtopt::save_spis(out, "ipcompspi", self.spis, self.inv);
        if self.hdrres {
            out.push_str(" --compres");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" comp ");
        out.push_str(&xtopt::spis_text(self.spis, self.inv));
        if self.hdrres {
            out.push_str(" reserved");
        }
    }

    fn explain(&self) -> String {
        let mut s = if self.spis == ALL_SPIS {
            "any IPComp packet".to_string()
        } else {
            format!(
                "IPComp {}",
                xtopt::explain_spis(self.spis, self.inv).replace("SPI", "CPI")
            )
        };
        if self.hdrres {
            s.push_str(" whose reserved fields are zero");
        }
        s
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        match self.eval(cx) {
            Ok(()) => Some(true),
            Err(Miss::Header(h)) => {
                cx.hotdrop |= h.hotdrop();
                Some(false)
            }
            Err(Miss::Spi(_)) => Some(false),
        }
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let opt = xtopt::range_opt("ipcompspi", self.spis, self.inv);
        match self.eval(cx) {
            Ok(()) => "-m ipcomp matched".into(),
            Err(Miss::Header(h)) => xtopt::miss(&opt, &h.text("IPComp")),
            Err(Miss::Spi(v)) => xtopt::miss(&opt, &format!("the CPI is {v}")),
        }
    }
}

/// Why the kernel's `comp_mt` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    /// The packet's CPI.
    Spi(u32),
}

impl Ipcomp {
    /// The kernel's `comp_mt` (`struct ip_comp_hdr`, 4 bytes, 16-bit CPI at 2).
    fn eval(&self, cx: &EvalCx) -> Result<(), Miss> {
        let h = xtopt::xt_header(cx, 4).map_err(Miss::Header)?;
        let v = xtopt::be16(h, 2) as u32;
        if xtopt::in_range(self.spis, v) == self.inv {
            return Err(Miss::Spi(v));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::command::{run_argv, Output};
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> Output {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        run_argv(h, &a, None)
    }

    /// Adds `spec` to INPUT; returns its save line and its `-L` match text.
    fn show(spec: &str) -> (String, String) {
        let mut h = Host::new("h");
        let out = run(&mut h, &format!("iptables -A INPUT {spec}"));
        assert_eq!(out.exit, 0, "{spec}: {}", out.stderr);
        let save = run(&mut h, "iptables -S INPUT").stdout;
        let o = run(&mut h, "iptables -L INPUT").stdout;
        let line = o.lines().nth(2).unwrap_or("").to_string();
        let l = line.get(63..).unwrap_or("").trim_start().to_string();
        (save.lines().nth(1).unwrap_or("").to_string(), l)
    }

    #[test]
    fn save_and_list() {
        let cases = [
            (
                "--ipcompspi 18",
                "-A INPUT -p ipcomp -m ipcomp --ipcompspi 18",
                "comp spi:18",
            ),
            (
                "! --ipcompspi 18:20",
                "-A INPUT -p ipcomp -m ipcomp ! --ipcompspi 18:20",
                "comp spis:!18:20",
            ),
            ("--ipcompspi :", "-A INPUT -p ipcomp -m ipcomp", "comp "),
            (
                "--compres",
                "-A INPUT -p ipcomp -m ipcomp --ipcompspi 0 --compres",
                "comp spi:0 reserved",
            ),
            (
                "",
                "-A INPUT -p ipcomp -m ipcomp --ipcompspi 0",
                "comp spi:0",
            ),
        ];
        for (opt, save, list) in cases {
            assert_eq!(
                show(&format!("-p ipcomp -m ipcomp {opt}")),
                (save.into(), list.into())
            );
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p ipcomp -m ipcomp ! --compres");
        assert!(out
            .stderr
            .contains("ipcomp: option \"--compres\" cannot be inverted.\n\n"));
        let out = run(
            &mut h,
            "iptables -A INPUT -p ipcomp -m ipcomp --ipcompspi -1",
        );
        assert!(out.stderr.contains(
            "ipcomp: bad value for option \"--ipcompspi\" near \"-1\", or out of range (0-4294967295).\n\n"
        ));
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m ipcomp --ipcompspi 4").exit,
            4
        );
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn spi_ranges_and_inversion() {
        let mut w = world(&[
            "-A FORWARD -p ipcomp -m ipcomp --ipcompspi 7",
            "-A FORWARD -p ipcomp -m ipcomp --ipcompspi 5:65535",
            "-A FORWARD -p ipcomp -m ipcomp ! --ipcompspi 7",
            "-A FORWARD -p ipcomp -m ipcomp",
        ]);
        let s = inject(
            &mut w,
            raw(108, 0, &[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        assert_eq!(s.pattern("FORWARD"), [true, true, false, false]);
        assert_eq!(
            s.why("FORWARD", 3),
            "`! --ipcompspi 7` did not match: the CPI is 7"
        );
        let s = inject(
            &mut w,
            raw(
                108,
                0,
                &[0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
        );
        assert_eq!(s.pattern("FORWARD"), [false, true, true, false]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`--ipcompspi 7` did not match: the CPI is 65535"
        );
    }

    #[test]
    fn fragments_and_short_headers() {
        let mut w = world(&[
            "-A FORWARD -p ipcomp -m ipcomp ! --ipcompspi 1",
            "-A FORWARD -p ipcomp",
        ]);
        let s = inject(&mut w, raw(108, 9, &[0; 16]));
        assert_eq!(s.pattern("FORWARD"), [false, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --ipcompspi 1` did not match: a later fragment has no IPComp header"
        );
        let s = inject(&mut w, raw(108, 0, &[0; 3]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(!s.reached("FORWARD", 2));
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --ipcompspi 1` did not match: the IPComp header is cut short (3 of 4 bytes), so the kernel drops the packet"
        );
    }
}
