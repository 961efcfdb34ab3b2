//! The Conv2D and DepthwiseConv2D kernels alone at TinyML sizes, reference vs optimized
//! twin, f32 and Q16.16: instructions per MAC (and a bit-identity check of the twins).
//!
//! - Conv2D 3×3, 32×32×16 → 16 filters, `same` (2,359,296 MACs);
//! - DepthwiseConv2D 3×3 on 25×5×64 (DS-CNN keyword spotting), `same`, ×1 (72,000 MACs).

use core::hint::black_box;

use ember_nn::kernels::geometry::ConvGeometry;
use ember_nn::kernels::{optimized, reference};
use ember_nn::layers::{Padding, Window};
use ember_nn::Scalar;
use firmware_common::measure;

const CONV_IN: usize = 32 * 32 * 16;
const CONV_W: usize = 3 * 3 * 16 * 16;
const DW_IN: usize = 25 * 5 * 64;
const DW_W: usize = 3 * 3 * 64;

/// Buffers of one scalar type (statics: too large for the stack).
pub struct Buffers<T: 'static> {
    pub x: &'static mut [T; CONV_IN],
    pub w: &'static mut [T; CONV_W],
    pub y_ref: &'static mut [T; CONV_IN],
    pub y_opt: &'static mut [T; CONV_IN],
    pub b: [T; 64],
}

fn fill<T: Scalar>(v: &mut [T], seed: usize, scale: f32) {
    for (i, d) in v.iter_mut().enumerate() {
        let k = (i * 37 + seed * 11) % 17;
        *d = T::from_f32((k as f32 - 8.0) / 8.0 * scale);
    }
}

fn same_bits<T: Scalar>(a: &[T], b: &[T]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x.to_f32().to_bits() == y.to_f32().to_bits())
}

/// Measures both kernels in `T`; returns whether every twin was bit-identical.
pub fn measure_all<T: Scalar>(what: &str, bufs: &mut Buffers<T>) -> bool {
    let mut ok = true;
    let k3 = Window {
        size: 3,
        stride: 1,
        dilation: 1,
    };
    fill(&mut bufs.x[..], 1, 1.0);
    fill(&mut bufs.w[..], 2, 0.25);
    fill(&mut bufs.b, 3, 0.5);

    // Conv2D 3×3, 32×32×16 → 16, same.
    let Ok(g) = ConvGeometry::new(32, 32, 16, k3, k3, Padding::Same, 16) else {
        return false;
    };
    let macs = (32 * 32 * 9 * 16 * 16) as f32;
    let (x, w, b) = (&bufs.x[..], &bufs.w[..], &bufs.b[..16]);
    let (r, i_ref) = measure::count_instructions(|| {
        reference::conv::forward(black_box(&g), 1, black_box(x), w, b, &mut bufs.y_ref[..])
    });
    ok &= r.is_ok();
    let (r, i_opt) = measure::count_instructions(|| {
        optimized::conv::forward(black_box(&g), 1, black_box(x), w, b, &mut bufs.y_opt[..])
    });
    ok &= r.is_ok();
    let same = same_bits(&bufs.y_ref[..], &bufs.y_opt[..]);
    ok &= same;
    defmt::info!(
        "{=str} Conv2D 3x3 32x32x16->16 kernel: reference {=f32} instructions/MAC, optimized {=f32} instructions/MAC, bit-identical: {=bool}",
        what,
        i_ref as f32 / macs,
        i_opt as f32 / macs,
        same
    );

    // DepthwiseConv2D 3×3 on 25×5×64, same.
    let Ok(g) = ConvGeometry::new(25, 5, 64, k3, k3, Padding::Same, 64) else {
        return false;
    };
    let macs = (25 * 5 * 9 * 64) as f32;
    let (x, w, b) = (&bufs.x[..DW_IN], &bufs.w[..DW_W], &bufs.b[..64]);
    let (r, i_ref) = measure::count_instructions(|| {
        reference::depthwise::forward(
            black_box(&g),
            1,
            black_box(x),
            w,
            b,
            &mut bufs.y_ref[..DW_IN],
        )
    });
    ok &= r.is_ok();
    let (r, i_opt) = measure::count_instructions(|| {
        optimized::depthwise::forward(
            black_box(&g),
            1,
            black_box(x),
            w,
            b,
            &mut bufs.y_opt[..DW_IN],
        )
    });
    ok &= r.is_ok();
    let same = same_bits(&bufs.y_ref[..DW_IN], &bufs.y_opt[..DW_IN]);
    ok &= same;
    defmt::info!(
        "{=str} DepthwiseConv2D 3x3 25x5x64 kernel: reference {=f32} instructions/MAC, optimized {=f32} instructions/MAC, bit-identical: {=bool}",
        what,
        i_ref as f32 / macs,
        i_opt as f32 / macs,
        same
    );
    ok
}
