//! The conntrack hash: both tuples of every connection, by zone, to the
//! entry and direction each belongs to. Open addressing with linear probing
//! in 8-byte slots (32 bits of the tuple's hash and the owner); the tuple
//! itself is the owner entry's, compared there when the hash bits agree.
//! With 20k connections the table is half a megabyte, not two: the random
//! slots each new connection touches stay in the core's cache and TLB.
//! The same table, keyed by an original tuple's source, is the kernel's
//! `nf_nat_bysource`.

use super::{Dir, Entry, Tuple};

fn hash(zone: u16, t: &Tuple) -> u64 {
    let a = u64::from(u32::from(t.src)) << 32 | u64::from(u32::from(t.dst));
    let b = u64::from(t.sport) << 48
        | u64::from(t.dport) << 32
        | u64::from(t.proto) << 16
        | u64::from(zone);
    let h = (a ^ b.rotate_left(23)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h ^ (h >> 29) ^ b).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

/// The empty slot where a tuple the map lacks goes, and its hash bits (see
/// [`TupleMap::get_or_vacant`]); no slot while the table is empty.
#[derive(Debug, Clone, Copy)]
pub struct Vacant {
    slot: Option<usize>,
    tag: u32,
}

/// A tuple another entry owns (see [`TupleMap::put`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken;

/// An empty slot's owner.
const EMPTY: u32 = u32::MAX;
/// The owner's bit telling the reply direction.
const REPLY: u32 = 1 << 31;

/// The low 32 bits of the tuple's hash (its home slot while the table has
/// at most 2^32 slots) and the owner: entry index, and `REPLY` for the
/// reply direction.
#[derive(Clone, Copy)]
struct Slot {
    tag: u32,
    owner: u32,
}

/// A slot's owner of entry `idx` in direction `dir`.
fn owner_bits(idx: usize, dir: Dir) -> u32 {
    // Entry indices stay far below 2^31: each entry is a live connection.
    idx as u32
        | match dir {
            Dir::Original => 0,
            Dir::Reply => REPLY,
        }
}

const VACANT: Slot = Slot {
    tag: 0,
    owner: EMPTY,
};

impl Slot {
    fn owner(self) -> (usize, Dir) {
        let dir = if self.owner & REPLY != 0 {
            Dir::Reply
        } else {
            Dir::Original
        };
        ((self.owner & !REPLY) as usize, dir)
    }

    /// Whether the slot holds this tuple: its owner's tuple of that
    /// direction, or with `SOURCES` the source of its original one.
    #[inline]
    fn holds<const SOURCES: bool>(self, entries: &[Option<Entry>], zone: u16, t: &Tuple) -> bool {
        let (idx, dir) = self.owner();
        entries.get(idx).and_then(|e| e.as_ref()).is_some_and(|e| {
            e.zone == zone
                && match (SOURCES, dir) {
                    (true, _) => source_of(&e.orig) == *t,
                    (false, Dir::Original) => e.orig == *t,
                    (false, Dir::Reply) => e.reply == *t,
                }
        })
    }
}

/// The source part of a tuple (zone aside): protocol, address and port,
/// what a map of `SOURCES` is keyed by.
pub fn source_of(t: &Tuple) -> Tuple {
    Tuple {
        dst: std::net::Ipv4Addr::UNSPECIFIED,
        dport: 0,
        ..*t
    }
}

/// Tuples (with their zone) to `(entry index, direction)`; with `SOURCES`,
/// the sources of original tuples ([`source_of`]) to an entry. A key is
/// looked for in `entries` as they are: an entry's tuple changes only
/// while the map does not hold it.
#[derive(Clone, Default)]
pub struct TupleMap<const SOURCES: bool = false> {
    /// A power of two long (or empty), at most three quarters full.
    slots: Vec<Slot>,
    len: usize,
}

impl<const SOURCES: bool> std::fmt::Debug for TupleMap<SOURCES> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.slots
                    .iter()
                    .filter(|s| s.owner != EMPTY)
                    .map(|s| s.owner()),
            )
            .finish()
    }
}

