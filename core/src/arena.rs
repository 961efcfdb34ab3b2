//! The arena: one caller-provided byte buffer (a `static` in firmware) that holds every
//! tensor a model writes — activations, gradients, trainable parameters, optimizer state.
//!
//! The model computes an exact memory plan up front ([`crate::model::MemoryPlan`]), then
//! carves the arena into disjoint regions once, at load. Nothing is allocated afterwards.

use crate::{Error, Result};

/// Alignment of the arena start and of every region in it, in bytes.
pub const ARENA_ALIGN: usize = 16;

/// A byte buffer aligned for use as an arena, typically a `static`:
///
/// ```
/// use ember_nn::ArenaBuffer;
/// static mut ARENA: ArenaBuffer<1024> = ArenaBuffer::new();
/// let arena = ArenaBuffer::<64>::new();
/// assert_eq!(arena.0.as_ptr() as usize % 16, 0);
/// ```
#[derive(Debug)]
#[repr(C, align(16))]
pub struct ArenaBuffer<const N: usize>(pub [u8; N]);

impl<const N: usize> ArenaBuffer<N> {
    /// A zeroed buffer (usable in `static` initialisers).
    pub const fn new() -> Self {
        ArenaBuffer([0; N])
    }

    /// The bytes, to pass to a model.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl<const N: usize> Default for ArenaBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Rounds a byte count up to [`ARENA_ALIGN`].
pub const fn align_up(bytes: usize) -> usize {
    bytes.div_ceil(ARENA_ALIGN) * ARENA_ALIGN
}

/// Views the first `needed` bytes of `arena` as elements of `T`, checking alignment and
/// size. Returns the typed slice; the error carries the exact byte count needed.
pub fn typed<T: bytemuck::Pod>(arena: &mut [u8], needed: usize) -> Result<&mut [T]> {
    if arena.len() < needed {
        return Err(Error::ArenaTooSmall {
            needed,
            available: arena.len(),
        });
    }
    if arena.as_ptr() as usize % ARENA_ALIGN != 0 {
        return Err(Error::ArenaMisaligned { align: ARENA_ALIGN });
    }
    bytemuck::try_cast_slice_mut(&mut arena[..needed])
        .map_err(|_| Error::ArenaMisaligned { align: ARENA_ALIGN })
}

/// Borrows `src` immutably and `dst` mutably from one buffer; the two ranges must not
/// overlap (the memory plan guarantees it; overlapping or out-of-range requests are an
/// error, not a panic).
pub fn split_pair<T>(
    buf: &mut [T],
    src: core::ops::Range<usize>,
    dst: core::ops::Range<usize>,
) -> Result<(&[T], &mut [T])> {
    let bad = Error::MalformedBlob("memory plan produced overlapping buffers");
    if src.start > src.end || dst.start > dst.end || src.end.max(dst.end) > buf.len() {
        return Err(bad);
    }
    if src.end <= dst.start {
        let (a, b) = buf.split_at_mut(dst.start);
        Ok((&a[src], &mut b[..dst.end - dst.start]))
    } else if dst.end <= src.start {
        let (a, b) = buf.split_at_mut(src.start);
        Ok((&b[..src.end - src.start], &mut a[dst]))
    } else {
        Err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_small_reports_needed() {
        let mut a = ArenaBuffer::<32>::new();
        assert_eq!(
            typed::<f32>(a.as_mut_bytes(), 48).unwrap_err(),
            Error::ArenaTooSmall {
                needed: 48,
                available: 32
            }
        );
        assert_eq!(typed::<f32>(a.as_mut_bytes(), 32).unwrap().len(), 8);
    }

    #[test]
    fn misaligned_is_an_error() {
        let mut a = ArenaBuffer::<64>::new();
        assert_eq!(
            typed::<f32>(&mut a.0[4..], 16).unwrap_err(),
            Error::ArenaMisaligned { align: 16 }
        );
    }

    #[test]
    fn split_pair_both_orders_and_overlap() {
        let mut v = [0, 1, 2, 3, 4, 5];
        let (s, d) = split_pair(&mut v, 0..2, 3..6).unwrap();
        assert_eq!(s, &[0, 1]);
        d[0] = 9;
        let (s, d) = split_pair(&mut v, 3..5, 0..1).unwrap();
        assert_eq!(s, &[9, 4]);
        assert_eq!(d, &mut [0]);
        assert!(split_pair(&mut v, 0..3, 2..4).is_err());
        assert!(split_pair(&mut v, 0..3, 4..7).is_err());
    }
}
