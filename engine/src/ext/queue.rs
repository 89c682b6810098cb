//! `-j QUEUE`: the old standard verdict that hands the packet to userspace
//! queue 0. iptables-nft turns it into the nf_tables `queue` expression, which
//! the reference kernel does not have, so every rule using it is refused.

use super::{CheckCx, ExtInfo, ExtKind, KernelError, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "QUEUE",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[],
    guided: true,
    help: "standard match options:\n(If target is DROP, ACCEPT, RETURN or nothing)\n",
    new_match: None,
    new_target: Some(|| Box::new(Queue)),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue;

impl Target for Queue {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        Ok(())
    }

    /// The kernel lacks `nft_queue` (CONFIG_NFT_QUEUE is off): ENOENT.
    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        Err(KernelError::NoEntry)
    }

    fn save(&self, _out: &mut String) {}

    fn print(&self, _out: &mut String, _numeric: bool) {}

    /// Queue 0 without a listener drops the packet (the reference kernel
    /// refuses the rule anyway).
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(TargetVerdict::Drop)
    }

    fn explain(&self) -> String {
        "hand the packet to the userspace program listening on queue 0 (drop it if none)"
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    #[test]
    fn refused_by_the_kernel() {
        let mut h = Host::new("h");
        let a: Vec<String> = "iptables -A INPUT -j QUEUE"
            .split(' ')
            .map(String::from)
            .collect();
        let o = run_argv(&mut h, &a, None);
        assert_eq!(o.exit, 4);
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (No such file or directory): rule in chain INPUT\n"
        );
    }

    #[test]
    fn without_a_listener_the_packet_is_dropped() {
        use crate::ext::targets_testkit::{fire_alone, ping};
        let mut p = ping("10.0.0.1", "10.0.0.2", 1);
        let (v, emitted, log) = fire_alone(
            &mut super::Queue,
            crate::ruleset::Hook::Forward,
            "filter",
            &mut p,
        );
        assert_eq!(v, Some(crate::ext::TargetVerdict::Drop));
        assert!(emitted.is_empty() && log.is_empty());
    }
}
