//! `-m tcp` (also loaded by `-p tcp`): source/destination ports, TCP flags,
//! `--syn` and `--tcp-option`.

use super::xtopt::{self, ALL_PORTS};
use super::{ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_SPORT: u8 = 0;
const O_DPORT: u8 = 1;
const O_SYN: u8 = 2;
const O_FLAGS: u8 = 3;
const O_OPTION: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "tcp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("source-port", O_SPORT).inv(),
        OptSpec::arg("sport", O_SPORT).inv(),
        OptSpec::arg("destination-port", O_DPORT).inv(),
        OptSpec::arg("dport", O_DPORT).inv(),
        OptSpec::flag("syn", O_SYN).inv(),
        OptSpec::arg("tcp-flags", O_FLAGS).inv(),
        OptSpec::arg("tcp-option", O_OPTION).inv(),
    ],
    guided: false,
    help: "tcp match options:
[!] --tcp-flags mask comp        the flags in mask are set exactly as in comp
                                 (Flags: SYN ACK FIN RST URG PSH ALL NONE)
[!] --syn                        a connection-opening SYN (SYN set; RST, ACK, FIN clear)
                                 (same as --tcp-flags SYN,RST,ACK,FIN SYN)
[!] --source-port port[:port]
 --sport ...
                                 source port or inclusive range
[!] --destination-port port[:port]
 --dport ...
                                 destination port or inclusive range
[!] --tcp-option number          the TCP option with this number is present\n",
    new_match: Some(|| Box::new(Tcp::default())),
    new_target: None,
};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

const FLAG_NAMES: [(&str, u8); 8] = [
    ("FIN", FIN),
    ("SYN", SYN),
    ("RST", RST),
    ("PSH", PSH),
    ("ACK", ACK),
    ("URG", URG),
    ("ALL", 0x3f),
    ("NONE", 0),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    pub sport: (u16, u16),
    pub sport_inv: bool,
    pub dport: (u16, u16),
    pub dport_inv: bool,
    pub option: u8,
    pub option_inv: bool,
    pub flg_mask: u8,
    pub flg_cmp: u8,
    pub flags_inv: bool,
    /// Stored as native nf_tables expressions (no kernel `xt_tcp` check).
    pub native: bool,
    seen: u8,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            sport: ALL_PORTS,
            sport_inv: false,
            dport: ALL_PORTS,
            dport_inv: false,
            option: 0,
            option_inv: false,
            flg_mask: 0,
            flg_cmp: 0,
            flags_inv: false,
            native: false,
            seen: 0,
        }
    }
}

impl Tcp {
    /// Nothing given but the defaults (`-m tcp`, `--sport :`): iptables-nft
    /// keeps such a match as an `xt` blob.
    fn is_blank(&self) -> bool {
        let blank = Tcp {
            native: self.native,
            seen: self.seen,
            ..Tcp::default()
        };
        *self == blank
    }

