//! `-m comment --comment TEXT`: a note attached to a rule; always matches.

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_COMMENT: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "comment",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("comment", O_COMMENT).mand()],
    guided: true,
    help: "comment match options:\n--comment COMMENT             Attach a comment to a rule\n",
    new_match: Some(|| Box::new(Comment::default())),
    new_target: None,
};

/// Longest comment the kernel keeps (XT_MAX_COMMENT_LEN - 1).
const MAX_LEN: usize = 255;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
}

impl Match for Comment {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let text = arg.unwrap_or_default();
        if text.len() > MAX_LEN {
            return Err(XtError::new(format!(
                "comment: option \"--comment\" is too long (max: {MAX_LEN})\n"
            )));
        }
        self.text = text.to_string();
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --comment ");
        xtopt::push_save_string(&self.text, out);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" /* ");
        out.push_str(&self.text);
        out.push_str(" */");
    }

    fn explain(&self) -> String {
        format!("carries the comment \"{}\"", self.text)
    }

    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        Some(true)
    }

    fn always_matches(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn saves_quoted_when_needed() {
        let mut h = Host::new("h");
        let mut a = argv("iptables -A INPUT -m comment --comment");
        a.push("it's here".into());
        assert_eq!(run_argv(&mut h, &a, None).exit, 0);
        let out = run_argv(&mut h, &argv("iptables -S INPUT"), None);
        assert_eq!(
            out.stdout,
            "-P INPUT ACCEPT\n-A INPUT -m comment --comment \"it\\'s here\"\n"
        );
    }

    #[test]
    fn comment_is_mandatory() {
        let mut h = Host::new("h");
        let out = run_argv(&mut h, &argv("iptables -A INPUT -m comment"), None);
        assert_eq!(out.exit, 2);
        assert!(out.stderr.starts_with(
            "iptables v1.8.9 (nf_tables): comment: option \"--comment\" must be specified\n\n"
        ));
    }

    #[test]
    fn always_matches() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -m comment --comment x -j DROP");
        assert!(!passed(&send_at(&mut w, SEC, ping("10.0.1.9", "10.0.2.5"))));
    }
}
