//! `-j NETMAP`: map a whole network onto another one, keeping the host part
//! of the address (source in POSTROUTING/INPUT, destination in
//! PREROUTING/OUTPUT; nat table only).

use super::dnat::nat_check;
use super::{
    xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult,
};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::eval::{Manip, NatRange};
use crate::sim::nat;
use std::net::Ipv4Addr;

const O_TO: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "NETMAP",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[OptSpec::arg("to", O_TO).mand()],
    guided: true,
    help: "NETMAP target options:\n  \
--to address[/mask]\n\
\t\t\t\tNetwork to map the addresses onto.\n\n",
    new_match: None,
    new_target: Some(|| Box::new(Netmap::default())),
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netmap {
    /// Network address (host bits cleared).
    pub net: Ipv4Addr,
    pub prefix: u8,
}

impl Default for Netmap {
    fn default() -> Self {
        Netmap {
            net: Ipv4Addr::UNSPECIFIED,
            prefix: 32,
        }
    }
}

/// The `/mask` part of `XTTYPE_HOSTMASK`: a prefix length (larger values
/// count as 32) or a dotted mask (a non-contiguous one counts as 32).
fn parse_plen(s: &str) -> XtResult<u8> {
    if let Some(v) = xtopt::strtoul_all(s, 0, u32::MAX as u64) {
        return Ok(v.min(32) as u8);
    }
    if let Some(m) = xtopt::parse_ipv4(s) {
        return Ok(xtopt::mask_len(u32::from(m)).unwrap_or(32));
    }
    Err(XtError::new(
        "NETMAP: bad value for option \"--to\", neither a valid network mask nor valid CIDR (0-32).\n",
    ))
}

impl Target for Netmap {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let (host, plen) = match arg.split_once('/') {
            Some((h, m)) => {
                let a = xtopt::host(h)?;
                (a, parse_plen(m)?)
            }
            None => (xtopt::host(arg)?, 32),
        };
        self.prefix = plen;
        self.net = Ipv4Addr::from(u32::from(host) & xtopt::prefix_mask(plen));
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        nat_check(
            cx,
            &[
                Hook::Prerouting,
                Hook::Input,
                Hook::Output,
                Hook::Postrouting,
            ],
        )
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(" --to {}/{}", self.net, self.prefix));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(" to:{}/{}", self.net, self.prefix));
    }

    /// `netmap_tg4`: the address keeps its host bits and takes the network
    /// bits of `--to`; the source in POSTROUTING and INPUT, the destination
    /// in PREROUTING and OUTPUT.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let manip = match cx.hook {
            Hook::Postrouting | Hook::Input => Manip::Src,
            _ => Manip::Dst,
        };
        let mask = xtopt::prefix_mask(self.prefix);
        let cur = match manip {
            Manip::Src => cx.hdr.src,
            Manip::Dst => cx.hdr.dst,
        };
        let new = Ipv4Addr::from((u32::from(cur) & !mask) | (u32::from(self.net) & mask));
        let range = NatRange {
            min_addr: new,
            max_addr: new,
            map_ips: true,
            proto_specified: false,
            min_port: 0,
            max_port: 0,
            random: false,
            random_fully: false,
            persistent: false,
            offset: false,
            base_port: 0,
        };
        Some(nat::setup(cx, manip, range))
    }

    fn explain(&self) -> String {
        format!(
            "map the address onto the network {}/{}, keeping its last {} bits \
(destination before routing, source after)",
            self.net,
            self.prefix,
            32 - self.prefix as u32
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
    fn masks_and_short_addresses() {
        let mut h = Host::new("h");
        for to in [
            "1.2.3.4/16",
            "1.2.3.4",
            "1.2.3.4/33",
            "1.2.3.4/255.255.255.128",
            "10.1",
        ] {
            assert_eq!(
                run(
                    &mut h,
                    &format!("iptables -t nat -A POSTROUTING -j NETMAP --to {to}")
                )
                .exit,
                0
            );
        }
        assert_eq!(
            run(&mut h, "iptables -t nat -S POSTROUTING").stdout,
            "-P POSTROUTING ACCEPT\n\
-A POSTROUTING -j NETMAP --to 1.2.0.0/16\n\
-A POSTROUTING -j NETMAP --to 1.2.3.4/32\n\
-A POSTROUTING -j NETMAP --to 1.2.3.4/32\n\
-A POSTROUTING -j NETMAP --to 1.2.3.0/25\n\
-A POSTROUTING -j NETMAP --to 10.0.0.1/32\n"
        );
        assert!(run(&mut h, "iptables -t nat -L POSTROUTING")
            .stdout
            .contains("anywhere             to:1.2.0.0/16\n"));
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            "iptables -t nat -A PREROUTING -j NETMAP --to 1.2.3.4/x",
        );
        assert!(o.stderr.starts_with(
            "iptables v1.8.9 (nf_tables): NETMAP: bad value for option \"--to\", neither a valid network mask nor valid CIDR (0-32).\n\n"
        ));
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j NETMAP --to 1.2.3.4").exit,
            4
        );
    }

    use crate::ext::targets_testkit::{ip, ping, Lab};

    #[test]
    fn maps_networks_both_ways() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t nat -A PREROUTING -d 172.16.0.0/24 -j NETMAP --to 10.0.0.0/24
             iptables -t nat -A POSTROUTING -o eth1 -s 10.0.1.0/24 -j NETMAP --to 192.168.50.0/24",
        );
        lab.send(lab.client, ping("10.0.1.2", "172.16.0.2", 4));
        let at_server = lab.got(lab.server);
        assert_eq!(
            (at_server[0].src, at_server[0].dst),
            (ip("192.168.50.2"), ip("10.0.0.2"))
        );
        let back = lab.got(lab.client);
        assert_eq!(
            (back[0].src, back[0].dst),
            (ip("172.16.0.2"), ip("10.0.1.2"))
        );
    }
}
