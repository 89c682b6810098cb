//! `-m physdev`: for bridged traffic, matches the bridge ports a packet came
//! in on or will leave by (needs br_netfilter).

use super::EvalCx;
use super::{CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::Hook;

const O_IN: u8 = 0;
const O_OUT: u8 = 1;
const O_IS_IN: u8 = 2;
const O_IS_OUT: u8 = 3;
const O_BRIDGED: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "physdev",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("physdev-in", O_IN).inv(),
        OptSpec::arg("physdev-out", O_OUT).inv(),
        OptSpec::flag("physdev-is-in", O_IS_IN).inv(),
        OptSpec::flag("physdev-is-out", O_IS_OUT).inv(),
        OptSpec::flag("physdev-is-bridged", O_BRIDGED).inv(),
    ],
    guided: true,
    help: concat!(
        "physdev match options:\n",
        " [!] --physdev-in inputname[+]\t\tbridge port it came in on ([+] for a prefix)\n",
        " [!] --physdev-out outputname[+]\tbridge port it will leave by ([+] for a prefix)\n",
        " [!] --physdev-is-in\t\t\tit came in on a bridge port\n",
        " [!] --physdev-is-out\t\t\tit will leave by a bridge port\n",
        " [!] --physdev-is-bridged\t\tit is being bridged, not routed\n",
    ),
    new_match: Some(|| Box::new(Physdev::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Physdev {
    pub in_dev: Option<(String, bool)>,
    pub out_dev: Option<(String, bool)>,
    pub is_in: Option<bool>,
    pub is_out: Option<bool>,
    pub bridged: Option<bool>,
}

/// `xtables_parse_interface`: at most 15 characters; `/` or a blank only warns.
fn parse_iface(s: &str, cx: &mut ParseCx) -> XtResult<String> {
    if s.len() > 15 {
        return Err(XtError::new(format!(
            "interface name `{s}' must be shorter than IFNAMSIZ (15)"
        )));
    }
    if !s.is_empty() && !s.ends_with('+') && s.contains(['/', ' ']) {
        cx.warnings.push(format!(
            "Warning: weird character in interface `{s}' ('/' and ' ' are not allowed by the kernel)."
        ));
    }
    Ok(s.to_string())
}

impl Physdev {
    fn text(&self) -> String {
        let mut out = String::new();
        let inv = |i: bool| if i { " !" } else { "" };
        if let Some(i) = self.is_in {
            out.push_str(&format!("{} --physdev-is-in", inv(i)));
        }
        if let Some((d, i)) = &self.in_dev {
            out.push_str(&format!("{} --physdev-in {d}", inv(*i)));
        }
        if let Some(i) = self.is_out {
            out.push_str(&format!("{} --physdev-is-out", inv(i)));
        }
        if let Some((d, i)) = &self.out_dev {
            out.push_str(&format!("{} --physdev-out {d}", inv(*i)));
        }
        if let Some(i) = self.bridged {
            out.push_str(&format!("{} --physdev-is-bridged", inv(i)));
        }
        out
    }
}

impl Match for Physdev {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_IN => self.in_dev = Some((parse_iface(arg, cx)?, inv)),
            O_OUT => self.out_dev = Some((parse_iface(arg, cx)?, inv)),
            O_IS_IN => self.is_in = Some(inv),
            O_IS_OUT => self.is_out = Some(inv),
            O_BRIDGED => self.bridged = Some(inv),
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new("PHYSDEV: no physdev option specified"));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        // The output port is not known yet for locally generated packets
        // unless the rule is limited to bridged traffic.
        let wants_out = self.out_dev.is_some() || self.is_out.is_some();
        let bridged_only = self.bridged == Some(false);
        if wants_out && !bridged_only && cx.hooks & Hook::Output.bit() != 0 {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        // No bridges here: the packet has no bridge information, and only
        // options that are all inverted can match.
        let inverted = [
            self.bridged,
            self.is_in,
            self.is_out,
            self.in_dev.as_ref().map(|d| d.1),
            self.out_dev.as_ref().map(|d| d.1),
        ];
        Some(inverted.iter().all(|i| i.is_none_or(|i| i)))
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut opt = String::from("-m physdev");
        self.save(&mut opt);
        format!("`{opt}` did not match: the packet did not cross a bridge")
    }

    fn save(&self, out: &mut String) {
        out.push_str(&self.text());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" PHYSDEV match");
        out.push_str(&self.text());
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        let not = |i: bool| if i { "not " } else { "" };
        if let Some(i) = self.is_in {
            parts.push(format!("it did {}come in on a bridge port", not(i)));
        }
        if let Some((d, i)) = &self.in_dev {
            parts.push(format!("the bridge port it came in on is {}{d}", not(*i)));
        }
        if let Some(i) = self.is_out {
            parts.push(format!("it will {}leave by a bridge port", not(i)));
        }
        if let Some((d, i)) = &self.out_dev {
            parts.push(format!("the bridge port it leaves by is {}{d}", not(*i)));
        }
        if let Some(i) = self.bridged {
            parts.push(format!("it is {}being bridged", not(i)));
        }
        format!("Matches when {}", parts.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn no_bridge_here() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m physdev --physdev-in eth0");
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m physdev ! --physdev-is-bridged",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m physdev ! --physdev-in eth0 --physdev-is-in",
        );
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 1, 0]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`-m physdev --physdev-in eth0` did not match: the packet did not cross a bridge"
        );
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn order_and_hooks() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A FORWARD -m physdev ! --physdev-is-bridged --physdev-out br0 ! --physdev-in eth+ --physdev-is-in",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert!(run(&mut h, "iptables -S FORWARD").stdout.ends_with(
            "-A FORWARD -m physdev --physdev-is-in ! --physdev-in eth+ --physdev-out br0 ! --physdev-is-bridged\n"
        ));
        assert!(run(&mut h, "iptables -L FORWARD").stdout.ends_with(
            "anywhere             PHYSDEV match --physdev-is-in ! --physdev-in eth+ --physdev-out br0 ! --physdev-is-bridged\n"
        ));
        assert_eq!(
            run(&mut h, "iptables -A OUTPUT -m physdev --physdev-out eth0").exit,
            4
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -A OUTPUT -m physdev --physdev-out eth0 --physdev-is-bridged"
            )
            .exit,
            0
        );
        assert!(run(&mut h, "iptables -A INPUT -m physdev")
            .stderr
            .contains("PHYSDEV: no physdev option specified\n"));
    }
}
