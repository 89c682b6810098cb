//! `-m bpf --bytecode PROGRAM`: runs a classic BPF program (as made by
//! `nfbpf_compile`) on the packet; the rule matches when it returns non-zero.

use super::EvalCx;
use super::{CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext::bit;
use crate::ext_boilerplate;

const O_BYTECODE: u8 = 0;
const O_PINNED: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "bpf",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("bytecode", O_BYTECODE),
        OptSpec::arg("object-pinned", O_PINNED),
    ],
    guided: true,
    help: concat!(
        "bpf match options:\n",
        "--bytecode <program>\t        : classic BPF as \"N,code jt jf k,...\", e.g. from\n",
        "                                 $(nfbpf_compile RAW '<filter>')\n",
        "--object-pinned <bpf object>\t: path of a BPF program pinned in the bpf filesystem\n",
    ),
    new_match: Some(|| Box::new(Bpf::default())),
    new_target: None,
};

/// Most instructions a rule can carry (XT_BPF_MAX_NUM_INSTR).
const MAX_INSTR: u64 = 64;

/// One classic BPF instruction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bpf {
    pub program: Vec<Insn>,
}

/// One `%u`-style conversion of C `sscanf`: blanks, an optional sign, decimal
/// digits; the value wraps like `strtoul`. Returns the value and the rest.
fn scan_uint(s: &str) -> Option<(u64, &str)> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = t.bytes().take_while(|b| b.is_ascii_digit()).count();
    if end == 0 {
        return None;
    }
    let v = t[..end].parse::<u64>().unwrap_or(u64::MAX);
    Some((if neg { v.wrapping_neg() } else { v }, &t[end..]))
}

fn perr(msg: &str) -> XtError {
    XtError::new(format!("bpf: {msg}"))
}

/// `N,code jt jf k,code jt jf k,...` as `bpf_parse_string` reads it.
fn parse_program(s: &str) -> XtResult<Vec<Insn>> {
    let len = match scan_uint(s) {
        Some((v, rest)) if rest.starts_with(',') => v as u16 as u64,
        _ => return Err(perr("error parsing program length")),
    };
    if len == 0 {
        return Err(perr("illegal zero length program"));
    }
    if len > MAX_INSTR {
        return Err(perr("number of instructions exceeds maximum"));
    }
    let mut prog = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(',') {
        rest = &rest[i + 1..];
        if rest.is_empty() {
            break;
        }
        if prog.len() as u64 >= len {
            return Err(perr(
                "real program length exceeds the encoded length parameter",
            ));
        }
        let bad = || perr(&format!("error at instr {}", prog.len()));
        let (code, r) = scan_uint(rest).ok_or_else(bad)?;
        let (jt, r) = scan_uint(r).ok_or_else(bad)?;
        let (jf, r) = scan_uint(r).ok_or_else(bad)?;
        let (k, _) = scan_uint(r).ok_or_else(bad)?;
        prog.push(Insn {
            code: code as u16,
            jt: jt as u8,
            jf: jf as u8,
            k: k as u32,
        });
    }
    if prog.len() as u64 != len {
        return Err(perr(
            "parsed program length is less than the encoded length parameter",
        ));
    }
    Ok(prog)
}

// Classic BPF opcode parts.
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const K: u16 = 0x00;
const X: u16 = 0x08;
const DIV: u16 = 0x30;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const MOD: u16 = 0x90;
const JA: u16 = 0x00;
const RET_A: u16 = 0x10;
/// Scratch memory words (BPF_MEMWORDS).
const MEMWORDS: u32 = 16;
/// Start of the ancillary load offsets (SKF_AD_OFF).
const SKF_AD_OFF: u32 = 0xffff_f000;
/// Known ancillary offsets past SKF_AD_OFF (protocol ... vlan_tpid).
const SKF_AD_MAX: u32 = 64;

