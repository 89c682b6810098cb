//! `-m connlimit`: limits how many connections one address (or network) may
//! have open at once, counted by connection tracking.

use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext::bit;
use crate::ext_boilerplate;

const O_UPTO: u8 = 0;
const O_ABOVE: u8 = 1;
const O_MASK: u8 = 2;
const O_SADDR: u8 = 3;
const O_DADDR: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "connlimit",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("connlimit-upto", O_UPTO)
            .inv()
            .excl(bit(O_ABOVE)),
        OptSpec::arg("connlimit-above", O_ABOVE)
            .inv()
            .excl(bit(O_UPTO)),
        OptSpec::arg("connlimit-mask", O_MASK),
        OptSpec::flag("connlimit-saddr", O_SADDR).excl(bit(O_DADDR)),
        OptSpec::flag("connlimit-daddr", O_DADDR).excl(bit(O_SADDR)),
    ],
    guided: true,
    help: concat!(
        "connlimit match options:\n",
        "  --connlimit-upto n     match while the group has at most n connections\n",
        "  --connlimit-above n    match once the group has more than n connections\n",
        "  --connlimit-mask n     prefix length that groups addresses (default: 32)\n",
        "  --connlimit-saddr      group connections by source address (default)\n",
        "  --connlimit-daddr      group connections by destination address\n",
    ),
    new_match: Some(|| Box::new(Connlimit::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connlimit {
    pub limit: u32,
    /// `--connlimit-upto` (match while at most `limit`); otherwise above.
    pub upto: bool,
    pub mask: u32,
    /// Group by destination instead of source.
    pub daddr: bool,
}

impl Default for Connlimit {
    fn default() -> Self {
        Connlimit {
            limit: 0,
            upto: false,
            mask: u32::MAX,
            daddr: false,
        }
    }
}

impl Connlimit {
    fn prefix(&self) -> u32 {
        32 - (!self.mask).checked_ilog2().map_or(0, |b| b + 1)
    }
}

impl Match for Connlimit {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_UPTO | O_ABOVE => {
                let opt = if id == O_UPTO {
                    "connlimit-upto"
                } else {
                    "connlimit-above"
                };
                self.limit = xtopt::uint("connlimit", opt, arg, 0, u32::MAX as u64)? as u32;
                self.upto = (id == O_UPTO) != inv;
            }
            O_MASK => self.mask = xtopt::plenmask("connlimit", "connlimit-mask", arg)?,
            O_SADDR => self.daddr = false,
            O_DADDR => self.daddr = true,
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & (bit(O_UPTO) | bit(O_ABOVE)) == 0 {
            return Err(XtError::new(
                "You must specify \"--connlimit-above\" or \"--connlimit-upto\".",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --connlimit-{} {} --connlimit-mask {} --connlimit-{}",
            if self.upto { "upto" } else { "above" },
            self.limit,
            self.prefix(),
            if self.daddr { "daddr" } else { "saddr" }
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " #conn {}/{} {} {}",
            if self.daddr { "dst" } else { "src" },
            self.prefix(),
            if self.upto { "<=" } else { ">" },
            self.limit
        ));
    }

    fn explain(&self) -> String {
        format!(
            "Matches while the {} /{} network of the packet has {} {} connection{} tracked",
            if self.daddr { "destination" } else { "source" },
            self.prefix(),
            if self.upto { "at most" } else { "more than" },
            self.limit,
            if self.limit == 1 { "" } else { "s" }
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
    fn inversion_swaps_upto_and_above() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m connlimit ! --connlimit-upto 3 --connlimit-mask 255.255.255.0 --connlimit-daddr",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m connlimit --connlimit-above 3 --connlimit-mask 24 --connlimit-daddr\n"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(
            l.ends_with("0.0.0.0/0            #conn dst/24 > 3\n"),
            "{l}"
        );
    }

    #[test]
    fn own_check_comes_before_guided_ones() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m connlimit --connlimit-saddr --connlimit-daddr",
        );
        assert!(out.stderr.starts_with(
            "iptables v1.8.9 (nf_tables): You must specify \"--connlimit-above\" or \"--connlimit-upto\".\nTry"
        ));
        let out = run(
            &mut h,
            "iptables -A INPUT -m connlimit --connlimit-above 3 --connlimit-upto 4",
        );
        assert!(out.stderr.contains(
            "connlimit: option \"--connlimit-upto\" cannot be used together with \"--connlimit-above\".\n\n"
        ));
    }
}
