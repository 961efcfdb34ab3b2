//! The optimized convolution kernels against their reference twins, on many random
//! geometries (kernel sizes, strides, dilations, valid/same/causal padding, groups, with
//! and without bias, several batch sizes).
//!
//! `kernels::optimized::conv` only reorders *which* outputs are computed together and
//! skips padded taps by range instead of by test; every output still accumulates its
//! terms in the reference's order, so results must be **bit-identical** for `f32` as
//! well as for `Q16_16`. Buffers are pre-filled with garbage so an element a kernel
//! forgets to write is caught too.

use ember_nn::kernels::geometry::ConvGeometry;
use ember_nn::kernels::optimized::conv as opt;
use ember_nn::kernels::reference::conv as reference;
use ember_nn::layers::{Padding, Window};
use ember_nn::{Error, Q16_16};
use ember_tests::twin::{assert_bits, fill, Bits, Lcg};

/// A random geometry Keras accepts, with its group count.
fn random_geometry(rng: &mut Lcg) -> (ConvGeometry, usize) {
    loop {
        let one_d = rng.range(0, 3) == 0;
        let groups = [1, 1, 2, 3, 4][rng.range(0, 4)];
        let in_c = groups * rng.range(1, 4);
        let out_c = groups * rng.range(1, 11);
        let dilated = rng.range(0, 2) == 0;
        let axis = |rng: &mut Lcg| {
            let size = rng.range(1, 5);
            let (stride, dil) = if dilated {
                (1, rng.range(1, 3))
            } else {
                (rng.range(1, 3), 1)
            };
            Window::new(size, stride, dil).unwrap()
        };
        let (wh, ww) = if one_d {
            (Window::new(1, 1, 1).unwrap(), axis(rng))
        } else {
            (axis(rng), axis(rng))
        };
        let padding = match rng.range(0, 2) {
            0 => Padding::Valid,
            1 => Padding::Same,
            _ if one_d => Padding::Causal,
            _ => Padding::Same,
        };
        let in_h = if one_d { 1 } else { rng.range(1, 9) };
        let in_w = rng.range(1, 10);
        if let Ok(g) = ConvGeometry::new(in_h, in_w, in_c, wh, ww, padding, out_c) {
            return (g, groups);
        }
    }
}

fn twin_case<T: Bits>(rng: &mut Lcg, case: usize) {
    let (g, groups) = random_geometry(rng);
    let what = format!("case {case}: {g:?} groups {groups}");
    let batch = rng.range(1, 3);
    let (in_len, out_len) = (g.input_len().unwrap(), g.output_len().unwrap());
    let w_len = g.k_h * g.k_w * (g.in_c / groups) * g.out_c;
    let x: Vec<T> = fill(rng, batch * in_len, 2.0);
    let w: Vec<T> = fill(rng, w_len, 1.0);
    let bias: Vec<T> = if rng.range(0, 1) == 0 {
        fill(rng, g.out_c, 0.5)
    } else {
        Vec::new()
    };
    let dz: Vec<T> = fill(rng, batch * out_len, 1.0);
    let garbage = T::from_f32(1234.5);

    let (mut y0, mut y1) = (
        vec![garbage; batch * out_len],
        vec![garbage; batch * out_len],
    );
    reference::forward(&g, groups, &x, &w, &bias, &mut y0).unwrap();
    opt::forward(&g, groups, &x, &w, &bias, &mut y1).unwrap();
    assert_bits(&format!("{what} forward"), &y1, &y0);

    let (mut dx0, mut dx1) = (vec![garbage; x.len()], vec![garbage; x.len()]);
    reference::backward_input(&g, groups, &dz, &w, &mut dx0).unwrap();
    opt::backward_input(&g, groups, &dz, &w, &mut dx1).unwrap();
    assert_bits(&format!("{what} backward_input"), &dx1, &dx0);

    let (mut dw0, mut dw1) = (vec![garbage; w_len], vec![garbage; w_len]);
    let (mut db0, mut db1) = (vec![garbage; bias.len()], vec![garbage; bias.len()]);
    reference::backward_params(&g, groups, &x, &dz, &mut dw0, &mut db0).unwrap();
    opt::backward_params(&g, groups, &x, &dz, &mut dw1, &mut db1).unwrap();
    assert_bits(&format!("{what} backward_params dw"), &dw1, &dw0);
    assert_bits(&format!("{what} backward_params db"), &db1, &db0);
}

#[test]
fn optimized_matches_reference_bit_for_bit_f32() {
    let mut rng = Lcg(0x5eed_c0de);
    for case in 0..600 {
        twin_case::<f32>(&mut rng, case);
    }
}

#[test]
fn optimized_matches_reference_bit_for_bit_q16_16() {
    let mut rng = Lcg(0xc0ffee);
    for case in 0..400 {
        twin_case::<Q16_16>(&mut rng, case);
    }
}