/// The opcodes the kernel's classic BPF checker accepts.
fn code_allowed(code: u16) -> bool {
    let alu_ops = [0x00, 0x10, 0x20, DIV, 0x40, 0x50, LSH, RSH, MOD, 0xa0];
    if alu_ops
        .iter()
        .any(|op| code == ALU | op | K || code == ALU | op | X)
    {
        return true;
    }
    if [0x10u16, 0x20, 0x30, 0x40]
        .iter()
        .any(|op| code == JMP | op | K || code == JMP | op | X)
    {
        return true;
    }
    matches!(
        code,
        _ if code == ALU | NEG
            || code == LD | W | ABS
            || code == LD | H | ABS
            || code == LD | B | ABS
            || code == LD | W | IND
            || code == LD | H | IND
            || code == LD | B | IND
            || code == LD | W | LEN
            || code == LD | IMM
            || code == LD | MEM
            || code == LDX | W | LEN
            || code == LDX | B | MSH
            || code == LDX | IMM
            || code == LDX | MEM
            || code == ST
            || code == STX
            || code == MISC
            || code == MISC | 0x80
            || code == RET | K
            || code == RET | RET_A
            || code == JMP | JA
    )
}

fn is_cond_jump(code: u16) -> bool {
    code & 0x07 == JMP && code != JMP | JA
}

/// `bpf_check_classic`: opcodes, jump targets, memory slots, final return.
pub fn check_program(p: &[Insn]) -> bool {
    let n = p.len();
    if n == 0 || n > 4096 {
        return false;
    }
    for (pc, i) in p.iter().enumerate() {
        if !code_allowed(i.code) {
            return false;
        }
        let c = i.code;
        if (c == ALU | DIV | K || c == ALU | MOD | K) && i.k == 0 {
            return false;
        }
        if (c == ALU | LSH | K || c == ALU | RSH | K) && i.k >= 32 {
            return false;
        }
        if (c == LD | MEM || c == LDX | MEM || c == ST || c == STX) && i.k >= MEMWORDS {
            return false;
        }
        if c == JMP | JA && i.k as u64 >= (n - pc - 1) as u64 {
            return false;
        }
        if is_cond_jump(c) && (pc + i.jt as usize + 1 >= n || pc + i.jf as usize + 1 >= n) {
            return false;
        }
        if (c == LD | W | ABS || c == LD | H | ABS || c == LD | B | ABS)
            && i.k >= SKF_AD_OFF
            && (i.k - SKF_AD_OFF >= SKF_AD_MAX || !(i.k - SKF_AD_OFF).is_multiple_of(4))
        {
            return false;
        }
    }
    if !matches!(p[n - 1].code, c if c == RET | K || c == RET | RET_A) {
        return false;
    }
    // Scratch words must be stored before they are loaded, on every path.
    let mut masks = vec![u16::MAX; n];
    let mut valid: u16 = 0;
    for (pc, i) in p.iter().enumerate() {
        valid &= masks[pc];
        let c = i.code;
        if c == ST || c == STX {
            valid |= 1 << i.k;
        } else if c == LD | MEM || c == LDX | MEM {
            if valid & (1 << i.k) == 0 {
                return false;
            }
        } else if c == JMP | JA {
            masks[pc + 1 + i.k as usize] &= valid;
            valid = u16::MAX;
        } else if is_cond_jump(c) {
            masks[pc + 1 + i.jt as usize] &= valid;
            masks[pc + 1 + i.jf as usize] &= valid;
            valid = u16::MAX;
        }
    }
    true
}

impl Bpf {
    fn code_text(&self) -> String {
        let parts: Vec<String> = self
            .program
            .iter()
            .map(|i| format!("{} {} {} {}", i.code, i.jt, i.jf, i.k))
            .collect();
        parts.join(",")
    }
}

/// What a classic BPF program can read of a packet: the bytes from the IP
/// header on, the link-layer header when known, and a few skb fields.
pub struct Skb<'a> {
    pub data: &'a [u8],
    /// Ethernet header (destination, source, type) of a received frame.
    pub mac: Option<[u8; 14]>,
    pub mark: u32,
    pub ifindex: u32,
}

