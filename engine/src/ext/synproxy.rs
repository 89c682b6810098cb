//! `-j SYNPROXY`: answer TCP SYNs on behalf of the server with SYN cookies
//! and open the real connection only once the client completes the
//! handshake (INPUT/FORWARD, TCP only).

use super::{xtopt, CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::packet::{build_tcp, tcp_flags, IpFields, TcpFields};
use crate::ruleset::check::hooks_outside;
use crate::ruleset::Hook;
use crate::sim::eval::Emit;
use std::net::Ipv4Addr;

const O_SACK_PERM: u8 = 0;
const O_TIMESTAMP: u8 = 1;
const O_WSCALE: u8 = 2;
const O_MSS: u8 = 3;
const O_ECN: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "SYNPROXY",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::flag("sack-perm", O_SACK_PERM),
        OptSpec::flag("timestamp", O_TIMESTAMP),
        OptSpec::arg("wscale", O_WSCALE),
        OptSpec::arg("mss", O_MSS),
        OptSpec::flag("ecn", O_ECN),
    ],
    guided: true,
    help: "SYNPROXY target options:\n  \
--sack-perm                        Offer selective acknowledgements\n  \
--timestamp                        Offer TCP timestamps\n  \
--wscale value                     Window scale to announce\n  \
--mss value                        Maximum segment size to announce\n  \
--ecn                              Offer explicit congestion notification\n",
    new_match: None,
    new_target: Some(|| Box::new(Synproxy::default())),
};

/// `NF_SYNPROXY_OPT_*`: which TCP options take part.
const OPT_MSS: u8 = 0x01;
const OPT_WSCALE: u8 = 0x02;
const OPT_SACK_PERM: u8 = 0x04;
const OPT_TIMESTAMP: u8 = 0x08;
const OPT_ECN: u8 = 0x10;

/// The MSS values a SYN cookie can carry (its index is in the cookie).
const MSSTAB: [u16; 4] = [536, 1300, 1440, 1460];

/// The options of a segment as synproxy reads and writes them.
#[derive(Debug, Clone, Copy, Default)]
struct SynOpts {
    options: u8,
    mss_option: u16,
    mss_encode: u16,
    wscale: u8,
    tsval: u32,
    tsecr: u32,
}

impl SynOpts {
    /// `synproxy_parse_options`.
    fn parse(raw: &[u8]) -> SynOpts {
        let mut o = SynOpts::default();
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                0 => break,
                1 => i += 1,
                kind => {
                    let Some(&size) = raw.get(i + 1) else {
                        break;
                    };
                    let size = size as usize;
                    if size < 2 || size > raw.len() - i {
                        break;
                    }
                    let v = &raw[i + 2..i + size];
                    match (kind, size) {
                        (2, 4) => {
                            o.mss_option = u16::from_be_bytes([v[0], v[1]]);
                            o.options |= OPT_MSS;
                        }
                        (3, 3) => {
                            o.wscale = v[0].min(14);
                            o.options |= OPT_WSCALE;
                        }
                        (8, 10) => {
                            o.tsval = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                            o.tsecr = u32::from_be_bytes([v[4], v[5], v[6], v[7]]);
                            o.options |= OPT_TIMESTAMP;
                        }
                        (4, 2) => o.options |= OPT_SACK_PERM,
                        _ => {}
                    }
                    i += size;
                }
            }
        }
        o
    }

    /// `synproxy_build_options`.
    fn build(&self) -> Vec<u8> {
        let mut v = Vec::new();
        if self.options & OPT_MSS != 0 {
            v.extend_from_slice(&[2, 4]);
            v.extend_from_slice(&self.mss_option.to_be_bytes());
        }
        if self.options & OPT_TIMESTAMP != 0 {
            if self.options & OPT_SACK_PERM != 0 {
                v.extend_from_slice(&[4, 2, 8, 10]);
            } else {
                v.extend_from_slice(&[1, 1, 8, 10]);
            }
            v.extend_from_slice(&self.tsval.to_be_bytes());
            v.extend_from_slice(&self.tsecr.to_be_bytes());
        } else if self.options & OPT_SACK_PERM != 0 {
            v.extend_from_slice(&[1, 1, 4, 2]);
        }
        if self.options & OPT_WSCALE != 0 {
            v.extend_from_slice(&[1, 3, 3, self.wscale]);
        }
        v
    }

    /// `synproxy_init_timestamp_cookie`: the client's window scale, SACK
    /// and ECN wishes go into the low bits of our timestamp.
    fn init_timestamp_cookie(&mut self, our_wscale: u8, now_ns: u64) {
        self.tsecr = self.tsval;
        self.tsval = ((now_ns / 1_000_000) as u32) & !0x3f;
        if self.options & OPT_WSCALE != 0 {
            self.tsval |= self.wscale as u32;
            self.wscale = our_wscale;
        } else {
            self.tsval |= 0xf;
        }
        if self.options & OPT_SACK_PERM != 0 {
            self.tsval |= 1 << 4;
        }
        if self.options & OPT_ECN != 0 {
            self.tsval |= 1 << 5;
        }
    }

    /// `synproxy_check_timestamp_cookie`: reads them back from the echo.
    fn check_timestamp_cookie(&mut self) {
        self.wscale = (self.tsecr & 0xf) as u8;
        if self.wscale != 0xf {
            self.options |= OPT_WSCALE;
        }
        if self.tsecr & (1 << 4) != 0 {
            self.options |= OPT_SACK_PERM;
        }
        if self.tsecr & (1 << 5) != 0 {
            self.options |= OPT_ECN;
        }
    }
}

