//! `-m state --state LIST`: the older form of `-m conntrack --ctstate`
//! (connection tracking state); iptables-nft 1.8.9 keeps it as `-m state`.

use super::conntrack::{ct_view, state_bit, states_clause, states_text, ST_INVALID, ST_NEW};
use super::conntrack::{ST_ESTABLISHED, ST_RELATED, ST_UNTRACKED};
use super::{EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
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
    fn needs_conntrack(&self) -> bool {
        true
    }
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

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let (_, st) = ct_view(cx);
        Some((self.mask & state_bit(st) != 0) != self.inv)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let (_, st) = ct_view(cx);
        let mut opt = String::new();
        self.save(&mut opt);
        format!(
            "`{}` did not match: state is {}",
            opt.trim_start(),
            st.name()
        )
    }

    fn explain(&self) -> String {
        states_clause(self.mask, self.inv)
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, tcp_at, udp, why};

    /// The seed's stateful firewall: replies to h's own connections pass,
    /// new connections from outside do not, a lone SYN-ACK is INVALID.
    #[test]
    fn stateful_firewall() {
        let mut w = lab::world();
        w.hosts[0].listeners.push(crate::sim::host::Listener {
            proto: 6,
            port: 22,
            addr: None,
            service: "ssh".into(),
        });
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m state --state INVALID -j DROP",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT",
        );
        sh(&mut w, 0, "iptables -A INPUT -j DROP");
        sh(
            &mut w,
            0,
            "iptables -A OUTPUT -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT",
        );
        sh(&mut w, 0, "iptables -A OUTPUT -j DROP");
        // h connects out; the server's SYN-ACK and data come back in
        // (acknowledging h's SYN: window tracking checks the numbers).
        w.send(0, tcp("10.0.0.1", 40000, "10.0.0.2", 80, "S"));
        assert_eq!(lab::outcome(&w), "sent by h out eth0");
        let (h, server) = (("10.0.0.1", 40000), ("10.0.0.2", 80));
        let back = inject(&mut w, tcp_at(server, h, "SA", 5000, 1001));
        assert!(back.starts_with("delivered to h"), "{back}");
        let back = inject(&mut w, tcp_at(server, h, "PA", 5001, 1001));
        assert!(back.starts_with("delivered to h"), "{back}");
        // Nobody may connect in, even to the listening ssh port.
        let new = inject(&mut w, tcp("10.0.0.2", 5555, "10.0.0.1", 22, "S"));
        assert_eq!(new, "dropped on h in INPUT");
        assert_eq!(
            why(&w, "INPUT", 2),
            "`--state RELATED,ESTABLISHED` did not match: state is NEW"
        );
        // A SYN-ACK nobody asked for is INVALID.
        let lone = inject(&mut w, tcp("10.0.0.2", 80, "10.0.0.1", 41000, "SA"));
        assert_eq!(lone, "dropped on h in INPUT");
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 2, 1]);
        // DNS answers to h's query pass, an unasked one does not.
        w.send(0, udp("10.0.0.1", 5353, "10.0.0.2", 53, 10));
        assert!(inject(&mut w, udp("10.0.0.2", 53, "10.0.0.1", 5353, 30)).starts_with("delivered"));
        assert_eq!(
            inject(&mut w, udp("10.0.0.2", 53, "10.0.0.1", 5354, 30)),
            "dropped on h in INPUT"
        );
    }

    #[test]
    fn icmp_replies_and_errors() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m state --state ESTABLISHED");
        sh(&mut w, 0, "iptables -A INPUT -m state --state RELATED");
        sh(&mut w, 0, "iptables -A INPUT -m state --state NEW");
        sh(&mut w, 0, "iptables -A INPUT -m state --state INVALID");
        // h pings out; the echo reply is ESTABLISHED.
        w.send(0, lab::ping("10.0.0.1", "10.0.0.2", 77));
        let mut reply = lab::ping("10.0.0.2", "10.0.0.1", 77);
        reply.data[20] = 0;
        reply.fix_checksums();
        inject(&mut w, reply);
        // h's datagram comes back as port unreachable: RELATED.
        let sent = udp("10.0.0.1", 5000, "10.0.0.2", 9, 4);
        w.send(0, sent.clone());
        let ip =
            crate::packet::IpFields::new("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap());
        inject(
            &mut w,
            crate::packet::build_icmp_error(&ip, 3, 3, [0; 4], &sent.data),
        );
        // An unsolicited echo reply is INVALID; a new echo request is NEW.
        let mut lone = lab::ping("10.0.0.2", "10.0.0.1", 78);
        lone.data[20] = 0;
        lone.fix_checksums();
        inject(&mut w, lone);
        inject(&mut w, lab::ping("10.0.0.2", "10.0.0.1", 79));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1, 1, 1]);
    }

    #[test]
    fn inverted_and_untracked() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m state ! --state NEW");
        sh(&mut w, 0, "iptables -A INPUT -m state --state UNTRACKED");
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`! --state NEW` did not match: state is NEW"
        );
        let mut p = udp("10.0.0.2", 1, "10.0.0.1", 2, 0);
        p.meta.untracked = true;
        inject(&mut w, p);
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1]);
    }

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
