//! `-m udp` (also loaded by `-p udp`): UDP source and destination ports.

use super::xtopt::{self, ALL_PORTS};
use super::{ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_SPORT: u8 = 0;
const O_DPORT: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "udp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("source-port", O_SPORT).inv(),
        OptSpec::arg("sport", O_SPORT).inv(),
        OptSpec::arg("destination-port", O_DPORT).inv(),
        OptSpec::arg("dport", O_DPORT).inv(),
    ],
    guided: true,
    help: "udp match options:
[!] --source-port port[:port]
 --sport ...
                                 source port or inclusive range
[!] --destination-port port[:port]
 --dport ...
                                 destination port or inclusive range\n",
    new_match: Some(|| Box::new(Udp::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    pub sport: (u16, u16),
    pub sport_inv: bool,
    pub dport: (u16, u16),
    pub dport_inv: bool,
    /// Stored as native nf_tables expressions (no kernel `xt_udp` check).
    pub native: bool,
}

impl Default for Udp {
    fn default() -> Self {
        Udp {
            sport: ALL_PORTS,
            sport_inv: false,
            dport: ALL_PORTS,
            dport_inv: false,
            native: false,
        }
    }
}

impl Udp {
    /// Nothing but the defaults: kept as an `xt` blob by iptables-nft.
    fn is_blank(&self) -> bool {
        self.sport == ALL_PORTS && self.dport == ALL_PORTS && !self.sport_inv && !self.dport_inv
    }

    /// Folds the native pieces of `other` in (later values win, inversions add up).
    fn merge(&mut self, other: &Udp) {
        if other.sport != ALL_PORTS {
            self.sport = other.sport;
            self.sport_inv |= other.sport_inv;
        }
        if other.dport != ALL_PORTS {
            self.dport = other.dport;
            self.dport_inv |= other.dport_inv;
        }
    }
}

impl Match for Udp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        // udp accepts min > max (1.8.9 has no order check for XTTYPE_PORTRC).
        match id {
            O_SPORT => {
                self.sport = xtopt::port_range_rc("udp", "source-port", arg)?;
                self.sport_inv = inv;
            }
            _ => {
                self.dport = xtopt::port_range_rc("udp", "destination-port", arg)?;
                self.dport_inv = inv;
            }
        }
        Ok(())
    }

    fn nft_readback(&self, cx: &mut ParseCx, rule: &mut Vec<Box<dyn Match>>) -> XtResult<bool> {
        if self.is_blank() {
            return Ok(true);
        }
        if cx.proto != 17 {
            return Err(XtError::new("UDP match requires '-p udp'"));
        }
        let mut back = Udp {
            native: true,
            ..Udp::default()
        };
        back.merge(self);
        if back.is_blank() {
            return Ok(false);
        }
        let first = rule.iter().enumerate().find_map(|(i, m)| {
            m.as_any()
                .downcast_ref::<Udp>()
                .filter(|u| u.native)
                .map(|u| (i, u.clone()))
        });
        match first {
            Some((i, mut merged)) => {
                merged.merge(&back);
                rule[i] = Box::new(merged);
            }
            None => rule.push(Box::new(back)),
        }
        Ok(false)
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        if !self.native && (cx.proto != 17 || cx.proto_invert) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.sport != ALL_PORTS {
            xtopt::save_ports(out, "sport", self.sport, self.sport_inv);
        }
        if self.dport != ALL_PORTS {
            xtopt::save_ports(out, "dport", self.dport, self.dport_inv);
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" udp");
        xtopt::print_ports(out, "spt", self.sport, self.sport_inv, "udp", numeric);
        xtopt::print_ports(out, "dpt", self.dport, self.dport_inv, "udp", numeric);
    }

    fn explain(&self) -> String {
        let mut parts = vec!["UDP".to_string()];
        let but = |inv: bool| if inv { "any but " } else { "" };
        if self.sport != ALL_PORTS {
            parts.push(format!(
                "from {}{}",
                but(self.sport_inv),
                xtopt::explain_ports(self.sport)
            ));
        }
        if self.dport != ALL_PORTS {
            parts.push(format!(
                "to {}{}",
                but(self.dport_inv),
                xtopt::explain_ports(self.dport)
            ));
        }
        parts.join(" ")
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

    /// Adds `spec` to INPUT; returns its save line and its `-L`, `-L -n` match texts.
    fn show(spec: &str) -> (String, String, String) {
        let mut h = Host::new("h");
        let out = run(&mut h, &format!("iptables -A INPUT {spec}"));
        assert_eq!(out.exit, 0, "{spec}: {}", out.stderr);
        let save = run(&mut h, "iptables -S INPUT").stdout;
        let mut list = |n: &str| {
            let o = run(&mut h, &format!("iptables {n} -L INPUT")).stdout;
            o.lines()
                .nth(2)
                .unwrap_or("")
                .get(61..)
                .unwrap_or("")
                .trim_start()
                .to_string()
        };
        let (l, ln) = (list(""), list("-n"));
        (save.lines().nth(1).unwrap_or("").to_string(), l, ln)
    }

    #[test]
    fn save_and_list() {
        assert_eq!(
            show("-p udp --dport 53 ! --sport 1024:"),
            (
                "-A INPUT -p udp -m udp ! --sport 1024:65535 --dport 53".into(),
                "udp spts:!1024:65535 dpt:domain".into(),
                "udp spts:!1024:65535 dpt:53".into()
            )
        );
        // min > max is accepted and kept.
        assert_eq!(
            show("-p udp --sport 4:3").0,
            "-A INPUT -p udp -m udp --sport 4:3"
        );
        // Numbers and names as getaddrinfo reads them.
        assert_eq!(
            show("-p udp --sport 65536").0,
            "-A INPUT -p udp -m udp --sport 0"
        );
    }

    #[test]
    fn nft_readback() {
        // A blank match stays, an inverted full range vanishes.
        assert_eq!(show("-p udp -m udp --sport :").0, "-A INPUT -p udp -m udp");
        assert_eq!(show("-p udp -m udp ! --sport :").0, "-A INPUT -p udp");
        // Two native udp matches come back as one.
        assert_eq!(
            show("-p udp -m udp --sport 1 -m udp ! --dport 2").0,
            "-A INPUT -p udp -m udp --sport 1 ! --dport 2"
        );
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p udp --sport -1");
        assert_eq!(
            out.stderr,
            "iptables v1.8.9 (nf_tables): Port \"-1\" does not resolve to anything.\n\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let out = run(&mut h, "iptables -A INPUT -p udp --sport 1 --sport 2");
        assert!(out
            .stderr
            .contains("udp: option \"--source-port\" can only be used once."));
        let out = run(&mut h, "iptables -A INPUT -m udp --dport 1");
        assert!(out.stderr.contains("UDP match requires '-p udp'"));
        // A blank match without -p udp is refused by the kernel.
        let out = run(&mut h, "iptables -A INPUT -m udp");
        assert_eq!(out.exit, 4);
    }
}
