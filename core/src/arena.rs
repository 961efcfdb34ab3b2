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

/// A buffer split around one range written mutably (`dst`), so that any other range
/// that does not overlap it can still be read.
#[derive(Debug)]
pub struct Around<'s, T> {
    lo: &'s [T],
    hi: &'s [T],
    at: usize,
    end: usize,
}

/// Splits `buf` around `dst`: returns the `dst` part mutably and an [`Around`] to read
/// the rest. An out-of-range `dst` is an error.
pub fn split_around<T>(
    buf: &mut [T],
    dst: core::ops::Range<usize>,
) -> Result<(&mut [T], Around<'_, T>)> {
    if dst.start > dst.end || dst.end > buf.len() {
        return Err(Error::MalformedBlob(
            "memory plan produced overlapping buffers",
        ));
    }
    let (lo, rest) = buf.split_at_mut(dst.start);
    let (mid, hi) = rest.split_at_mut(dst.end - dst.start);
    Ok((
        mid,
        Around {
            lo,
            hi,
            at: dst.start,
            end: dst.end,
        },
    ))
}

impl<'s, T> Around<'s, T> {
    /// All of `buf` readable (no mutable part).
    pub fn whole(buf: &'s [T]) -> Self {
        Around {
            lo: &[],
            hi: buf,
            at: 0,
            end: 0,
        }
    }

    /// The elements `r` of the original buffer; an error if `r` overlaps the mutable part
    /// or lies outside the buffer.
    pub fn get(&self, r: core::ops::Range<usize>) -> Result<&'s [T]> {
        let bad = Error::MalformedBlob("memory plan produced overlapping buffers");
        if r.end <= self.at {
            self.lo.get(r).ok_or(bad)
        } else if r.start >= self.end {
            self.hi.get(r.start - self.end..r.end - self.end).ok_or(bad)
        } else {
            Err(bad)
        }
    }
}

/// Borrows several non-overlapping ranges of `buf` mutably at once (`None` ranges give
/// `None`), in the order given; overlapping or out-of-range requests are an error.
pub fn split_many<'s, T, const K: usize>(
    buf: &'s mut [T],
    ranges: &[Option<core::ops::Range<usize>>],
) -> Result<heapless::Vec<Option<&'s mut [T]>, K>> {
    let bad = Error::MalformedBlob("memory plan produced overlapping buffers");
    let mut order: heapless::Vec<usize, K> =
        (0..ranges.len()).filter(|&i| ranges[i].is_some()).collect();
    if order.len() != ranges.iter().filter(|r| r.is_some()).count() {
        return Err(Error::InvalidConfig("too many buffers requested at once"));
    }
    order.sort_unstable_by_key(|&i| ranges[i].as_ref().map_or(0, |r| r.start));
    let mut out: heapless::Vec<Option<&'s mut [T]>, K> = heapless::Vec::new();
    for _ in ranges {
        out.push(None)
            .map_err(|_| Error::InvalidConfig("too many buffers requested at once"))?;
    }
    let mut rest = buf;
    let mut consumed = 0usize;
    for i in order {
        let Some(r) = ranges[i].clone() else { continue };
        if r.start < consumed || r.start > r.end || r.end - consumed > rest.len() {
            return Err(bad);
        }
        let tail = core::mem::take(&mut rest);
        let (_, tail) = tail.split_at_mut(r.start - consumed);
        let (piece, tail) = tail.split_at_mut(r.end - r.start);
        out[i] = Some(piece);
        rest = tail;
        consumed = r.end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_many_and_around() {
        let mut b = [0i32, 1, 2, 3, 4, 5, 6, 7];
        let parts: heapless::Vec<_, 4> =
            split_many(&mut b, &[Some(4..6), None, Some(0..2)]).unwrap();
        assert_eq!(parts[0].as_deref(), Some(&[4, 5][..]));
        assert!(parts[1].is_none());
        assert_eq!(parts[2].as_deref(), Some(&[0, 1][..]));
        drop(parts);
        assert!(split_many::<i32, 4>(&mut b, &[Some(0..3), Some(2..4)]).is_err());
        assert!(split_many::<i32, 4>(&mut b, &[Some(6..9)]).is_err());
        let (mid, rest) = split_around(&mut b, 2..4).unwrap();
        mid[0] = 9;
        assert_eq!(rest.get(0..2).unwrap(), &[0, 1]);
        assert_eq!(rest.get(5..8).unwrap(), &[5, 6, 7]);
        assert!(rest.get(1..3).is_err());
        assert!(rest.get(7..9).is_err());
    }

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
