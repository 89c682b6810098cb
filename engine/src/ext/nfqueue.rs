//! `-j NFQUEUE`: hand the packet to a userspace program listening on a
//! netfilter queue (one queue, or a range balanced by flow or by CPU).

use super::{
    bit, xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtError, XtResult,
};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;

const O_QUEUE_NUM: u8 = 0;
const O_QUEUE_BALANCE: u8 = 1;
const O_QUEUE_BYPASS: u8 = 2;
const O_QUEUE_CPU_FANOUT: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "NFQUEUE",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("queue-num", O_QUEUE_NUM).excl(bit(O_QUEUE_BALANCE)),
        OptSpec::arg("queue-balance", O_QUEUE_BALANCE),
        OptSpec::flag("queue-bypass", O_QUEUE_BYPASS),
        OptSpec::flag("queue-cpu-fanout", O_QUEUE_CPU_FANOUT).also(bit(O_QUEUE_BALANCE)),
    ],
    guided: true,
    help: "NFQUEUE target options\n  \
--queue-num value            Queue the packet to queue number <value>.\n                               \
Queue numbers go from 0 to 65535\n  \
--queue-balance first:last   Spread flows over the queues <first> to <last>.\n  \
--queue-bypass               Let the packet through when no program listens.\n  \
--queue-cpu-fanout\tPick the queue by the current CPU (no hashing)\n",
    new_match: None,
    new_target: Some(|| Box::new(Nfqueue::default())),
};

const FLAG_BYPASS: u8 = 0x01;
const FLAG_CPU_FANOUT: u8 = 0x02;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nfqueue {
    /// First queue.
    pub queue: u16,
    /// Number of queues (wraps like the kernel's 16-bit field: `0:65535` gives 0).
    pub total: u16,
    pub flags: u8,
}

impl Default for Nfqueue {
    fn default() -> Self {
        Nfqueue {
            queue: 0,
            total: 1,
            flags: 0,
        }
    }
}

impl Nfqueue {
    fn last(&self) -> u32 {
        self.queue as u32 + self.total as u32 - 1
    }
}

impl Target for Nfqueue {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_QUEUE_NUM => {
                self.queue = xtopt::uint("NFQUEUE", "queue-num", arg, 0, 65535)? as u16;
                self.total = 1;
            }
            O_QUEUE_BALANCE => {
                let v = xtopt::mint("NFQUEUE", "queue-balance", arg, 65535, 2)?;
                if v.len() != 2 {
                    return Err(XtError::new(format!("Bad range \"{arg}\"")));
                }
                if v[0] >= v[1] {
                    return Err(XtError::new(format!(
                        "{} should be less than {}",
                        v[0], v[1]
                    )));
                }
                self.queue = v[0] as u16;
                self.total = (v[1] - v[0] + 1) as u16;
            }
            O_QUEUE_BYPASS => self.flags |= FLAG_BYPASS,
            O_QUEUE_CPU_FANOUT => self.flags |= FLAG_CPU_FANOUT,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if self.total == 0 || self.last() > 0xffff {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.total > 1 {
            out.push_str(&format!(" --queue-balance {}:{}", self.queue, self.last()));
        } else {
            out.push_str(&format!(" --queue-num {}", self.queue));
        }
        if self.flags & FLAG_BYPASS != 0 {
            out.push_str(" --queue-bypass");
        }
        if self.flags & FLAG_CPU_FANOUT != 0 {
            out.push_str(" --queue-cpu-fanout");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        if self.total > 1 {
            out.push_str(&format!(" NFQUEUE balance {}:{}", self.queue, self.last()));
        } else {
            out.push_str(&format!(" NFQUEUE num {}", self.queue));
        }
        if self.flags & FLAG_BYPASS != 0 {
            out.push_str(" bypass");
        }
        if self.flags & FLAG_CPU_FANOUT != 0 {
            out.push_str(" cpu-fanout");
        }
    }

    /// `nf_queue`: no program listens on any queue in the simulator, so the
    /// packet is dropped, or with `--queue-bypass` accepted (it goes on to
    /// the next table or hook as if this one had accepted it).
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(if self.flags & FLAG_BYPASS != 0 {
            TargetVerdict::Accept
        } else {
            TargetVerdict::Drop
        })
    }

    fn explain(&self) -> String {
        let mut s = if self.total > 1 {
            format!(
                "hand the packet to a userspace program on one of the queues {} to {}{}",
                self.queue,
                self.last(),
                if self.flags & FLAG_CPU_FANOUT != 0 {
                    " (chosen by CPU)"
                } else {
                    " (chosen by flow)"
                }
            )
        } else {
            format!(
                "hand the packet to a userspace program on queue {}",
                self.queue
            )
        };
        if self.flags & FLAG_BYPASS != 0 {
            s.push_str("; if nothing listens, accept it");
        } else {
            s.push_str("; if nothing listens, drop it");
        }
        s
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
    fn num_and_balance_saves() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A INPUT -j NFQUEUE").exit, 0);
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -j NFQUEUE --queue-bypass --queue-balance 4: --queue-cpu-fanout"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -j NFQUEUE --queue-num 0\n\
-A INPUT -j NFQUEUE --queue-balance 4:65535 --queue-bypass --queue-cpu-fanout\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .contains("NFQUEUE balance 4:65535 bypass cpu-fanout\n"));
    }

    #[test]
    fn balance_errors() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -A INPUT -j NFQUEUE --queue-balance 4:4");
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): 4 should be less than 4\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let o = run(&mut h, "iptables -A INPUT -j NFQUEUE --queue-balance :");
        assert_eq!(o.exit, 4);
        let o = run(&mut h, "iptables -A INPUT -j NFQUEUE --queue-cpu-fanout");
        assert!(o.stderr.contains(
            "NFQUEUE: option \"--queue-cpu-fanout\" also requires \"--queue-balance\".\n\n"
        ));
    }

    use crate::ext::targets_testkit::{ping, tcp, Lab};

    #[test]
    fn no_listener_drops_unless_bypassed() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A FORWARD -p tcp -j NFQUEUE --queue-num 1
             iptables -A FORWARD -p icmp -j NFQUEUE --queue-balance 0:3 --queue-bypass
             iptables -A FORWARD -p icmp -j DROP",
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4000, 80, "S"));
        assert!(lab.got(lab.server).is_empty());
        assert!(lab.got(lab.client).is_empty());
        // Bypassed: accepted by this table (the DROP after it is not reached).
        lab.send(lab.client, ping("10.0.1.2", "10.0.0.2", 1));
        assert_eq!(lab.got(lab.client).len(), 1);
        assert_eq!(lab.count(r, "filter", "-p icmp -j DROP"), 0);
    }
}