impl<const SOURCES: bool> TupleMap<SOURCES> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every tuple, keeping the room.
    pub fn clear(&mut self) {
        self.slots.fill(VACANT);
        self.len = 0;
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding the tuple, or the empty slot where it would go.
    #[inline]
    fn find(
        &self,
        entries: &[Option<Entry>],
        zone: u16,
        t: &Tuple,
        tag: u32,
    ) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = tag as usize & mask;
        loop {
            let s = self.slots[i];
            if s.owner == EMPTY {
                return Err(i);
            }
            if s.tag == tag && s.holds::<SOURCES>(entries, zone, t) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    pub fn get(&self, entries: &[Option<Entry>], zone: u16, t: &Tuple) -> Option<(usize, Dir)> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(entries, zone, t, hash(zone, t) as u32)
            .ok()
            .map(|i| self.slots[i].owner())
    }

    /// The owner of a tuple, or where the tuple would go: [`TupleMap::fill`]
    /// puts it there while the map has not changed since.
    pub fn get_or_vacant(
        &self,
        entries: &[Option<Entry>],
        zone: u16,
        t: &Tuple,
    ) -> Result<(usize, Dir), Vacant> {
        if self.slots.is_empty() {
            return Err(Vacant { slot: None, tag: 0 });
        }
        let tag = hash(zone, t) as u32;
        match self.find(entries, zone, t, tag) {
            Ok(i) => Ok(self.slots[i].owner()),
            Err(i) => Err(Vacant { slot: Some(i), tag }),
        }
    }

    /// Puts entry `idx` (whose tuple of `dir` is `t`) where
    /// [`TupleMap::get_or_vacant`] found room for `t`, the map unchanged
    /// since: without looking for it again unless the table must grow.
    pub fn fill(
        &mut self,
        room: Vacant,
        entries: &[Option<Entry>],
        zone: u16,
        t: &Tuple,
        idx: usize,
        dir: Dir,
    ) {
        match room.slot {
            Some(i) if (self.len + 1) * 4 <= self.slots.len() * 3 => {
                self.slots[i] = Slot {
                    tag: room.tag,
                    owner: owner_bits(idx, dir),
                };
                self.len += 1;
            }
            _ => {
                let put = self.put(entries, zone, t, idx, dir, false);
                debug_assert!(put.is_ok(), "the tuple was looked up and not found");
            }
        }
    }

    /// Puts entry `idx` in the tuple's slot (its tuple of `dir` must be
    /// `t` already), over another entry only when it may `take` the slot:
    /// the owner the slot had, if any, or `Taken` (and no change).
    pub fn put(
        &mut self,
        entries: &[Option<Entry>],
        zone: u16,
        t: &Tuple,
        idx: usize,
        dir: Dir,
        take: bool,
    ) -> Result<Option<usize>, Taken> {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let tag = hash(zone, t) as u32;
        let slot = Slot {
            tag,
            owner: owner_bits(idx, dir),
        };
        match self.find(entries, zone, t, tag) {
            Ok(i) => {
                let old = self.slots[i].owner().0;
                if old != idx && !take {
                    return Err(Taken);
                }
                self.slots[i] = slot;
                Ok(Some(old))
            }
            Err(i) => {
                self.slots[i] = slot;
                self.len += 1;
                Ok(None)
            }
        }
    }

    /// Removes a tuple if entry `idx` owns it (the entry still has it).
    pub fn remove_if_owned(&mut self, entries: &[Option<Entry>], zone: u16, t: &Tuple, idx: usize) {
        if self.slots.is_empty() {
            return;
        }
        let Ok(mut hole) = self.find(entries, zone, t, hash(zone, t) as u32) else {
            return;
        };
        if self.slots[hole].owner().0 != idx {
            return;
        }
        // Backward shift: each later slot of the run that may move into the
        // hole (its home is not between the hole and it) does, leaving no
        // gap a lookup would stop at.
        let mask = self.mask();
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let s = self.slots[i];
            if s.owner == EMPTY {
                break;
            }
            let home = s.tag as usize & mask;
            if (i.wrapping_sub(home) & mask) >= (i.wrapping_sub(hole) & mask) {
                self.slots[hole] = s;
                hole = i;
            }
        }
        self.slots[hole] = VACANT;
        self.len -= 1;
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![VACANT; size]);
        let mask = size - 1;
        for s in old.into_iter().filter(|s| s.owner != EMPTY) {
            let mut i = s.tag as usize & mask;
            while self.slots[i].owner != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::conntrack::TcpState;
    use std::collections::HashMap;
    use std::net::Ipv4Addr;

    fn tuple(n: u32) -> Tuple {
        Tuple {
            src: Ipv4Addr::from(0x0a00_0000 | (n >> 4)),
            dst: Ipv4Addr::new(10, 96, 0, 1),
            proto: 6,
            sport: 1024 + (n & 15) as u16,
            dport: 80,
        }
    }

    fn entry(zone: u16, orig: Tuple, reply: Tuple) -> Option<Entry> {
        Some(Entry {
            id: 1,
            orig,
            reply,
            status: 0,
            expires_ns: 0,
            tcp: TcpState::None,
            mark: 0,
            zone,
            packets: [0; 2],
            bytes: [0; 2],
            master: None,
            helper: None,
            labels: [0; 2],
            created_ns: 0,
            orig_end: 0,
            window: Default::default(),
        })
    }

    #[test]
    fn every_field_and_the_zone_tell_tuples_apart() {
        let base = tuple(1);
        let others = [
            Tuple {
                src: Ipv4Addr::new(1, 1, 1, 1),
                ..base
            },
            Tuple {
                dst: Ipv4Addr::new(1, 1, 1, 1),
                ..base
            },
            Tuple { proto: 17, ..base },
            Tuple { sport: 9, ..base },
            Tuple { dport: 9, ..base },
        ];
        let entries = vec![None, entry(0, tuple(2), base)];
        let mut m = TupleMap::<false>::default();
        assert!(m.put(&entries, 0, &base, 1, Dir::Reply, false).is_ok());
        for t in &others {
            assert_eq!(m.get(&entries, 0, t), None, "{t:?}");
        }
        assert_eq!(m.get(&entries, 1, &base), None);
        assert_eq!(m.get(&entries, 0, &base), Some((1, Dir::Reply)));
        // Found through the entry: a slot whose entry is gone holds nothing.
        assert_eq!(m.get(&[None, None], 0, &base), None);
    }

    #[test]
    fn a_put_that_may_not_take_fails_on_a_tuple_another_entry_owns() {
        let t = tuple(5);
        let entries = vec![entry(0, tuple(1), t), entry(0, t, tuple(2))];
        let mut m = TupleMap::<false>::default();
        assert_eq!(m.put(&entries, 0, &t, 0, Dir::Reply, false), Ok(None));
        assert_eq!(m.put(&entries, 0, &t, 1, Dir::Original, false), Err(Taken));
        assert_eq!(m.get(&entries, 0, &t), Some((0, Dir::Reply)));
        assert_eq!(m.put(&entries, 0, &t, 0, Dir::Reply, false), Ok(Some(0)));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn sources_are_keyed_by_protocol_address_and_port_only() {
        let a = tuple(5);
        let b = Tuple { dport: 443, ..a };
        let entries = vec![entry(0, a, tuple(1)), entry(0, b, tuple(2))];
        let mut m = TupleMap::<true>::default();
        let source = source_of(&a);
        assert_eq!(
            m.put(&entries, 0, &source, 0, Dir::Original, true),
            Ok(None)
        );
        assert_eq!(
            m.put(&entries, 0, &source, 1, Dir::Original, true),
            Ok(Some(0))
        );
        assert_eq!(m.get(&entries, 0, &source), Some((1, Dir::Original)));
        assert_eq!(m.get(&entries, 0, &a), None, "a whole tuple is no source");
        assert_eq!(m.get(&entries, 1, &source), None);
        m.remove_if_owned(&entries, 0, &source, 0);
        assert_eq!(m.len(), 1);
        m.remove_if_owned(&entries, 0, &source, 1);
        assert!(m.is_empty());
    }

    #[test]
    fn agrees_with_a_hash_map_through_inserts_and_removals() {
        // Entry i owns tuple i (original) and tuple i + 3000 (reply), in
        // zone i % 2.
        let entries: Vec<Option<Entry>> = (0..3000u32)
            .map(|n| entry((n % 2) as u16, tuple(n), tuple(n + 3000)))
            .collect();
        let mut m = TupleMap::<false>::default();
        let mut reference: HashMap<u32, (usize, Dir)> = HashMap::new();
        let mut x: u64 = 0x1234_5678;
        for step in 0..20_000usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let idx = (x % 3000) as usize;
            let zone = (idx % 2) as u16;
            let (n, dir) = if x >> 63 == 0 {
                (idx as u32, Dir::Original)
            } else {
                (idx as u32 + 3000, Dir::Reply)
            };
            let t = tuple(n);
            if (x >> 59) & 15 < 9 {
                assert!(m.put(&entries, zone, &t, idx, dir, false).is_ok());
                reference.insert(n, (idx, dir));
            } else {
                // Removal only by the owner.
                let by = if step % 3 == 0 { idx + 1 } else { idx };
                m.remove_if_owned(&entries, zone, &t, by);
                if by == idx {
                    reference.remove(&n);
                }
            }
            assert_eq!(m.len(), reference.len());
        }
        for n in 0..6000u32 {
            let idx = (n % 3000) as usize;
            for zone in 0..2 {
                let want = reference
                    .get(&n)
                    .copied()
                    .filter(|_| zone == (idx % 2) as u16);
                assert_eq!(m.get(&entries, zone, &tuple(n)), want, "{zone} {n}");
            }
        }
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.get(&entries, 0, &tuple(0)), None);
    }

    #[test]
    fn a_tuple_goes_where_the_lookup_found_room_for_it() {
        let entries: Vec<Option<Entry>> = (0..200u32)
            .map(|n| entry(0, tuple(n), tuple(n + 200)))
            .collect();
        let mut m = TupleMap::<false>::default();
        let mut reference = TupleMap::<false>::default();
        for idx in 0..200usize {
            let t = tuple(idx as u32);
            let room = m.get_or_vacant(&entries, 0, &t).unwrap_err();
            m.fill(room, &entries, 0, &t, idx, Dir::Original);
            assert!(reference
                .put(&entries, 0, &t, idx, Dir::Original, false)
                .is_ok());
            assert_eq!(m.len(), reference.len());
            assert_eq!(m.slots.len(), reference.slots.len(), "grown alike");
            assert_eq!(
                m.get_or_vacant(&entries, 0, &t).ok(),
                Some((idx, Dir::Original))
            );
        }
        for n in 0..400u32 {
            let t = tuple(n);
            assert_eq!(m.get(&entries, 0, &t), reference.get(&entries, 0, &t));
        }
    }
}
