//! `-m ipvs`: matches packets of IPVS (kernel load balancer) connections by
//! virtual service. The simulated kernel, like the reference machine, has no
//! IPVS module: every use warns and the rule is refused with ENOENT.

use super::EvalCx;
use super::XtResult;
use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError};
use crate::ext_boilerplate;
use std::net::Ipv4Addr;

const O_IPVS: u8 = 0;
const O_VPROTO: u8 = 1;
const O_VADDR: u8 = 2;
const O_VPORT: u8 = 3;
const O_VDIR: u8 = 4;
const O_VMETHOD: u8 = 5;
const O_VPORTCTL: u8 = 6;

pub static INFO: ExtInfo = ExtInfo {
    name: "ipvs",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("ipvs", O_IPVS).inv(),
        OptSpec::arg("vproto", O_VPROTO).inv(),
        OptSpec::arg("vaddr", O_VADDR).inv(),
        OptSpec::arg("vport", O_VPORT).inv(),
        OptSpec::arg("vdir", O_VDIR),
        OptSpec::arg("vmethod", O_VMETHOD).inv(),
        OptSpec::arg("vportctl", O_VPORTCTL).inv(),
    ],
    // The load warning must come before every error, so the generic checks
    // are made here.
    guided: false,
    help: concat!(
        "IPVS match options:\n",
        "[!] --ipvs                      the packet belongs to an IPVS connection\n",
        "\n",
        "Each option below also implies --ipvs (even when negated)\n",
        "[!] --vproto protocol           protocol of the virtual service, by number or\n",
        "                                name, e.g. \"tcp\"\n",
        "[!] --vaddr address[/mask]      address of the virtual service\n",
        "[!] --vport port                port of the virtual service, by number or name,\n",
        "                                e.g. \"http\"\n",
        "    --vdir {ORIGINAL|REPLY}     direction of the packet in its connection\n",
        "[!] --vmethod {GATE|IPIP|MASQ}  how IPVS forwards the connection\n",
        "[!] --vportctl port             virtual port of the controlling connection,\n",
        "                                e.g. 21 for FTP\n",
    ),
    new_match: Some(|| Box::new(Ipvs::default())),
    new_target: None,
};

/// What iptables prints when it loads the extension and the kernel lacks it.
pub const LOAD_WARNING: &str =
    "Warning: Extension ipvs revision 0 not supported, missing kernel module?";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Gate,
    Ipip,
    Masq,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipvs {
    pub ipvs: Option<bool>,
    pub vproto: Option<(u8, bool)>,
    pub vaddr: Option<(Ipv4Addr, u32, bool)>,
    pub vport: Option<(u16, bool)>,
    pub vdir_reply: Option<bool>,
    pub vmethod: Option<(Method, bool)>,
    pub vportctl: Option<(u16, bool)>,
    seen: u64,
}

/// Any parse error, after the load warning.
fn with_warning(e: XtError) -> XtError {
    let mut w = XtError::bare(format!(
        "{LOAD_WARNING}\n{}: {}",
        crate::iptables::VERSION_TAG,
        e.msg
    ));
    w.exit = e.exit;
    w
}

fn name(id: u8) -> &'static str {
    INFO.options
        .iter()
        .find(|o| o.id == id)
        .map_or("", |o| o.name)
}

impl Ipvs {
    fn parse_inner(&mut self, id: u8, arg: &str, inv: bool) -> XtResult {
        let b = 1u64 << id;
        if self.seen & b != 0 {
            return Err(XtError::new(format!(
                "ipvs: option \"--{}\" can only be used once.\n",
                name(id)
            )));
        }
        if inv && id == O_VDIR {
            return Err(XtError::new(
                "ipvs: option \"--vdir\" cannot be inverted.\n",
            ));
        }
        let bad =
            |opt: &str| XtError::new(format!("ipvs: Bad value for \"--{opt}\" option: \"{arg}\""));
        match id {
            O_IPVS => self.ipvs = Some(inv),
            O_VPROTO => self.vproto = Some((crate::iptables::parse::parse_protocol(arg)?, inv)),
            O_VADDR => {
                let (a, m) = xtopt::hostmask("ipvs", "vaddr", arg)?;
                self.vaddr = Some((a, m, inv));
            }
            O_VPORT => self.vport = Some((xtopt::port(arg)?, inv)),
            O_VDIR => {
                self.vdir_reply = Some(if arg.eq_ignore_ascii_case("ORIGINAL") {
                    false
                } else if arg.eq_ignore_ascii_case("REPLY") {
                    true
                } else {
                    return Err(bad("vdir"));
                })
            }
            O_VMETHOD => {
                let m = if arg.eq_ignore_ascii_case("GATE") {
                    Method::Gate
                } else if arg.eq_ignore_ascii_case("IPIP") {
                    Method::Ipip
                } else if arg.eq_ignore_ascii_case("MASQ") {
                    Method::Masq
                } else {
                    return Err(bad("vmethod"));
                };
                self.vmethod = Some((m, inv));
            }
            O_VPORTCTL => self.vportctl = Some((xtopt::port(arg)?, inv)),
            _ => {}
        }
        self.seen |= b;
        Ok(())
    }

