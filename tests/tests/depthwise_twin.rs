//! The optimized depthwise and separable kernels against their reference twins.
//!
//! `kernels::optimized::{depthwise, separable}` only change which outputs are computed
//! together and where padding is tested; every output still sums the reference's terms in
//! the reference's order, so results must be **bit-identical** for `f32` and `Q16_16`.
//! Many random geometries (kernel sizes, strides, dilations, paddings, depth multipliers,
//! channel counts hitting every block width, with and without bias) are compared on the
//! raw bits of whole buffers; outputs start from garbage so nothing is left unwritten.

use ember_nn::kernels::geometry::ConvGeometry;
use ember_nn::kernels::{optimized, reference};
use ember_nn::layers::{Padding, Window};
use ember_nn::Q16_16;
use ember_tests::twin::{assert_bits, fill, Bits, Lcg};

/// A random geometry that fits (valid windows are drawn until one fits the input).
fn geometry(rng: &mut Lcg, dm: usize) -> ConvGeometry {
    loop {
        let padding = if rng.range(0, 1) == 0 {
            Padding::Valid
        } else {
            Padding::Same
        };
        let one_d = rng.range(0, 3) == 0;
        let win =
            |rng: &mut Lcg| Window::new(rng.range(1, 4), rng.range(1, 3), rng.range(1, 3)).unwrap();
        let h = if one_d {
            Window::new(1, 1, 1).unwrap()
        } else {
            win(rng)
        };
        let w = win(rng);
        let in_h = if one_d { 1 } else { rng.range(1, 7) };
        let in_w = rng.range(1, 9);
        // Channel counts covering every block width (8, 4, 2, 1 and mixes).
        let in_c = rng.range(1, 19);
        if let Ok(g) = ConvGeometry::new(in_h, in_w, in_c, h, w, padding, in_c * dm) {
            return g;
        }
    }
}

fn twin_depthwise<T: Bits>(seed: u64, scale: f32, cases: usize) {
    let mut rng = Lcg(seed);
    for case in 0..cases {
        let dm = rng.range(1, 3);
        let g = geometry(&mut rng, dm);
        let batch = rng.range(1, 3);
        let use_bias = rng.range(0, 1) == 1;
        let what = format!("{:?} case {case} dm={dm} bias={use_bias} {g:?}", T::DTYPE);
        let (in_len, out_len) = (g.input_len().unwrap(), g.output_len().unwrap());
        let taps = g.k_h * g.k_w;
        let x: Vec<T> = fill(&mut rng, batch * in_len, scale);
        let w: Vec<T> = fill(&mut rng, taps * g.out_c, scale);
        let b: Vec<T> = if use_bias {
            fill(&mut rng, g.out_c, scale)
        } else {
            Vec::new()
        };
        let dy: Vec<T> = fill(&mut rng, batch * out_len, scale);

        let y0: Vec<T> = fill(&mut rng, batch * out_len, scale);
        let (mut y_r, mut y_o) = (y0.clone(), y0);
        reference::depthwise::forward(&g, dm, &x, &w, &b, &mut y_r).unwrap();
        optimized::depthwise::forward(&g, dm, &x, &w, &b, &mut y_o).unwrap();
        assert_bits(&format!("forward {what}"), &y_o, &y_r);

        let dx0: Vec<T> = fill(&mut rng, batch * in_len, scale);
        let (mut dx_r, mut dx_o) = (dx0.clone(), dx0);
        reference::depthwise::backward_input(&g, dm, &dy, &w, &mut dx_r).unwrap();
        optimized::depthwise::backward_input(&g, dm, &dy, &w, &mut dx_o).unwrap();
        assert_bits(&format!("backward_input {what}"), &dx_o, &dx_r);

        let dw0: Vec<T> = fill(&mut rng, w.len(), scale);
        let db0: Vec<T> = fill(&mut rng, b.len(), scale);
        let (mut dw_r, mut dw_o) = (dw0.clone(), dw0);
        let (mut db_r, mut db_o) = (db0.clone(), db0);
        reference::depthwise::backward_params(&g, dm, &x, &dy, &mut dw_r, &mut db_r).unwrap();
        optimized::depthwise::backward_params(&g, dm, &x, &dy, &mut dw_o, &mut db_o).unwrap();
        assert_bits(&format!("backward_params dw {what}"), &dw_o, &dw_r);
        assert_bits(&format!("backward_params db {what}"), &db_o, &db_r);
    }
}

