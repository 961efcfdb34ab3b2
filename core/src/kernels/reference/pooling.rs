//! Pooling kernels: windowed max and average over a channels-last `(h, w, c)` sample
//! ([`ConvGeometry`], 1-D as height 1), and global max and average over all positions.
//!
//! Every function takes whole batches (`x.len()` a multiple of one sample) and only
//! iterates; the layers in [`crate::layers`] check the slice lengths first. Taps that fall
//! in the padding (`padding="same"`) are skipped: they are never a maximum and never
//! counted in an average, as in Keras (XLA pads max pooling with `-inf`, and Keras divides
//! an average by the count of valid taps).
//!
//! Backward passes need no scratch memory: they zero `dx` and scatter each output's
//! gradient onto the inputs it came from.

use crate::kernels::geometry::ConvGeometry;
use crate::Scalar;

/// Window taps `k` (of `size`) of output `o` that land inside an axis of `n` inputs, for
/// windows starting at `o·stride − pad`: input `o·stride + k − pad` must be in `0..n`.
/// Computed directly, so a huge window costs nothing outside the input.
#[inline]
fn valid_taps(o: usize, stride: usize, pad: usize, size: usize, n: usize) -> (usize, usize) {
    // `o·stride < n + pad` for Keras's geometries (ConvGeometry checked the sizes).
    let start = o.saturating_mul(stride);
    let lo = pad.saturating_sub(start);
    let hi = size.min(n.saturating_add(pad).saturating_sub(start));
    (lo, hi.max(lo))
}

/// Calls `f(input index)` for every valid (non-padding) tap of output `(oy, ox)`, channel
/// `ch`, in row-major window order (`ky` outer, `kx` inner), indices within one sample.
#[inline]
fn for_each_tap(g: &ConvGeometry, oy: usize, ox: usize, ch: usize, mut f: impl FnMut(usize)) {
    let (y0, y1) = valid_taps(oy, g.stride_h, g.pad_top, g.k_h, g.in_h);
    let (x0, x1) = valid_taps(ox, g.stride_w, g.pad_left, g.k_w, g.in_w);
    for ky in y0..y1 {
        let r = oy * g.stride_h + ky - g.pad_top;
        for kx in x0..x1 {
            let c = ox * g.stride_w + kx - g.pad_left;
            f((r * g.in_w + c) * g.in_c + ch);
        }
    }
}

/// Valid taps of output `(oy, ox)`: Keras's window count (a reduce-window sum of ones).
#[inline]
fn window_count(g: &ConvGeometry, oy: usize, ox: usize) -> usize {
    let (y0, y1) = valid_taps(oy, g.stride_h, g.pad_top, g.k_h, g.in_h);
    let (x0, x1) = valid_taps(ox, g.stride_w, g.pad_left, g.k_w, g.in_w);
    (y1 - y0) * (x1 - x0)
}

/// Index (within the sample) of the **first** maximum among the valid taps of output
/// `(oy, ox)`, channel `ch`, scanning the window row-major: a later tap replaces the
/// current best only if strictly greater. `None` if the window has no valid tap (never
/// the case for Keras's `valid`/`same` geometry).
#[inline]
fn argmax<T: Scalar>(g: &ConvGeometry, xs: &[T], oy: usize, ox: usize, ch: usize) -> Option<usize> {
    let mut best: Option<(usize, T)> = None;
    for_each_tap(g, oy, ox, ch, |i| {
        let v = xs.get(i).copied().unwrap_or(T::ZERO);
        let better = match best {
            None => true,
            Some((_, b)) => v > b,
        };
        if better {
            best = Some((i, v));
        }
    });
    best.map(|(i, _)| i)
}

/// Max pooling: `y[oy, ox, c] = max` over the valid taps of the window.
pub fn max_forward<T: Scalar>(g: &ConvGeometry, x: &[T], y: &mut [T]) {
    let (Some(n_in), Some(n_out)) = (g.input_len(), g.output_len()) else {
        return;
    };
    if n_in == 0 || n_out == 0 {
        return;
    }
    for (xs, ys) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)) {
        let mut o = 0;
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for ch in 0..g.in_c {
                    let v = argmax(g, xs, oy, ox, ch).and_then(|i| xs.get(i).copied());
                    if let Some(yo) = ys.get_mut(o) {
                        *yo = v.unwrap_or(T::ZERO);
                    }
                    o += 1;
                }
            }
        }
    }
}

