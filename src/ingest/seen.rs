//! The rows of an export seen so far, by fingerprint: tells a repeated row from a new one.

/// Each distinct row's fingerprint and the line it first occurs on, in an open-addressing
/// table of 16-byte slots. A million-row export's table is probed once a row at a random
/// place and touched throughout (every page of it a fresh one), so its size and the cache
/// lines a probe reads are what it costs: a general hash map took 24 bytes a row, a control
/// byte elsewhere and a second hash of the fingerprint.
///
/// A fingerprint keeps 96 of its 128 bits: two different rows among a billion share them
/// with a chance of about 1 in 10^11.
///
/// Rows are looked up as they are read ([`SeenRows::first_line`]) when what becomes of a row
/// depends on whether it repeats, or noted and looked up together after the reading
/// ([`SeenRows::note`], [`SeenRows::settle`]) when only the counts do: then the lookups
/// follow each other in a short loop and their cache misses overlap, where between rows
/// being read each waited on its own (7 % of a million-row import).
#[derive(Debug)]
pub(super) struct SeenRows {
    slots: Vec<Slot>,
    len: usize,
    /// Rows noted, not yet looked up.
    noted: Vec<Slot>,
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
    /// Room for `rows` distinct rows without growing (at most three quarters full), and
    /// for noting as many (reserved, not touched until noted).
    pub fn with_capacity(rows: usize) -> Self {
        let slots = (rows.max(6) * 4 / 3 + 1).next_power_of_two();
        SeenRows {
            slots: vec![Slot::default(); slots],
            len: 0,
            noted: Vec::with_capacity(rows),
        }
    }

    /// Notes a row for [`SeenRows::settle`] to look up.
    pub fn note(&mut self, fingerprint: u128, line: u32) {
        debug_assert!(line > 0, "a data row is never on line 0");
        let (hi, lo) = parts(fingerprint);
        self.noted.push(Slot { hi, lo, line });
    }

    /// Looks up the rows noted, in the order they were noted, as [`SeenRows::first_line`]
    /// would have: for each that repeats an earlier row, `repeat(its line, the line it
    /// first occurred on)`.
    pub fn settle(&mut self, mut repeat: impl FnMut(u32, u32)) {
        for row in std::mem::take(&mut self.noted) {
            let first = self.keep(row);
            if first != row.line {
                repeat(row.line, first);
            }
        }
    }

    /// The line the row with `fingerprint` first occurred on: `line` for a row not seen
    /// before, which is then kept.
    pub fn first_line(&mut self, fingerprint: u128, line: u32) -> u32 {
        debug_assert!(line > 0, "a data row is never on line 0");
        debug_assert!(self.noted.is_empty(), "rows noted are settled first");
        let (hi, lo) = parts(fingerprint);
        self.keep(Slot { hi, lo, line })
    }

    /// The line of the row already kept with `row`'s fingerprint, or `row`'s own line once
    /// `row` is kept.
    fn keep(&mut self, row: Slot) -> u32 {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let at = self.find(row.hi, row.lo);
        let slot = &mut self.slots[at];
        if slot.line == 0 {
            *slot = row;
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
        /// Against a plain map: the same first lines (looked up at once or noted and settled
        /// later), and the same repeats of the rows of an earlier half.
        #[test]
        fn it_answers_as_a_map_does(
            first in prop::collection::vec(0u8..40, 0..300),
            second in prop::collection::vec(0u8..40, 0..300),
        ) {
            let fingerprint = |r: u8| u128::from(r).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
            let half = |rows: &[u8], from: u32, later: bool| {
                let mut seen = SeenRows::with_capacity(rows.len() / 3);
                let mut map = std::collections::HashMap::new();
                let (mut repeats, mut settled) = (Vec::new(), Vec::new());
                for (i, &r) in rows.iter().enumerate() {
                    let line = from + i as u32;
                    let first = *map.entry(r).or_insert(line);
                    if first != line {
                        repeats.push((line, first));
                    }
                    if later {
                        seen.note(fingerprint(r), line);
                    } else {
                        prop_assert_eq!(seen.first_line(fingerprint(r), line), first);
                    }
                }
                if later {
                    seen.settle(|line, first| settled.push((line, first)));
                    prop_assert_eq!(settled, repeats);
                }
                Ok((seen, map))
            };
            let (a, map_a) = half(&first, 2, false)?;
            let (b, map_b) = half(&second, 1000, true)?;
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
