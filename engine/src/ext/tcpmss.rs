//! `-m tcpmss --mss value[:value]`: matches the MSS option of TCP SYN
//! packets. Needs `-p tcp`.

use super::{
    xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult,
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
}
