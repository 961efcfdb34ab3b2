//! Finite-difference gradient checks (central differences, f32): Dense for every
//! activation, with and without bias, on rank-2 and rank-3 inputs; and both losses.

use ember_nn::layers::{Context, Dense, Layer};
use ember_nn::{Activation, Loss, Shape, TensorView, TensorViewMut};
use ember_tests::lcg_values as values;

const H: f32 = 1e-2;

fn check(what: &str, analytic: f32, numeric: f32) {
    assert!(
        (analytic - numeric).abs() <= 2e-3 + 2e-3 * numeric.abs(),
        "{what}: analytic {analytic}, numeric {numeric}"
    );
}

/// L(x, W, b) = Σ c ⊙ dense(x).
fn objective(
    d: &Dense,
    input: Shape,
    batch: usize,
    params: &[&[f32]],
    x: &[f32],
    c: &[f32],
) -> f32 {
    let out = d.output_shape(input).unwrap();
    let mut y = vec![0.0f32; batch * out.len()];
    d.forward(
        params,
        TensorView::new(input.with_batch(batch).unwrap(), x).unwrap(),
        TensorViewMut::new(out.with_batch(batch).unwrap(), &mut y).unwrap(),
        &Context::default(),
    )
    .unwrap();
    y.iter().zip(c).map(|(a, b)| a * b).sum()
}

/// Smallest |pre-activation| of the layer on `x`.
fn min_abs_pre(d: &Dense, input: Shape, batch: usize, w: &[f32], b: &[f32], x: &[f32]) -> f32 {
    let lin = Dense {
        activation: Activation::Linear,
        ..*d
    };
    let params: Vec<&[f32]> = if d.use_bias { vec![w, b] } else { vec![w] };
    let out = d.output_shape(input).unwrap();
    let mut z = vec![0.0f32; batch * out.len()];
    lin.forward(
        &params,
        TensorView::new(input.with_batch(batch).unwrap(), x).unwrap(),
        TensorViewMut::new(out.with_batch(batch).unwrap(), &mut z).unwrap(),
        &Context::default(),
    )
    .unwrap();
    z.iter().fold(f32::MAX, |m, v| m.min(v.abs()))
}

fn gradcheck_dense(activation: Activation, use_bias: bool, dims: &[usize], units: usize) {
    let what = format!("{activation:?} bias={use_bias} input {dims:?}");
    let d = Dense {
        units: units as u32,
        activation,
        use_bias,
    };
    let input = Shape::new(dims).unwrap();
    let batch = 3;
    let n_in = input.last();
    let out = d.output_shape(input).unwrap();
    // Pick (deterministically) values whose pre-activations stay 2H away from relu's
    // kink: every ±H step below moves a pre-activation by at most H (|x|, |w| < 1), so
    // the central difference never straddles the kink.
    let (mut w, mut b, mut x) = (Vec::new(), Vec::new(), Vec::new());
    for seed in 0..1000u64 {
        w = values(n_in * units, 10 * seed + 1);
        b = values(units, 10 * seed + 2);
        x = values(batch * input.len(), 10 * seed + 3);
        if activation != Activation::Relu || min_abs_pre(&d, input, batch, &w, &b, &x) > 2.0 * H {
            break;
        }
    }
    assert!(activation != Activation::Relu || min_abs_pre(&d, input, batch, &w, &b, &x) > 2.0 * H);
    let c = values(batch * out.len(), 4);

    // Analytic: forward, then backward with dy = c.
    let mut y = vec![0.0f32; batch * out.len()];
    {
        let params: Vec<&[f32]> = if use_bias { vec![&w, &b] } else { vec![&w] };
        d.forward(
            &params,
            TensorView::new(input.with_batch(batch).unwrap(), &x).unwrap(),
            TensorViewMut::new(out.with_batch(batch).unwrap(), &mut y).unwrap(),
            &Context::default(),
        )
        .unwrap();
    }
    let mut dy = c.clone();
    let mut dx = vec![0.0f32; x.len()];
    let mut dp = vec![0.0f32; w.len() + if use_bias { b.len() } else { 0 }];
    {
        let params: Vec<&[f32]> = if use_bias { vec![&w, &b] } else { vec![&w] };
        d.backward(
            &params,
            TensorView::new(input.with_batch(batch).unwrap(), &x).unwrap(),
            TensorView::new(out.with_batch(batch).unwrap(), &y).unwrap(),
            &mut dy,
            Some(&mut dx),
            Some(&mut dp),
            &Context::default(),
        )
        .unwrap();
    }

    let eval = |w: &[f32], b: &[f32], x: &[f32]| {
        let params: Vec<&[f32]> = if use_bias { vec![w, b] } else { vec![w] };
        objective(&d, input, batch, &params, x, &c)
    };
    for i in 0..w.len() {
        let orig = w[i];
        w[i] = orig + H;
        let up = eval(&w, &b, &x);
        w[i] = orig - H;
        let down = eval(&w, &b, &x);
        w[i] = orig;
        check(&format!("{what} dW[{i}]"), dp[i], (up - down) / (2.0 * H));
    }
    if use_bias {
        for j in 0..b.len() {
            let orig = b[j];
            b[j] = orig + H;
            let up = eval(&w, &b, &x);
            b[j] = orig - H;
            let down = eval(&w, &b, &x);
            b[j] = orig;
            check(
                &format!("{what} db[{j}]"),
                dp[w.len() + j],
                (up - down) / (2.0 * H),
            );
        }
    }
    for i in 0..x.len() {
        let orig = x[i];
        x[i] = orig + H;
        let up = eval(&w, &b, &x);
        x[i] = orig - H;
        let down = eval(&w, &b, &x);
        x[i] = orig;
        check(&format!("{what} dx[{i}]"), dx[i], (up - down) / (2.0 * H));
    }
}

#[test]
fn dense_gradients_match_finite_differences() {
    for activation in [
        Activation::Linear,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
    ] {
        for use_bias in [true, false] {
            gradcheck_dense(activation, use_bias, &[5], 4);
            gradcheck_dense(activation, use_bias, &[2, 3], 3);
        }
    }
}

#[test]
fn loss_gradients_match_finite_differences() {
    let rows = 3;
    let last = 4;
    // Predictions: positive and normalised per row, as a softmax output would be.
    let raw: Vec<f32> = values(rows * last, 7).iter().map(|v| v.exp()).collect();
    let mut p = raw.clone();
    for r in p.chunks_mut(last) {
        let s: f32 = r.iter().sum();
        r.iter_mut().for_each(|v| *v /= s);
    }
    let mut t = vec![0.0f32; rows * last];
    for (r, row) in t.chunks_mut(last).enumerate() {
        row[(r * 3) % last] = 1.0;
    }
    for loss in [Loss::mean_squared_error(), Loss::categorical_crossentropy()] {
        let mut g = vec![0.0f32; p.len()];
        loss.value_and_grad(&p, &t, None, &mut g, last).unwrap();
        let h = 1e-3;
        for i in 0..p.len() {
            let mut q = p.clone();
            let mut scratch = vec![0.0f32; p.len()];
            q[i] = p[i] + h;
            let up = loss
                .value_and_grad(&q, &t, None, &mut scratch, last)
                .unwrap();
            q[i] = p[i] - h;
            let down = loss
                .value_and_grad(&q, &t, None, &mut scratch, last)
                .unwrap();
            check(&format!("{loss:?} dp[{i}]"), g[i], (up - down) / (2.0 * h));
        }
    }
}
