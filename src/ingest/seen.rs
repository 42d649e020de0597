//! The rows of an export seen so far, by fingerprint: tells a repeated row from a new one.

/// Each distinct row's fingerprint and the line it first occurs on, in an open-addressing
/// table of 16-byte slots. A million-row export's table is probed once a row at a random
/// place and touched throughout (every page of it a fresh one), so its size and the cache
/// lines a probe reads are what it costs: a general hash map took 24 bytes a row, a control
/// byte elsewhere and a second hash of the fingerprint.
///
/// A fingerprint keeps 96 of its 128 bits: two different rows among a billion share them
/// with a chance of about 1 in 10^11.
#[derive(Debug)]
pub(super) struct SeenRows {
    slots: Vec<Slot>,
    len: usize,
}

/// A slot; `line` 0 is an empty one (data rows are below a header, so never on line 0).
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    hi: u64,
    lo: u32,
    line: u32,
}

/// The two parts of a fingerprint a slot keeps; `hi` also places it (its bits are xxh3's,
/// uniform already).
fn parts(fingerprint: u128) -> (u64, u32) {
    ((fingerprint >> 64) as u64, fingerprint as u32)
}

impl SeenRows {
    /// Room for `rows` distinct rows without growing (the table is allocated zeroed, so
    /// pages no row reaches are never touched).
    pub fn with_capacity(rows: usize) -> Self {
        let slots = (rows.max(6) * 4 / 3 + 1).next_power_of_two();
        SeenRows {
            slots: vec![Slot::default(); slots],
            len: 0,
        }
    }

    /// The line the row with `fingerprint` first occurred on: `line` for a row not seen
    /// before, which is then kept.
    pub fn first_line(&mut self, fingerprint: u128, line: u32) -> u32 {
        debug_assert!(line > 0, "a data row is never on line 0");
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let (hi, lo) = parts(fingerprint);
        let at = self.find(hi, lo);
        let slot = &mut self.slots[at];
        if slot.line == 0 {
            *slot = Slot { hi, lo, line };
            self.len += 1;
        }
        slot.line
    }

    /// For each row kept here that `earlier` (the rows above these) holds too: its line here
    /// and the line it first occurred on there.
    pub fn repeats_of<'a>(
        &'a self,
        earlier: &'a SeenRows,
    ) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.slots
            .iter()
            .filter(|s| s.line != 0)
            .filter_map(|s| earlier.line_of(s.hi, s.lo).map(|first| (s.line, first)))
    }

    fn line_of(&self, hi: u64, lo: u32) -> Option<u32> {
        let slot = self.slots[self.find(hi, lo)];
        (slot.line != 0).then_some(slot.line)
    }

    /// The slot holding the fingerprint, or the empty one where it would go (linear
    /// probing; the table is never more than three quarters full, so there is one).
    fn find(&self, hi: u64, lo: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut at = hi as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.line == 0 || (slot.hi == hi && slot.lo == lo) {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let doubled = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        for slot in old.into_iter().filter(|s| s.line != 0) {
            let at = self.find(slot.hi, slot.lo);
            self.slots[at] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A row's first line is kept however full the table grows: 500 different rows repeat
    /// six times from a table of eight slots on, and rows that share the bits that place them
    /// (pairs with equal high bits) are told apart by their low ones.
    #[test]
    fn a_repeated_row_gives_the_line_it_first_occurred_on() {
        let mut seen = SeenRows::with_capacity(0);
        for line in 1..=3000u32 {
            let row = line % 500;
            let fingerprint = u128::from(row / 2) << 64 | u128::from(row % 2);
            let first = if line <= 500 {
                line
            } else {
                (line - 1) % 500 + 1
            };
            assert_eq!(seen.first_line(fingerprint, line), first, "line {line}");
        }
        assert_eq!(seen.len, 500);
        assert!(seen.slots.len() * 3 >= seen.len * 4);
    }

    /// A fingerprint found again with other bits than the 96 kept counts as the same row;
    /// one that differs in the kept bits does not.
    #[test]
    fn a_fingerprint_is_its_high_64_and_low_32_bits() {
        let mut seen = SeenRows::with_capacity(4);
        let row = 0xDEAD_BEEF_0000_0001_FFFF_0000_1234_5678u128;
        assert_eq!(seen.first_line(row, 2), 2);
        assert_eq!(seen.first_line(row ^ (1 << 40), 9), 2);
        assert_eq!(seen.first_line(row ^ 1, 10), 10);
        assert_eq!(seen.first_line(row ^ (1 << 64), 11), 11);
    }

    proptest! {
        /// Against a plain map: the same first lines, and the same repeats of the rows of an
        /// earlier half.
        #[test]
        fn it_answers_as_a_map_does(
            first in prop::collection::vec(0u8..40, 0..300),
            second in prop::collection::vec(0u8..40, 0..300),
        ) {
            let fingerprint = |r: u8| u128::from(r).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
            let half = |rows: &[u8], from: u32| {
                let mut seen = SeenRows::with_capacity(rows.len() / 3);
                let mut map = std::collections::HashMap::new();
                for (i, &r) in rows.iter().enumerate() {
                    let line = from + i as u32;
                    let want = *map.entry(r).or_insert(line);
                    prop_assert_eq!(seen.first_line(fingerprint(r), line), want);
                }
                Ok((seen, map))
            };
            let (a, map_a) = half(&first, 2)?;
            let (b, map_b) = half(&second, 1000)?;
            let mut got: Vec<(u32, u32)> = b.repeats_of(&a).collect();
            got.sort();
            let mut want: Vec<(u32, u32)> = map_b
                .iter()
                .filter_map(|(r, &line)| map_a.get(r).map(|&first| (line, first)))
                .collect();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }
}
