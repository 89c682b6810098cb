//! The extension side of parsing: loading matches and targets, merging
//! their options the way libxtables does, and libxtables' guided checks.

use super::getopt::{LongOpt, Longs};
use super::opts::BASE_LONGOPTS;
use super::parse::ParseEnv;
use crate::ext::xtopt::strtoul_all;
use crate::ext::{self, ExtInfo, ExtKind, HasArg, Match, ParseCx, Target, XtError, XtResult};
use crate::ruleset::IpSpec;

/// Extension option codes: `EXT_BASE * (owner + 1) + option index`.
pub(super) const EXT_BASE: u32 = 1000;

/// Protocol match loaded on demand for `-p NAME` (`find_proto`).
pub(super) fn proto_match_name(proto: &str, numeric: bool) -> Option<String> {
    if let Some(v) = strtoul_all(proto, 0, 255) {
        let v = v as u8;
        return super::save::CHAIN_PROTOS
            .iter()
            .find(|(n, _)| *n == v)
            .map(|(_, name)| name.to_string())
            .or_else(|| {
                (v != 0 && !numeric)
                    .then(|| crate::netdb::proto_name(v).map(String::from))
                    .flatten()
            });
    }
    Some(proto.to_string())
}

/// A match being parsed.
pub(super) struct MatchSlot {
    pub(super) ext: Box<dyn Match>,
    pub(super) seen: u64,
    /// A later `-m` of the same match takes its options.
    pub(super) completed: bool,
}

/// The extension side of the parse: loaded matches, the target, merged options.
pub(super) struct Exts {
    /// Owner of each extension option range, oldest first: (name, kind,
    /// options). The table getopt searches is iptables' own options, then
    /// the owners' newest first (`xtables_merge_options`).
    pub(super) owners: Vec<(&'static str, ExtKind, &'static [crate::ext::OptSpec])>,
    pub(super) matches: Vec<MatchSlot>,
    pub(super) target: Option<(Box<dyn Target>, u64)>,
    /// `-p` as given (lower case), for loading the protocol match.
    pub(super) protocol: Option<String>,
    pub(super) proto_used: bool,
}

/// iptables' own long options by name, and for each first byte (ASCII)
/// the lengths (below 32) of the names starting with it: most extension
/// options (`comment`, `dport`, `to-destination`) are told apart by these
/// two without hashing.
struct BaseLongs {
    by_name: crate::fasthash::FastMap<&'static str, LongOpt>,
    lengths: [u32; 128],
}

impl BaseLongs {
    fn new() -> BaseLongs {
        let mut by_name = crate::fasthash::FastMap::default();
        let mut lengths = [0u32; 128];
        for (n, h, c) in BASE_LONGOPTS {
            by_name.entry(*n).or_insert(LongOpt {
                name: n,
                has_arg: *h,
                code: *c as u32,
            });
            if let Some(l) = lengths.get_mut(n.as_bytes()[0] as usize) {
                *l |= 1 << n.len();
            }
        }
        BaseLongs { by_name, lengths }
    }

    fn get(&self, name: &str) -> Option<LongOpt> {
        let first = *name.as_bytes().first()?;
        if name.len() < 32 {
            let lengths = self
                .lengths
                .get(first as usize)
                .copied()
                .unwrap_or(u32::MAX);
            if lengths & (1 << name.len()) == 0 {
                return None;
            }
        }
        self.by_name.get(name).copied()
    }
}

impl Longs for Exts {
    fn exact(&self, name: &str) -> Option<LongOpt> {
        static BASE: std::sync::OnceLock<BaseLongs> = std::sync::OnceLock::new();
        if let Some(o) = BASE.get_or_init(BaseLongs::new).get(name) {
            return Some(o);
        }
        self.owners
            .iter()
            .enumerate()
            .rev()
            .find_map(|(owner, (_, _, opts))| {
                let i = opts.iter().position(|o| o.name == name)?;
                Some(LongOpt {
                    name: opts[i].name,
                    has_arg: opts[i].has_arg,
                    code: EXT_BASE * (owner as u32 + 1) + i as u32,
                })
            })
    }

    fn each(&self, f: &mut dyn FnMut(LongOpt) -> bool) {
        for (n, h, c) in BASE_LONGOPTS {
            let o = LongOpt {
                name: n,
                has_arg: *h,
                code: *c as u32,
            };
            if f(o) {
                return;
            }
        }
        for (owner, (_, _, opts)) in self.owners.iter().enumerate().rev() {
            for (i, o) in opts.iter().enumerate() {
                let o = LongOpt {
                    name: o.name,
                    has_arg: o.has_arg,
                    code: EXT_BASE * (owner as u32 + 1) + i as u32,
                };
                if f(o) {
                    return;
                }
            }
        }
    }
}

impl Exts {
    pub(super) fn new() -> Exts {
        Exts {
            owners: Vec::new(),
            matches: Vec::new(),
            target: None,
            protocol: None,
            proto_used: false,
        }
    }