impl<'a> Skb<'a> {
    fn of(cx: &'a EvalCx) -> Skb<'a> {
        let m = &cx.pkt.meta;
        let mac = match (m.dst_mac, m.src_mac) {
            (Some(d), Some(s)) if cx.in_iface().is_some() => {
                let mut h = [0u8; 14];
                h[..6].copy_from_slice(&d);
                h[6..12].copy_from_slice(&s);
                h[12..].copy_from_slice(&[0x08, 0x00]);
                Some(h)
            }
            _ => None,
        };
        let dev = cx.in_iface().or(cx.out_iface());
        let ifindex = dev
            .and_then(|d| cx.ifaces.iter().position(|i| i.name == d))
            .map_or(0, |i| i as u32 + 1);
        Skb {
            data: &cx.pkt.data,
            mac,
            mark: m.mark,
            ifindex,
        }
    }

    /// `size` bytes at offset `k` (classic BPF's negative offsets reach the
    /// network header (SKF_NET_OFF) and the link-layer header (SKF_LL_OFF)).
    fn load(&self, k: u32, size: usize) -> Option<u32> {
        const NET_OFF: u32 = 0xfff0_0000;
        const LL_OFF: u32 = 0xffe0_0000;
        let (buf, off): (&[u8], u32) = if k < LL_OFF {
            (self.data, k)
        } else if k >= NET_OFF {
            (self.data, k - NET_OFF)
        } else {
            (self.mac.as_ref()?.as_slice(), k - LL_OFF)
        };
        let off = off as usize;
        let b = buf.get(off..off.checked_add(size)?)?;
        Some(b.iter().fold(0u32, |a, x| (a << 8) | *x as u32))
    }

    /// Ancillary data (SKF_AD_OFF + n).
    fn ancillary(&self, n: u32, a: u32, x: u32) -> u32 {
        match n {
            0 => 0x0800,                  // protocol: ETH_P_IP
            4 => 0,                       // pkt_type: PACKET_HOST
            8 => self.ifindex,            // ifindex
            20 => self.mark,              // mark
            28 => 1,                      // hatype: ARPHRD_ETHER
            40 => a ^ x,                  // alu_xor_x
            52 => self.data.len() as u32, // pay_offset: no transport offset known
            _ => 0,
        }
    }
}

/// Runs a classic BPF program (already accepted by [`check_program`]) as the
/// kernel does: a load outside the packet or a division by zero ends it
/// with 0.
pub fn run(prog: &[Insn], skb: &Skb) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; MEMWORDS as usize];
    let mut pc = 0usize;
    let len = skb.data.len() as u32;
    // Each instruction runs at most once per step forward: jumps only go
    // forward, so the loop ends.
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let c = i.code;
        let size = match c & 0x18 {
            W => 4,
            H => 2,
            _ => 1,
        };
        let src = if c & X != 0 { x } else { i.k };
        match c & 0x07 {
            LD => match c & 0xe0 {
                ABS if i.k >= SKF_AD_OFF => a = skb.ancillary(i.k - SKF_AD_OFF, a, x),
                ABS => match skb.load(i.k, size) {
                    Some(v) => a = v,
                    None => return 0,
                },
                IND => match skb.load(x.wrapping_add(i.k), size) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LEN => a = len,
                MEM => a = mem[(i.k % MEMWORDS) as usize],
                _ => a = i.k,
            },
            LDX => match c & 0xe0 {
                LEN => x = len,
                MEM => x = mem[(i.k % MEMWORDS) as usize],
                MSH => match skb.load(i.k, 1) {
                    Some(v) => x = (v & 0xf) * 4,
                    None => return 0,
                },
                _ => x = i.k,
            },
            ST => mem[(i.k % MEMWORDS) as usize] = a,
            STX => mem[(i.k % MEMWORDS) as usize] = x,
            ALU => {
                a = match c & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    DIV => match a.checked_div(src) {
                        Some(v) => v,
                        None => return 0,
                    },
                    0x40 => a | src,
                    0x50 => a & src,
                    LSH => a.wrapping_shl(src),
                    RSH => a.wrapping_shr(src),
                    NEG => a.wrapping_neg(),
                    MOD => match a.checked_rem(src) {
                        Some(v) => v,
                        None => return 0,
                    },
                    _ => a ^ src,
                }
            }
            JMP => {
                let skip = match c & 0xf0 {
                    JA => i.k as usize,
                    op => {
                        let hit = match op {
                            0x10 => a == src,
                            0x20 => a > src,
                            0x30 => a >= src,
                            _ => a & src != 0,
                        };
                        if hit {
                            i.jt as usize
                        } else {
                            i.jf as usize
                        }
                    }
                };
                pc = pc.saturating_add(skip);
            }
            RET => return if c & RET_A != 0 { a } else { i.k },
            _ => {
                if c & 0x80 != 0 {
                    a = x;
                } else {
                    x = a;
                }
            }
        }
    }
    0
}

