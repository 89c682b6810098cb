//! `-j TEE`: send a copy of the packet to another host (the gateway) on the
//! local network, and let the original continue down the chain.

use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::eval::Emit;
use std::net::Ipv4Addr;

const O_GATEWAY: u8 = 0;
const O_OIF: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "TEE",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("gateway", O_GATEWAY).mand(),
        OptSpec::arg("oif", O_OIF),
    ],
    guided: true,
    help: "TEE target options:\n  \
--gateway IPADDR    Send the copy to this next hop\n  \
--oif NAME          Send the copy out of this interface\n\n",
    new_match: None,
    new_target: Some(|| Box::new(Tee::default())),
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tee {
    pub gateway: Ipv4Addr,
    pub oif: String,
}

impl Default for Tee {
    fn default() -> Self {
        Tee {
            gateway: Ipv4Addr::UNSPECIFIED,
            oif: String::new(),
        }
    }
}

impl Target for Tee {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_GATEWAY => self.gateway = xtopt::host(arg)?,
            O_OIF => self.oif = super::log::truncate_bytes(arg, 15),
            _ => {}
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if self.gateway.is_unspecified() {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(" --gateway {}", self.gateway));
        if !self.oif.is_empty() {
            out.push_str(&format!(" --oif {}", self.oif));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        if !numeric && self.gateway == Ipv4Addr::LOCALHOST {
            out.push_str(" TEE gw:localhost");
        } else {
            out.push_str(&format!(" TEE gw:{}", self.gateway));
        }
        if !self.oif.is_empty() {
            out.push_str(&format!(" oif={}", self.oif));
        }
    }

    /// `nf_dup_ipv4`: a copy, untracked, with DF set (and one hop less in
    /// PREROUTING and INPUT), goes out through OUTPUT and POSTROUTING to
    /// the gateway as next hop; the original goes on. A copy is never
    /// copied again.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        if cx.pkt.meta.tee_clone {
            return Some(TargetVerdict::Continue);
        }
        let mut c = cx.pkt.clone();
        c.meta.untracked = true;
        c.meta.tee_clone = true;
        c.meta.nfct = None;
        c.meta.ct_template = None;
        if c.data.len() >= 20 {
            c.data[6] |= 0x40;
            if matches!(cx.hook, Hook::Prerouting | Hook::Input) {
                c.data[8] = c.data[8].wrapping_sub(1);
            }
            c.fix_checksums();
        }
        cx.emitted.push(Emit::Clone {
            pkt: c,
            gateway: self.gateway,
            oif: (!self.oif.is_empty()).then(|| self.oif.clone()),
        });
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        let mut s = format!("send a copy of the packet to {}", self.gateway);
        if !self.oif.is_empty() {
            s.push_str(&format!(" through {}", self.oif));
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
    fn gateway_and_oif() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -j TEE --gateway 1.1.1 --oif eth0"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -j TEE --gateway 1.1.0.1 --oif eth0\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .contains(" TEE gw:1.1.0.1 oif=eth0\n"));
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j TEE --gateway 0.0.0.0").exit,
            4
        );
        let o = run(&mut h, "iptables -A INPUT -j TEE --gateway 1.1.1.1/24");
        assert!(o.stderr.starts_with(
            "iptables v1.8.9 (nf_tables): getaddrinfo: Name or service not known\n\n"
        ));
    }
}
