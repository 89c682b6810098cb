//! `-m ah` (also loaded by `-p ah`): the SPI of IPsec Authentication Header packets.

use super::xtopt::{self, NoHeader, ALL_SPIS};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

const O_SPI: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "ah",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("ahspi", O_SPI).inv()],
    guided: true,
    help: "ah match options:
[!] --ahspi spi[:spi]
                                 match the SPI (or a range of SPIs)\n",
    new_match: Some(|| Box::new(Ah::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ah {
    pub spis: (u32, u32),
    pub inv: bool,
}

impl Default for Ah {
    fn default() -> Self {
        Ah {
            spis: ALL_SPIS,
            inv: false,
        }
    }
}

impl Match for Ah {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.spis = xtopt::spi_range("ah", "ahspi", arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // The ah match is registered for IPPROTO_AH.
        if cx.proto != 51 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn data_key(&self) -> String {
        format!("{self:?}")
    }

    fn save(&self, out: &mut String) {
        xtopt::save_spis(out, "ahspi", self.spis, self.inv);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        // `ah ` keeps its trailing space when no SPI is shown.
        out.push_str(" ah ");
        out.push_str(&xtopt::spis_text(self.spis, self.inv));
    }

    fn explain(&self) -> String {
        if self.spis == ALL_SPIS {
            return "any IPsec AH packet".into();
        }
        format!("IPsec AH {}", xtopt::explain_spis(self.spis, self.inv))
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
        let opt = xtopt::range_opt("ahspi", self.spis, self.inv);
        match self.eval(cx) {
            Ok(()) => "-m ah matched".into(),
            Err(Miss::Header(h)) => xtopt::miss(&opt, &h.text("AH")),
            Err(Miss::Spi(v)) => xtopt::miss(&opt, &format!("the SPI is {v}")),
        }
    }
}

/// Why the kernel's `ah_mt` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    /// The packet's SPI.
    Spi(u32),
}

impl Ah {
    /// The kernel's `ah_mt` (`struct ip_auth_hdr`, 12 bytes, SPI at 4).
    fn eval(&self, cx: &EvalCx) -> Result<(), Miss> {
        let h = xtopt::xt_header(cx, 12).map_err(Miss::Header)?;
        let v = xtopt::be32(h, 4);
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
        let o = run(&mut h, "iptables -n -L INPUT").stdout;
        let line = o.lines().nth(2).unwrap_or("").to_string();
        let l = line.get(61..).unwrap_or("").trim_start().to_string();
        (save.lines().nth(1).unwrap_or("").to_string(), l)
    }

    #[test]
    fn save_and_list() {
        let cases = [
            ("--ahspi 0", "-A INPUT -p ah -m ah --ahspi 0", "ah spi:0"),
            (
                "! --ahspi 5:10",
                "-A INPUT -p ah -m ah ! --ahspi 5:10",
                "ah spis:!5:10",
            ),
            (
                "--ahspi 4:3",
                "-A INPUT -p ah -m ah --ahspi 4:3",
                "ah spis:4:3",
            ),
            (
                "! --ahspi :",
                "-A INPUT -p ah -m ah",
                "ah spis:!0:4294967295",
            ),
            (
                "--ahspi 3:",
                "-A INPUT -p ah -m ah --ahspi 3:4294967295",
                "ah spis:3:4294967295",
            ),
            ("", "-A INPUT -p ah -m ah", "ah "),
        ];
        for (opt, save, list) in cases {
            assert_eq!(
                show(&format!("-p ah -m ah {opt}")),
                (save.into(), list.into())
            );
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p ah -m ah --ahspi 0:invalid");
        assert!(out.stderr.contains(
            "ah: bad value for option \"--ahspi\" near \"invalid\", or out of range (0-4294967295).\n\n"
        ));
        let out = run(&mut h, "iptables -A INPUT -p ah -m ah --ahspi 1:2:3");
        assert!(out
            .stderr
            .contains("ah: Too many components for option \"--ahspi\" (max: 2)\n\n"));
        assert_eq!(run(&mut h, "iptables -A INPUT -m ah --ahspi 0").exit, 4);
    }

    #[test]
    fn delete_compares_data_not_text() {
        let mut h = Host::new("h");
        run(&mut h, "iptables -A INPUT -p ah -m ah ! --ahspi :");
        // Saved as plain `-m ah`, but the inversion is still in the data.
        assert_eq!(run(&mut h, "iptables -D INPUT -p ah -m ah").exit, 1);
        assert_eq!(
            run(&mut h, "iptables -D INPUT -p ah -m ah ! --ahspi :").exit,
            0
        );
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn spi_ranges_and_inversion() {
        let mut w = world(&[
            "-A FORWARD -p ah -m ah --ahspi 7",
            "-A FORWARD -p ah -m ah --ahspi 5:70000",
            "-A FORWARD -p ah -m ah ! --ahspi 7",
            "-A FORWARD -p ah -m ah",
        ]);
        let s = inject(
            &mut w,
            raw(51, 0, &[0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        assert_eq!(s.pattern("FORWARD"), [true, true, false, true]);
        assert_eq!(
            s.why("FORWARD", 3),
            "`! --ahspi 7` did not match: the SPI is 7"
        );
        let s = inject(
            &mut w,
            raw(51, 0, &[0, 0, 0, 0, 0, 1, 17, 112, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        assert_eq!(s.pattern("FORWARD"), [false, true, true, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`--ahspi 7` did not match: the SPI is 70000"
        );
    }

    #[test]
    fn fragments_and_short_headers() {
        let mut w = world(&["-A FORWARD -p ah -m ah ! --ahspi 1", "-A FORWARD -p ah"]);
        let s = inject(&mut w, raw(51, 9, &[0; 16]));
        assert_eq!(s.pattern("FORWARD"), [false, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --ahspi 1` did not match: a later fragment has no AH header"
        );
        let s = inject(&mut w, raw(51, 0, &[0; 11]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(!s.reached("FORWARD", 2));
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --ahspi 1` did not match: the AH header is cut short (11 of 12 bytes), so the kernel drops the packet"
        );
    }
}
