//! `-j TCPMSS`: rewrites the MSS option of TCP SYN packets, to a fixed value
//! or clamped to the path MTU. Needs `-p tcp`.

use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::iface::Iface;
use crate::sim::route::{self, Decision};
use crate::sim::rules::Flow;

const O_SET: u8 = 0;
const O_CLAMP: u8 = 1;
/// The kernel's marker for "clamp to PMTU".
const CLAMP_PMTU: u16 = 0xffff;

pub static INFO: ExtInfo = ExtInfo {
    name: "TCPMSS",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("set-mss", O_SET),
        OptSpec::flag("clamp-mss-to-pmtu", O_CLAMP),
    ],
    guided: true,
    help: "TCPMSS target mutually-exclusive options:\n\
\x20 --set-mss value               set the MSS option to this value\n\
\x20 --clamp-mss-to-pmtu           lower the MSS option to the path MTU minus 40\n",
    new_match: None,
    new_target: Some(|| Box::new(TcpMssTarget::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpMssTarget {
    /// MSS to set, or [`CLAMP_PMTU`].
    pub mss: u16,
}

/// Length of the TCP option at `i` as the kernel walks them: EOL, NOP and
/// zero-length options count one byte.
pub fn optlen(opt: &[u8], i: usize) -> usize {
    let kind = opt.get(i).copied().unwrap_or(0);
    let len = opt.get(i + 1).copied().unwrap_or(0);
    if kind <= 1 || len == 0 {
        1
    } else {
        len as usize
    }
}

/// The MTU of an interface as the kernel reports it (loopback has 65536).
fn mtu_of(ifaces: &[Iface], name: &str) -> u32 {
    match ifaces.iter().find(|i| i.name == name) {
        Some(i) if i.is_loopback() => 65536,
        Some(i) => i.mtu as u32,
        None => u32::MAX,
    }
}

impl TcpMssTarget {
    /// `tcpmss_mangle_packet`: `None` means drop the packet.
    fn mangle(&self, cx: &mut EvalCx) -> Option<()> {
        if cx.hdr.frag_offset != 0 {
            return Some(());
        }
        let th = usize::from(cx.hdr.header_len);
        let total = (cx.hdr.total_len as usize).min(cx.pkt.data.len());
        let len = total.checked_sub(th).filter(|l| *l >= 20)?;
        let hlen = (cx.pkt.data[th + 12] >> 4) as usize * 4;
        if len < hlen || hlen < 20 {
            return None;
        }
        let newmss = if self.mss == CLAMP_PMTU {
            // The smaller of the route out and the route back to the source.
            let out = cx.out_iface().map_or(u32::MAX, |o| mtu_of(cx.ifaces, o));
            // `tcpmss_reverse_mtu`: an output route to the source, unmarked.
            let flow = Flow::output(cx.hdr.src);
            let back = match route::lookup_flow(cx.ifaces, cx.routes, cx.policy, &flow).0 {
                Decision::Local => 65536,
                Decision::Out { dev, .. } => mtu_of(cx.ifaces, &dev),
                Decision::Unreachable => u32::MAX,
            };
            let min = out.min(back);
            if min <= 40 {
                return None;
            }
            (min - 40) as u16
        } else {
            self.mss
        };
        let data = &mut cx.pkt.data;
        let mut i = 20;
        while i + 4 <= hlen {
            let o = th + i;
            if data[o] == 2 && data[o + 1] == 4 {
                let old = u16::from_be_bytes([data[o + 2], data[o + 3]]);
                // Never raise the MSS, even when setting it.
                if old > newmss {
                    data[o + 2..o + 4].copy_from_slice(&newmss.to_be_bytes());
                    cx.pkt.fix_checksums();
                }
                return Some(());
            }
            i += optlen(&data[th..th + hlen], i);
        }
        // No MSS option: add one, unless there is data after the header or
        // the header cannot grow. RFC 1122's default of 536 caps it.
        if len > hlen || hlen >= 60 {
            return Some(());
        }
        let newmss = newmss.min(536);
        data.truncate(total);
        let at = th + 20;
        let mut opt = vec![2, 4];
        opt.extend_from_slice(&newmss.to_be_bytes());
        data.splice(at..at, opt);
        data[th + 12] += 1 << 4;
        let tot = (total + 4) as u16;
        data[2..4].copy_from_slice(&tot.to_be_bytes());
        cx.pkt.fix_checksums();
        Some(())
    }
}

impl Target for TcpMssTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        if id == O_SET {
            let v = xtopt::uint("TCPMSS", "set-mss", arg.unwrap_or_default(), 0, 65535 - 20)?;
            self.mss = v as u16;
        } else {
            self.mss = CLAMP_PMTU;
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new(
                "TCPMSS target: At least one parameter is required",
            ));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        // Checked inside checkentry, so only a built-in chain's own hook counts.
        if self.mss == CLAMP_PMTU
            && cx
                .chain_hook
                .is_some_and(|h| !matches!(h, Hook::Forward | Hook::Output | Hook::Postrouting))
        {
            return Err(KernelError::Invalid);
        }
        if cx.proto != 6 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.mss == CLAMP_PMTU {
            out.push_str(" --clamp-mss-to-pmtu");
        } else {
            out.push_str(&format!(" --set-mss {}", self.mss));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        if self.mss == CLAMP_PMTU {
            out.push_str(" TCPMSS clamp to PMTU");
        } else {
            out.push_str(&format!(" TCPMSS set {}", self.mss));
        }
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(match self.mangle(cx) {
            Some(()) => TargetVerdict::Continue,
            None => TargetVerdict::Drop,
        })
    }

    fn explain(&self) -> String {
        if self.mss == CLAMP_PMTU {
            "lower the MSS of TCP SYN packets to fit the path MTU and continue".into()
        } else {
            format!(
                "set the MSS of TCP SYN packets to {} and continue",
                self.mss
            )
        }
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
    fn clamp_only_on_late_hooks() {
        let mut h = Host::new("h");
        let r = "-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu";
        assert_eq!(
            run(&mut h, &format!("iptables -t mangle -A FORWARD {r}")).exit,
            0
        );
        assert_eq!(
            run(&mut h, &format!("iptables -t mangle -A PREROUTING {r}")).exit,
            4
        );
        // In a user chain the hook is not checked, even when PREROUTING jumps to it.
        run(&mut h, "iptables -t mangle -N mss");
        assert_eq!(
            run(&mut h, &format!("iptables -t mangle -A mss {r}")).exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t mangle -A PREROUTING -j mss").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -p tcp -j TCPMSS --set-mss 5").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -j TCPMSS --set-mss 5").exit,
            4
        );
        assert!(run(&mut h, "iptables -t mangle -L FORWARD")
            .stdout
            .ends_with(" TCPMSS clamp to PMTU\n"));
    }

    #[test]
    fn needs_a_parameter() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -t mangle -A FORWARD -j TCPMSS");
        assert!(o
            .stderr
            .contains("TCPMSS target: At least one parameter is required\nTry"));
        let o = run(&mut h, "iptables -A INPUT -p tcp -j TCPMSS --set-mss 65516");
        assert!(o.stderr.contains("out of range (0-65515)"));
    }

    fn mss_of(p: &[u8]) -> Option<u16> {
        let h = crate::packet::parse(p, false).unwrap();
        let o = &h.tcp()?.options;
        o.windows(4)
            .find(|w| w[0] == 2 && w[1] == 4)
            .map(|w| u16::from_be_bytes([w[2], w[3]]))
    }

    #[test]
    fn sets_clamps_and_inserts() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -p tcp -d 10.0.2.5 -j TCPMSS --set-mss 1200",
        );
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -p tcp -d 10.0.2.6 -j TCPMSS --set-mss 1500",
        );
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -p tcp -d 10.0.2.7 -j TCPMSS --clamp-mss-to-pmtu",
        );
        w.hosts[0]
            .ifaces
            .iter_mut()
            .find(|i| i.name == "eth1")
            .unwrap()
            .mtu = 1400;
        for (dst, flags, mss, len) in [
            ("10.0.2.5", "S", Some(1200), 44),
            // Never raised.
            ("10.0.2.6", "S", Some(1460), 44),
            // The smaller MTU of the way out (1400) and back (1500), minus 40.
            ("10.0.2.7", "S", Some(1360), 44),
            // No option and no data: one is added (536 at most), SYN or not.
            ("10.0.2.5", "A", Some(536), 44),
        ] {
            assert!(passed(&send_at(
                &mut w,
                SEC,
                tcp("10.0.1.9", dst, 1, 80, flags)
            )));
            let out = last_sent(&w);
            assert_eq!(mss_of(&out), mss, "{dst} {flags}");
            assert_eq!(out.len(), len);
            assert!(checksums_ok(&out));
        }
        // Data after the header: nothing is added.
        let ip =
            crate::packet::IpFields::new("10.0.1.9".parse().unwrap(), "10.0.2.5".parse().unwrap());
        let t = crate::packet::TcpFields {
            sport: 1,
            dport: 80,
            flags: 0x18,
            window: 100,
            ..Default::default()
        };
        let p = crate::packet::build_tcp(&ip, &t, b"data");
        assert!(passed(&send_at(&mut w, SEC, p.clone())));
        assert_eq!(last_sent(&w).len(), p.len());
    }
}
