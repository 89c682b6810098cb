//! `-j ECN`: rewrites ECN bits: `--ecn-tcp-remove` clears TCP's ECE and CWR;
//! the experimental options set ECE, CWR or the IP ECT code point. Only in
//! the mangle table.

use super::{
    bit, xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target,
    TargetVerdict, XtError, XtResult,
};
use crate::ext_boilerplate;

const O_REMOVE: u8 = 0;
const O_CWR: u8 = 1;
const O_ECE: u8 = 2;
const O_ECT: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "ECN",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::flag("ecn-tcp-remove", O_REMOVE).excl(bit(O_CWR) | bit(O_ECE)),
        OptSpec::arg("ecn-tcp-cwr", O_CWR),
        OptSpec::arg("ecn-tcp-ece", O_ECE),
        OptSpec::arg("ecn-ip-ect", O_ECT),
    ],
    guided: true,
    help:
        "ECN target options\n  --ecn-tcp-remove\t\tClear the ECE and CWR flags of the TCP header\n",
    new_match: None,
    new_target: Some(|| Box::new(EcnTarget::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcnTarget {
    pub ece: Option<u8>,
    pub cwr: Option<u8>,
    pub ect: Option<u8>,
}

impl EcnTarget {
    fn is_remove(&self) -> bool {
        self.ece == Some(0) && self.cwr == Some(0) && self.ect.is_none()
    }
}

/// `csum_replace2`: adjusts the 16-bit one's-complement checksum at `at`
/// for a 16-bit word changing from `old` to `new` (RFC 1624).
pub fn csum_replace2(data: &mut [u8], at: usize, old: u16, new: u16) {
    let Some(c) = data.get(at..at + 2) else {
        return;
    };
    let check = u16::from_be_bytes([c[0], c[1]]);
    let mut sum = (!check) as u32 + (!old) as u32 + new as u32;
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    data[at..at + 2].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

impl EcnTarget {
    /// `set_ect_tcp`: ECE and CWR of the TCP header at the transport
    /// offset; `false` when the header is not there (the packet is dropped).
    fn set_tcp(&self, cx: &mut EvalCx) -> bool {
        let at = usize::from(cx.hdr.header_len);
        let data = &mut cx.pkt.data;
        if data.len() < at + 20 {
            return false;
        }
        let old = data[at + 13];
        let mut new = old;
        for (want, bit) in [(self.ece, 0x40u8), (self.cwr, 0x80u8)] {
            match want {
                Some(1) => new |= bit,
                Some(_) => new &= !bit,
                None => {}
            }
        }
        if new == old {
            return true;
        }
        let word = |d: &[u8]| u16::from_be_bytes([d[at + 12], d[at + 13]]);
        let before = word(data);
        data[at + 13] = new;
        let after = word(data);
        csum_replace2(data, at + 16, before, after);
        true
    }
}

impl Target for EcnTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_REMOVE => {
                self.ece = Some(0);
                self.cwr = Some(0);
            }
            O_CWR => self.cwr = Some(xtopt::uint("ECN", "ecn-tcp-cwr", arg, 0, 1)? as u8),
            O_ECE => self.ece = Some(xtopt::uint("ECN", "ecn-tcp-ece", arg, 0, 1)? as u8),
            _ => self.ect = Some(xtopt::uint("ECN", "ecn-ip-ect", arg, 0, 3)? as u8),
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new("ECN target: An operation is required"));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" {
            return Err(KernelError::Invalid);
        }
        if (self.ece.is_some() || self.cwr.is_some()) && (cx.proto != 6 || cx.proto_invert) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.is_remove() {
            out.push_str(" --ecn-tcp-remove");
            return;
        }
        if let Some(v) = self.ece {
            out.push_str(&format!(" --ecn-tcp-ece {v}"));
        }
        if let Some(v) = self.cwr {
            out.push_str(&format!(" --ecn-tcp-cwr {v}"));
        }
        if let Some(v) = self.ect {
            out.push_str(&format!(" --ecn-ip-ect {v}"));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" ECN");
        if self.is_remove() {
            out.push_str(" TCP remove");
            return;
        }
        if let Some(v) = self.ece {
            out.push_str(&format!(" ECE={v}"));
        }
        if let Some(v) = self.cwr {
            out.push_str(&format!(" CWR={v}"));
        }
        if let Some(v) = self.ect {
            out.push_str(&format!(" ECT codepoint={v}"));
        }
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        if let Some(ect) = self.ect {
            let tos = cx.hdr.tos;
            if tos & 3 != ect & 3 {
                cx.pkt.set_tos((tos & !3) | (ect & 3));
            }
        }
        if (self.ece.is_some() || self.cwr.is_some()) && cx.hdr.proto == 6 && !self.set_tcp(cx) {
            return Some(TargetVerdict::Drop);
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        if self.is_remove() {
            return "clear the TCP ECE and CWR flags and continue".into();
        }
        let mut parts = Vec::new();
        if let Some(v) = self.ece {
            parts.push(format!("TCP ECE to {v}"));
        }
        if let Some(v) = self.cwr {
            parts.push(format!("TCP CWR to {v}"));
        }
        if let Some(v) = self.ect {
            parts.push(format!("the IP ECN code point to {v}"));
        }
        format!("set {} and continue", parts.join(", "))
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
    fn remove_and_explicit_forms() {
        let mut h = Host::new("h");
        let o = run(
            &mut h,
            "iptables -t mangle -A OUTPUT -p tcp -j ECN --ecn-tcp-ece 0 --ecn-tcp-cwr 0",
        );
        assert_eq!(o.exit, 0);
        assert_eq!(
            run(&mut h, "iptables -t mangle -S OUTPUT").stdout,
            "-P OUTPUT ACCEPT\n-A OUTPUT -p tcp -j ECN --ecn-tcp-remove\n"
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A OUTPUT -j ECN --ecn-tcp-remove"
            )
            .exit,
            4
        );
        assert_eq!(
            run(&mut h, "iptables -t mangle -A OUTPUT -j ECN --ecn-ip-ect 1").exit,
            0
        );
        let o = run(&mut h, "iptables -t mangle -A OUTPUT -p tcp -j ECN");
        assert!(o
            .stderr
            .contains("ECN target: An operation is required\nTry"));
    }

    #[test]
    fn clears_tcp_bits_and_sets_ect() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -p tcp -j ECN --ecn-tcp-remove",
        );
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -j ECN --ecn-ip-ect 2",
        );
        assert!(passed(&send_at(
            &mut w,
            SEC,
            tcp("10.0.1.9", "10.0.2.5", 1, 80, "SEC")
        )));
        let out = last_sent(&w);
        assert_eq!(out[20 + 13], 0x02, "ECE and CWR cleared");
        assert_eq!(out[1] & 3, 2);
        assert!(checksums_ok(&out));
        assert!(passed(&send_at(&mut w, SEC, ping("10.0.1.9", "10.0.2.5"))));
        assert_eq!(last_sent(&w)[1], 0x02);
        // The incremental checksum update agrees with a full one.
        let mut p = tcp("10.0.1.9", "10.0.2.5", 1, 80, "SEC");
        let word = u16::from_be_bytes([p.data[32], p.data[33]]);
        p.data[33] = 0x02;
        let new = u16::from_be_bytes([p.data[32], p.data[33]]);
        super::csum_replace2(&mut p.data, 36, word, new);
        assert!(checksums_ok(&p.data));
    }
}