/// `synproxy_build_ip`: TOS 0, ID 0, DF, the default TTL.
fn synproxy_ip(src: Ipv4Addr, dst: Ipv4Addr) -> IpFields {
    let mut ip = IpFields::new(src, dst);
    ip.df = true;
    ip
}

/// The host's two cookie keys.
fn host_secret(host: &str) -> [u32; 2] {
    let h = host.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    [h, h.rotate_left(13) ^ 0x5bd1_e995]
}

fn cookie_hash(
    k: [u32; 2],
    s: Ipv4Addr,
    d: Ipv4Addr,
    sp: u16,
    dp: u16,
    count: u32,
    c: usize,
) -> u32 {
    crate::sim::nat::jhash2(
        &[
            u32::from(s),
            u32::from(d),
            (sp as u32) << 16 | dp as u32,
            count,
        ],
        k[c],
    )
}

const COOKIEBITS: u32 = 24;
const COOKIEMASK: u32 = (1 << COOKIEBITS) - 1;

/// `secure_tcp_syn_cookie`: hash + their sequence + the minute count in the
/// top byte, and a second hash plus `data` (the MSS index) in the low 24 bits.
#[allow(clippy::too_many_arguments)]
fn make_cookie(
    k: [u32; 2],
    s: Ipv4Addr,
    d: Ipv4Addr,
    sp: u16,
    dp: u16,
    sseq: u32,
    count: u32,
    data: u32,
) -> u32 {
    cookie_hash(k, s, d, sp, dp, 0, 0)
        .wrapping_add(sseq)
        .wrapping_add(count << COOKIEBITS)
        .wrapping_add(cookie_hash(k, s, d, sp, dp, count, 1).wrapping_add(data) & COOKIEMASK)
}

