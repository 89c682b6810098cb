//! `-m addrtype`: the routing type of the source and/or destination address
//! (LOCAL, UNICAST, BROADCAST, MULTICAST, ...), as the routing tables see it.

use super::xtopt;
use super::{
    bit, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult,
};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::iface::Iface;
use crate::sim::route::{all_routes, Route};
use std::net::Ipv4Addr;

const O_SRC: u8 = 0;
const O_DST: u8 = 1;
const O_IN: u8 = 2;
const O_OUT: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "addrtype",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("src-type", O_SRC).inv(),
        OptSpec::arg("dst-type", O_DST).inv(),
        OptSpec::flag("limit-iface-in", O_IN).excl(bit(O_OUT)),
        OptSpec::flag("limit-iface-out", O_OUT).excl(bit(O_IN)),
    ],
    guided: true,
    help: "Address type match options:
 [!] --src-type type[,...]      Source address has one of these types
 [!] --dst-type type[,...]      Destination address has one of these types
     --limit-iface-in           Look the address up on the incoming interface only
     --limit-iface-out          Look the address up on the outgoing interface only

Valid types:
                                UNSPEC
                                UNICAST
                                LOCAL
                                BROADCAST
                                ANYCAST
                                MULTICAST
                                BLACKHOLE
                                UNREACHABLE
                                PROHIBIT
                                THROW
                                NAT
                                XRESOLVE\n",
    new_match: Some(|| Box::new(Addrtype::default())),
    new_target: None,
};

/// Route types, bit `1 << i` for `TYPES[i]`.
pub const TYPES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addrtype {
    /// Type bits and inversion.
    pub src: Option<(u16, bool)>,
    pub dst: Option<(u16, bool)>,
    pub limit_in: bool,
    pub limit_out: bool,
}

/// The first type whose name starts with `name` (any case).
fn type_bit(name: &str) -> Option<u16> {
    TYPES
        .iter()
        .position(|t| t.len() >= name.len() && t[..name.len()].eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

fn parse_types(arg: &str) -> XtResult<u16> {
    let mut mask = 0;
    let mut rest = arg;
    while let Some((item, more)) = rest.split_once(',') {
        match type_bit(item).filter(|_| !item.is_empty()) {
            Some(b) => mask |= b,
            None => return Err(XtError::new(format!("addrtype: bad type `{rest}'"))),
        }
        rest = more;
    }
    match type_bit(rest).filter(|_| !rest.is_empty()) {
        Some(b) => Ok(mask | b),
        None => Err(XtError::new(format!("addrtype: bad type \"{rest}\""))),
    }
}

fn types_text(mask: u16) -> String {
    TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join(",")
}

impl Match for Addrtype {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_SRC => self.src = Some((parse_types(arg)?, inv)),
            O_DST => self.dst = Some((parse_types(arg)?, inv)),
            O_IN => self.limit_in = true,
            _ => self.limit_out = true,
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        if self.src.is_none() && self.dst.is_none() {
            return Err(XtError::new(
                "addrtype: you must specify --src-type or --dst-type",
            ));
        }
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // The outgoing interface is unknown before routing, the incoming one after output.
        let before_routing = Hook::Prerouting.bit() | Hook::Input.bit();
        let local_out = Hook::Output.bit() | Hook::Postrouting.bit();
        let both = self.limit_in && self.limit_out;
        let out_too_early = self.limit_out && cx.hooks & before_routing != 0;
        let in_too_late = self.limit_in && cx.hooks & local_out != 0;
        if both || out_too_early || in_too_late {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for (opt, t) in [("src", self.src), ("dst", self.dst)] {
            if let Some((mask, inv)) = t {
                if inv {
                    out.push_str(" !");
                }
                out.push_str(&format!(" --{opt}-type {}", types_text(mask)));
            }
        }
        if self.limit_in {
            out.push_str(" --limit-iface-in");
        }
        if self.limit_out {
            out.push_str(" --limit-iface-out");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" ADDRTYPE match");
        for (opt, t) in [("src", self.src), ("dst", self.dst)] {
            if let Some((mask, inv)) = t {
                out.push_str(&format!(
                    " {opt}-type {}{}",
                    if inv { "!" } else { "" },
                    types_text(mask)
                ));
            }
        }
        if self.limit_in {
            out.push_str(" limit-in");
        }
        if self.limit_out {
            out.push_str(" limit-out");
        }
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        for (what, t) in [("source", self.src), ("destination", self.dst)] {
            if let Some((mask, inv)) = t {
                parts.push(format!(
                    "whose {what} address is {}of type {}",
                    if inv { "not " } else { "" },
                    types_text(mask).replace(',', " or ")
                ));
            }
        }
        let mut s = parts.join(" and ");
        if self.limit_in {
            s.push_str(" (looked up on the incoming interface)");
        }
        if self.limit_out {
            s.push_str(" (looked up on the outgoing interface)");
        }
        s
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.eval(cx).is_ok())
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let Err((opt, (mask, inv), what, addr, ty)) = self.eval(cx) else {
            return "-m addrtype matched".into();
        };
        let on = match self.dev(cx) {
            Some(d) => format!(" (looked up for {d})"),
            None => String::new(),
        };
        xtopt::miss(
            &format!(
                "{}--{opt}-type {}",
                if inv { "! " } else { "" },
                types_text(mask)
            ),
            &format!(
                "{what} {addr} is {}{on}",
                TYPES.get(ty as usize).copied().unwrap_or("UNSPEC")
            ),
        )
    }
}

/// A failed test: option name, its types and inversion, which address, the address, its type.
type Failed = (&'static str, (u16, bool), &'static str, Ipv4Addr, u8);

const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;
const RTN_BROADCAST: u8 = 3;
const RTN_MULTICAST: u8 = 5;

/// The kernel's `inet_dev_addr_type`: the route type of `addr` in the local
/// table (merged with main, as without policy rules). 0.0.0.0 and
/// 255.255.255.255 are BROADCAST (the rest of 0.0.0.0/8 is ordinary since
/// Linux 5.3), class D MULTICAST. When `dev`
/// is given, a route through another interface counts as UNICAST, as does
/// an address without a route. (Routes that fail the lookup, such as
/// `unreachable`, also come out UNICAST in the kernel.)
pub fn addr_type(ifaces: &[Iface], routes: &[Route], addr: Ipv4Addr, dev: Option<&str>) -> u8 {
    if addr == Ipv4Addr::UNSPECIFIED || addr == Ipv4Addr::BROADCAST {
        return RTN_BROADCAST;
    }
    if addr.is_multicast() {
        return RTN_MULTICAST;
    }
    // The matching route: longest prefix first, the local table before main.
    let main = all_routes(ifaces, routes);
    let mut found: Option<Entry> = None;
    for i in ifaces {
        for a in &i.addrs {
            if a.addr == addr {
                prefer(&mut found, (32, true, RTN_LOCAL, &i.name));
            }
            if i.up && a.prefix < 31 && a.broadcast() == addr {
                prefer(&mut found, (32, true, RTN_BROADCAST, &i.name));
            }
        }
    }
    if addr.is_loopback() {
        prefer(&mut found, (8, true, RTN_LOCAL, "lo"));
    }
    for r in main.iter().filter(|r| r.contains(addr)) {
        prefer(&mut found, (r.prefix, false, RTN_UNICAST, &r.dev));
    }
    match found {
        Some((_, _, ty, d)) if dev.is_none_or(|want| want == d) => ty,
        _ => RTN_UNICAST,
    }
}

/// A route the lookup found: prefix length, from the local table, type, device.
type Entry<'a> = (u8, bool, u8, &'a str);