/// Max pooling's input gradient: each output's `dy` goes to the first maximum of its
/// window (row-major scan), summed where windows overlap — the rule of JAX's gradient of
/// `lax.reduce_window` max (XLA `SelectAndScatter` with `>=`). Overwrites `dx`.
pub fn max_backward<T: Scalar>(g: &ConvGeometry, x: &[T], dy: &[T], dx: &mut [T]) {
    let (Some(n_in), Some(n_out)) = (g.input_len(), g.output_len()) else {
        return;
    };
    if n_in == 0 || n_out == 0 {
        return;
    }
    dx.fill(T::ZERO);
    for ((xs, ds), dxs) in x
        .chunks_exact(n_in)
        .zip(dy.chunks_exact(n_out))
        .zip(dx.chunks_exact_mut(n_in))
    {
        let mut o = 0;
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for ch in 0..g.in_c {
                    let d = ds.get(o).copied().unwrap_or(T::ZERO);
                    if let Some(t) = argmax(g, xs, oy, ox, ch).and_then(|i| dxs.get_mut(i)) {
                        *t = *t + d;
                    }
                    o += 1;
                }
            }
        }
    }
}

/// Average pooling: `y[oy, ox, c] = (Σ valid taps) / count`, the count of valid taps
/// (`pool_h · pool_w` with `valid` padding; fewer at `same`-padded borders). The sum is
/// accumulated in [`Scalar::Acc`] and rounded once before the division.
pub fn avg_forward<T: Scalar>(g: &ConvGeometry, x: &[T], y: &mut [T]) {
    let (Some(n_in), Some(n_out)) = (g.input_len(), g.output_len()) else {
        return;
    };
    if n_in == 0 || n_out == 0 {
        return;
    }
    for (xs, ys) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)) {
        let mut o = 0;
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let count = T::from_usize(window_count(g, oy, ox));
                for ch in 0..g.in_c {
                    let mut acc = T::ZERO.widen();
                    for_each_tap(g, oy, ox, ch, |i| {
                        acc = T::mac(acc, xs.get(i).copied().unwrap_or(T::ZERO), T::ONE);
                    });
                    if let Some(yo) = ys.get_mut(o) {
                        *yo = T::narrow(acc).div(count);
                    }
                    o += 1;
                }
            }
        }
    }
}

/// Average pooling's input gradient: `dx[i] = Σ dy[o] / count[o]` over the windows `o`
/// that read input `i` (the transpose of the forward pass). Overwrites `dx`.
pub fn avg_backward<T: Scalar>(g: &ConvGeometry, dy: &[T], dx: &mut [T]) {
    let (Some(n_in), Some(n_out)) = (g.input_len(), g.output_len()) else {
        return;
    };
    if n_in == 0 || n_out == 0 {
        return;
    }
    dx.fill(T::ZERO);
    for (ds, dxs) in dy.chunks_exact(n_out).zip(dx.chunks_exact_mut(n_in)) {
        let mut o = 0;
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let count = T::from_usize(window_count(g, oy, ox));
                for ch in 0..g.in_c {
                    let d = ds.get(o).copied().unwrap_or(T::ZERO).div(count);
                    for_each_tap(g, oy, ox, ch, |i| {
                        if let Some(t) = dxs.get_mut(i) {
                            *t = *t + d;
                        }
                    });
                    o += 1;
                }
            }
        }
    }
}

/// Global max pooling of samples of `positions × channels` values (channels last):
/// `y[c] = max_p x[p, c]`.
pub fn global_max_forward<T: Scalar>(positions: usize, channels: usize, x: &[T], y: &mut [T]) {
    let Some(n_in) = positions.checked_mul(channels).filter(|&n| n > 0) else {
        return;
    };
    for (xs, ys) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(channels)) {
        ys.copy_from_slice(&xs[..channels]);
        for row in xs.chunks_exact(channels).skip(1) {
            for (m, &v) in ys.iter_mut().zip(row) {
                if v > *m {
                    *m = v;
                }
            }
        }
    }
}

