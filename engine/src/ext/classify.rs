//! `-j CLASSIFY --set-class MAJOR:MINOR`: sets the packet's traffic-control
//! class. Mangle table; OUTPUT, FORWARD and POSTROUTING only.

use super::{
    CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext_boilerplate;
use crate::ruleset::Hook;

pub static INFO: ExtInfo = ExtInfo {
    name: "CLASSIFY",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[OptSpec::arg("set-class", 0).mand()],
    guided: true,
    help: "CLASSIFY target options:\n\
--set-class MAJOR:MINOR    Put the packet in this traffic-control class (hex numbers)\n",
    new_match: None,
    new_target: Some(|| Box::new(Classify::default())),
};

/// C `sscanf("%x")`: optional blanks and sign, optional `0x`, hex digits.
fn scan_hex(s: &str) -> Option<(u32, &str)> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = match t.get(..2) {
        Some(p)
            if p.eq_ignore_ascii_case("0x")
                && t.as_bytes().get(2).is_some_and(|c| c.is_ascii_hexdigit()) =>
        {
            &t[2..]
        }
        _ => t,
    };
    let end = t.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    let mut v: u32 = 0;
    for c in t[..end].chars() {
        v = v.wrapping_mul(16).wrapping_add(c.to_digit(16).unwrap_or(0));
    }
    Some((if neg { v.wrapping_neg() } else { v }, &t[end..]))
}

/// `MAJOR:MINOR` as tc writes it; the major number keeps its low 16 bits.
pub fn parse_class(s: &str) -> Option<u32> {
    let (major, rest) = scan_hex(s)?;
    let (minor, _) = scan_hex(rest.strip_prefix(':')?)?;
    Some((major << 16) | (minor & 0xffff))
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classify {
    /// tc handle: major in the high 16 bits, minor in the low.
    pub priority: u32,
}

impl Target for Classify {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        self.priority =
            parse_class(arg).ok_or_else(|| XtError::new(format!("Bad class value \"{arg}\"")))?;
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle"
            || crate::ruleset::check::hooks_outside(
                cx.hooks,
                &[Hook::Output, Hook::Forward, Hook::Postrouting],
            )
        {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --set-class {:04x}:{:04x}",
            self.priority >> 16,
            self.priority & 0xffff
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " CLASSIFY set {:x}:{:x}",
            self.priority >> 16,
            self.priority & 0xffff
        ));
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        cx.pkt.meta.priority = self.priority;
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        format!(
            "put the packet in traffic-control class {:x}:{:x} and continue",
            self.priority >> 16,
            self.priority & 0xffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn class_parsing() {
        assert_eq!(parse_class("1:2"), Some(0x10002));
        assert_eq!(parse_class("10000:1"), Some(1));
        assert_eq!(parse_class("1:2x"), Some(0x10002));
        assert_eq!(parse_class("1"), None);
    }

    #[test]
    fn hooks_and_text() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A FORWARD -j CLASSIFY --set-class 1:2"
            )
            .exit,
            0
        );
        assert!(run(&mut h, "iptables -t mangle -S FORWARD")
            .stdout
            .ends_with("-j CLASSIFY --set-class 0001:0002\n"));
        assert!(run(&mut h, "iptables -t mangle -L FORWARD")
            .stdout
            .ends_with(" CLASSIFY set 1:2\n"));
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A PREROUTING -j CLASSIFY --set-class 1:2"
            )
            .exit,
            4
        );
    }

    #[test]
    fn sets_the_priority() {
        use crate::ext::limit::lab::*;
        use crate::ext::TargetVerdict;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -t mangle -A POSTROUTING -j CLASSIFY --set-class 1:2",
        );
        let mut t = Classify { priority: 0x10002 };
        let mut p = ping("10.0.1.9", "10.0.2.5");
        let v = with_cx(&mut w, &mut p, Hook::Postrouting, |cx| t.fire(cx));
        assert_eq!(v, Some(TargetVerdict::Continue));
        assert_eq!(p.meta.priority, 0x10002);
        // The class goes with the packet out of the host, not onto the wire.
        assert!(passed(&send_at(&mut w, SEC, ping("10.0.1.9", "10.0.2.5"))));
    }
}