    /// Folds the native pieces of `other` into `self`, as iptables-nft
    /// rebuilds one tcp match from all tcp expressions of a rule: later
    /// values win, inversions accumulate.
    fn merge(&mut self, other: &Tcp) {
        if other.flg_mask != 0 {
            self.flg_mask = other.flg_mask;
            self.flg_cmp = other.flg_cmp;
            self.flags_inv |= other.flags_inv;
        }
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

fn parse_flags(s: &str) -> XtResult<u8> {
    let mut v = 0;
    // strtok: empty items between commas are skipped.
    for name in s.split(',').filter(|n| !n.is_empty()) {
        let f = FLAG_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| XtError::new(format!("Unknown TCP flag `{name}'")))?;
        v |= f.1;
    }
    Ok(v)
}

/// Flag names as iptables prints them (`FIN,SYN,RST,ACK`, `NONE`).
pub fn flags_text(f: u8) -> String {
    if f & 0x3f == 0 {
        return "NONE".to_string();
    }
    FLAG_NAMES[..6]
        .iter()
        .filter(|(_, bit)| f & bit != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

impl Match for Tcp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let once = |seen: u8, bit: u8, msg: &str| -> XtResult {
            if seen & bit != 0 {
                Err(XtError::new(msg.to_string()))
            } else {
                Ok(())
            }
        };
        match id {
            O_SPORT => {
                once(self.seen, 1, "Only one `--source-port' allowed")?;
                self.sport = xtopt::parse_port_range(arg, "tcp", true)?;
                self.sport_inv = inv;
                self.seen |= 1;
            }
            O_DPORT => {
                once(self.seen, 2, "Only one `--destination-port' allowed")?;
                self.dport = xtopt::parse_port_range(arg, "tcp", true)?;
                self.dport_inv = inv;
                self.seen |= 2;
            }
            O_SYN => {
                once(
                    self.seen,
                    4,
                    "Only one of `--syn' or `--tcp-flags'  allowed",
                )?;
                self.flg_mask = SYN | RST | ACK | FIN;
                self.flg_cmp = SYN;
                self.flags_inv = inv;
                self.seen |= 4;
            }
            O_FLAGS => {
                once(
                    self.seen,
                    4,
                    "Only one of `--syn' or `--tcp-flags'  allowed",
                )?;
                let Some(comp) = cx.take_word() else {
                    return Err(XtError::new("--tcp-flags requires two args."));
                };
                self.flg_mask = parse_flags(arg)?;
                self.flg_cmp = parse_flags(&comp)?;
                self.flags_inv = inv;
                self.seen |= 4;
            }
            O_OPTION => {
                once(self.seen, 8, "Only one `--tcp-option' allowed")?;
                self.option = xtopt::strtoul_all(arg, 1, 255)
                    .ok_or_else(|| XtError::new(format!("Bad TCP option \"{arg}\"")))?
                    as u8;
                self.option_inv = inv;
                self.seen |= 8;
            }
            _ => {}
        }
        Ok(())
    }

    fn nft_readback(&self, cx: &mut ParseCx, rule: &mut Vec<Box<dyn Match>>) -> XtResult<bool> {
        // An option test or a blank match travels as an xt blob.
        if self.option != 0 || self.option_inv || self.is_blank() {
            return Ok(true);
        }
        if cx.proto != 6 {
            return Err(XtError::new("TCP match requires '-p tcp'"));
        }
        let mut back = Tcp {
            native: true,
            ..Tcp::default()
        };
        back.merge(self);
        if back.is_blank() {
            return Ok(false);
        }
        let first = rule
            .iter()
            .position(|m| m.as_any().downcast_ref::<Tcp>().is_some_and(|t| t.native));
        match first.and_then(|i| rule[i].as_any().downcast_ref::<Tcp>().map(|t| (i, t))) {
            Some((i, t)) => {
                let mut merged = t.clone();
                merged.merge(&back);
                rule[i] = Box::new(merged);
            }
            None => rule.push(Box::new(back)),
        }
        Ok(false)
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // xt_tcp is registered for IPPROTO_TCP: x_tables refuses other or inverted protocols.
        if !self.native && (cx.proto != 6 || cx.proto_invert) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn data_key(&self) -> String {
        // The xt_tcp data, without our record of which options were given.
        let data = Tcp {
            seen: 0,
            ..self.clone()
        };
        format!("{data:?}")
    }

    fn save(&self, out: &mut String) {
        if self.sport != ALL_PORTS {
            xtopt::save_ports(out, "sport", self.sport, self.sport_inv);
        }
        if self.dport != ALL_PORTS {
            xtopt::save_ports(out, "dport", self.dport, self.dport_inv);
        }
        if self.option != 0 || self.option_inv {
            if self.option_inv {
                out.push_str(" !");
            }
            out.push_str(&format!(" --tcp-option {}", self.option));
        }
        if self.flg_mask != 0 || self.flags_inv {
            if self.flags_inv {
                out.push_str(" !");
            }
            out.push_str(&format!(
                " --tcp-flags {} {}",
                flags_text(self.flg_mask),
                flags_text(self.flg_cmp)
            ));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" tcp");
        xtopt::print_ports(out, "spt", self.sport, self.sport_inv, "tcp", numeric);
        xtopt::print_ports(out, "dpt", self.dport, self.dport_inv, "tcp", numeric);
        if self.option != 0 || self.option_inv {
            out.push_str(&format!(
                " option={}{}",
                if self.option_inv { "!" } else { "" },
                self.option
            ));
        }
        if self.flg_mask != 0 || self.flags_inv {
            out.push_str(" flags:");
            if self.flags_inv {
                out.push('!');
            }
            if numeric {
                out.push_str(&format!("0x{:02X}/0x{:02X}", self.flg_mask, self.flg_cmp));
            } else {
                out.push_str(&format!(
                    "{}/{}",
                    flags_text(self.flg_mask),
                    flags_text(self.flg_cmp)
                ));
            }
        }
    }

    fn explain(&self) -> String {
        let mut parts = vec!["TCP".to_string()];
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
        if self.option != 0 {
            parts.push(format!(
                "{} TCP option {}",
                if self.option_inv { "without" } else { "with" },
                self.option
            ));
        }
        if self.flg_mask == SYN | RST | ACK | FIN && self.flg_cmp == SYN {
            parts.push(if self.flags_inv {
                "that is not a connection-opening SYN".into()
            } else {
                "that opens a connection (SYN)".into()
            });
        } else if self.flg_mask != 0 {
            parts.push(format!(
                "whose flags {} are {}{}",
                flags_text(self.flg_mask),
                if self.flags_inv {
                    "not exactly "
                } else {
                    "exactly "
                },
                if self.flg_cmp & self.flg_mask == 0 {
                    "all clear".to_string()
                } else {
                    format!("{} set", flags_text(self.flg_cmp & self.flg_mask))
                }
            ));
        }
        parts.join(" ")
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
    fn implicit_load_and_save() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -p tcp --dport 22 --syn -j ACCEPT"
            )
            .exit,
            0
        );
        let out = run(&mut h, "iptables -S INPUT");
        assert_eq!(
            out.stdout,
            "-P INPUT ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT\n"
        );
    }