/// Global max pooling's input gradient, JAX's rule for `max` over axes (a reduction, not
/// a window): `dy[c]` is **split equally** among all positions equal to the maximum,
/// `dx[p, c] = dy[c] / ties[c]` there and 0 elsewhere. Overwrites `dx`; needs no scratch
/// (the maximum and the tie count are recomputed per channel from `x`).
pub fn global_max_backward<T: Scalar>(
    positions: usize,
    channels: usize,
    x: &[T],
    dy: &[T],
    dx: &mut [T],
) {
    let Some(n_in) = positions.checked_mul(channels).filter(|&n| n > 0) else {
        return;
    };
    for ((xs, ds), dxs) in x
        .chunks_exact(n_in)
        .zip(dy.chunks_exact(channels))
        .zip(dx.chunks_exact_mut(n_in))
    {
        for (ch, &d) in ds.iter().enumerate() {
            let column = || xs.iter().skip(ch).step_by(channels);
            let max = column().fold(xs[ch], |m, &v| if v > m { v } else { m });
            let ties = column().filter(|&&v| v == max).count();
            let share = d.div(T::from_usize(ties.max(1)));
            for (t, &v) in dxs.iter_mut().skip(ch).step_by(channels).zip(column()) {
                *t = if v == max { share } else { T::ZERO };
            }
        }
    }
}

/// Global average pooling of samples of `positions × channels` values:
/// `y[c] = (Σ_p x[p, c]) / positions`, summed in [`Scalar::Acc`].
pub fn global_avg_forward<T: Scalar>(positions: usize, channels: usize, x: &[T], y: &mut [T]) {
    let Some(n_in) = positions.checked_mul(channels).filter(|&n| n > 0) else {
        return;
    };
    let n = T::from_usize(positions);
    for (xs, ys) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(channels)) {
        for (ch, yc) in ys.iter_mut().enumerate() {
            let mut acc = T::ZERO.widen();
            for &v in xs.iter().skip(ch).step_by(channels) {
                acc = T::mac(acc, v, T::ONE);
            }
            *yc = T::narrow(acc).div(n);
        }
    }
}

/// Global average pooling's input gradient: `dx[p, c] = dy[c] / positions`.
pub fn global_avg_backward<T: Scalar>(positions: usize, channels: usize, dy: &[T], dx: &mut [T]) {
    let Some(n_in) = positions.checked_mul(channels).filter(|&n| n > 0) else {
        return;
    };
    let n = T::from_usize(positions);
    for (ds, dxs) in dy.chunks_exact(channels).zip(dx.chunks_exact_mut(n_in)) {
        for row in dxs.chunks_exact_mut(channels) {
            for (t, &d) in row.iter_mut().zip(ds) {
                *t = d.div(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Padding, Window};

    #[test]
    fn valid_taps_clip_windows_to_the_input() {
        // Pool 3, stride 2, same on 7: pad 1 before; window 0 skips tap 0, window 3
        // (inputs 5, 6, 7) skips tap 2.
        assert_eq!(valid_taps(0, 2, 1, 3, 7), (1, 3));
        assert_eq!(valid_taps(1, 2, 1, 3, 7), (0, 3));
        assert_eq!(valid_taps(3, 2, 1, 3, 7), (0, 2));
        // A window far larger than the input sees only the input.
        assert_eq!(valid_taps(0, 1, 5, usize::MAX, 3), (5, 8));
    }

    #[test]
    fn same_padding_counts_only_valid_taps() {
        let w = Window::new(3, 2, 1).unwrap();
        let g = ConvGeometry::new(7, 8, 1, w, w, Padding::Same, 1).unwrap();
        // Rows pad 1 before (7 is odd), columns 0 before and 1 after (8 is even).
        assert_eq!((g.pad_top, g.pad_left), (1, 0));
        assert_eq!(window_count(&g, 0, 0), 2 * 3);
        assert_eq!(window_count(&g, 3, 3), 2 * 2);
        assert_eq!(window_count(&g, 1, 1), 9);
        let x: [f32; 56] = core::array::from_fn(|i| i as f32);
        let mut y = [0.0f32; 16];
        avg_forward(&g, &x, &mut y);
        // Output (0, 0): rows 0–1, columns 0–2 → mean of 0, 1, 2, 8, 9, 10.
        assert_eq!(y[0], 5.0);
        max_forward(&g, &x, &mut y);
        assert_eq!(y[15], 55.0);
    }
}
