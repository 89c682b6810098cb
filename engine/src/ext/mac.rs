//! `-m mac --mac-source XX:XX:XX:XX:XX:XX`: the Ethernet source address of
//! incoming packets (PREROUTING, INPUT and FORWARD only).

use super::xtopt;
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::check::hooks_outside;
use crate::ruleset::Hook;

const O_MAC: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "mac",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("mac-source", O_MAC).mand().inv()],
    guided: true,
    help: "mac match options:
[!] --mac-source XX:XX:XX:XX:XX:XX
                                 Ethernet source address to match\n",
    new_match: Some(|| Box::new(Mac::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mac {
    pub addr: [u8; 6],
    pub inv: bool,
}

/// One byte as C `strtoul(s, &end, 16)` reads it: the value and how many
/// characters it took (0 when there are no digits).
fn hex_byte(s: &str) -> (u8, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let neg = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'-') | Some(b'+')) {
        i += 1;
    }
    if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x') | Some(b'X'))
        && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        i += 2;
    }
    let start = i;
    let mut v: u64 = 0;
    while let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(16)) {
        v = v.saturating_mul(16).saturating_add(d as u64);
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    let v = if neg { v.wrapping_neg() } else { v };
    (v as u8, i)
}

/// `XTTYPE_ETHERMAC`: six `:`-separated hex bytes of at most two characters.
fn parse_mac(s: &str) -> XtResult<[u8; 6]> {
    let bad = || XtError::new("Invalid MAC address specified.");
    let mut addr = [0u8; 6];
    let mut rest = s;
    for (i, byte) in addr.iter_mut().enumerate() {
        let (v, used) = hex_byte(rest);
        let next = rest[used..].chars().next();
        let want = if i < 5 { Some(':') } else { None };
        if next != want || used > 2 {
            return Err(bad());
        }
        *byte = v;
        rest = &rest[(used + 1).min(rest.len())..];
    }
    Ok(addr)
}

fn mac_text(a: &[u8; 6]) -> String {
    a.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Match for Mac {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.addr = parse_mac(arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // Only received packets have a source MAC.
        if hooks_outside(cx.hooks, &[Hook::Prerouting, Hook::Input, Hook::Forward]) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" --mac-source {}", mac_text(&self.addr)));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" MAC");
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" {}", mac_text(&self.addr)));
    }

    fn explain(&self) -> String {
        format!(
            "sent from {}MAC address {}",
            if self.inv { "any but " } else { "" },
            mac_text(&self.addr)
        )
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.hit(ethernet_source(cx)))
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let opt = format!(
            "{}--mac-source {}",
            if self.inv { "! " } else { "" },
            mac_text(&self.addr)
        );
        match ethernet_source(cx) {
            Some(m) => xtopt::miss(&opt, &format!("source MAC is {}", mac_text(&m))),
            None => xtopt::miss(
                &opt,
                "the packet did not come from an Ethernet interface (no source MAC)",
            ),
        }
    }
}

/// The source MAC when the packet came in on an Ethernet device: `lo`
/// carries a zeroed header, but its device type is not Ethernet.
fn ethernet_source(cx: &EvalCx) -> Option<[u8; 6]> {
    if cx.pkt.meta.in_iface.as_deref() == Some("lo") {
        return None;
    }
    cx.pkt.meta.src_mac
}

impl Mac {
    /// The kernel's `mac_mt`: no match at all (inverted or not) without an
    /// Ethernet header (packets made by this host, or from `lo`).
    fn hit(&self, src: Option<[u8; 6]>) -> bool {
        match src {
            Some(m) => (m == self.addr) != self.inv,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_mac;
    use crate::command::{run_argv, Output};
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> Output {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn parses_like_strtoul() {
        assert_eq!(parse_mac("4:1:2:3:4:5").unwrap(), [4, 1, 2, 3, 4, 5]);
        assert_eq!(parse_mac("-1:01:02:03:04:05").unwrap()[0], 0xff);
        assert_eq!(parse_mac(":01:02:03:04:").unwrap(), [0, 1, 2, 3, 4, 0]);
        assert_eq!(parse_mac(" 1:2:3:4:5:6").unwrap()[0], 1);
        for bad in [
            "42:01:02:03:04",
            "42:01:02:03:04:05:06",
            "420:01:02:03:04:05",
            "0x:01:02:03:04:05",
            "01:02:03:04:05:0g",
            "42-01-02-03-04-05",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn save_list_and_hooks() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m mac ! --mac-source AA:bb:cc:dd:ee:ff"
            )
            .exit,
            0
        );
        let save = run(&mut h, "iptables -S INPUT").stdout;
        assert!(save.ends_with("-A INPUT -m mac ! --mac-source aa:bb:cc:dd:ee:ff\n"));
        let list = run(&mut h, "iptables -L INPUT").stdout;
        assert!(list.ends_with("MAC ! aa:bb:cc:dd:ee:ff\n"));
        let out = run(
            &mut h,
            "iptables -A OUTPUT -m mac --mac-source 01:02:03:04:05:06",
        );
        assert_eq!(out.exit, 4);
        let out = run(&mut h, "iptables -A INPUT -m mac");
        assert!(out
            .stderr
            .contains("mac: option \"--mac-source\" must be specified\n\n"));
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn source_mac_of_received_frames() {
        let mut w = world(&[
            "-A FORWARD -m mac --mac-source 02:00:00:00:00:99",
            "-A FORWARD -m mac ! --mac-source 02:00:00:00:00:99",
            "-A INPUT -m mac --mac-source 02:00:00:00:00:AA",
            "-A INPUT -m mac ! --mac-source 02:00:00:00:00:AA",
        ]);
        let s = inject(&mut w, udp(1, "192.168.1.2", 9));
        assert_eq!(s.pattern("FORWARD"), [true, false]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --mac-source 02:00:00:00:00:99` did not match: source MAC is 02:00:00:00:00:99"
        );
        let mut p = udp(1, "10.0.0.1", 9);
        p.meta.src_mac = Some([2, 0, 0, 0, 0, 0xaa]);
        let s = inject(&mut w, p);
        assert_eq!(s.pattern("INPUT"), [true, false]);
        // From lo there is no Ethernet header: no match either way.
        w.send(0, udp(1, "10.0.0.1", 9));
        let steps: Vec<_> = w.reports[0]
            .trace
            .steps
            .iter()
            .filter(|s| s.chain == "INPUT" && s.rule.is_some())
            .collect();
        assert_eq!(
            steps.iter().map(|s| s.matched).collect::<Vec<_>>(),
            [false, false]
        );
        assert_eq!(
            steps[1].failed.as_deref(),
            Some(
                "`! --mac-source 02:00:00:00:00:aa` did not match: the packet did not come from \
an Ethernet interface (no source MAC)"
            )
        );
    }
}