/// The reference on hand-computed cases, so the oracle itself is pinned down.
#[test]
fn reference_hand_checked() {
    // 1-D, 4 steps, causal, kernel [2, 1]: y[t] = 2·x[t − 1] + x[t].
    let k = Window::new(2, 1, 1).unwrap();
    let one = Window::new(1, 1, 1).unwrap();
    let g = ConvGeometry::new(1, 4, 1, one, k, Padding::Causal, 1).unwrap();
    let mut y = [0.0f32; 4];
    reference::forward(&g, 1, &[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0], &[], &mut y).unwrap();
    assert_eq!(y, [1.0, 4.0, 7.0, 10.0]);
    // dx[i] = Σ_t dz[t] · w[i − t + 1]: dz = 1 everywhere gives 3, 3, 3, 1.
    let mut dx = [0.0f32; 4];
    reference::backward_input(&g, 1, &[1.0; 4], &[2.0, 1.0], &mut dx).unwrap();
    assert_eq!(dx, [3.0, 3.0, 3.0, 1.0]);
    // dw[0] = Σ_t x[t − 1] = 1 + 2 + 3, dw[1] = Σ_t x[t] = 10, db = 4.
    let (mut dw, mut db) = ([0.0f32; 2], [0.0f32; 1]);
    reference::backward_params(&g, 1, &[1.0, 2.0, 3.0, 4.0], &[1.0; 4], &mut dw, &mut db).unwrap();
    assert_eq!((dw, db), ([6.0, 10.0], [4.0]));
    // Same padding, stride 2, even input of 4: pads 0 before, 1 after; 2 outputs read
    // x[0..3] and x[2..4] + padding.
    let k = Window::new(3, 2, 1).unwrap();
    let g = ConvGeometry::new(1, 4, 1, one, k, Padding::Same, 1).unwrap();
    let mut y = [0.0f32; 2];
    reference::forward(
        &g,
        1,
        &[1.0, 2.0, 3.0, 4.0],
        &[1.0, 10.0, 100.0],
        &[],
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [321.0, 43.0]);
    // Groups: 2 channels, 2 groups, 1×1 kernel: each output scales its own channel.
    let g = ConvGeometry::new(1, 1, 2, one, one, Padding::Valid, 2).unwrap();
    let mut y = [0.0f32; 2];
    reference::forward(&g, 2, &[3.0, 5.0], &[2.0, 10.0], &[1.0, 1.0], &mut y).unwrap();
    assert_eq!(y, [7.0, 51.0]);
}

#[test]
fn bad_lengths_and_geometries_are_errors_in_both_twins() {
    let k = Window::new(3, 1, 1).unwrap();
    let g = ConvGeometry::new(4, 4, 2, k, k, Padding::Same, 4).unwrap();
    let (x, w, b) = (vec![0.5f32; 32], vec![0.1f32; 72], vec![0.0f32; 4]);
    let mut y = vec![0.0f32; 64];
    let mut y_short = vec![0.0f32; 63];
    type Fwd = fn(&ConvGeometry, usize, &[f32], &[f32], &[f32], &mut [f32]) -> ember_nn::Result<()>;
    let twins: [Fwd; 2] = [reference::forward, opt::forward];
    for f in twins {
        assert!(f(&g, 1, &x, &w, &b, &mut y).is_ok());
        assert!(f(&g, 1, &x[1..], &w, &b, &mut y).is_err());
        assert!(f(&g, 1, &x, &w[1..], &b, &mut y).is_err());
        assert!(f(&g, 1, &x, &w, &b[1..], &mut y).is_err());
        assert!(f(&g, 1, &x, &w, &b, &mut y_short).is_err());
        assert_eq!(f(&g, 3, &x, &w, &b, &mut y), Err(Error::InvalidShape));
        assert_eq!(f(&g, 0, &x, &w, &b, &mut y), Err(Error::InvalidShape));
        // Hand-built inconsistent geometries: zero and overflowing sizes.
        let zero = ConvGeometry { stride_h: 0, ..g };
        assert_eq!(f(&zero, 1, &x, &w, &b, &mut y), Err(Error::InvalidShape));
        let far = ConvGeometry {
            dil_w: usize::MAX,
            ..g
        };
        assert_eq!(f(&far, 1, &x, &w, &b, &mut y), Err(Error::InvalidShape));
        let pad = ConvGeometry {
            pad_top: usize::MAX,
            ..g
        };
        assert_eq!(f(&pad, 1, &x, &w, &b, &mut y), Err(Error::InvalidShape));
        // An empty batch is fine and writes nothing.
        assert!(f(&g, 1, &[], &w, &b, &mut []).is_ok());
    }
    let mut dx = vec![0.0f32; 32];
    assert!(reference::backward_input(&g, 1, &y[1..], &w, &mut dx).is_err());
    assert!(opt::backward_input(&g, 1, &y[1..], &w, &mut dx).is_err());
    assert!(opt::backward_input(&g, 1, &y, &w, &mut dx[1..]).is_err());
    let (mut dw, mut db) = (vec![0.0f32; 72], vec![0.0f32; 4]);
    assert!(opt::backward_params(&g, 1, &x, &y, &mut dw, &mut db).is_ok());
    assert!(opt::backward_params(&g, 1, &x, &y, &mut dw[1..], &mut db).is_err());
    assert!(reference::backward_params(&g, 1, &x, &y, &mut dw, &mut db[1..]).is_err());
    assert!(opt::backward_params(&g, 1, &x, &y[1..], &mut dw, &mut db).is_err());
}
