//! `-m policy`: matches on the IPsec policy used to decapsulate a packet
//! (`--dir in`) or that will encapsulate it (`--dir out`).

use super::EvalCx;
use super::XtResult;
use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError};
use crate::ext::bit;
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use std::net::Ipv4Addr;

const O_DIR: u8 = 0;
const O_POL: u8 = 1;
const O_STRICT: u8 = 2;
const O_REQID: u8 = 3;
const O_SPI: u8 = 4;
const O_PROTO: u8 = 5;
const O_MODE: u8 = 6;
const O_TUNNELSRC: u8 = 7;
const O_TUNNELDST: u8 = 8;
const O_NEXT: u8 = 9;

pub static INFO: ExtInfo = ExtInfo {
    name: "policy",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("dir", O_DIR).inv(),
        OptSpec::arg("pol", O_POL),
        OptSpec::flag("strict", O_STRICT),
        OptSpec::arg("reqid", O_REQID).multi().inv(),
        OptSpec::arg("spi", O_SPI).multi().inv(),
        OptSpec::arg("tunnel-src", O_TUNNELSRC).multi().inv(),
        OptSpec::arg("tunnel-dst", O_TUNNELDST).multi().inv(),
        OptSpec::arg("proto", O_PROTO).multi().inv(),
        OptSpec::arg("mode", O_MODE).multi().inv(),
        OptSpec::flag("next", O_NEXT).multi().also(bit(O_STRICT)),
    ],
    guided: true,
    help: concat!(
        "policy match options:\n",
        "  --dir in|out\t\t\tpolicy used to decapsulate (in) or that will\n",
        "\t\t\t\tencapsulate (out) the packet\n",
        "  --pol none|ipsec\t\tno policy at all, or an IPsec policy\n",
        "  --strict \t\t\tthe whole policy must match, element by element,\n",
        "\t\t\t\tinstead of any one element\n",
        "These options may be given once per policy element:\n",
        "[!] --reqid reqid\t\trequest id of the SA\n",
        "[!] --spi spi\t\t\tsecurity parameter index of the SA\n",
        "[!] --proto proto\t\tIPsec protocol (ah/esp/ipcomp)\n",
        "[!] --mode mode \t\tIPsec mode (transport/tunnel)\n",
        "[!] --tunnel-src addr/mask\ttunnel source address\n",
        "[!] --tunnel-dst addr/mask\ttunnel destination address\n",
        "  --next \t\t\tstart the next policy element\n",
    ),
    new_match: Some(|| Box::new(Policy::default())),
    new_target: None,
};

/// Most elements a policy can have (XT_POLICY_MAX_ELEM).
const MAX_ELEM: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: Ipv4Addr,
    pub mask: u32,
    pub inv: bool,
}

/// One policy element; each field with its inversion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Elem {
    pub reqid: Option<(u32, bool)>,
    pub spi: Option<(u32, bool)>,
    pub proto: Option<(u8, bool)>,
    /// `Some((true, inv))` for tunnel mode.
    pub tunnel_mode: Option<(bool, bool)>,
    pub tunnel_src: Option<Net>,
    pub tunnel_dst: Option<Net>,
}

impl Elem {
    fn is_empty(&self) -> bool {
        *self == Elem::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `Some(true)` for `--dir in`, `Some(false)` for out.
    pub dir_in: Option<bool>,
    /// `--pol none`.
    pub none: bool,
    pub strict: bool,
    pub elems: Vec<Elem>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            dir_in: None,
            none: false,
            strict: false,
            elems: vec![Elem::default()],
        }
    }
}

fn perr(msg: String) -> XtError {
    XtError::new(format!("policy match: {msg}"))
}

fn double(opt: &str) -> XtError {
    perr(format!("double --{opt} option"))
}

impl Policy {
    fn flags(&self, out: &mut String, p: &str) {
        let dir = if self.dir_in == Some(true) {
            "in"
        } else {
            "out"
        };
        let pol = if self.none { "none" } else { "ipsec" };
        out.push_str(&format!(" {p}dir {dir} {p}pol {pol}"));
        if self.strict {
            out.push_str(&format!(" {p}strict"));
        }
    }