    /// Empties the lists, keeping their room.
    pub(super) fn clear(&mut self) {
        self.owners.clear();
        self.matches.clear();
        self.target = None;
        self.protocol = None;
        self.proto_used = false;
    }

    /// `xtables_merge_options`: the newest extension's options come right
    /// after iptables' own, ahead of older ones.
    pub(super) fn merge_options(&mut self, info: &'static ExtInfo) {
        self.owners.push((info.name, info.kind, info.options));
    }

    pub(super) fn load_match(&mut self, info: &'static ExtInfo) -> XtResult {
        let Some(ctor) = info.new_match else {
            return Err(XtError::new(format!(
                "Couldn't load match `{}':No such file or directory\n",
                info.name
            )));
        };
        let mut clone = false;
        for m in self.matches.iter_mut() {
            if m.ext.info().name == info.name {
                m.completed = true;
                clone = true;
            }
        }
        self.matches.push(MatchSlot {
            ext: ctor(),
            seen: 0,
            completed: false,
        });
        if !clone {
            self.merge_options(info);
        }
        Ok(())
    }

    /// `load_proto`: once, load the match named by `-p` to retry an unknown option.
    pub(super) fn load_proto(&mut self, numeric: bool) -> bool {
        let Some(proto) = self.protocol.clone() else {
            return false;
        };
        if self.proto_used {
            return false;
        }
        self.proto_used = true;
        let Some(info) =
            proto_match_name(&proto, numeric).and_then(|n| ext::find(&n, ExtKind::Match))
        else {
            return false;
        };
        self.load_match(info).is_ok()
    }
}

pub(super) fn parse_cx<'a>(
    env: &'a ParseEnv,
    table: &'a str,
    ip: &IpSpec,
    rest: &'a [String],
) -> ParseCx<'a> {
    ParseCx {
        table,
        proto: ip.proto,
        proto_invert: ip.proto_inv,
        sets: env.sets,
        nfacct: env.nfacct,
        warnings: Vec::new(),
        rest,
        consumed: 0,
    }
}

/// Guided checks before an extension's own parse (`xtables_option_parse`).
pub(super) fn guided_pre(
    info: &ExtInfo,
    idx: usize,
    seen: u64,
    invert: bool,
    arg: Option<&str>,
) -> XtResult {
    if !info.guided {
        return Ok(());
    }
    // libxtables finds the entry by id: aliases report the first name.
    let id = info.options[idx].id;
    let o = info
        .options
        .iter()
        .find(|o| o.id == id)
        .unwrap_or(&info.options[idx]);
    let b = 1u64 << o.id;
    if (!o.multi || o.excl & b != 0) && seen & b != 0 {
        return Err(XtError::new(format!(
            "{}: option \"--{}\" can only be used once.\n",
            info.name, o.name
        )));
    }
    if invert && !o.invert {
        return Err(XtError::new(format!(
            "{}: option \"--{}\" cannot be inverted.\n",
            info.name, o.name
        )));
    }
    if o.has_arg != HasArg::No && arg.is_none() {
        return Err(XtError::new(format!(
            "{}: option \"--{}\" requires an argument.\n",
            info.name, o.name
        )));
    }
    Ok(())
}

/// Guided final checks (`xtables_options_fcheck`).
pub fn guided_final(info: &ExtInfo, seen: u64) -> XtResult {
    if !info.guided {
        return Ok(());
    }
    for o in info.options {
        let b = 1u64 << o.id;
        if o.mandatory && seen & b == 0 {
            return Err(XtError::new(format!(
                "{}: option \"--{}\" must be specified\n",
                info.name, o.name
            )));
        }
        if seen & b == 0 {
            continue;
        }
        // Only the ids named by `also` or `excl` can fail, in id order.
        let mut named = (o.also | o.excl) & !b;
        while named != 0 {
            let id = named.trailing_zeros() as u8;
            named &= named - 1;
            let Some(other) = info.options.iter().find(|x| x.id == id) else {
                continue;
            };
            let ob = 1u64 << id;
            if o.also & ob != 0 && seen & ob == 0 {
                return Err(XtError::new(format!(
                    "{}: option \"--{}\" also requires \"--{}\".\n",
                    info.name, o.name, other.name
                )));
            }
            if o.excl & ob != 0 && seen & ob != 0 {
                return Err(XtError::new(format!(
                    "{}: option \"--{}\" cannot be used together with \"--{}\".\n",
                    info.name, o.name, other.name
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length filter never hides one of iptables' own options.
    #[test]
    fn base_options_found_by_name_only() {
        let base = BaseLongs::new();
        for (n, _, c) in BASE_LONGOPTS {
            assert_eq!(base.get(n).map(|o| o.code), Some(*c as u32), "{n}");
        }
        for n in [
            "comment",
            "dport",
            "to-destination",
            "",
            "sourc",
            "sources",
            "ä",
        ] {
            assert_eq!(base.get(n).map(|o| o.name), None, "{n}");
        }
    }
}
