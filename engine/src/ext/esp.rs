//! `-m esp` (also loaded by `-p esp`): the SPI of IPsec ESP packets.

use super::xtopt::{self, NoHeader, ALL_SPIS};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

const O_SPI: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "esp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("espspi", O_SPI).inv()],
    guided: true,
    help: "esp match options:
[!] --espspi spi[:spi]
                                 match the SPI (or a range of SPIs)\n",
    new_match: Some(|| Box::new(Esp::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Esp {
    pub spis: (u32, u32),
    pub inv: bool,
}

impl Default for Esp {
    fn default() -> Self {
        Esp {
            spis: ALL_SPIS,
            inv: false,
        }
    }
}

impl Match for Esp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.spis = xtopt::spi_range("esp", "espspi", arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // The esp match is registered for IPPROTO_ESP.
        if cx.proto != 50 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn data_key(&self) -> String {
        format!("{self:?}")
    }

    fn save(&self, out: &mut String) {
        xtopt::save_spis(out, "espspi", self.spis, self.inv);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" esp");
        let spis = xtopt::spis_text(self.spis, self.inv);
        if !spis.is_empty() {
            out.push(' ');
            out.push_str(&spis);
        }
    }

    fn explain(&self) -> String {
        if self.spis == ALL_SPIS {
            return "any IPsec ESP packet".into();
        }
        format!("IPsec ESP {}", xtopt::explain_spis(self.spis, self.inv))
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
        let opt = xtopt::range_opt("espspi", self.spis, self.inv);
        match self.eval(cx) {
            Ok(()) => "-m esp matched".into(),
            Err(Miss::Header(h)) => xtopt::miss(&opt, &h.text("ESP")),
            Err(Miss::Spi(v)) => xtopt::miss(&opt, &format!("the SPI is {v}")),
        }
    }
}

/// Why the kernel's `esp_mt` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    /// The packet's SPI.
    Spi(u32),
}

impl Esp {
    /// The kernel's `esp_mt` (`struct ip_esp_hdr`, 8 bytes, SPI at 0).
    fn eval(&self, cx: &EvalCx) -> Result<(), Miss> {
        let h = xtopt::xt_header(cx, 8).map_err(Miss::Header)?;
        let v = xtopt::be32(h, 0);
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
            (
                "--espspi 0",
                "-A INPUT -p esp -m esp --espspi 0",
                "esp spi:0",
            ),
            (
                "! --espspi 5:10",
                "-A INPUT -p esp -m esp ! --espspi 5:10",
                "esp spis:!5:10",
            ),
            (
                "--espspi 4:3",
                "-A INPUT -p esp -m esp --espspi 4:3",
                "esp spis:4:3",
            ),
            (
                "! --espspi :",
                "-A INPUT -p esp -m esp",
                "esp spis:!0:4294967295",
            ),
            (
                "--espspi 3:",
                "-A INPUT -p esp -m esp --espspi 3:4294967295",
                "esp spis:3:4294967295",
            ),
            ("", "-A INPUT -p esp -m esp", "esp"),
        ];
        for (opt, save, list) in cases {
            assert_eq!(
                show(&format!("-p esp -m esp {opt}")),
                (save.into(), list.into())
            );
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p esp -m esp --espspi 0:invalid");
        assert!(out.stderr.contains(
            "esp: bad value for option \"--espspi\" near \"invalid\", or out of range (0-4294967295).\n\n"
        ));
        let out = run(&mut h, "iptables -A INPUT -p esp -m esp --espspi 1:2:3");
        assert!(out
            .stderr
            .contains("esp: Too many components for option \"--espspi\" (max: 2)\n\n"));
        assert_eq!(run(&mut h, "iptables -A INPUT -m esp --espspi 0").exit, 4);
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn spi_ranges_and_inversion() {
        let mut w = world(&[
            "-A FORWARD -p esp -m esp --espspi 7",
            "-A FORWARD -p esp -m esp --espspi 5:70000",
            "-A FORWARD -p esp -m esp ! --espspi 7",
            "-A FORWARD -p esp -m esp",
        ]);
        let s = inject(
            &mut w,
            raw(50, 0, &[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        assert_eq!(s.pattern("FORWARD"), [true, true, false, true]);
        assert_eq!(
            s.why("FORWARD", 3),
            "`! --espspi 7` did not match: the SPI is 7"
        );
        let s = inject(
            &mut w,
            raw(50, 0, &[0, 1, 17, 112, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        assert_eq!(s.pattern("FORWARD"), [false, true, true, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`--espspi 7` did not match: the SPI is 70000"
        );
    }

    #[test]
    fn fragments_and_short_headers() {
        let mut w = world(&["-A FORWARD -p esp -m esp ! --espspi 1", "-A FORWARD -p esp"]);
        let s = inject(&mut w, raw(50, 9, &[0; 16]));
        assert_eq!(s.pattern("FORWARD"), [false, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --espspi 1` did not match: a later fragment has no ESP header"
        );
        let s = inject(&mut w, raw(50, 0, &[0; 7]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(!s.reached("FORWARD", 2));
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --espspi 1` did not match: the ESP header is cut short (7 of 8 bytes), so the kernel drops the packet"
        );
    }
}
