//! The optimized kernels against their reference twins.
//!
//! `kernels::optimized::dense` only reorders *which* outputs are computed together; every
//! output still accumulates its terms in the reference's order, so results must be
//! **bit-identical** for `f32` as well as for `Q16_16` (whose `i64` accumulator is exact
//! anyway). These tests compare the raw bits of whole output buffers, including elements
//! a kernel must leave untouched.

use ember_nn::kernels::optimized::dense as opt;
use ember_nn::kernels::reference::dense as reference;
use ember_nn::Q16_16;
use ember_tests::twin::{assert_bits, fill, Bits, Lcg};

/// Runs all three kernels, reference and optimized, on consistent shapes.
fn twin_shapes<T: Bits>(seed: u64, scale: f32) {
    let mut rng = Lcg(seed);
    for n_in in 1..=19 {
        for n_out in 1..=19 {
            for rows in 1..=5 {
                for use_bias in [true, false] {
                    let what = format!(
                        "{:?} in={n_in} out={n_out} rows={rows} bias={use_bias}",
                        T::DTYPE
                    );
                    let x: Vec<T> = fill(&mut rng, rows * n_in, scale);
                    let w: Vec<T> = fill(&mut rng, n_in * n_out, scale);
                    let b: Vec<T> = if use_bias {
                        fill(&mut rng, n_out, scale)
                    } else {
                        Vec::new()
                    };
                    let dz: Vec<T> = fill(&mut rng, rows * n_out, scale);
                    // Outputs start from garbage so untouched elements are compared too.
                    let y0: Vec<T> = fill(&mut rng, rows * n_out, scale);
                    let dw0: Vec<T> = fill(&mut rng, n_in * n_out, scale);
                    let db0: Vec<T> = fill(&mut rng, b.len(), scale);
                    let dx0: Vec<T> = fill(&mut rng, rows * n_in, scale);

                    let (mut y_r, mut y_o) = (y0.clone(), y0);
                    reference::forward(&x, &w, &b, &mut y_r, n_in, n_out);
                    opt::forward(&x, &w, &b, &mut y_o, n_in, n_out);
                    assert_bits(&format!("forward {what}"), &y_o, &y_r);

                    let (mut dw_r, mut dw_o) = (dw0.clone(), dw0);
                    let (mut db_r, mut db_o) = (db0.clone(), db0);
                    reference::backward_params(&x, &dz, &mut dw_r, &mut db_r, n_in, n_out);
                    opt::backward_params(&x, &dz, &mut dw_o, &mut db_o, n_in, n_out);
                    assert_bits(&format!("backward_params dw {what}"), &dw_o, &dw_r);
                    assert_bits(&format!("backward_params db {what}"), &db_o, &db_r);

                    let (mut dx_r, mut dx_o) = (dx0.clone(), dx0);
                    reference::backward_input(&dz, &w, &mut dx_r, n_in, n_out);
                    opt::backward_input(&dz, &w, &mut dx_o, n_in, n_out);
                    assert_bits(&format!("backward_input {what}"), &dx_o, &dx_r);
                }
            }
        }
    }
}

#[test]
fn f32_twins_are_bit_identical() {
    twin_shapes::<f32>(1, 1.0);
    // Wide dynamic range: rounding differences would show up if the order changed.
    twin_shapes::<f32>(2, 1000.0);
}

#[test]
fn q16_twins_are_bit_identical() {
    twin_shapes::<Q16_16>(3, 2.0);
    // Large values: products and sums saturate when narrowed.
    twin_shapes::<Q16_16>(4, 3000.0);
}

/// A length near `n`: shorter, equal or longer, or empty.
fn perturb(rng: &mut Lcg, n: usize) -> usize {
    match rng.below(6) {
        0 => 0,
        1 => n.saturating_sub(1 + rng.below(n + 1)),
        2 => n + 1 + rng.below(n + 2),
        _ => n,
    }
}

/// Inconsistent slice lengths (as the kernels are public, nothing guarantees them): no
/// panic, and the same truncation as the reference.
fn twin_wrong_lengths<T: Bits>(seed: u64) {
    let mut rng = Lcg(seed);
    for case in 0..4000 {
        let n_in = rng.below(12);
        let n_out = rng.below(12);
        let rows = 1 + rng.below(4);
        let mut v = |n: usize| -> Vec<T> {
            let len = perturb(&mut rng, n);
            fill(&mut rng, len, 1.0)
        };
        let x = v(rows * n_in);
        let w = v(n_in * n_out);
        let b = v(n_out);
        let dz = v(rows * n_out);
        let y0 = v(rows * n_out);
        let dw0 = v(n_in * n_out);
        let db0 = v(n_out);
        let dx0 = v(rows * n_in);
        let what = format!(
            "case {case}: in={n_in} out={n_out} x={} w={} b={} dz={} y={} dw={} db={} dx={}",
            x.len(),
            w.len(),
            b.len(),
            dz.len(),
            y0.len(),
            dw0.len(),
            db0.len(),
            dx0.len()
        );

        let (mut y_r, mut y_o) = (y0.clone(), y0);
        reference::forward(&x, &w, &b, &mut y_r, n_in, n_out);
        opt::forward(&x, &w, &b, &mut y_o, n_in, n_out);
        assert_bits(&format!("forward {what}"), &y_o, &y_r);

        let (mut dw_r, mut dw_o) = (dw0.clone(), dw0);
        let (mut db_r, mut db_o) = (db0.clone(), db0);
        reference::backward_params(&x, &dz, &mut dw_r, &mut db_r, n_in, n_out);
        opt::backward_params(&x, &dz, &mut dw_o, &mut db_o, n_in, n_out);
        assert_bits(&format!("dw {what}"), &dw_o, &dw_r);
        assert_bits(&format!("db {what}"), &db_o, &db_r);

        let (mut dx_r, mut dx_o) = (dx0.clone(), dx0);
        reference::backward_input(&dz, &w, &mut dx_r, n_in, n_out);
        opt::backward_input(&dz, &w, &mut dx_o, n_in, n_out);
        assert_bits(&format!("backward_input {what}"), &dx_o, &dx_r);
    }
}

#[test]
fn wrong_lengths_do_not_panic_and_truncate_like_the_reference() {
    twin_wrong_lengths::<f32>(5);
    twin_wrong_lengths::<Q16_16>(6);
}

#[test]
fn extreme_dimensions_do_not_panic() {
    let x = [1.0f32; 8];
    let mut out = [0.0f32; 8];
    let mut out2 = [0.0f32; 8];
    for (n_in, n_out) in [
        (usize::MAX, 1),
        (1, usize::MAX),
        (usize::MAX, usize::MAX),
        (usize::MAX / 2 + 1, 2),
        (3, usize::MAX / 4 + 1),
        (0, 5),
        (5, 0),
    ] {
        opt::forward(&x, &x, &x, &mut out, n_in, n_out);
        let (dw, db) = out.split_at_mut(4);
        opt::backward_params(&x, &x, dw, db, n_in, n_out);
        opt::backward_input(&x, &x, &mut out2, n_in, n_out);
    }
}
