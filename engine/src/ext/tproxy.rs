//! `-j TPROXY`: deliver the packet to a local socket (transparent proxy)
//! without changing its addresses, optionally marking it for policy routing
//! (mangle PREROUTING, TCP or UDP).

use super::{
    xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult,
};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::ruleset::check::hooks_outside;
use crate::ruleset::Hook;
use std::net::Ipv4Addr;

const O_PORT: u8 = 0;
const O_ADDR: u8 = 1;
const O_MARK: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "TPROXY",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("on-port", O_PORT).mand(),
        OptSpec::arg("on-ip", O_ADDR),
        OptSpec::arg("tproxy-mark", O_MARK),
    ],
    guided: true,
    help: "TPROXY target options:\n  \
--on-port port\t\t    Local port to deliver to (0: the original port)\n  \
--on-ip ip\t\t\t    Local address to deliver to (default: the original one)\n  \
--tproxy-mark value[/mask]\t    Set these packet mark bits\n\n",
    new_match: None,
    new_target: Some(|| Box::new(Tproxy::default())),
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tproxy {
    pub port: u16,
    pub addr: Ipv4Addr,
    pub mark: u32,
    pub mask: u32,
}

impl Default for Tproxy {
    fn default() -> Self {
        Tproxy {
            port: 0,
            addr: Ipv4Addr::UNSPECIFIED,
            mark: 0,
            mask: 0,
        }
    }
}

/// `XTTYPE_PORT` as getaddrinfo resolves a service: decimal digits (taken
/// modulo 65536), empty for 0, or a service name of any protocol.
fn parse_port(s: &str) -> XtResult<u16> {
    let t = s.trim_start();
    if t.is_empty() {
        return Ok(0);
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let v = t.bytes().fold(0u64, |v, b| {
            v.saturating_mul(10).saturating_add((b - b'0') as u64)
        });
        return Ok((v & 0xffff) as u16);
    }
    ["tcp", "udp", "sctp", "dccp"]
        .iter()
        .find_map(|p| crate::netdb::service_port(s, p))
        .ok_or_else(|| XtError::new(format!("Port \"{s}\" does not resolve to anything.\n")))
}

impl Target for Tproxy {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_PORT => self.port = parse_port(arg)?,
            O_ADDR => self.addr = xtopt::host(arg)?,
            O_MARK => {
                let (v, m) = xtopt::markmask("TPROXY", "tproxy-mark", arg)?;
                self.mark = v;
                self.mask = m;
            }
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" || hooks_outside(cx.hooks, &[Hook::Prerouting]) {
            return Err(KernelError::Invalid);
        }
        if !matches!(cx.proto, 6 | 17) || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --on-port {} --on-ip {} --tproxy-mark 0x{:x}/0x{:x}",
            self.port, self.addr, self.mark, self.mask
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " TPROXY redirect {}:{} mark 0x{:x}/0x{:x}",
            self.addr, self.port, self.mark, self.mask
        ));
    }

    /// `tproxy_tg4`: the packet goes to a transparent (`IP_TRANSPARENT`)
    /// socket on the port, with the mark bits set, or is dropped when there
    /// is none. The simulator's sockets are never transparent, so, as the
    /// kernel does when it finds no such socket, the packet is dropped.
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Drop)
    }

    fn explain(&self) -> String {
        let addr = if self.addr.is_unspecified() {
            "the original address".to_string()
        } else {
            self.addr.to_string()
        };
        let port = if self.port == 0 {
            "the original port".to_string()
        } else {
            format!("port {}", self.port)
        };
        let mut s = format!("deliver the packet to a local socket on {addr}, {port}");
        if self.mask != 0 {
            s.push_str(&format!(
                ", setting the mark bits 0x{:x} to 0x{:x}",
                self.mask, self.mark
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::parse_port;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn ports_like_getaddrinfo() {
        assert_eq!(parse_port("99999").unwrap(), 34463);
        assert_eq!(parse_port("010").unwrap(), 10);
        assert_eq!(parse_port("tftp").unwrap(), 69);
        assert_eq!(
            parse_port("1-2").unwrap_err().msg,
            "Port \"1-2\" does not resolve to anything.\n"
        );
    }

    #[test]
    fn save_and_checks() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A PREROUTING -p udp -j TPROXY --on-port 1 --tproxy-mark 5"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t mangle -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -p udp -j TPROXY --on-port 1 --on-ip 0.0.0.0 --tproxy-mark 0x5/0xffffffff\n"
        );
        assert!(run(&mut h, "iptables -t mangle -L PREROUTING")
            .stdout
            .contains(" TPROXY redirect 0.0.0.0:1 mark 0x5/0xffffffff\n"));
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A PREROUTING -j TPROXY --on-port 1"
            )
            .exit,
            4
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A INPUT -p tcp -j TPROXY --on-port 1"
            )
            .exit,
            4
        );
    }

    #[test]
    fn no_transparent_socket_drops() {
        use crate::ext::targets_testkit::{tcp, Lab};
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t mangle -A PREROUTING -p tcp -j TPROXY --on-port 3128 --tproxy-mark 0x1/0x1",
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4000, 80, "S"));
        assert!(lab.got(r).is_empty() && lab.got(lab.server).is_empty());
        assert!(lab
            .w
            .reports
            .iter()
            .any(|r| r.outcome == "dropped on router in PREROUTING"));
    }
}
