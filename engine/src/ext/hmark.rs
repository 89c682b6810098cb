//! `-j HMARK`: sets the packet mark to a hash of chosen header fields
//! (addresses under a prefix, ports, SPI, protocol, or the conntrack tuple),
//! modulo `--hmark-mod`, plus `--hmark-offset`.
//!
//! The mark is the kernel's, bit for bit: the same fields in the same
//! places (addresses in numeric order, the two 16-bit ports as
//! `larger << 16 | smaller` after the masks and sets), Bob Jenkins'
//! `jhash_3words` seeded with `--hmark-rnd`, the protocol XORed in, and the
//! 32-bit hash scaled to `--hmark-mod` by multiplication (`reciprocal_scale`).
//! ICMP errors hash the packet they quote. The kernel test
//! `kernel_packet.rs` compares marks with the real module.

use super::hashlimit::ports_offset;
use super::{
    xtopt, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, TargetVerdict, XtError,
    XtResult,
};
use crate::ext_boilerplate;

const O_SRC: u8 = 0;
const O_DST: u8 = 1;
const O_SPI_SET: u8 = 2;
const O_SPI_MASK: u8 = 3;
const O_SPORT_SET: u8 = 4;
const O_DPORT_SET: u8 = 5;
const O_SPORT_MASK: u8 = 6;
const O_DPORT_MASK: u8 = 7;
const O_PROTO_MASK: u8 = 8;
const O_RND: u8 = 9;
const O_MOD: u8 = 10;
const O_OFFSET: u8 = 11;
const O_CT: u8 = 12;
const O_TUPLE: u8 = 13;

const fn f(id: u8) -> u32 {
    1 << id
}

/// Options that choose packet fields for the hash.
const PKT_FIELDS: u32 = f(O_SRC)
    | f(O_DST)
    | f(O_SPI_MASK)
    | f(O_SPORT_MASK)
    | f(O_DPORT_MASK)
    | f(O_PROTO_MASK)
    | f(O_SPORT_SET)
    | f(O_DPORT_SET)
    | f(O_SPI_SET);