    #[test]
    fn list_shows_service_names() {
        let mut h = Host::new("h");
        run(&mut h, "iptables -A INPUT -p tcp --dport 22 -j ACCEPT");
        let out = run(&mut h, "iptables -L INPUT");
        assert_eq!(
            out.stdout,
            "Chain INPUT (policy ACCEPT)\n\
target     prot opt source               destination         \n\
ACCEPT     tcp  --  anywhere             anywhere             tcp dpt:ssh\n"
        );
    }

    #[test]
    fn port_errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p tcp --sport 4:3");
        assert_eq!(
            out.stderr,
            "iptables v1.8.9 (nf_tables): invalid portrange (min > max)\nTry `iptables -h' or 'iptables --help' for more information.\n"
        );
        let out = run(&mut h, "iptables -A INPUT -m tcp --dport 1");
        assert_eq!(out.exit, 2);
        assert!(out.stderr.contains("TCP match requires '-p tcp'"));
    }

    fn first_rule(h: &mut Host) -> String {
        let out = run(h, "iptables -S INPUT");
        out.stdout.lines().nth(1).unwrap_or("").to_string()
    }

    #[test]
    fn nft_readback_quirks() {
        let cases = [
            ("-p tcp -m tcp --sport :", "-A INPUT -p tcp -m tcp"),
            ("-p tcp -m tcp ! --sport :", "-A INPUT -p tcp"),
            (
                "-p tcp ! --sport : --syn",
                "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN",
            ),
            (
                "-p tcp -m tcp --sport 1 -m tcp --dport 2",
                "-A INPUT -p tcp -m tcp --sport 1 --dport 2",
            ),
            (
                "-p tcp -m tcp ! --dport 2 -m tcp --dport 3",
                "-A INPUT -p tcp -m tcp ! --dport 3",
            ),
            (
                "-p tcp -m tcp --tcp-option 3 -m tcp --dport 2",
                "-A INPUT -p tcp -m tcp --tcp-option 3 -m tcp --dport 2",
            ),
            ("-p tcp -m tcp --tcp-flags NONE SYN", "-A INPUT -p tcp"),
            (
                "! -p tcp -m tcp --tcp-flags SYN SYN",
                "-A INPUT ! -p tcp -m tcp --tcp-flags SYN SYN",
            ),
            (
                "-p tcp --tcp-flags ALL NONE",
                "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE",
            ),
            (
                "-p tcp --sport 0x10:010",
                "-A INPUT -p tcp -m tcp --sport 16:8",
            ),
        ];
        for (spec, want) in cases {
            let mut h = Host::new("h");
            let out = run(&mut h, &format!("iptables -A INPUT {spec}"));
            if spec.contains("0x10") {
                // min > max is refused for tcp.
                assert_eq!(out.exit, 2);
                continue;
            }
            assert_eq!(out.exit, 0, "{spec}: {}", out.stderr);
            assert_eq!(first_rule(&mut h), want, "{spec}");
            // -D finds the rule by the same text.
            assert_eq!(run(&mut h, &format!("iptables -D INPUT {spec}")).exit, 0);
        }
    }

    #[test]
    fn list_text() {
        let mut h = Host::new("h");
        run(
            &mut h,
            "iptables -A INPUT -p tcp ! --sport 1024: --tcp-option 2 ! --syn",
        );
        let out = run(&mut h, "iptables -n -L INPUT");
        assert!(out
            .stdout
            .ends_with("tcp spts:!1024:65535 option=2 flags:!0x17/0x02\n"));
        let out = run(&mut h, "iptables -L INPUT");
        assert!(out
            .stdout
            .ends_with("tcp spts:!1024:65535 option=2 flags:!FIN,SYN,RST,ACK/SYN\n"));
    }

    #[test]
    fn proto_errors() {
        let mut h = Host::new("h");
        // Native (ports, flags) without -p tcp: refused by iptables.
        let out = run(&mut h, "iptables -A INPUT -p udp -m tcp --syn");
        assert_eq!(out.exit, 2);
        assert!(out.stderr.contains("TCP match requires '-p tcp'"));
        // An xt blob (option, or nothing) without -p tcp: refused by the kernel.
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m tcp --tcp-option 5").exit,
            4
        );
        assert_eq!(run(&mut h, "iptables -A INPUT -m tcp").exit, 4);
        let out = run(&mut h, "iptables -A INPUT -p tcp --tcp-option 0");
        assert!(out.stderr.contains("Bad TCP option \"0\""));
        let out = run(&mut h, "iptables -A INPUT -p tcp --tcp-flags SYN,FOO SYN");
        assert!(out.stderr.contains("Unknown TCP flag `FOO'"));
        let out = run(&mut h, "iptables -A INPUT -p tcp --tcp-flags SYN");
        assert!(out.stderr.contains("--tcp-flags requires two args."));
    }
}
