//! `-m tcp` (also loaded by `-p tcp`): source/destination ports, TCP flags,
//! `--syn` and `--tcp-option`.

use super::{xtopt, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
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
    help: "tcp match options:\n\
[!] --tcp-flags mask comp        match when TCP flags & mask == comp\n\
                                 (Flags: SYN ACK FIN RST URG PSH ALL NONE)\n\
[!] --syn                        match when only SYN flag set\n\
                                 (equivalent to --tcp-flags SYN,RST,ACK,FIN SYN)\n\
[!] --source-port port[:port]\n\
 --sport ...\n\
                                 match source port(s)\n\
[!] --destination-port port[:port]\n\
 --dport ...\n\
                                 match destination port(s)\n\
[!] --tcp-option number          match if TCP option set\n",
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
    seen: u8,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            sport: (0, 0xffff),
            sport_inv: false,
            dport: (0, 0xffff),
            dport_inv: false,
            option: 0,
            option_inv: false,
            flg_mask: 0,
            flg_cmp: 0,
            flags_inv: false,
            seen: 0,
        }
    }
}

/// `port[:port]` for a protocol; `:` alone is the full range.
pub fn parse_port_range(s: &str, proto: &str, check_order: bool) -> XtResult<(u16, u16)> {
    let port = |p: &str| {
        xtopt::parse_port(p, proto)
            .ok_or_else(|| XtError::new(format!("invalid port/service `{p}' specified")))
    };
    match s.split_once(':') {
        None => {
            let p = port(s)?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { port(a)? };
            let hi = if b.is_empty() { 0xffff } else { port(b)? };
            if check_order && lo > hi {
                return Err(XtError::new("invalid portrange (min > max)"));
            }
            Ok((lo, hi))
        }
    }
}

fn parse_flags(s: &str) -> XtResult<u8> {
    let mut v = 0;
    for name in s.split(',') {
        let f = FLAG_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| XtError::new(format!("Unknown TCP flag `{name}'")))?;
        v |= f.1;
    }
    Ok(v)
}

fn flags_text(f: u8) -> String {
    if f == 0 {
        return "NONE".to_string();
    }
    if f == 0x3f {
        // print_tcpf walks the table in order and stops at the first whole match.
    }
    let mut parts = Vec::new();
    let mut rest = f;
    for (name, bit) in FLAG_NAMES.iter().take(6) {
        if rest & bit != 0 {
            parts.push(*name);
            rest &= !bit;
        }
    }
    parts.join(",")
}

/// `-L` text for a port or service name.
pub fn port_text(port: u16, proto: &str, numeric: bool) -> String {
    if !numeric {
        if let Some(n) = crate::netdb::service_name(port, proto) {
            return n.to_string();
        }
    }
    port.to_string()
}

/// `-L` text of a port range (` dpt:22`, ` spts:1:1023`, ` dpt:!22`).
pub fn print_ports(
    out: &mut String,
    name: &str,
    r: (u16, u16),
    inv: bool,
    proto: &str,
    numeric: bool,
) {
    if r.0 == 0 && r.1 == 0xffff && !inv {
        return;
    }
    let i = if inv { "!" } else { "" };
    if r.0 == r.1 {
        out.push_str(&format!(" {name}:{i}{}", port_text(r.0, proto, numeric)));
    } else {
        out.push_str(&format!(
            " {name}s:{i}{}:{}",
            port_text(r.0, proto, numeric),
            port_text(r.1, proto, numeric)
        ));
    }
}

/// Save text of a port range (` --dport 22`, ` ! --sport 1:1023`).
pub fn save_ports(out: &mut String, opt: &str, r: (u16, u16), inv: bool) {
    if r.0 == 0 && r.1 == 0xffff {
        return;
    }
    if inv {
        out.push_str(" !");
    }
    if r.0 == r.1 {
        out.push_str(&format!(" --{opt} {}", r.0));
    } else {
        out.push_str(&format!(" --{opt} {}:{}", r.0, r.1));
    }
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
                self.sport = parse_port_range(arg, "tcp", true)?;
                self.sport_inv = inv;
                self.seen |= 1;
            }
            O_DPORT => {
                once(self.seen, 2, "Only one `--destination-port' allowed")?;
                self.dport = parse_port_range(arg, "tcp", true)?;
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
                    .ok_or_else(|| XtError::new(format!("Bad TCP option `{arg}'")))?
                    as u8;
                self.option_inv = inv;
                self.seen |= 8;
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, cx: &mut ParseCx) -> XtResult {
        if cx.proto != 6 || cx.proto_invert {
            return Err(XtError::new("TCP match requires '-p tcp'"));
        }
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        if cx.proto != 6 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_ports(out, "sport", self.sport, self.sport_inv);
        save_ports(out, "dport", self.dport, self.dport_inv);
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
        print_ports(out, "spt", self.sport, self.sport_inv, "tcp", numeric);
        print_ports(out, "dpt", self.dport, self.dport_inv, "tcp", numeric);
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
        let range = |r: (u16, u16)| {
            if r.0 == r.1 {
                format!("port {}", r.0)
            } else {
                format!("ports {}-{}", r.0, r.1)
            }
        };
        if self.sport != (0, 0xffff) {
            parts.push(format!(
                "from {}{}",
                if self.sport_inv { "any but " } else { "" },
                range(self.sport)
            ));
        }
        if self.dport != (0, 0xffff) {
            parts.push(format!(
                "to {}{}",
                if self.dport_inv { "any but " } else { "" },
                range(self.dport)
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
                "with flags {} {}set among {}",
                flags_text(self.flg_cmp),
                if self.flags_inv { "not " } else { "" },
                flags_text(self.flg_mask)
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
}
