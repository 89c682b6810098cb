//! `-m tcpmss --mss value[:value]`: matches the MSS option of TCP SYN
//! packets. Needs `-p tcp`.

use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError,
    XtResult,
};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "tcpmss",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("mss", 0).inv().mand()],
    guided: true,
    help: "tcpmss match options:\n\
[!] --mss value[:value]\tMatch an MSS option in this range\n\
\t\t\t\t(only SYN and SYN/ACK packets carry one)\n",
    new_match: Some(|| Box::new(TcpMss::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpMss {
    pub min: u16,
    pub max: u16,
    pub invert: bool,
}

impl Match for TcpMss {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let v = xtopt::mint("tcpmss", "mss", arg.unwrap_or_default(), 65535, 2)?;
        let (lo, hi) = (v[0], *v.get(1).unwrap_or(&v[0]));
        if lo > hi {
            return Err(XtError::new("tcpmss: invalid range given"));
        }
        self.min = lo as u16;
        self.max = hi as u16;
        self.invert = inv;
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.proto != 6 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --mss ");
        out.push_str(&self.range());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" tcpmss match ");
        if self.invert {
            out.push('!');
        }
        out.push_str(&self.range());
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(
            match find_mss(&cx.pkt.data, usize::from(cx.hdr.header_len)) {
                Found::Mss(v) => (v >= self.min && v <= self.max) != self.invert,
                Found::NoOption => self.invert,
                Found::Broken => {
                    cx.hotdrop = true;
                    false
                }
            },
        )
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut s = String::from("-m tcpmss");
        self.save(&mut s);
        let what = match find_mss(&cx.pkt.data, usize::from(cx.hdr.header_len)) {
            Found::Mss(v) => format!("the MSS is {v}"),
            Found::NoOption => "the packet has no MSS option".into(),
            Found::Broken => "the TCP header is truncated: the packet is dropped".into(),
        };
        format!("{s} did not match: {what}")
    }

    fn explain(&self) -> String {
        format!(
            "TCP SYN packets whose MSS option is {}{}",
            if self.invert { "outside " } else { "" },
            if self.min == self.max {
                self.min.to_string()
            } else {
                format!("{}-{}", self.min, self.max)
            }
        )
    }
}

/// What `tcpmss_mt` finds in a packet.
enum Found {
    Mss(u16),
    NoOption,
    /// Truncated or malformed: the kernel drops the packet.
    Broken,
}

/// The MSS option of the TCP header at the transport offset (raw bytes,
/// as the kernel reads them).
fn find_mss(data: &[u8], at: usize) -> Found {
    if data.len() < at + 20 {
        return Found::Broken;
    }
    let hlen = (data[at + 12] >> 4) as usize * 4;
    if hlen < 20 {
        return Found::Broken;
    }
    let optlen = hlen - 20;
    if optlen == 0 {
        return Found::NoOption;
    }
    let Some(op) = data.get(at + 20..at + 20 + optlen) else {
        return Found::Broken;
    };
    let mut i = 0;
    while i < optlen {
        if op[i] == 2 && optlen - i >= 4 && op[i + 1] == 4 {
            return Found::Mss(u16::from_be_bytes([op[i + 2], op[i + 3]]));
        }
        if op[i] < 2 {
            i += 1;
        } else {
            let l = op.get(i + 1).copied().unwrap_or(0) as usize;
            i += if l == 0 { 1 } else { l };
        }
    }
    Found::NoOption
}

impl TcpMss {
    fn range(&self) -> String {
        if self.min == self.max {
            self.min.to_string()
        } else {
            format!("{}:{}", self.min, self.max)
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
    fn ranges() {
        let mut h = Host::new("h");
        for (arg, saved) in [
            (":", "0:65535"),
            (":42", "0:42"),
            ("42:", "42:65535"),
            ("42:42", "42"),
        ] {
            run(&mut h, "iptables -F");
            assert_eq!(
                run(
                    &mut h,
                    &format!("iptables -A INPUT -p tcp -m tcpmss --mss {arg}")
                )
                .exit,
                0
            );
            assert_eq!(
                run(&mut h, "iptables -S INPUT").stdout,
                format!("-P INPUT ACCEPT\n-A INPUT -p tcp -m tcpmss --mss {saved}\n")
            );
        }
        let o = run(
            &mut h,
            "iptables -A INPUT -p tcp -m tcpmss --mss 65535:1000",
        );
        assert!(o.stderr.contains("tcpmss: invalid range given\nTry"));
        assert_eq!(run(&mut h, "iptables -A INPUT -m tcpmss --mss 42").exit, 4);
    }

    #[test]
    fn matches_the_mss_option() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A FORWARD -p tcp -m tcpmss --mss 1400:1500 -j DROP",
        );
        ipt(
            &mut w,
            "iptables -A FORWARD -p tcp -m tcpmss ! --mss 1400:1500 -j ACCEPT",
        );
        // A SYN with MSS 1460.
        assert!(!passed(&send_at(
            &mut w,
            SEC,
            tcp("10.0.1.9", "10.0.2.5", 1, 80, "S")
        )));
        // No option: the first rule does not match, the inverted one does.
        assert!(passed(&send_at(
            &mut w,
            SEC,
            tcp("10.0.1.9", "10.0.2.5", 1, 80, "A")
        )));
        let steps = &w.reports[0].trace.steps;
        assert_eq!(
            steps[0].failed.as_deref(),
            Some("-m tcpmss --mss 1400:1500 did not match: the packet has no MSS option")
        );
        assert_eq!(steps[1].verdict.as_deref(), Some("ACCEPT"));
        // A header cut short is dropped by the match itself.
        let mut p = tcp("10.0.1.9", "10.0.2.5", 1, 80, "S");
        p.data[32] = 0xf0 | (p.data[32] & 0x0f);
        p.fix_checksums();
        assert!(!passed(&send_at(&mut w, SEC, p)));
        assert_eq!(
            w.reports[0].trace.steps[0].verdict.as_deref(),
            Some("DROP (the match dropped the packet)")
        );
    }
}