/// `__cookie_v4_check`: the MSS a cookie no older than two minutes carries.
#[allow(clippy::too_many_arguments)]
fn check_cookie(
    k: [u32; 2],
    s: Ipv4Addr,
    d: Ipv4Addr,
    sp: u16,
    dp: u16,
    sseq: u32,
    count: u32,
    cookie: u32,
) -> Option<u16> {
    let c = cookie.wrapping_sub(cookie_hash(k, s, d, sp, dp, 0, 0).wrapping_add(sseq));
    let diff = count.wrapping_sub(c >> COOKIEBITS) & (u32::MAX >> COOKIEBITS);
    if diff >= 2 {
        return None;
    }
    let mssind =
        c.wrapping_sub(cookie_hash(k, s, d, sp, dp, count.wrapping_sub(diff), 1)) & COOKIEMASK;
    MSSTAB.get(mssind as usize).copied()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synproxy {
    pub sack_perm: bool,
    pub timestamp: bool,
    pub wscale: Option<u8>,
    pub mss: Option<u16>,
    pub ecn: bool,
}

impl Synproxy {
    /// `xt_synproxy_info.options`: the options we offer.
    fn options(&self) -> u8 {
        let mut o = 0;
        if self.mss.is_some() {
            o |= OPT_MSS;
        }
        if self.wscale.is_some() {
            o |= OPT_WSCALE;
        }
        if self.sack_perm {
            o |= OPT_SACK_PERM;
        }
        if self.timestamp {
            o |= OPT_TIMESTAMP;
        }
        if self.ecn {
            o |= OPT_ECN;
        }
        o
    }

    fn write(&self, out: &mut String, dashes: &str, sep: &str) {
        if self.sack_perm {
            out.push_str(&format!("{sep}{dashes}sack-perm"));
        }
        if self.timestamp {
            out.push_str(&format!("{sep}{dashes}timestamp"));
        }
        if let Some(w) = self.wscale {
            out.push_str(&format!("{sep}{dashes}wscale {w}"));
        }
        if let Some(m) = self.mss {
            out.push_str(&format!("{sep}{dashes}mss {m}"));
        }
        if self.ecn {
            out.push_str(&format!("{sep}{dashes}ecn"));
        }
    }
}

impl Target for Synproxy {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_SACK_PERM => self.sack_perm = true,
            O_TIMESTAMP => self.timestamp = true,
            // Parsed as 32-bit numbers and stored in the narrower kernel fields.
            O_WSCALE => {
                self.wscale =
                    Some(xtopt::uint("SYNPROXY", "wscale", arg, 0, u32::MAX as u64)? as u8)
            }
            O_MSS => {
                self.mss = Some(xtopt::uint("SYNPROXY", "mss", arg, 0, u32::MAX as u64)? as u16)
            }
            O_ECN => self.ecn = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if cx.proto != 6
            || cx.proto_invert
            || hooks_outside(cx.hooks, &[Hook::Input, Hook::Forward])
        {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--", " ");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" SYNPROXY");
        let mut s = String::new();
        self.write(&mut s, "", " ");
        out.push_str(&s);
        out.push(' ');
    }

    /// `synproxy_tg4`. A SYN is answered with a SYN cookie SYN-ACK (window
    /// 0, options from the client's SYN filtered by ours, the MSS, window
    /// scale, SACK and ECN choices folded into the timestamp) and stolen.
    /// A bare ACK carrying a valid cookie makes the SYN the kernel sends
    /// to the server in the client's name (from the cookie's MSS and the
    /// timestamp's bits) and is stolen; an ACK with a bad cookie is
    /// dropped. Anything else goes on.
    ///
    /// Not done: the third step, which the kernel does in its own hooks
    /// outside any rule (`ipv4_synproxy_hook`): taking the server's SYN-ACK,
    /// answering it with an ACK, sending the client the window update, and
    /// translating sequence numbers (seqadj) for the rest of the
    /// connection. In the simulator the server's SYN-ACK goes on to the
    /// client as conntrack forwards it. Cookies use the simulator's own
    /// keyed hash (the kernel's has a random boot-time key).
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let Some(th) = cx.hdr.tcp().cloned() else {
            return Some(TargetVerdict::Drop);
        };
        let mut opts = SynOpts::parse(&th.options);
        let f = th.flags;
        let has = |b: u8| f & b != 0;
        let (src, dst) = (cx.hdr.src, cx.hdr.dst);
        let secret = host_secret(cx.host);
        let count = (cx.now_ns / (60 * 1_000_000_000)) as u32;
        if has(tcp_flags::SYN) && !has(tcp_flags::ACK | tcp_flags::FIN | tcp_flags::RST) {
            if has(tcp_flags::ECE) && has(tcp_flags::CWR) {
                opts.options |= OPT_ECN;
            }
            opts.options &= self.options();
            opts.mss_encode = opts.mss_option;
            opts.mss_option = self.mss.unwrap_or(0);
            if opts.options & OPT_TIMESTAMP != 0 {
                opts.init_timestamp_cookie(self.wscale.unwrap_or(0), cx.now_ns);
            } else {
                opts.options &= !(OPT_WSCALE | OPT_SACK_PERM | OPT_ECN);
            }
            let mssind = MSSTAB
                .iter()
                .rposition(|&m| opts.mss_encode >= m)
                .unwrap_or(0);
            let cookie = make_cookie(
                secret,
                src,
                dst,
                th.sport,
                th.dport,
                th.seq,
                count,
                mssind as u32,
            );
            let mut flags = tcp_flags::SYN | tcp_flags::ACK;
            if opts.options & OPT_ECN != 0 {
                flags |= tcp_flags::ECE;
            }
            let mut reply = build_tcp(
                &synproxy_ip(dst, src),
                &TcpFields {
                    sport: th.dport,
                    dport: th.sport,
                    seq: cookie,
                    ack: th.seq.wrapping_add(1),
                    flags,
                    window: 0,
                    options: opts.build(),
                },
                b"",
            );
            reply.meta.nfct = crate::sim::reject::attach(
                cx.conntrack,
                cx.ct,
                crate::sim::conntrack::Dir::Original,
                false,
            );
            cx.emitted.push(Emit::Local(reply));
            return Some(TargetVerdict::Stolen);
        }
        if has(tcp_flags::ACK) && !has(tcp_flags::FIN | tcp_flags::RST | tcp_flags::SYN) {
            let cookie = th.ack.wrapping_sub(1);
            let sseq = th.seq.wrapping_sub(1);
            let Some(mss) = check_cookie(secret, src, dst, th.sport, th.dport, sseq, count, cookie)
            else {
                return Some(TargetVerdict::Drop);
            };
            opts.mss_option = mss;
            opts.options |= OPT_MSS;
            if opts.options & OPT_TIMESTAMP != 0 {
                opts.check_timestamp_cookie();
            }
            let mut flags = tcp_flags::SYN;
            if opts.options & OPT_ECN != 0 {
                flags |= tcp_flags::ECE | tcp_flags::CWR;
            }
            let syn = build_tcp(
                &synproxy_ip(src, dst),
                &TcpFields {
                    sport: th.sport,
                    dport: th.dport,
                    seq: th.seq.wrapping_sub(1),
                    ack: th.ack.wrapping_sub(1),
                    flags,
                    window: th.window,
                    options: opts.build(),
                },
                b"",
            );
            cx.emitted.push(Emit::Local(syn));
            return Some(TargetVerdict::Stolen);
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        "answer the TCP handshake with a SYN cookie and connect to the server only when the client completes it".to_string()
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
    fn order_truncation_and_checks() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -A INPUT -p tcp -j SYNPROXY --ecn --mss 65536 --wscale 9 --timestamp --sack-perm").exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 9 --mss 0 --ecn\n"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .contains(" SYNPROXY sack-perm timestamp wscale 9 mss 0 ecn \n"));
        assert_eq!(run(&mut h, "iptables -A INPUT -j SYNPROXY").exit, 4);
        assert_eq!(run(&mut h, "iptables -A OUTPUT -p tcp -j SYNPROXY").exit, 4);
    }

    use super::{check_cookie, host_secret, make_cookie, SynOpts};
    use crate::ext::targets_testkit::{ip, tcp, Lab};
    use crate::packet::{build_tcp, tcp_flags, IpFields, Packet, TcpFields};

    fn client_segment(seq: u32, ack: u32, flags: u8, options: Vec<u8>) -> Packet {
        let mut f = IpFields::new(ip("10.0.1.2"), ip("10.0.0.2"));
        f.df = true;
        build_tcp(
            &f,
            &TcpFields {
                sport: 4000,
                dport: 80,
                seq,
                ack,
                flags,
                window: 500,
                options,
            },
            b"",
        )
    }

    #[test]
    fn cookie_syn_ack_then_the_syn_to_the_server() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -t raw -A PREROUTING -i eth0 -p tcp -j CT --notrack
             iptables -A FORWARD -i eth0 -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460",
        );
        // SYN offering MSS 1400, SACK, timestamps and window scale 4.
        let mut opts = vec![2, 4, 0x05, 0x78, 4, 2, 8, 10];
        opts.extend_from_slice(&777u32.to_be_bytes());
        opts.extend_from_slice(&[0, 0, 0, 0, 1, 3, 3, 4]);
        lab.send(lab.client, client_segment(1000, 0, tcp_flags::SYN, opts));
        // (The client's stack knows no such connection and resets it.)
        let syns = |lab: &Lab| {
            lab.got(lab.server)
                .into_iter()
                .filter(|h| h.tcp().is_some_and(|t| t.flags & tcp_flags::SYN != 0))
                .collect::<Vec<_>>()
        };
        assert!(syns(&lab).is_empty());
        let sa = lab.got(lab.client)[0].clone();
        let t = sa.tcp().unwrap();
        assert_eq!(
            (sa.src, sa.ttl, sa.df, sa.id),
            (ip("10.0.0.2"), 64, true, 0)
        );
        assert_eq!(
            (t.flags, t.ack, t.window),
            (tcp_flags::SYN | tcp_flags::ACK, 1001, 0)
        );
        // Our MSS, SACK + timestamp (echoing theirs), our window scale; the
        // timestamp's low bits keep their scale 4 and SACK (bit 4).
        let o = SynOpts::parse(&t.options);
        assert_eq!((o.mss_option, o.wscale, o.tsecr), (1460, 7, 777));
        assert_eq!(o.tsval & 0x3f, 0x14);
        assert_eq!(&t.options[..8], &[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
        // The client's ACK with the cookie: the SYN to the server, in the
        // client's name, with the MSS the cookie kept (1300) and the wishes
        // read back from the timestamp echo.
        let mut ack_opts = vec![1, 1, 8, 10];
        ack_opts.extend_from_slice(&900u32.to_be_bytes());
        ack_opts.extend_from_slice(&o.tsval.to_be_bytes());
        lab.send(
            lab.client,
            client_segment(1001, t.seq.wrapping_add(1), tcp_flags::ACK, ack_opts),
        );
        let syn = syns(&lab)[0].clone();
        let st = syn.tcp().unwrap();
        assert_eq!(
            (syn.src, st.flags, st.seq, st.ack),
            (ip("10.0.1.2"), tcp_flags::SYN, 1000, t.seq)
        );
        assert_eq!(st.window, 500);
        let so = SynOpts::parse(&st.options);
        assert_eq!(
            (so.mss_option, so.wscale, so.tsval, so.tsecr),
            (1300, 4, 900, o.tsval)
        );
        assert!(so.options & super::OPT_SACK_PERM != 0);
        // A bad cookie is dropped; other segments go on.
        lab.send(
            lab.client,
            client_segment(1001, 12345, tcp_flags::ACK, vec![]),
        );
        assert!(lab.got(lab.server).is_empty() && lab.got(lab.client).is_empty());
        assert!(lab
            .w
            .reports
            .iter()
            .any(|r| r.outcome == "dropped on router in FORWARD"));
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4001, 80, "R"));
        assert_eq!(lab.got(lab.server).len(), 1);
    }

    #[test]
    fn without_timestamps_only_the_mss_is_offered() {
        let mut lab = Lab::new();
        let r = lab.router;
        lab.rules(
            r,
            "iptables -A FORWARD -p tcp -j SYNPROXY --sack-perm --wscale 7 --mss 1400 --ecn",
        );
        lab.send(lab.client, tcp("10.0.1.2", "10.0.0.2", 4000, 80, "SEC"));
        let sa = lab.got(lab.client)[0].clone();
        let t = sa.tcp().unwrap();
        assert_eq!(*t.options, [2, 4, 0x05, 0x78]);
        assert_eq!(t.flags, tcp_flags::SYN | tcp_flags::ACK);
    }

    #[test]
    fn cookies_carry_the_mss_for_two_minutes() {
        let k = host_secret("r");
        let (s, d) = (ip("1.1.1.1"), ip("2.2.2.2"));
        let c = make_cookie(k, s, d, 1, 2, 100, 50, 3);
        assert_eq!(check_cookie(k, s, d, 1, 2, 100, 50, c), Some(1460));
        assert_eq!(check_cookie(k, s, d, 1, 2, 100, 51, c), Some(1460));
        assert_eq!(check_cookie(k, s, d, 1, 2, 100, 52, c), None);
        assert_eq!(check_cookie(k, s, d, 1, 3, 100, 50, c), None);
        assert_eq!(check_cookie(k, ip("1.1.1.2"), d, 1, 2, 100, 50, c), None);
    }
}