pub static INFO: ExtInfo = ExtInfo {
    name: "HMARK",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("hmark-tuple", O_TUPLE),
        OptSpec::arg("hmark-src-prefix", O_SRC),
        OptSpec::arg("hmark-dst-prefix", O_DST),
        OptSpec::arg("hmark-sport-mask", O_SPORT_MASK),
        OptSpec::arg("hmark-dport-mask", O_DPORT_MASK),
        OptSpec::arg("hmark-spi-mask", O_SPI_MASK),
        OptSpec::arg("hmark-sport", O_SPORT_SET),
        OptSpec::arg("hmark-dport", O_DPORT_SET),
        OptSpec::arg("hmark-spi", O_SPI_SET),
        OptSpec::arg("hmark-proto-mask", O_PROTO_MASK),
        OptSpec::arg("hmark-rnd", O_RND),
        OptSpec::arg("hmark-mod", O_MOD).mand(),
        OptSpec::arg("hmark-offset", O_OFFSET),
    ],
    guided: true,
    help: "HMARK target options; the hash is computed from:\n\
\x20 --hmark-tuple [src|dst|sport|dport|spi|proto|ct][,...]\n\
\x20 --hmark-mod value\t\t    the mark is the hash modulo this value\n\
\x20 --hmark-offset value\t\t    plus this value\n\n\
\x20 --hmark-rnd\t\t\t    seed of the hash\n\
\x20Or choose the fields one by one:\n\
\x20 --hmark-src-prefix length\t    source address prefix length\n\
\x20 --hmark-dst-prefix length\t    destination address prefix length\n\
\x20 --hmark-sport-mask value\t    AND the source port with value\n\
\x20 --hmark-dport-mask value\t    AND the destination port with value\n\
\x20 --hmark-spi-mask value\t    AND the ESP/AH SPI with value\n\
\x20 --hmark-sport value\t\t    OR the source port with value\n\
\x20 --hmark-dport value\t\t    OR the destination port with value\n\
\x20 --hmark-spi value\t\t    OR the ESP/AH SPI with value\n\
\x20 --hmark-proto-mask value\t    AND the protocol with value\n",
    new_match: None,
    new_target: Some(|| Box::new(Hmark::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hmark {
    /// Bit per option id that is in effect (the tuple sets the field bits).
    pub flags: u32,
    pub src_prefix: u8,
    pub dst_prefix: u8,
    pub sport_mask: u16,
    pub dport_mask: u16,
    pub spi_mask: u32,
    pub sport_set: u16,
    pub dport_set: u16,
    pub spi_set: u32,
    pub proto_mask: u16,
    pub rnd: u32,
    pub modulus: u32,
    pub offset: u32,
}

impl Hmark {
    fn has(&self, id: u8) -> bool {
        self.flags & f(id) != 0
    }

    fn tuple_item(&mut self, word: &str) -> bool {
        let kw = ["ct", "src", "dst", "sport", "dport", "proto", "spi"]
            .into_iter()
            .find(|k| {
                word.len() <= k.len()
                    && k.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
            });
        let id = match kw {
            Some("ct") => O_CT,
            Some("src") => {
                self.src_prefix = 32;
                O_SRC
            }
            Some("dst") => {
                self.dst_prefix = 32;
                O_DST
            }
            Some("sport") => {
                self.sport_mask = 0xffff;
                O_SPORT_MASK
            }
            Some("dport") => {
                self.dport_mask = 0xffff;
                O_DPORT_MASK
            }
            Some("proto") => {
                self.proto_mask = 0xffff;
                O_PROTO_MASK
            }
            Some(_) => {
                self.spi_mask = u32::MAX;
                O_SPI_MASK
            }
            None => return false,
        };
        self.flags |= f(id);
        true
    }

    fn parse_tuple(&mut self, arg: &str) -> XtResult {
        let mut rest = arg;
        while let Some(i) = rest.find(',') {
            if i == 0 || !self.tuple_item(&rest[..i]) {
                return Err(XtError::new(format!("Bad type \"{rest}\"")));
            }
            rest = &rest[i + 1..];
        }
        if rest.is_empty() {
            return Err(XtError::new(
                "\"--hmark-tuple\" requires a list of types with no spaces, e.g. src,dst,sport,dport,proto",
            ));
        }
        if !self.tuple_item(rest) {
            return Err(XtError::new(format!("Bad type \"{rest}\"")));
        }
        Ok(())
    }
}

/// `jhash_3words` (lookup3's final mix over three words).
pub fn jhash_3words(a: u32, b: u32, c: u32, initval: u32) -> u32 {
    let iv = initval.wrapping_add(0xdead_beef).wrapping_add(3 << 2);
    let (mut a, mut b, mut c) = (a.wrapping_add(iv), b.wrapping_add(iv), c.wrapping_add(iv));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// The fields hashed (`struct hmark_tuple`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tuple {
    src: u32,
    dst: u32,
    ports: u32,
    proto: u8,
}

impl Hmark {
    fn src_mask(&self) -> u32 {
        if self.has(O_SRC) {
            xtopt::prefix_mask(self.src_prefix)
        } else {
            0
        }
    }

    fn dst_mask(&self) -> u32 {
        if self.has(O_DST) {
            xtopt::prefix_mask(self.dst_prefix)
        } else {
            0
        }
    }

    /// Port mask and set as the kernel's `union hmark_ports` holds them
    /// (source port in the high half, as on the wire).
    fn port_mask_set(&self) -> (u32, u32) {
        let mask = if self.has(O_SPI_MASK) {
            self.spi_mask
        } else {
            (self.sport_mask as u32) << 16 | self.dport_mask as u32
        };
        let set = if self.has(O_SPI_SET) {
            self.spi_set
        } else {
            (self.sport_set as u32) << 16 | self.dport_set as u32
        };
        (mask, set)
    }

    /// `hmark_swap_ports`: masked and set, then larger port first.
    fn swap_ports(&self, raw: u32) -> u32 {
        let (mask, set) = self.port_mask_set();
        let v = (raw & mask) | set;
        let (src, dst) = (v >> 16, v & 0xffff);
        if dst > src {
            dst << 16 | src
        } else {
            src << 16 | dst
        }
    }

    /// `hmark_pkt_set_htuple_ipv4`: `None` when a quoted header is cut short.
    fn packet_tuple(&self, data: &[u8]) -> Option<Tuple> {
        let mut nh = 0usize;
        let ihl = |at: usize| (data[at] & 0x0f) as usize * 4;
        if data[9] == 1 {
            // An ICMP error hashes the packet it quotes.
            let at = ihl(0);
            if let Some(icmp) = data.get(at..at + 8) {
                if icmp[0] <= 18 && matches!(icmp[0], 3 | 4 | 5 | 11 | 12) {
                    nh = at + 8;
                    data.get(nh..nh + 20)?;
                }
            }
        }
        let addr =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let mut t = Tuple {
            src: addr(nh + 12) & self.src_mask(),
            dst: addr(nh + 16) & self.dst_mask(),
            proto: data[nh + 9],
            ports: 0,
        };
        let frag = u16::from_be_bytes([data[nh + 6], data[nh + 7]]) & 0x3fff;
        if t.proto == 1 || frag != 0 {
            return Some(t);
        }
        if let Some(off) = ports_offset(t.proto) {
            let at = nh + ihl(nh) + off;
            if let Some(p) = data.get(at..at + 4) {
                t.ports = self.swap_ports(u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
            }
        }
        Some(t)
    }

    /// `hmark_ct_set_htuple`: from the connection's two directions.
    fn ct_tuple(&self, cx: &EvalCx) -> Option<Tuple> {
        let e = cx.ct_entry()?;
        let mut t = Tuple {
            src: u32::from(e.orig.src) & self.src_mask(),
            dst: u32::from(e.reply.src) & self.dst_mask(),
            proto: e.orig.proto,
            ports: 0,
        };
        if t.proto != 1 {
            t.ports = self.swap_ports((e.orig.sport as u32) << 16 | e.reply.sport as u32);
        }
        Some(t)
    }

    /// `hmark_hash`: the mark.
    fn hash(&self, t: &Tuple) -> u32 {
        let (a, b) = if t.dst < t.src {
            (t.dst, t.src)
        } else {
            (t.src, t.dst)
        };
        let h = jhash_3words(a, b, t.ports, self.rnd) ^ (t.proto as u32 & self.proto_mask as u32);
        ((((h as u64) * (self.modulus as u64)) >> 32) as u32).wrapping_add(self.offset)
    }
}

fn opt_name(id: u8) -> &'static str {
    INFO.options
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.name)
        .unwrap_or("")
}

impl Target for Hmark {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        // The tuple marks field options as given: giving one again is a repeat.
        if id != O_TUPLE && self.has(id) {
            return Err(XtError::new(format!(
                "HMARK: option \"--{}\" can only be used once.\n",
                opt_name(id)
            )));
        }
        let name = opt_name(id);
        let u16v = || xtopt::uint("HMARK", name, arg, 0, 0xffff).map(|v| v as u16);
        let u32v = || xtopt::uint("HMARK", name, arg, 0, u32::MAX as u64).map(|v| v as u32);
        match id {
            O_TUPLE => return self.parse_tuple(arg),
            O_SRC => self.src_prefix = xtopt::uint("HMARK", name, arg, 0, 128)?.min(32) as u8,
            O_DST => self.dst_prefix = xtopt::uint("HMARK", name, arg, 0, 128)?.min(32) as u8,
            O_SPORT_MASK => self.sport_mask = u16v()?,
            O_DPORT_MASK => self.dport_mask = u16v()?,
            O_SPI_MASK => self.spi_mask = u32v()?,
            O_SPORT_SET => self.sport_set = u16v()?,
            O_DPORT_SET => self.dport_set = u16v()?,
            O_SPI_SET => self.spi_set = u32v()?,
            O_PROTO_MASK => self.proto_mask = u16v()?,
            O_RND => self.rnd = u32v()?,
            O_MOD => self.modulus = xtopt::uint("HMARK", name, arg, 1, u32::MAX as u64)? as u32,
            _ => self.offset = u32v()?,
        }
        self.flags |= f(id);
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        if !self.has(O_MOD) {
            return Err(XtError::new("--hmark-mod is mandatory"));
        }
        if !self.has(O_RND) {
            return Err(XtError::new("--hmark-rnd is mandatory"));
        }
        if self.has(O_SPI_MASK) && (self.has(O_SPORT_MASK) || self.has(O_DPORT_MASK)) {
            return Err(XtError::new(
                "you cannot use --hmark-spi-mask and --hmark-?port-mask,at the same time",
            ));
        }
        if self.flags & (PKT_FIELDS | f(O_CT)) == 0 {
            return Err(XtError::new("you have to specify --hmark-tuple at least"));
        }
        Ok(())
    }

    fn check(&self, _cx: &super::CheckCx) -> Result<(), KernelError> {
        if self.has(O_SPI_SET) && (self.has(O_SPORT_SET) || self.has(O_DPORT_SET)) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        let mut put = |id: u8, text: String| {
            if self.has(id) {
                out.push_str(&format!(" --{} {text}", opt_name(id)));
            }
        };
        put(O_SRC, self.src_prefix.to_string());
        put(O_DST, self.dst_prefix.to_string());
        put(O_SPORT_MASK, format!("0x{:04x}", self.sport_mask));
        put(O_DPORT_MASK, format!("0x{:04x}", self.dport_mask));
        put(O_SPI_MASK, format!("0x{:08x}", self.spi_mask));
        put(O_SPORT_SET, format!("0x{:04x}", self.sport_set));
        put(O_DPORT_SET, format!("0x{:04x}", self.dport_set));
        put(O_SPI_SET, format!("0x{:08x}", self.spi_set));
        put(O_PROTO_MASK, format!("0x{:02x}", self.proto_mask));
        put(O_RND, format!("0x{:08x}", self.rnd));
        put(O_MOD, self.modulus.to_string());
        put(O_OFFSET, self.offset.to_string());
        if self.has(O_CT) {
            out.push_str(" --hmark-tuple ct");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" HMARK ");
        let mut put = |id: u8, text: String| {
            if self.has(id) {
                out.push_str(&text);
            }
        };
        put(O_MOD, format!("mod {} ", self.modulus));
        put(O_OFFSET, format!("+ 0x{:x} ", self.offset));
        put(O_CT, "ct, ".into());
        put(O_SRC, format!("src-prefix {} ", self.src_prefix));
        put(O_DST, format!("dst-prefix {} ", self.dst_prefix));
        put(O_SPORT_MASK, format!("sport-mask 0x{:x} ", self.sport_mask));
        put(O_DPORT_MASK, format!("dport-mask 0x{:x} ", self.dport_mask));
        put(O_SPI_MASK, format!("spi-mask 0x{:x} ", self.spi_mask));
        put(O_SPORT_SET, format!("sport-set 0x{:x} ", self.sport_set));
        put(O_DPORT_SET, format!("dport-set 0x{:x} ", self.dport_set));
        put(O_SPI_SET, format!("spi-set 0x{:x} ", self.spi_set));
        put(O_PROTO_MASK, format!("proto-mask 0x{:x} ", self.proto_mask));
        put(O_RND, format!("rnd 0x{:x} ", self.rnd));
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let t = if self.has(O_CT) {
            self.ct_tuple(cx)
        } else {
            self.packet_tuple(&cx.pkt.data)
        };
        if let Some(t) = t {
            cx.pkt.meta.mark = self.hash(&t);
        }
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        let mut fields = Vec::new();
        if self.has(O_CT) {
            fields.push("the conntrack tuple".to_string());
        }
        if self.has(O_SRC) {
            fields.push(format!("source /{}", self.src_prefix));
        }
        if self.has(O_DST) {
            fields.push(format!("destination /{}", self.dst_prefix));
        }
        if self.has(O_SPORT_MASK) || self.has(O_SPORT_SET) {
            fields.push("source port".into());
        }
        if self.has(O_DPORT_MASK) || self.has(O_DPORT_SET) {
            fields.push("destination port".into());
        }
        if self.has(O_SPI_MASK) || self.has(O_SPI_SET) {
            fields.push("SPI".into());
        }
        if self.has(O_PROTO_MASK) {
            fields.push("protocol".into());
        }
        format!(
            "set the mark to a hash of {} modulo {} plus {} and continue",
            fields.join(", "),
            self.modulus,
            self.offset
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
    fn tuple_expands_to_fields() {
        let mut h = Host::new("h");
        let r = "iptables -A INPUT -j HMARK --hmark-mod 10 --hmark-rnd 1 --hmark-tuple src,dst,sport,dport,proto";
        assert_eq!(run(&mut h, r).exit, 0);
        assert!(run(&mut h, "iptables -S INPUT").stdout.ends_with(
            "-j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 32 --hmark-sport-mask 0xffff --hmark-dport-mask 0xffff --hmark-proto-mask 0xffff --hmark-rnd 0x00000001 --hmark-mod 10\n"
        ));
        assert!(run(&mut h, "iptables -L INPUT").stdout.ends_with(
            " HMARK mod 10 src-prefix 32 dst-prefix 32 sport-mask 0xffff dport-mask 0xffff proto-mask 0xffff rnd 0x1 \n"
        ));
    }

    #[test]
    fn checks() {
        let mut h = Host::new("h");
        for (args, msg) in [
            ("", "--hmark-mod is mandatory"),
            ("--hmark-mod 10", "--hmark-rnd is mandatory"),
            (
                "--hmark-mod 10 --hmark-rnd 1",
                "you have to specify --hmark-tuple at least",
            ),
            (
                "--hmark-mod 10 --hmark-rnd 1 --hmark-tuple src,foo,dst",
                "Bad type \"foo,dst\"",
            ),
            (
                "--hmark-mod 10 --hmark-rnd 1 --hmark-tuple src --hmark-src-prefix 8",
                "HMARK: option \"--hmark-src-prefix\" can only be used once.",
            ),
            (
                "--hmark-mod 10 --hmark-rnd 1 --hmark-spi-mask 4 --hmark-dport-mask 1",
                "you cannot use --hmark-spi-mask and --hmark-?port-mask,at the same time",
            ),
        ] {
            let o = run(
                &mut h,
                format!("iptables -A INPUT -j HMARK {args}").trim_end(),
            );
            assert!(o.stderr.contains(msg), "{args}: {}", o.stderr);
        }
        let o = run(
            &mut h,
            "iptables -A INPUT -j HMARK --hmark-mod 10 --hmark-rnd 1 --hmark-sport 1 --hmark-spi 2",
        );
        assert_eq!(o.exit, 4);
    }

    /// Marks the real xt_HMARK gave for these packets (kernel_packet.rs).
    #[test]
    fn marks_match_the_kernel() {
        use crate::ext::limit::lab::*;
        use crate::ruleset::{Hook, RuleTarget};
        let udp1 = udp("10.1.0.100", "10.2.0.2", 48001, 53, b"x");
        let udp2 = udp("10.1.0.100", "10.2.0.2", 48004, 5353, b"y");
        let mut reply = ping("10.2.0.2", "10.1.0.100");
        reply.set_icmp_id(48003);
        let cases = [
            (
                "--hmark-src-prefix 16 --hmark-dport-mask 0xff00 --hmark-sport 0x0001 --hmark-proto-mask 0xff --hmark-rnd 0xdeadbeef --hmark-mod 65536",
                vec![(&udp1, 29520), (&udp2, 45298), (&reply, 50855)],
            ),
            ("--hmark-tuple dport,proto --hmark-mod 97 --hmark-rnd 1", vec![(&udp1, 87)]),
        ];
        for (args, want) in cases {
            let mut w = world();
            ipt(
                &mut w,
                &format!("iptables -t mangle -A PREROUTING -j HMARK {args}"),
            );
            let table = w.hosts[0].ruleset.table("mangle").unwrap();
            let RuleTarget::Ext(t) = &table.chain("PREROUTING").unwrap().rules[0].target else {
                panic!("no target");
            };
            let mut t = t.clone();
            for (p, mark) in want {
                let mut p = p.clone();
                with_cx(&mut w, &mut p, Hook::Prerouting, |cx| t.fire(cx));
                assert_eq!(p.meta.mark, mark, "{args}");
            }
        }
    }

    #[test]
    fn icmp_errors_hash_the_quoted_packet() {
        use crate::ext::limit::lab::*;
        use crate::ext::Target;
        use crate::ruleset::Hook;
        let mut w = world();
        let mut t = super::Hmark::default();
        t.tuple_item("src");
        t.tuple_item("dst");
        t.tuple_item("sport");
        t.tuple_item("dport");
        t.tuple_item("proto");
        t.rnd = 99;
        t.modulus = 1 << 20;
        let mut orig = udp("10.0.1.9", "10.0.2.5", 4000, 53, b"q");
        let back =
            crate::packet::IpFields::new("10.0.2.5".parse().unwrap(), "10.0.1.9".parse().unwrap());
        let mut err = crate::packet::build_icmp_error(&back, 3, 3, [0; 4], &orig.data);
        with_cx(&mut w, &mut orig, Hook::Prerouting, |cx| t.fire(cx));
        with_cx(&mut w, &mut err, Hook::Prerouting, |cx| t.fire(cx));
        assert_ne!(orig.meta.mark, 0);
        assert_eq!(orig.meta.mark, err.meta.mark);
        // Both directions of a flow get the same mark.
        let mut rev = udp("10.0.2.5", "10.0.1.9", 53, 4000, b"a");
        with_cx(&mut w, &mut rev, Hook::Prerouting, |cx| t.fire(cx));
        assert_eq!(rev.meta.mark, orig.meta.mark);
    }
}