/// Keeps the better of two routes (longer prefix, then the local table).
fn prefer<'a>(found: &mut Option<Entry<'a>>, cand: Entry<'a>) {
    if found.is_none_or(|b| (cand.0, cand.1) > (b.0, b.1)) {
        *found = Some(cand);
    }
}

impl Addrtype {
    /// The interface the lookups are limited to, if any.
    fn dev<'a>(&self, cx: &'a EvalCx) -> Option<&'a str> {
        if self.limit_in {
            cx.in_iface()
        } else if self.limit_out {
            cx.out_iface()
        } else {
            None
        }
    }

    /// The kernel's `addrtype_mt_v1`: the source test, then the destination test.
    fn eval(&self, cx: &EvalCx) -> Result<(), Failed> {
        let dev = self.dev(cx);
        for (opt, test, what, addr) in [
            ("src", self.src, "source", cx.hdr.src),
            ("dst", self.dst, "destination", cx.hdr.dst),
        ] {
            if let Some((mask, inv)) = test {
                let ty = addr_type(cx.ifaces, cx.routes, addr, dev);
                if (mask & (1 << ty) != 0) == inv {
                    return Err((opt, (mask, inv), what, addr, ty));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::command::{run_argv, Output};
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> Output {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_and_list() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m addrtype ! --src-type local,u ! --dst-type BROADCAST,MULTICAST,ANYCAST --limit-iface-in",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let save = run(&mut h, "iptables -S INPUT").stdout;
        assert!(save.ends_with(
            "-A INPUT -m addrtype ! --src-type UNSPEC,LOCAL ! --dst-type BROADCAST,ANYCAST,MULTICAST --limit-iface-in\n"
        ));
        let list = run(&mut h, "iptables -L INPUT").stdout;
        assert!(list.ends_with(
            "ADDRTYPE match src-type !UNSPEC,LOCAL dst-type !BROADCAST,ANYCAST,MULTICAST limit-in\n"
        ));
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let cases = [
            ("--src-type wrong", "addrtype: bad type \"wrong\"\n"),
            ("--src-type LOCAL,", "addrtype: bad type \"\"\n"),
            ("--src-type ,LOCAL", "addrtype: bad type `,LOCAL'\n"),
            ("--src-type LOCAL,foo,NAT", "addrtype: bad type `foo,NAT'\n"),
            ("--limit-iface-in --limit-iface-out", "addrtype: you must specify --src-type or --dst-type\n"),
            (
                "--src-type LOCAL --limit-iface-in --limit-iface-out",
                "addrtype: option \"--limit-iface-in\" cannot be used together with \"--limit-iface-out\".\n\n",
            ),
        ];
        for (opt, msg) in cases {
            let out = run(&mut h, &format!("iptables -A INPUT -m addrtype {opt}"));
            assert_eq!(
                out.stderr,
                format!("iptables v1.8.9 (nf_tables): {msg}Try `iptables -h' or 'iptables --help' for more information.\n"),
                "{opt}"
            );
        }
        // Interface limits the hook cannot know: refused by the kernel.
        let k = "-m addrtype --dst-type LOCAL";
        assert_eq!(
            run(&mut h, &format!("iptables -A INPUT {k} --limit-iface-out")).exit,
            4
        );
        assert_eq!(
            run(&mut h, &format!("iptables -A OUTPUT {k} --limit-iface-in")).exit,
            4
        );
        assert_eq!(
            run(&mut h, &format!("iptables -A FORWARD {k} --limit-iface-in")).exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                &format!("iptables -t nat -A PREROUTING {k} --limit-iface-out")
            )
            .exit,
            4
        );
    }
}

#[cfg(test)]
mod eval_tests {
    use super::addr_type;
    use crate::ext::xtopt::lab::*;

    #[test]
    fn address_types_like_the_kernel() {
        let w = world(&[]);
        let h = &w.hosts[0];
        let t =
            |a: &str, dev: Option<&str>| addr_type(&h.ifaces, &h.routes, a.parse().unwrap(), dev);
        assert_eq!(t("10.0.0.1", None), 2);
        assert_eq!(t("192.168.1.1", None), 2);
        assert_eq!(t("127.3.4.5", None), 2);
        assert_eq!(t("10.0.0.255", None), 3);
        assert_eq!(t("255.255.255.255", None), 3);
        assert_eq!(t("0.0.0.0", None), 3);
        assert_eq!(t("224.0.0.1", None), 5);
        assert_eq!(t("239.9.9.9", Some("eth0")), 5);
        // No network-address broadcast route any more; 0/8 is ordinary.
        assert_eq!(t("10.0.0.0", None), 1);
        assert_eq!(t("0.1.2.3", None), 1);
        assert_eq!(t("8.8.8.8", None), 1);
        assert_eq!(t("192.168.1.9", None), 1);
        // Limited to an interface: a route through another one counts as UNICAST.
        assert_eq!(t("192.168.1.1", Some("eth0")), 1);
        assert_eq!(t("192.168.1.1", Some("eth1")), 2);
        assert_eq!(t("192.168.1.255", Some("eth0")), 1);
        assert_eq!(t("255.255.255.255", Some("eth0")), 3);
    }

    #[test]
    fn rules_with_and_without_interface_limits() {
        let mut w = world(&[
            "-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in",
            "-A INPUT -m addrtype --dst-type LOCAL",
            "-A INPUT -m addrtype ! --src-type UNICAST",
            "-A INPUT -m addrtype --dst-type BROADCAST,MULTICAST",
            "-A FORWARD -m addrtype --dst-type UNICAST --limit-iface-out",
            "-A FORWARD -m addrtype --src-type LOCAL",
        ]);
        let s = inject(&mut w, udp(1, "10.0.0.1", 9));
        assert_eq!(s.pattern("INPUT"), [true, true, false, false]);
        assert_eq!(
            s.why("INPUT", 3),
            "`! --src-type UNICAST` did not match: source 10.0.0.9 is UNICAST"
        );
        let s = inject(&mut w, udp(1, "192.168.1.1", 9));
        assert_eq!(s.pattern("INPUT"), [false, true, false, false]);
        assert_eq!(
            s.why("INPUT", 1),
            "`--dst-type LOCAL` did not match: destination 192.168.1.1 is UNICAST (looked up for eth0)"
        );
        let s = inject(&mut w, udp(1, "10.0.0.255", 9));
        assert_eq!(s.pattern("INPUT"), [false, false, false, true]);
        let s = inject(&mut w, udp(1, "192.168.1.2", 9));
        assert_eq!(s.pattern("FORWARD"), [true, false]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`--src-type LOCAL` did not match: source 10.0.0.9 is UNICAST"
        );
    }
}