impl Match for Bpf {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        match id {
            O_BYTECODE => self.program = parse_program(arg.unwrap_or_default())?,
            // No bpf filesystem on a simulated host: nothing is pinned.
            _ => return Err(perr("failed to get bpf object")),
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        let f = seen & (bit(O_BYTECODE) | bit(O_PINNED));
        if f != bit(O_BYTECODE) && f != bit(O_PINNED) {
            return Err(perr("one of --bytecode or --pinned is required"));
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if check_program(&self.program) {
            Ok(())
        } else {
            Err(KernelError::Invalid)
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(run(&self.program, &Skb::of(cx)) != 0)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        format!(
            "-m bpf did not match: the {}-instruction program returned 0",
            self.program.len()
        )
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(
            " --bytecode \"{},{}\"",
            self.program.len(),
            self.code_text()
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        // iptables prints no leading blank here and ends with a NUL byte.
        out.push_str("match bpf ");
        out.push_str(&self.code_text());
        out.push('\0');
    }

    fn explain(&self) -> String {
        format!(
            "Matches when the {}-instruction BPF program returns non-zero for the packet",
            self.program.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{check_program, parse_program, Insn};
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, udp};

    #[test]
    fn runs_classic_bpf_on_the_packet() {
        let mut w = lab::world();
        // nfbpf_compile RAW 'udp dst port 53': ldb [9]; jeq #17; ldxb 4*([0]&0xf);
        // ldh [x+2]; jeq #53; ret #1 / ret #0.
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m bpf --bytecode \"7,48 0 0 9,21 0 4 17,177 0 0 0,72 0 0 2,21 0 1 53,6 0 0 1,6 0 0 0\"",
        );
        // 'len > 40': ld len; jgt #40; ret #65535 / ret #0.
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m bpf --bytecode \"4,128 0 0 0,37 0 1 40,6 0 0 65535,6 0 0 0\"",
        );
        // A load past the end returns 0.
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m bpf --bytecode \"2,32 0 0 1000,6 0 0 1\"",
        );
        // Ancillary data: the packet mark (SKF_AD_MARK) and A = X = 7.
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m bpf --bytecode \"4,32 0 0 4294963220,21 0 1 7,6 0 0 1,6 0 0 0\"",
        );
        inject(&mut w, udp("10.0.0.2", 1000, "10.0.0.1", 53, 0));
        inject(&mut w, udp("10.0.0.2", 1000, "10.0.0.1", 54, 20));
        let mut p = tcp("10.0.0.2", 1000, "10.0.0.1", 53, "S");
        p.meta.mark = 7;
        inject(&mut w, p);
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 2, 0, 1]);
    }

    #[test]
    fn interpreter_edges() {
        let skb = super::Skb {
            data: &[0x45, 0, 0, 20],
            mac: None,
            mark: 0,
            ifindex: 1,
        };
        let ins = |code, jt, jf, k| Insn { code, jt, jf, k };
        // A = 8; X = 0; A /= X -> program ends with 0.
        let div0 = [
            ins(0, 0, 0, 8),
            ins(1, 0, 0, 0),
            ins(0x3c, 0, 0, 0),
            ins(6, 0, 0, 1),
        ];
        assert_eq!(super::run(&div0, &skb), 0);
        // ldb [0]; tax; txa; ret a -> 0x45.
        let tax = [
            ins(0x30, 0, 0, 0),
            ins(7, 0, 0, 0),
            ins(0x87, 0, 0, 0),
            ins(0x16, 0, 0, 0),
        ];
        assert_eq!(super::run(&tax, &skb), 0x45);
        // A link-layer load without a link-layer header ends with 0; a
        // network-header one reads the IP header.
        let ll = [ins(0x28, 0, 0, 0xffe0_000c), ins(0x16, 0, 0, 0)];
        assert_eq!(super::run(&ll, &skb), 0);
        let net = [ins(0x28, 0, 0, 0xfff0_0002), ins(0x16, 0, 0, 0)];
        assert_eq!(super::run(&net, &skb), 20);
    }

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_like_sscanf() {
        let p = parse_program("1, 6  0 0 0x10").unwrap();
        assert_eq!(
            p,
            vec![Insn {
                code: 6,
                jt: 0,
                jf: 0,
                k: 0
            }]
        );
        let msg = |s: &str| parse_program(s).unwrap_err().msg;
        assert_eq!(msg("x"), "bpf: error parsing program length");
        assert_eq!(msg("0,"), "bpf: illegal zero length program");
        assert_eq!(msg("1,6 0 0"), "bpf: error at instr 0");
        assert_eq!(
            msg("2,6 0 0 1"),
            "bpf: parsed program length is less than the encoded length parameter"
        );
        assert_eq!(
            msg("1,6 0 0 1,6 0 0 1"),
            "bpf: real program length exceeds the encoded length parameter"
        );
    }

    #[test]
    fn kernel_checker() {
        let p = parse_program("4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0").unwrap();
        assert!(check_program(&p));
        assert!(!check_program(&parse_program("1,99 0 0 0").unwrap()));
        // Jump past the end.
        assert!(!check_program(
            &parse_program("2,21 0 5 6,6 0 0 0").unwrap()
        ));
        // Load of a scratch word never stored.
        assert!(!check_program(
            &parse_program("2,96 0 0 1,6 0 0 0").unwrap()
        ));
        // Last instruction must return.
        assert!(!check_program(&parse_program("1,48 0 0 9").unwrap()));
    }

    #[test]
    fn save_list_kernel() {
        let mut h = Host::new("h");
        let out = run_argv(
            &mut h,
            &argv(&[
                "iptables",
                "-A",
                "INPUT",
                "-m",
                "bpf",
                "--bytecode",
                "2,6 0 0 1,6 0 0 0",
                "-j",
                "ACCEPT",
            ]),
            None,
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let s = run_argv(&mut h, &argv(&["iptables", "-S", "INPUT"]), None).stdout;
        assert!(s.ends_with("-A INPUT -m bpf --bytecode \"2,6 0 0 1,6 0 0 0\" -j ACCEPT\n"));
        let l = run_argv(&mut h, &argv(&["iptables", "-L", "INPUT", "-n"]), None).stdout;
        assert!(
            l.ends_with("0.0.0.0/0           match bpf 6 0 0 1,6 0 0 0\0\n"),
            "{l:?}"
        );
        let out = run_argv(
            &mut h,
            &argv(&[
                "iptables",
                "-A",
                "INPUT",
                "-m",
                "bpf",
                "--bytecode",
                "1,99 0 0 0",
            ]),
            None,
        );
        assert_eq!(out.exit, 4);
    }
}
