//! `-m realm --realm value[/mask]`: matches the routing realm the route of
//! the packet carries (`ip route ... realm N`).

use super::EvalCx;
use super::XtResult;
use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError};
use crate::ext_boilerplate;
use crate::ruleset::{check::hooks_outside, Hook};

pub static INFO: ExtInfo = ExtInfo {
    name: "realm",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("realm", 0).mand().inv()],
    guided: true,
    help: concat!(
        "realm match options:\n",
        "[!] --realm value[/mask]\n",
        "\t\t\t\tRouting realm (number or name from rt_realms)\n",
    ),
    new_match: Some(|| Box::new(Realm::default())),
    new_target: None,
};

/// `/etc/iproute2/rt_realms` of a fresh system.
const REALMS: &[(&str, u32)] = &[("cosmos", 0)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realm {
    pub id: u32,
    pub mask: u32,
    pub inv: bool,
}

impl Default for Realm {
    fn default() -> Self {
        Realm {
            id: 0,
            mask: u32::MAX,
            inv: false,
        }
    }
}

/// `xtables_parse_val_mask` with a name map: a number (and mask) or a realm name.
fn parse_realm(s: &str) -> XtResult<(u32, u32)> {
    let by_name = || {
        REALMS
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| (*v, u32::MAX))
            .ok_or_else(|| {
                XtError::new(format!(
                    "realm: could not map name {s} to an integer value for option \"--realm\".\n"
                ))
            })
    };
    let Some((v, rest)) = xtopt::strtoul(s, 0, u32::MAX as u64) else {
        return by_name();
    };
    if rest.is_empty() {
        return Ok((v as u32, u32::MAX));
    }
    let Some(m) = rest.strip_prefix('/') else {
        return by_name();
    };
    let bad =
        || XtError::new("realm: bad integer value for option \"--realm\", or out of range.\n");
    let (mask, rest) = xtopt::strtoul(m, 0, u32::MAX as u64).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(XtError::new(
            "realm: trailing garbage after value for option \"--realm\".\n",
        ));
    }
    Ok((v as u32, mask as u32))
}

impl Realm {
    fn value(&self, numeric: bool) -> String {
        if self.mask != u32::MAX {
            return format!("0x{:x}/0x{:x}", self.id, self.mask);
        }
        let name = (!numeric)
            .then(|| REALMS.iter().find(|(_, v)| *v == self.id))
            .flatten();
        match name {
            Some((n, _)) => n.to_string(),
            None => format!("0x{:x}", self.id),
        }
    }
}

impl Match for Realm {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        (self.id, self.mask) = parse_realm(arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        let allowed = [Hook::Postrouting, Hook::Forward, Hook::Output, Hook::Input];
        if hooks_outside(cx.hooks, &allowed) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        // Simulated routes carry no realm: the route's class id is 0.
        Some((self.id == 0) != self.inv)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        format!(
            "`{}` did not match: the route's realm is 0",
            opt.trim_start()
        )
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --realm ");
        // The save text uses names too (it is printed like -L without -n).
        out.push_str(&self.value(false));
    }

    fn print(&self, out: &mut String, numeric: bool) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" realm ");
        out.push_str(&self.value(numeric));
    }

    fn explain(&self) -> String {
        let is = if self.inv { "is not" } else { "is" };
        if self.mask == u32::MAX {
            format!("Matches when the route's realm {is} {}", self.value(false))
        } else {
            format!(
                "Matches when the route's realm ANDed with 0x{:x} {is} 0x{:x}",
                self.mask, self.id
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp};

    #[test]
    fn routes_have_realm_zero() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m realm --realm 0");
        sh(&mut w, 0, "iptables -A INPUT -m realm --realm 3/0xff");
        sh(&mut w, 0, "iptables -A INPUT -m realm ! --realm 3");
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 0, 1]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn names_numbers_hooks() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A INPUT -m realm --realm 0").exit, 0);
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m realm ! --realm 16/0xff").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m realm --realm cosmos\n-A INPUT -m realm ! --realm 0x10/0xff\n"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(l.contains("0.0.0.0/0            realm 0x0\n"));
        assert!(l.contains("0.0.0.0/0            ! realm 0x10/0xff\n"));
        assert!(run(&mut h, "iptables -A INPUT -m realm --realm 1x")
            .stderr
            .contains(
                "realm: could not map name 1x to an integer value for option \"--realm\".\n\n"
            ));
        assert_eq!(
            run(
                &mut h,
                "iptables -t mangle -A PREROUTING -m realm --realm 1"
            )
            .exit,
            4
        );
    }
}