    fn dump(&self, out: &mut String, p: &str, numeric: bool) {
        let inv = |out: &mut String, i: bool| {
            if i {
                out.push_str(" !");
            }
        };
        let only_ipvs = self.seen == 1 << O_IPVS;
        if only_ipvs {
            inv(out, self.ipvs == Some(true));
            out.push_str(&format!(" {p}ipvs"));
        }
        if let Some((v, i)) = self.vproto {
            inv(out, i);
            out.push_str(&format!(" {p}vproto {v}"));
        }
        if let Some((a, m, i)) = self.vaddr {
            inv(out, i);
            if !numeric && a.is_unspecified() {
                out.push_str(&format!(" {p}vaddr anywhere"));
            } else {
                let host = if numeric {
                    a.to_string()
                } else {
                    xtopt::ipaddr_to_anyname(a)
                };
                let mask = match (m, xtopt::mask_len(m)) {
                    (u32::MAX, _) => String::new(),
                    (_, Some(l)) => format!("/{l}"),
                    (_, None) => format!("/{}", Ipv4Addr::from(m)),
                };
                out.push_str(&format!(" {p}vaddr {host}{mask}"));
            }
        }
        if let Some((v, i)) = self.vport {
            inv(out, i);
            out.push_str(&format!(" {p}vport {v}"));
        }
        if let Some(reply) = self.vdir_reply {
            out.push_str(&format!(
                " {p}vdir {}",
                if reply { "REPLY" } else { "ORIGINAL" }
            ));
        }
        if let Some((m, i)) = self.vmethod {
            inv(out, i);
            let n = match m {
                Method::Gate => "GATE",
                Method::Ipip => "IPIP",
                Method::Masq => "MASQ",
            };
            out.push_str(&format!(" {p}vmethod {n}"));
        }
        if let Some((v, i)) = self.vportctl {
            inv(out, i);
            out.push_str(&format!(" {p}vportctl {v}"));
        }
    }
}

impl Match for Ipvs {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.parse_inner(id, arg.unwrap_or_default(), inv)
            .map_err(with_warning)
    }

    fn final_check(&mut self, _seen: u64, cx: &mut ParseCx) -> XtResult {
        if self.seen == 0 {
            return Err(with_warning(XtError::new(
                "IPVS: At least one option is required",
            )));
        }
        if self.seen & !(1 << O_IPVS) != 0 && self.ipvs == Some(true) {
            return Err(with_warning(XtError::new(
                "! --ipvs cannot be together with other options",
            )));
        }
        cx.warnings.push(LOAD_WARNING.to_string());
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        // No ip_vs module in the simulated kernel.
        Err(KernelError::NoEntry)
    }

    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        // No IPVS here: no packet is an IPVS packet. `! --ipvs` alone
        // matches everything, any other option nothing.
        Some(self.seen == 1 << O_IPVS && self.ipvs == Some(true))
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut opt = String::from("-m ipvs");
        self.save(&mut opt);
        format!("`{opt}` did not match: the packet is not handled by IPVS")
    }

    fn save(&self, out: &mut String) {
        self.dump(out, "--", true);
    }

    fn print(&self, out: &mut String, numeric: bool) {
        self.dump(out, "", numeric);
    }

    fn explain(&self) -> String {
        let mut s = String::from("Matches packets of IPVS connections");
        let mut t = String::new();
        self.dump(&mut t, "", true);
        if self.seen != 1 << O_IPVS {
            s.push_str(&format!(" ({})", t.trim()));
        } else if self.ipvs == Some(true) {
            s = "Matches packets that are not part of an IPVS connection".into();
        }
        s.push_str("; this kernel has no IPVS support, so such rules are refused");
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
    fn warns_then_kernel_refuses() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m ipvs --vproto tcp --vport http",
        );
        assert_eq!(out.exit, 4);
        assert_eq!(
            out.stderr,
            "Warning: Extension ipvs revision 0 not supported, missing kernel module?\n\
iptables v1.8.9 (nf_tables):  RULE_APPEND failed (No such file or directory): rule in chain INPUT\n"
        );
        let out = run(&mut h, "iptables -D INPUT -m ipvs --ipvs");
        assert_eq!(out.exit, 1);
        assert!(out.stderr.starts_with("Warning: Extension ipvs"));
    }

    #[test]
    fn parse_errors_follow_the_warning() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -m ipvs ! --vdir REPLY");
        assert_eq!(out.exit, 2);
        assert_eq!(
            out.stderr,
            "Warning: Extension ipvs revision 0 not supported, missing kernel module?\n\
iptables v1.8.9 (nf_tables): ipvs: option \"--vdir\" cannot be inverted.\n\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let out = run(&mut h, "iptables -A INPUT -m ipvs");
        assert!(out
            .stderr
            .contains("): IPVS: At least one option is required\nTry"));
    }

    #[test]
    fn save_text() {
        let mut m = super::Ipvs::default();
        m.parse_inner(super::O_VPROTO, "TCP", true).unwrap();
        m.parse_inner(super::O_VADDR, "1.2.3.4/255.255.255.0", false)
            .unwrap();
        m.parse_inner(super::O_VMETHOD, "gate", false).unwrap();
        let mut s = String::new();
        crate::ext::Match::save(&m, &mut s);
        assert_eq!(s, " ! --vproto 6 --vaddr 1.2.3.4/24 --vmethod GATE");
    }
}
