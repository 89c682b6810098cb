//! The conntrack hash: both tuples of every connection, by zone, to the
//! entry and direction each belongs to. Open addressing with linear probing
//! in 32-byte slots (two to a cache line, none straddling two): a lookup
//! of a new connection's tuple usually reads one line, where a general map
//! reads its control bytes and then the slot.

use super::{Dir, Tuple};

/// A tuple and its zone, packed into two words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl Key {
    fn of(zone: u16, t: &Tuple) -> Key {
        Key(
            u64::from(u32::from(t.src)) << 32 | u64::from(u32::from(t.dst)),
            u64::from(t.sport) << 48
                | u64::from(t.dport) << 32
                | u64::from(t.proto) << 16
                | u64::from(zone),
        )
    }

    fn hash(self) -> u64 {
        let h = (self.0 ^ self.1.rotate_left(23)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h ^ (h >> 29) ^ self.1).wrapping_mul(0xbf58_476d_1ce4_e5b9)
    }
}

/// What a slot holds beside its key: nothing, or a tuple's owner.
const EMPTY: u32 = 0;
const ORIGINAL: u32 = 1;
const REPLY: u32 = 2;

#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct Slot {
    key: Key,
    idx: u32,
    held: u32,
}

const VACANT: Slot = Slot {
    key: Key(0, 0),
    idx: 0,
    held: EMPTY,
};

impl Slot {
    fn owner(&self) -> (usize, Dir) {
        let dir = if self.held == REPLY {
            Dir::Reply
        } else {
            Dir::Original
        };
        (self.idx as usize, dir)
    }
}

/// Tuples (with their zone) to `(entry index, direction)`.
#[derive(Clone, Default)]
pub struct TupleMap {
    /// A power of two long (or empty), at most three quarters full.
    slots: Vec<Slot>,
    len: usize,
}

impl std::fmt::Debug for TupleMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.slots
                    .iter()
                    .filter(|s| s.held != EMPTY)
                    .map(|s| (s.key, s.owner())),
            )
            .finish()
    }
}

impl TupleMap {
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

    /// The slot holding `key`, or the empty slot where it would go.
    fn find(&self, key: Key) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = key.hash() as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.held == EMPTY {
                return Err(i);
            }
            if s.key == key {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    pub fn get(&self, zone: u16, t: &Tuple) -> Option<(usize, Dir)> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(Key::of(zone, t))
            .ok()
            .map(|i| self.slots[i].owner())
    }

    pub fn contains(&self, zone: u16, t: &Tuple) -> bool {
        self.get(zone, t).is_some()
    }

    /// Sets the owner of a tuple, in its place or a new one.
    pub fn insert(&mut self, zone: u16, t: &Tuple, idx: usize, dir: Dir) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let key = Key::of(zone, t);
        let held = match dir {
            Dir::Original => ORIGINAL,
            Dir::Reply => REPLY,
        };
        // Entry indices stay far below 2^32: each entry is a live connection.
        let slot = Slot {
            key,
            idx: idx as u32,
            held,
        };
        match self.find(key) {
            Ok(i) => self.slots[i] = slot,
            Err(i) => {
                self.slots[i] = slot;
                self.len += 1;
            }
        }
    }

    /// Removes a tuple if entry `idx` owns it.
    pub fn remove_if_owned(&mut self, zone: u16, t: &Tuple, idx: usize) {
        if self.slots.is_empty() {
            return;
        }
        let Ok(mut hole) = self.find(Key::of(zone, t)) else {
            return;
        };
        if self.slots[hole].idx as usize != idx {
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
            if s.held == EMPTY {
                break;
            }
            let home = s.key.hash() as usize & mask;
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
        for s in old.into_iter().filter(|s| s.held != EMPTY) {
            let mut i = s.key.hash() as usize & mask;
            while self.slots[i].held != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let mut m = TupleMap::default();
        m.insert(0, &base, 7, Dir::Reply);
        for t in &others {
            assert_eq!(m.get(0, t), None, "{t:?}");
        }
        assert_eq!(m.get(1, &base), None);
        assert_eq!(m.get(0, &base), Some((7, Dir::Reply)));
    }

    #[test]
    fn agrees_with_a_hash_map_through_inserts_and_removals() {
        let mut m = TupleMap::default();
        let mut reference: HashMap<(u16, u32), (usize, Dir)> = HashMap::new();
        let mut x: u64 = 0x1234_5678;
        for step in 0..20_000usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 3000) as u32;
            let zone = (x >> 40) as u16 % 2;
            let t = tuple(n);
            match x >> 60 {
                0..=8 => {
                    let dir = if step % 2 == 0 {
                        Dir::Original
                    } else {
                        Dir::Reply
                    };
                    m.insert(zone, &t, step, dir);
                    reference.insert((zone, n), (step, dir));
                }
                _ => {
                    // Removal only by the owner.
                    let owner = reference.get(&(zone, n)).map(|o| o.0);
                    let by = if step % 3 == 0 { usize::MAX } else { owner.unwrap_or(0) };
                    m.remove_if_owned(zone, &t, by);
                    if owner == Some(by) {
                        reference.remove(&(zone, n));
                    }
                }
            }
            assert_eq!(m.len(), reference.len());
        }
        for n in 0..3000 {
            for zone in 0..2 {
                assert_eq!(
                    m.get(zone, &tuple(n)),
                    reference.get(&(zone, n)).copied(),
                    "{zone} {n}"
                );
            }
        }
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.get(0, &tuple(1)), None);
    }
}
