//! `-m state --state LIST`: the older form of `-m conntrack --ctstate`
//! (connection tracking state); iptables-nft 1.8.9 keeps it as `-m state`.

use super::conntrack::{states_text, states_words, ST_INVALID, ST_NEW};
use super::conntrack::{ST_ESTABLISHED, ST_RELATED, ST_UNTRACKED};
use super::{ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_STATE: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "state",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("state", O_STATE).mand().inv()],
    guided: true,
    help: concat!(
        "state match options:\n",
        " [!] --state [INVALID|ESTABLISHED|NEW|RELATED|UNTRACKED][,...]\n",
        "\t\t\t\tConnection state(s) to match, any of them\n",
    ),
    new_match: Some(|| Box::new(State::default())),
    new_target: None,
};

const NAMES: [(&str, u16); 5] = [
    ("INVALID", ST_INVALID),
    ("NEW", ST_NEW),
    ("ESTABLISHED", ST_ESTABLISHED),
    ("RELATED", ST_RELATED),
    ("UNTRACKED", ST_UNTRACKED),
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Conntrack state bits (as in [`super::conntrack`]).
    pub mask: u16,
    pub inv: bool,
}

fn bad(rest: &str) -> XtError {
    XtError::new(format!("Bad state \"{rest}\""))
}

/// `--state` list: a word selects the first name it is a prefix of.
fn parse_states(arg: &str) -> XtResult<u16> {
    let mut mask = 0;
    let mut rest = arg;
    while let Some((word, next)) = rest.split_once(',') {
        mask |= lookup(word).ok_or_else(|| bad(rest))?;
        rest = next;
    }
    if rest.is_empty() {
        return Err(XtError::new(
            "\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED",
        ));
    }
    mask |= lookup(rest).ok_or_else(|| bad(rest))?;
    Ok(mask)
}

fn lookup(word: &str) -> Option<u16> {
    if word.is_empty() {
        return None;
    }
    NAMES
        .iter()
        .find(|(n, _)| word.len() <= n.len() && n[..word.len()].eq_ignore_ascii_case(word))
        .map(|(_, b)| *b)
}

impl Match for State {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        self.mask = parse_states(arg.unwrap_or_default())?;
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" --state ");
        out.push_str(&states_text(self.mask));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(" state ");
        out.push_str(&states_text(self.mask));
    }

    fn explain(&self) -> String {
        format!(
            "Matches when the connection state is {}{}",
            if self.inv { "not " } else { "" },
            states_words(self.mask)
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
    fn kept_as_state_in_saves_and_lists() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -m state ! --state established,N");
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m state ! --state NEW,ESTABLISHED\n"
        );
        let l = run(&mut h, "iptables -L INPUT -n").stdout;
        assert!(
            l.ends_with("0.0.0.0/0            ! state NEW,ESTABLISHED\n"),
            "{l}"
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -D INPUT -m state ! --state NEW,ESTABLISHED"
            )
            .exit,
            0
        );
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -m state --state NEW,");
        assert!(out.stderr.contains("\"--state\" requires a list of states"));
        let out = run(&mut h, "iptables -A INPUT -m state --state SNAT");
        assert!(out.stderr.contains("Bad state \"SNAT\""));
        let out = run(&mut h, "iptables -A INPUT -m state");
        assert!(out
            .stderr
            .contains("state: option \"--state\" must be specified\n\n"));
    }
}