    fn entry(e: &Elem, out: &mut String, p: &str, numeric: bool) {
        let inv = |out: &mut String, i: bool| {
            if i {
                out.push_str(" !");
            }
        };
        if let Some((v, i)) = e.reqid {
            inv(out, i);
            out.push_str(&format!(" {p}reqid {v}"));
        }
        if let Some((v, i)) = e.spi {
            inv(out, i);
            out.push_str(&format!(" {p}spi 0x{v:x}"));
        }
        if let Some((v, i)) = e.proto {
            inv(out, i);
            let name = if numeric {
                None
            } else {
                crate::netdb::proto_name(v)
            };
            match name {
                Some(n) => out.push_str(&format!(" {p}proto {n}")),
                None => out.push_str(&format!(" {p}proto {v}")),
            }
        }
        if let Some((tunnel, i)) = e.tunnel_mode {
            inv(out, i);
            let m = if tunnel { "tunnel" } else { "transport" };
            out.push_str(&format!(" {p}mode {m}"));
        }
        for (name, n) in [("tunnel-dst", &e.tunnel_dst), ("tunnel-src", &e.tunnel_src)] {
            if let Some(n) = n {
                inv(out, n.inv);
                let mask = if n.mask == u32::MAX {
                    String::new()
                } else {
                    match xtopt::mask_len(n.mask) {
                        Some(l) => format!("/{l}"),
                        None => format!("/{}", Ipv4Addr::from(n.mask)),
                    }
                };
                out.push_str(&format!(" {p}{name} {}{mask}", n.addr));
            }
        }
    }
}

