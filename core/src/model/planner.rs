//! Greedy memory planner: places buffers with known sizes and lifetimes so that buffers
//! alive at the same time never overlap, and buffers with disjoint lifetimes share memory.
//!
//! Algorithm (the one TFLM's `GreedyMemoryPlanner` popularised): take buffers from largest
//! to smallest (ties by index); put each at the lowest offset where it does not overlap any
//! already placed buffer whose lifetime intersects its own. Deterministic, `O(n³)` for `n`
//! buffers, no allocation — the same inputs give the same plan on host and device.

use crate::{Error, Result};

/// A buffer to place: `size` bytes, alive from step `first` to step `last` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Bytes (already rounded to the arena alignment).
    pub size: usize,
    /// First step the buffer is written.
    pub first: usize,
    /// Last step the buffer is read.
    pub last: usize,
}

const UNPLACED: usize = usize::MAX;

/// Places `buffers`, writing each offset into `offsets` (same length); returns the total
/// bytes the plan needs (the largest `offset + size`).
///
/// ```
/// use ember_nn::model::planner::{plan, Buffer};
/// // Three activations of a chain a -> b -> c: a and c never live together.
/// let bufs = [
///     Buffer { size: 64, first: 0, last: 1 },
///     Buffer { size: 32, first: 1, last: 2 },
///     Buffer { size: 48, first: 2, last: 3 },
/// ];
/// let mut offsets = [0; 3];
/// assert_eq!(plan(&bufs, &mut offsets).unwrap(), 96);
/// assert_eq!(offsets, [0, 64, 0]);
/// ```
pub fn plan(buffers: &[Buffer], offsets: &mut [usize]) -> Result<usize> {
    if offsets.len() != buffers.len() {
        return Err(Error::ShapeMismatch {
            expected: buffers.len(),
            found: offsets.len(),
        });
    }
    offsets.iter_mut().for_each(|o| *o = UNPLACED);
    let mut total = 0usize;
    for _ in 0..buffers.len() {
        // Largest unplaced buffer, lowest index on ties.
        let mut pick = None;
        for (i, b) in buffers.iter().enumerate() {
            if offsets[i] == UNPLACED && pick.is_none_or(|p: usize| b.size > buffers[p].size) {
                pick = Some(i);
            }
        }
        let Some(i) = pick else { break };
        let b = buffers[i];
        let live = |j: usize| {
            offsets[j] != UNPLACED && buffers[j].first <= b.last && b.first <= buffers[j].last
        };
        // Saturating: an end past `usize::MAX` cannot fit and is refused below.
        let fits = |at: usize| {
            (0..buffers.len()).all(|j| {
                !live(j)
                    || at.saturating_add(b.size) <= offsets[j]
                    || offsets[j].saturating_add(buffers[j].size) <= at
            })
        };
        // Candidate offsets: 0 and the end of every live buffer; take the lowest that fits.
        let mut best = None;
        for at in core::iter::once(0).chain(
            (0..buffers.len())
                .filter(|&j| live(j))
                .map(|j| offsets[j].saturating_add(buffers[j].size)),
        ) {
            if best.is_none_or(|o| at < o) && fits(at) {
                best = Some(at);
            }
        }
        let at = best.unwrap_or(total);
        offsets[i] = at;
        let end = at.checked_add(b.size).ok_or(Error::InvalidShape)?;
        total = total.max(end);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_no_overlap(bufs: &[Buffer], offs: &[usize]) {
        for i in 0..bufs.len() {
            for j in 0..i {
                let (a, b) = (bufs[i], bufs[j]);
                if a.first <= b.last && b.first <= a.last {
                    assert!(
                        offs[i] + a.size <= offs[j] || offs[j] + b.size <= offs[i],
                        "{i} and {j} overlap"
                    );
                }
            }
        }
    }

    #[test]
    fn chain_reuses_memory() {
        let bufs: [Buffer; 5] = core::array::from_fn(|k| Buffer {
            size: 16 * (k + 1),
            first: k,
            last: k + 1,
        });
        let mut offs = [0; 5];
        let total = plan(&bufs, &mut offs).unwrap();
        check_no_overlap(&bufs, &offs);
        // Largest adjacent pair: 64 + 80.
        assert_eq!(total, 144);
    }

    #[test]
    fn all_live_needs_the_sum() {
        let bufs = [Buffer {
            size: 16,
            first: 0,
            last: 9,
        }; 4];
        let mut offs = [0; 4];
        assert_eq!(plan(&bufs, &mut offs).unwrap(), 64);
        check_no_overlap(&bufs, &offs);
    }
}