fn twin_separable<T: Bits>(seed: u64, scale: f32, cases: usize) {
    let mut rng = Lcg(seed);
    for case in 0..cases {
        let dm = rng.range(1, 3);
        let g = geometry(&mut rng, dm);
        let filters = rng.range(1, 11);
        let batch = rng.range(1, 2);
        let use_bias = rng.range(0, 1) == 1;
        let what = format!(
            "{:?} case {case} dm={dm} filters={filters} bias={use_bias} {g:?}",
            T::DTYPE
        );
        let in_len = g.input_len().unwrap();
        let y_len = batch * g.out_h * g.out_w * filters;
        let taps = g.k_h * g.k_w;
        let x: Vec<T> = fill(&mut rng, batch * in_len, scale);
        let dw: Vec<T> = fill(&mut rng, taps * g.out_c, scale);
        let pw: Vec<T> = fill(&mut rng, g.out_c * filters, scale);
        let b: Vec<T> = if use_bias {
            fill(&mut rng, filters, scale)
        } else {
            Vec::new()
        };
        let dy: Vec<T> = fill(&mut rng, y_len, scale);

        let y0: Vec<T> = fill(&mut rng, y_len, scale);
        let (mut y_r, mut y_o) = (y0.clone(), y0);
        reference::separable::forward(&g, dm, filters, &x, &dw, &pw, &b, &mut y_r).unwrap();
        optimized::separable::forward(&g, dm, filters, &x, &dw, &pw, &b, &mut y_o).unwrap();
        assert_bits(&format!("forward {what}"), &y_o, &y_r);

        let dx0: Vec<T> = fill(&mut rng, batch * in_len, scale);
        let (mut dx_r, mut dx_o) = (dx0.clone(), dx0);
        reference::separable::backward_input(&g, dm, filters, &dy, &dw, &pw, &mut dx_r).unwrap();
        optimized::separable::backward_input(&g, dm, filters, &dy, &dw, &pw, &mut dx_o).unwrap();
        assert_bits(&format!("backward_input {what}"), &dx_o, &dx_r);

        let ddw0: Vec<T> = fill(&mut rng, dw.len(), scale);
        let dpw0: Vec<T> = fill(&mut rng, pw.len(), scale);
        let db0: Vec<T> = fill(&mut rng, b.len(), scale);
        let (mut ddw_r, mut ddw_o) = (ddw0.clone(), ddw0);
        let (mut dpw_r, mut dpw_o) = (dpw0.clone(), dpw0);
        let (mut db_r, mut db_o) = (db0.clone(), db0);
        reference::separable::backward_params(
            &g, dm, filters, &x, &dw, &pw, &dy, &mut ddw_r, &mut dpw_r, &mut db_r,
        )
        .unwrap();
        optimized::separable::backward_params(
            &g, dm, filters, &x, &dw, &pw, &dy, &mut ddw_o, &mut dpw_o, &mut db_o,
        )
        .unwrap();
        assert_bits(&format!("backward_params ddw {what}"), &ddw_o, &ddw_r);
        assert_bits(&format!("backward_params dpw {what}"), &dpw_o, &dpw_r);
        assert_bits(&format!("backward_params db {what}"), &db_o, &db_r);
    }
}

#[test]
fn depthwise_f32_twins_are_bit_identical() {
    twin_depthwise::<f32>(1, 1.0, 400);
    // Wide dynamic range: a changed summation order would show.
    twin_depthwise::<f32>(2, 1000.0, 400);
}

#[test]
fn depthwise_q16_twins_are_bit_identical() {
    twin_depthwise::<Q16_16>(3, 1.0, 400);
    // Large values: saturation must happen in the same places.
    twin_depthwise::<Q16_16>(4, 200.0, 200);
}

#[test]
fn separable_f32_twins_are_bit_identical() {
    twin_separable::<f32>(5, 1.0, 200);
    twin_separable::<f32>(6, 1000.0, 200);
}

#[test]
fn separable_q16_twins_are_bit_identical() {
    twin_separable::<Q16_16>(7, 1.0, 200);
    twin_separable::<Q16_16>(8, 200.0, 100);
}

/// The DS-CNN size and the taps larger than `TAP_BLOCK` (16) are covered too.
#[test]
fn larger_shapes_are_bit_identical() {
    let mut rng = Lcg(9);
    let k = Window::new(3, 1, 1).unwrap();
    let g = ConvGeometry::new(25, 5, 64, k, k, Padding::Same, 64).unwrap();
    let x: Vec<f32> = fill(&mut rng, g.input_len().unwrap(), 1.0);
    let w: Vec<f32> = fill(&mut rng, 9 * 64, 1.0);
    let b: Vec<f32> = fill(&mut rng, 64, 1.0);
    let (mut y_r, mut y_o) = (vec![0.0f32; 25 * 5 * 64], vec![1.0f32; 25 * 5 * 64]);
    reference::depthwise::forward(&g, 1, &x, &w, &b, &mut y_r).unwrap();
    optimized::depthwise::forward(&g, 1, &x, &w, &b, &mut y_o).unwrap();
    assert_bits("DS-CNN forward", &y_o, &y_r);

    let k5 = Window::new(5, 1, 1).unwrap();
    let g = ConvGeometry::new(6, 7, 3, k5, k5, Padding::Same, 6).unwrap();
    let x: Vec<f32> = fill(&mut rng, g.input_len().unwrap(), 1.0);
    let dw: Vec<f32> = fill(&mut rng, 25 * 6, 1.0);
    let pw: Vec<f32> = fill(&mut rng, 6 * 4, 1.0);
    let dy: Vec<f32> = fill(&mut rng, 6 * 7 * 4, 1.0);
    let mut r = (vec![0.0f32; 150], vec![0.0f32; 24], vec![0.0f32; 4]);
    let mut o = (vec![1.0f32; 150], vec![1.0f32; 24], vec![1.0f32; 4]);
    reference::separable::backward_params(
        &g, 2, 4, &x, &dw, &pw, &dy, &mut r.0, &mut r.1, &mut r.2,
    )
    .unwrap();
    optimized::separable::backward_params(
        &g, 2, 4, &x, &dw, &pw, &dy, &mut o.0, &mut o.1, &mut o.2,
    )
    .unwrap();
    assert_bits("5x5 ddw", &o.0, &r.0);
    assert_bits("5x5 dpw", &o.1, &r.1);
    assert_bits("5x5 db", &o.2, &r.2);
}