impl Match for Policy {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let idx = self.elems.len() - 1;
        let e = &mut self.elems[idx];
        match id {
            O_DIR => {
                self.dir_in = Some(match arg {
                    "in" => true,
                    "out" => false,
                    _ => return Err(XtError::new(format!("policy_match: invalid dir \"{arg}\""))),
                })
            }
            O_POL => match arg {
                "none" => self.none = true,
                "ipsec" => {}
                _ => return Err(perr(format!("invalid policy \"{arg}\""))),
            },
            O_STRICT => self.strict = true,
            O_REQID => {
                let v = xtopt::uint("policy", "reqid", arg, 0, u32::MAX as u64)? as u32;
                if e.reqid.is_some() {
                    return Err(double("reqid"));
                }
                e.reqid = Some((v, inv));
            }
            O_SPI => {
                let v = xtopt::uint("policy", "spi", arg, 0, u32::MAX as u64)? as u32;
                if e.spi.is_some() {
                    return Err(double("spi"));
                }
                e.spi = Some((v, inv));
            }
            O_TUNNELSRC | O_TUNNELDST => {
                let opt = if id == O_TUNNELSRC {
                    "tunnel-src"
                } else {
                    "tunnel-dst"
                };
                let (addr, mask) = xtopt::hostmask("policy", opt, arg)?;
                let slot = if id == O_TUNNELSRC {
                    &mut e.tunnel_src
                } else {
                    &mut e.tunnel_dst
                };
                if slot.is_some() {
                    return Err(double(opt));
                }
                *slot = Some(Net { addr, mask, inv });
            }
            O_PROTO => {
                if e.proto.is_some() {
                    return Err(double("proto"));
                }
                let p = crate::iptables::parse::parse_protocol(arg)?;
                if p != 50 && p != 51 && p != 108 {
                    return Err(perr("protocol must be ah/esp/ipcomp".into()));
                }
                e.proto = Some((p, inv));
            }
            O_MODE => {
                if e.tunnel_mode.is_some() {
                    return Err(double("mode"));
                }
                let tunnel = match arg {
                    "transport" => false,
                    "tunnel" => true,
                    _ => return Err(perr(format!("invalid mode \"{arg}\""))),
                };
                e.tunnel_mode = Some((tunnel, inv));
            }
            O_NEXT => {
                if self.elems.len() == MAX_ELEM {
                    return Err(perr("maximum policy depth reached".into()));
                }
                self.elems.push(Elem::default());
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        if self.dir_in.is_none() {
            return Err(perr("neither --dir in nor --dir out specified".into()));
        }
        if self.none {
            if self.strict {
                return Err(perr("policy none but --strict given".into()));
            }
            if self.elems.len() > 1 {
                return Err(perr("policy none but policy given".into()));
            }
        }
        for (i, e) in self.elems.iter().enumerate() {
            if self.strict && e.is_empty() {
                return Err(perr(format!(
                    "empty policy element {i}. --strict is in effect, but at least one of \
                     reqid, spi, tunnel-src, tunnel-dst, proto or mode is required."
                )));
            }
            let addr = e.tunnel_src.is_some() || e.tunnel_dst.is_some();
            // An element without --mode counts as transport mode.
            let not_tunnel = matches!(
                e.tunnel_mode,
                None | Some((true, true)) | Some((false, false))
            );
            if addr && not_tunnel {
                return Err(perr(
                    "--tunnel-src/--tunnel-dst is only valid in tunnel mode".into(),
                ));
            }
        }
        if self.none {
            self.elems.clear();
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        let input_side = Hook::Prerouting.bit() | Hook::Input.bit();
        let output_side = Hook::Postrouting.bit() | Hook::Output.bit();
        match self.dir_in {
            Some(false) if cx.hooks & input_side != 0 => Err(KernelError::Invalid),
            Some(true) if cx.hooks & output_side != 0 => Err(KernelError::Invalid),
            _ => Ok(()),
        }
    }

    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        // No IPsec here: no packet went through or will go through a policy.
        Some(self.none)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut opt = String::from("-m policy");
        self.save(&mut opt);
        format!("`{opt}` did not match: no IPsec policy applies here (only --pol none matches)")
    }

    fn save(&self, out: &mut String) {
        self.flags(out, "--");
        for (i, e) in self.elems.iter().enumerate() {
            Self::entry(e, out, "--", false);
            if i + 1 < self.elems.len() {
                out.push_str(" --next");
            }
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" policy match");
        self.flags(out, "");
        let many = self.elems.len() > 1;
        for (i, e) in self.elems.iter().enumerate() {
            if many {
                out.push_str(&format!(" [{i}]"));
            }
            Self::entry(e, out, "", numeric);
        }
    }

    fn explain(&self) -> String {
        let dir = if self.dir_in == Some(true) {
            "was decapsulated by"
        } else {
            "will be encapsulated by"
        };
        if self.none {
            return format!(
                "Matches packets that {} no IPsec policy",
                if self.dir_in == Some(true) {
                    "were decapsulated by"
                } else {
                    "will be encapsulated by"
                }
            );
        }
        let mut s = format!("Matches packets that {dir} an IPsec policy");
        if self.elems.iter().any(|e| !e.is_empty()) {
            let mut t = String::new();
            for e in &self.elems {
                Self::entry(e, &mut t, "", false);
            }
            s.push_str(&format!(
                " {} ({})",
                if self.strict {
                    "element by element"
                } else {
                    "with an element"
                },
                t.trim()
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp};

    #[test]
    fn only_pol_none_matches_without_ipsec() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m policy --dir in --pol none");
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m policy --dir in --pol ipsec --proto esp",
        );
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 0]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn elements_save_and_list() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m policy --dir in --pol ipsec --strict --reqid 1 --spi 0x1 \
             --proto esp --mode tunnel --tunnel-dst 10.0.0.0/8 --tunnel-src 10.0.0.0/8 --next --reqid 2",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let s = run(&mut h, "iptables -S INPUT").stdout;
        assert!(s.ends_with(
            "-A INPUT -m policy --dir in --pol ipsec --strict --reqid 1 --spi 0x1 --proto esp \
             --mode tunnel --tunnel-dst 10.0.0.0/8 --tunnel-src 10.0.0.0/8 --next --reqid 2\n"
        ));
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(l.ends_with(
            " policy match dir in pol ipsec strict [0] reqid 1 spi 0x1 proto 50 mode tunnel \
             tunnel-dst 10.0.0.0/8 tunnel-src 10.0.0.0/8 [1] reqid 2\n"
        ));
    }

    #[test]
    fn checks() {
        let mut h = Host::new("h");
        let add = |h: &mut Host, a: &str| run(h, &format!("iptables -A {a}"));
        assert!(add(&mut h, "INPUT -m policy --pol ipsec")
            .stderr
            .contains("neither --dir in nor --dir out specified\n"));
        assert!(add(&mut h, "INPUT -m policy --dir in --pol ipsec --strict")
            .stderr
            .contains("empty policy element 0. --strict is in effect"));
        assert!(add(&mut h, "INPUT -m policy --dir in --pol ipsec --next")
            .stderr
            .contains("policy: option \"--next\" also requires \"--strict\".\n\n"));
        assert!(add(
            &mut h,
            "INPUT -m policy --dir in --pol ipsec --reqid 1 --reqid 2"
        )
        .stderr
        .contains("policy match: double --reqid option\n"));
        assert_eq!(add(&mut h, "OUTPUT -m policy --dir in --pol ipsec").exit, 4);
        assert_eq!(add(&mut h, "INPUT -m policy --dir out --pol ipsec").exit, 4);
        assert_eq!(
            add(&mut h, "FORWARD -m policy --dir out --pol none").exit,
            0
        );
    }
}
