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

    /// `nf_dup_ipv4`: a copy, untracked, without a socket, with DF set (and
    /// one hop less in PREROUTING and INPUT), goes out through OUTPUT and POSTROUTING to
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
        // A copy belongs to no socket (`pskb_copy` leaves `sk` unset):
        // `-m owner` and LOG `--log-uid` see none.
        c.meta.sender = crate::packet::Sender::NoSocket;
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
            log_at: cx.log.len(),
        });
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        let mut s = format!("Copies to gateway {}", self.gateway);
        if !self.oif.is_empty() {
            s.push_str(&format!(" through {}", self.oif));
        }
        s.push_str(" (the originals go on to the next rule)");
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

    use crate::ext::targets_testkit::{ip, ping, Lab};

    #[test]
    fn a_copy_goes_to_the_monitor() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t mangle -A PREROUTING -i eth0 -j TEE --gateway 10.0.0.10
             iptables -t mangle -A POSTROUTING -j TEE --gateway 10.0.0.10
             iptables -A OUTPUT -o eth1",
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 9));
        // The original went on: the client got its echo reply.
        assert_eq!(lab.got(lab.client).len(), 1);
        // Out of eth1: the original (TTL 63), the PREROUTING copy (TTL 63,
        // DF) and the POSTROUTING copy of the original (TTL 63, DF); a copy
        // is never copied again. The reply's copy leaves by eth1 as well.
        let out: Vec<_> = lab
            .sent(r)
            .into_iter()
            .filter(|(i, _)| i == "eth1")
            .collect();
        let requests: Vec<_> = out
            .iter()
            .filter(|(_, h)| h.icmp().is_some_and(|i| i.icmp_type == 8))
            .collect();
        assert_eq!(requests.len(), 3);
        assert!(requests
            .iter()
            .all(|(_, h)| h.ttl == 63 && h.dst == ip("10.0.0.2")));
        assert_eq!(requests.iter().filter(|(_, h)| h.df).count(), 2);
        // The copies went through OUTPUT (the reply's copy too).
        assert_eq!(lab.count(r, "filter", "-A OUTPUT -o eth1"), 3);
        // Addressed (Ethernet) to the monitor, which does not route them.
        let mon_mac = lab.w.hosts[lab.monitor].ifaces[1].mac;
        let to_monitor = lab.w.captures[&("router".to_string(), "eth1".to_string())]
            .iter()
            .filter(|f| f.bytes[..6] == mon_mac)
            .count();
        assert_eq!(to_monitor, 3);
        assert!(lab.got(lab.monitor).is_empty());
    }

    #[test]
    fn a_copy_dropped_in_output_leaves_the_original_alone() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A FORWARD -j TEE --gateway 10.0.0.10
             iptables -A OUTPUT -j DROP",
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 9));
        assert_eq!(lab.got(lab.client).len(), 1);
        assert_eq!(lab.got(lab.server).len(), 1);
        assert!(lab
            .w
            .reports
            .iter()
            .any(|r| r.outcome == "dropped on router in OUTPUT"));
    }

    /// As measured in a namespace (Linux 6.x, iptables-nft): the copy is
    /// sent from inside TEE, so everything it logs comes before what the
    /// original logs after TEE; in POSTROUTING the copy shows its own
    /// device as IN=; a copy of a received packet dumps 14 stale bytes as
    /// its MAC header (random in the kernel, zeros here), a copy of the
    /// host's own packet none.
    #[test]
    fn the_copy_logs_before_the_original_goes_on() {
        let prefixes = |log: Vec<String>| -> Vec<String> {
            log.iter()
                .map(|l| l.split(" SRC=").next().unwrap().to_string())
                .collect()
        };
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            r#"iptables -t raw -A PREROUTING -p icmp -j LOG --log-prefix "TRP "
               iptables -t mangle -A PREROUTING -p icmp -j TEE --gateway 10.0.0.10
               iptables -t mangle -A PREROUTING -p icmp -j LOG --log-prefix "TMP "
               iptables -t mangle -A INPUT -p icmp -j LOG --log-prefix "TMI "
               iptables -A OUTPUT -p icmp -j LOG --log-prefix "TFO "
               iptables -t mangle -A POSTROUTING -p icmp -j LOG --log-prefix "TMO "
               iptables -t mangle -A POSTROUTING -p icmp -j LOG --log-prefix "TMD " --log-macdecode"#,
        );
        lab.send(lab.client, ping("10.0.1.2", "10.0.1.1", 9));
        assert_eq!(lab.got(lab.client).len(), 1);
        let mac = "MAC=02:00:00:02:00:01:02:00:00:01:00:01:08:00";
        assert_eq!(
            prefixes(lab.kmsg(r)),
            vec![
                format!("TRP IN=eth0 OUT= {mac}"),
                "TFO IN= OUT=eth1".to_string(),
                "TMO IN=eth1 OUT=eth1 MAC=00:00:00:00:00:00:00:00:00:00:00:00:00:00".to_string(),
                "TMD IN=eth1 OUT=eth1 MACSRC=00:00:00:00:00:00 MACDST=00:00:00:00:00:00 MACPROTO=0000".to_string(),
                format!("TMP IN=eth0 OUT= {mac}"),
                format!("TMI IN=eth0 OUT= {mac}"),
                "TFO IN= OUT=eth0".to_string(),
                "TMO IN= OUT=eth0".to_string(),
                "TMD IN= OUT=eth0".to_string(),
            ]
        );

        let mut lab = Lab::new();
        lab.rules(
            r,
            r#"iptables -t mangle -A OUTPUT -p icmp --icmp-type 8 -j TEE --gateway 10.0.0.10
               iptables -t mangle -A OUTPUT -p icmp -j LOG --log-prefix "TMU "
               iptables -t mangle -A POSTROUTING -p icmp -j LOG --log-prefix "TMO "
               iptables -t mangle -A POSTROUTING -p icmp -j LOG --log-prefix "TMD " --log-macdecode"#,
        );
        lab.send(r, ping("10.0.1.1", "10.0.1.2", 9));
        assert_eq!(
            prefixes(lab.kmsg(r))[..6],
            [
                "TMU IN= OUT=eth1",
                "TMO IN=eth1 OUT=eth1 MAC=",
                "TMD IN=eth1 OUT=eth1",
                "TMU IN= OUT=eth0",
                "TMO IN= OUT=eth0",
                "TMD IN= OUT=eth0",
            ]
        );
    }
}
