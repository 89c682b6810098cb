//! `-m ecn`: matches the ECN bits: TCP's CWR and ECE flags and the IPv4 ECT
//! code point.

use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError,
    XtResult,
};
use crate::ext_boilerplate;

const O_CWR: u8 = 0;
const O_ECE: u8 = 1;
const O_ECT: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "ecn",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("ecn-tcp-cwr", O_CWR).inv(),
        OptSpec::flag("ecn-tcp-ece", O_ECE).inv(),
        OptSpec::arg("ecn-ip-ect", O_ECT).inv(),
    ],
    guided: true,
    help: "ECN match options\n\
[!] --ecn-tcp-cwr \t\tMatch the TCP CWR flag\n\
[!] --ecn-tcp-ece\t\tMatch the TCP ECE flag\n\
[!] --ecn-ip-ect [0..3]\tMatch the ECN code point of the IP header\n",
    new_match: Some(|| Box::new(Ecn::default())),
    new_target: None,
};

/// Each test is `None` (not used) or `Some(inverted)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ecn {
    pub cwr: Option<bool>,
    pub ece: Option<bool>,
    pub ect: Option<(u8, bool)>,
}

impl Ecn {
    /// The first test that fails (`ecn_mt4`), in words.
    fn failure(&self, cx: &EvalCx) -> Option<String> {
        if let Some((v, inv)) = self.ect {
            let ect = cx.hdr.tos & 3;
            if (ect == v) == inv {
                return Some(format!("the ECN code point is {ect}"));
            }
        }
        if self.cwr.is_none() && self.ece.is_none() {
            return None;
        }
        // The TCP header as the kernel reads it at the transport offset
        // (also in a later fragment, whose payload stands there).
        let at = usize::from(cx.hdr.header_len);
        let data = &cx.pkt.data;
        if data.len() < at + 20 {
            return Some("the TCP header is missing".into());
        }
        let flags = data[at + 13];
        for (test, bit, name) in [(self.ece, 0x40, "ECE"), (self.cwr, 0x80, "CWR")] {
            if let Some(inv) = test {
                let set = flags & bit != 0;
                if set == inv {
                    return Some(format!(
                        "TCP {name} is {}",
                        if set { "set" } else { "not set" }
                    ));
                }
            }
        }
        None
    }
}

impl Match for Ecn {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        match id {
            O_CWR => self.cwr = Some(inv),
            O_ECE => self.ece = Some(inv),
            _ => {
                let v = xtopt::uint("ecn", "ecn-ip-ect", arg.unwrap_or_default(), 0, 3)?;
                self.ect = Some((v as u8, inv));
            }
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new("ECN match: some option required"));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if (self.cwr.is_some() || self.ece.is_some()) && (cx.proto != 6 || cx.proto_invert) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let bang = |inv: bool| if inv { " !" } else { "" };
        if let Some(inv) = self.ece {
            out.push_str(&format!("{} --ecn-tcp-ece", bang(inv)));
        }
        if let Some(inv) = self.cwr {
            out.push_str(&format!("{} --ecn-tcp-cwr", bang(inv)));
        }
        if let Some((v, inv)) = self.ect {
            out.push_str(&format!("{} --ecn-ip-ect {v}", bang(inv)));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let bang = |inv: bool| if inv { "!" } else { "" };
        out.push_str(" ECN match");
        if let Some(inv) = self.ece {
            out.push_str(&format!(" {}ECE", bang(inv)));
        }
        if let Some(inv) = self.cwr {
            out.push_str(&format!(" {}CWR", bang(inv)));
        }
        if let Some((v, inv)) = self.ect {
            out.push_str(&format!(" {}ECT={v}", bang(inv)));
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.failure(cx).is_none())
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut s = String::from("-m ecn");
        self.save(&mut s);
        format!(
            "{s} did not match: {}",
            self.failure(cx).unwrap_or_default()
        )
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        let not = |inv: bool| if inv { "not " } else { "" };
        if let Some(inv) = self.ece {
            parts.push(format!("TCP ECE {}set", not(inv)));
        }
        if let Some(inv) = self.cwr {
            parts.push(format!("TCP CWR {}set", not(inv)));
        }
        if let Some((v, inv)) = self.ect {
            parts.push(format!("IP ECN code point {}{v}", not(inv)));
        }
        format!("packets with {}", parts.join(" and "))
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
    fn canonical_order_and_list() {
        let mut h = Host::new("h");
        let r = "iptables -A INPUT -p tcp -m ecn --ecn-ip-ect 2 ! --ecn-tcp-cwr --ecn-tcp-ece";
        assert_eq!(run(&mut h, r).exit, 0);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -p tcp -m ecn --ecn-tcp-ece ! --ecn-tcp-cwr --ecn-ip-ect 2\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with(" ECN match ECE !CWR ECT=2\n"));
    }

    #[test]
    fn tcp_bits_need_tcp() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m ecn --ecn-tcp-cwr").exit,
            4
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m ecn --ecn-ip-ect 1").exit,
            0
        );
        let o = run(&mut h, "iptables -A INPUT -m ecn");
        assert!(o.stderr.contains("ECN match: some option required\nTry"));
    }

    #[test]
    fn matches_ect_and_tcp_bits() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -p tcp -m ecn --ecn-tcp-ece ! --ecn-tcp-cwr --ecn-ip-ect 1 -j DROP");
        let mk = |flags: &str, tos: u8| {
            let mut p = tcp("10.0.1.9", "10.0.2.5", 1, 80, flags);
            p.set_tos(tos);
            p
        };
        assert!(!passed(&send_at(&mut w, SEC, mk("SE", 1))));
        assert!(passed(&send_at(&mut w, SEC, mk("SE", 2))));
        let why = w.reports[0].trace.steps[0].failed.clone().unwrap();
        assert!(
            why.ends_with("did not match: the ECN code point is 2"),
            "{why}"
        );
        assert!(passed(&send_at(&mut w, SEC, mk("SEC", 1))));
        let why = w.reports[0].trace.steps[0].failed.clone().unwrap();
        assert!(why.ends_with("did not match: TCP CWR is set"), "{why}");
        assert!(passed(&send_at(&mut w, SEC, mk("S", 1))));
    }
}
