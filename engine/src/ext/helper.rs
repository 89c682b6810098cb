//! `-m helper --helper NAME`: matches packets of connections that a
//! conntrack helper (ftp, sip, ...) handles or created.

use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "helper",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("helper", 0).mand().inv()],
    guided: true,
    help: concat!(
        "helper match options:\n",
        "[!] --helper string        Match connections handled by the named helper\n",
    ),
    new_match: Some(|| Box::new(Helper::default())),
    new_target: None,
};

/// The kernel keeps 29 characters of the name.
const MAX_NAME: usize = 29;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub inv: bool,
}

impl Match for Helper {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let mut end = arg.len().min(MAX_NAME);
        while !arg.is_char_boundary(end) {
            end -= 1;
        }
        self.name = arg[..end].to_string();
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --helper ");
        out.push_str(&xtopt::save_string(&self.name));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " helper match {}\"{}\"",
            if self.inv { "! " } else { "" },
            self.name
        ));
    }

    fn explain(&self) -> String {
        format!(
            "Matches when the connection is {}handled by the \"{}\" helper",
            if self.inv { "not " } else { "" },
            self.name
        )
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
    fn save_list_truncation() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m helper ! --helper ftp").exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m helper --helper 123456789012345678901234567890"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m helper ! --helper ftp\n\
-A INPUT -m helper --helper 12345678901234567890123456789\n"
        );
        let l = run(&mut h, "iptables -L INPUT").stdout;
        assert!(l.contains("anywhere             helper match ! \"ftp\"\n"));
    }
}
