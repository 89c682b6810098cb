//! `-j TCPOPTSTRIP --strip-options LIST`: removes the listed options from
//! TCP headers (replaced by NOPs). Mangle table, `-p tcp` only.

use super::tcpmss_target::optlen;
use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict,
    XtError, XtResult,
};
use crate::ext_boilerplate;

pub static INFO: ExtInfo = ExtInfo {
    name: "TCPOPTSTRIP",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[OptSpec::arg("strip-options", 0)],
    guided: true,
    help: "TCPOPTSTRIP target options:\n\
\x20 --strip-options value     remove these TCP options (numbers, comma-separated)\n\
\x20 Names may stand for numbers:\n\
\x20   wscale            window scale (3)\n\
\x20   mss               maximum segment size (2)\n\
\x20   sack-permitted    SACK permitted (4)\n\
\x20   sack              selective ACK (5)\n\
\x20   timestamp         timestamp (8)\n\
\x20   md5               MD5 signature (19)\n",
    new_match: None,
    new_target: Some(|| Box::new(TcpOptStrip::default())),
};

const NAMES: [(&str, u8); 6] = [
    ("wscale", 3),
    ("mss", 2),
    ("sack-permitted", 4),
    ("sack", 5),
    ("timestamp", 8),
    ("md5", 19),
];

/// Bitmap of the option kinds to strip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptStrip {
    pub bits: [u64; 4],
}

impl TcpOptStrip {
    pub fn strips(&self, kind: u8) -> bool {
        self.bits[kind as usize / 64] & (1 << (kind % 64)) != 0
    }

    fn kinds(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|k| self.strips(*k))
    }

    fn list(&self, numeric: bool) -> String {
        self.kinds()
            .map(|k| {
                let name = NAMES.iter().find(|(_, v)| *v == k).map(|(n, _)| *n);
                match name {
                    Some(n) if !numeric => n.to_string(),
                    _ => k.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Target for TcpOptStrip {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, _id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        for item in arg.unwrap_or_default().split(',') {
            let kind = match NAMES.iter().find(|(n, _)| *n == item) {
                Some((_, v)) => *v,
                None => xtopt::strtoul_all(item, 0, 255)
                    .ok_or_else(|| XtError::new(format!("Bad TCP option value \"{item}\"")))?
                    as u8,
            };
            if kind < 2 {
                return Err(XtError::new("Option value may not be 0 or 1"));
            }
            if self.strips(kind) {
                return Err(XtError::new(format!("Option \"{item}\" already specified")));
            }
            self.bits[kind as usize / 64] |= 1 << (kind % 64);
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.table != "mangle" || cx.proto != 6 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.kinds().next().is_some() {
            out.push_str(" --strip-options ");
            out.push_str(&self.list(true));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        if self.kinds().next().is_some() {
            out.push_str(" TCPOPTSTRIP options ");
            out.push_str(&self.list(numeric));
        }
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        if cx.hdr.frag_offset != 0 {
            return Some(TargetVerdict::Continue);
        }
        let th = usize::from(cx.hdr.header_len);
        let data = &mut cx.pkt.data;
        if data.len() < th + 20 {
            return Some(TargetVerdict::Drop);
        }
        let hlen = (data[th + 12] >> 4) as usize * 4;
        if hlen < 20 || data.len() < th + hlen {
            return Some(TargetVerdict::Drop);
        }
        let mut changed = false;
        let mut i = 20;
        while i + 1 < hlen {
            let l = optlen(&data[th..th + hlen], i);
            if i + l > hlen {
                break;
            }
            if self.strips(data[th + i]) {
                data[th + i..th + i + l].fill(1);
                changed = true;
            }
            i += l;
        }
        if changed {
            cx.pkt.fix_checksums();
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        if self.kinds().next().is_none() {
            return "pass TCP packets unchanged (no options to strip) and continue".into();
        }
        format!("remove TCP options {} and continue", self.list(false))
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
    fn names_sorted_by_number() {
        let mut h = Host::new("h");
        let r = "iptables -t mangle -A OUTPUT -p tcp -j TCPOPTSTRIP --strip-options wscale,mss,md5,sack";
        assert_eq!(run(&mut h, r).exit, 0);
        assert!(run(&mut h, "iptables -t mangle -S OUTPUT")
            .stdout
            .ends_with("-j TCPOPTSTRIP --strip-options 2,3,5,19\n"));
        assert!(run(&mut h, "iptables -t mangle -L OUTPUT")
            .stdout
            .ends_with(" TCPOPTSTRIP options mss,wscale,sack,md5\n"));
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let base = "iptables -t mangle -A OUTPUT -p tcp -j TCPOPTSTRIP --strip-options";
        for (arg, msg) in [
            ("1,2", "Option value may not be 0 or 1"),
            ("2,", "Bad TCP option value \"\""),
            ("2,mss", "Option \"mss\" already specified"),
        ] {
            let o = run(&mut h, &format!("{base} {arg}"));
            assert!(o.stderr.contains(msg), "{}", o.stderr);
        }
        assert_eq!(
            run(&mut h, "iptables -t mangle -A OUTPUT -j TCPOPTSTRIP").exit,
            4
        );
    }

    #[test]
    fn options_become_nops() {
        use crate::ext::limit::lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -t mangle -A FORWARD -p tcp -j TCPOPTSTRIP --strip-options mss",
        );
        assert!(passed(&send_at(
            &mut w,
            SEC,
            tcp("10.0.1.9", "10.0.2.5", 1, 80, "S")
        )));
        let out = last_sent(&w);
        assert_eq!(&out[40..44], &[1, 1, 1, 1]);
        assert!(checksums_ok(&out));
    }
}
