//! Netlink attributes: a small writer for the messages we send (byte layout
//! exactly as libnftnl writes it) and a reader built on netlink-packet-core's
//! attribute iterator for what the kernel sends back.

use super::Error;

/// Attribute type flag of a nested attribute.
pub const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Attributes being written, 4-byte aligned.
#[derive(Debug, Default, Clone)]
pub struct Attrs {
    pub buf: Vec<u8>,
}

impl Attrs {
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// One attribute with raw bytes.
    pub fn bytes(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    /// A NUL-terminated string.
    pub fn str(&mut self, kind: u16, s: &str) -> &mut Self {
        let len = 4 + s.len() + 1;
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
        self
    }

    /// A 32-bit number in network byte order.
    pub fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.bytes(kind, &v.to_be_bytes())
    }

    /// A 64-bit number in network byte order.
    pub fn u64(&mut self, kind: u16, v: u64) -> &mut Self {
        self.bytes(kind, &v.to_be_bytes())
    }

    /// A nested attribute whose content `f` writes (in place: the
    /// header's length is filled in afterwards).
    pub fn nested(&mut self, kind: u16, f: impl FnOnce(&mut Attrs)) -> &mut Self {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        f(self);
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        self.pad();
        self
    }

    fn pad(&mut self) {
        while self.buf.len() & 3 != 0 {
            self.buf.push(0);
        }
    }
}

/// One attribute read back: its type (without flags) and value.
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a> {
    pub kind: u16,
    pub value: &'a [u8],
}

/// The attributes of a buffer, one by one; reading stops at the first
/// malformed one (too short, or longer than what is left).
pub fn iter(buf: &[u8]) -> AttrIter<'_> {
    AttrIter { buf, pos: 0 }
}

/// See [`iter`].
pub struct AttrIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<Attr<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.pos..).filter(|r| !r.is_empty())?;
        let at = self.pos;
        let bad = |what: String| {
            Some(Err(Error::Decode(format!(
                "bad attribute at byte {at}: {what}"
            ))))
        };
        let Some(head) = rest.get(..4) else {
            self.pos = self.buf.len();
            return bad(format!("{} bytes left, a header needs 4", rest.len()));
        };
        let len = u16::from_ne_bytes([head[0], head[1]]) as usize;
        let kind = u16::from_ne_bytes([head[2], head[3]]) & NLA_TYPE_MASK;
        let Some(value) = rest.get(4..len).filter(|_| len >= 4) else {
            self.pos = self.buf.len();
            return bad(format!("length {len} with {} bytes left", rest.len()));
        };
        self.pos += (len + 3) & !3;
        Some(Ok(Attr { kind, value }))
    }
}

/// The attributes of a buffer.
pub fn parse(buf: &[u8]) -> Result<Vec<Attr<'_>>, Error> {
    iter(buf).collect()
}

/// The attributes of a buffer by type, for the types below `N`: the first
/// of each, as [`find`] gives it, read without allocating (dumps of many
/// rules read millions of attributes).
pub fn index<const N: usize>(buf: &[u8]) -> Result<[Option<Attr<'_>>; N], Error> {
    let mut out = [None; N];
    for a in iter(buf) {
        let a = a?;
        if let Some(slot @ None) = out.get_mut(a.kind as usize) {
            *slot = Some(a);
        }
    }
    Ok(out)
}

/// The first attribute of a type.
pub fn find<'a>(attrs: &[Attr<'a>], kind: u16) -> Option<Attr<'a>> {
    attrs.iter().find(|a| a.kind == kind).copied()
}

impl<'a> Attr<'a> {
    pub fn u32(&self) -> Result<u32, Error> {
        let b: [u8; 4] = self
            .value
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::Decode(format!("attribute {} is not a u32", self.kind)))?;
        Ok(u32::from_be_bytes(b))
    }
    pub fn u64(&self) -> Result<u64, Error> {
        let b: [u8; 8] = self
            .value
            .get(..8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::Decode(format!("attribute {} is not a u64", self.kind)))?;
        Ok(u64::from_be_bytes(b))
    }
    /// A string, up to its first NUL.
    pub fn str(&self) -> String {
        String::from_utf8_lossy(self.bytes_to_nul()).into_owned()
    }
    /// The bytes up to the first NUL.
    pub fn bytes_to_nul(&self) -> &'a [u8] {
        let end = self
            .value
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(self.value.len());
        &self.value[..end]
    }
    pub fn nested(&self) -> Result<Vec<Attr<'a>>, Error> {
        parse(self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_read() {
        let mut a = Attrs::new();
        a.str(1, "filter").u32(2, 7).nested(4, |n| {
            n.u64(1, 9);
        });
        // "filter\0" is 7 bytes: 11 with the header, padded to 12.
        assert_eq!(&a.buf[..4], &[11, 0, 1, 0]);
        assert_eq!(a.buf.len(), 12 + 8 + 16);
        let attrs = parse(&a.buf).unwrap();
        assert_eq!(attrs[0].str(), "filter");
        assert_eq!(attrs[1].u32().unwrap(), 7);
        assert_eq!(attrs[2].kind, 4);
        assert_eq!(attrs[2].nested().unwrap()[0].u64().unwrap(), 9);
        let by_kind = index::<3>(&a.buf).unwrap();
        assert_eq!(by_kind[1].map(|x| x.str()).as_deref(), Some("filter"));
        assert_eq!(by_kind[2].map(|x| x.u32().unwrap()), Some(7));
        assert!(by_kind[0].is_none(), "kind 4 is beyond the index");
    }

    #[test]
    fn malformed_attributes_are_errors() {
        // A header cut short, a length past the end, a length below the header.
        for bad in [&[8u8, 0, 1][..], &[12, 0, 1, 0, 0, 0, 0, 0], &[2, 0, 1, 0]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        // The last attribute need not be padded.
        let a = parse(&[5, 0, 1, 0, 7]).unwrap();
        assert_eq!((a[0].kind, a[0].value), (1, &[7u8][..]));
    }
}
