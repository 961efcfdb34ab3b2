//! Softmax along one axis of a row-major tensor, forward and backward.
//!
//! The tensor is seen as `(outer, n, inner)`: the softmax runs over the middle axis of
//! length `n`, whose elements are `inner` apart. The last axis is `inner = 1`.

use crate::Scalar;

/// `y := e^(y − max) / Σ e^(y − max)` along the middle axis of `(outer, n, inner)`, in
/// place (Keras: `keras.activations.softmax(x, axis)`). Does nothing if a size is 0 or
/// `y` is shorter than `outer · n · inner`.
pub fn forward<T: Scalar>(y: &mut [T], n: usize, inner: usize) {
    if n == 0 || inner == 0 {
        return;
    }
    for block in y.chunks_exact_mut(n * inner) {
        for i in 0..inner {
            let mut max = block[i];
            for k in 0..n {
                max = max.max(block[k * inner + i]);
            }
            let mut sum = T::ZERO;
            for k in 0..n {
                let v = &mut block[k * inner + i];
                *v = (*v - max).exp();
                sum = sum + *v;
            }
            for k in 0..n {
                let v = &mut block[k * inner + i];
                *v = v.div(sum);
            }
        }
    }
}

/// `dy := y ⊙ (dy − Σ dy ⊙ y)` along the middle axis of `(outer, n, inner)`: the input
/// gradient of [`forward`] given its output `y`.
pub fn backward<T: Scalar>(y: &[T], dy: &mut [T], n: usize, inner: usize) {
    if n == 0 || inner == 0 {
        return;
    }
    for (dblock, yblock) in dy
        .chunks_exact_mut(n * inner)
        .zip(y.chunks_exact(n * inner))
    {
        for i in 0..inner {
            let mut dot = T::ZERO.widen();
            for k in 0..n {
                dot = T::mac(dot, dblock[k * inner + i], yblock[k * inner + i]);
            }
            let dot = T::narrow(dot);
            for k in 0..n {
                let d = &mut dblock[k * inner + i];
                *d = yblock[k * inner + i] * (*d - dot);
            }
        }
    }
}

/// `y := (y − max) − log Σ e^(y − max)` along the middle axis of `(outer, n, inner)`,
/// in place (Keras: `keras.activations.log_softmax(x, axis)`).
pub fn log_forward<T: Scalar>(y: &mut [T], n: usize, inner: usize) {
    if n == 0 || inner == 0 {
        return;
    }
    for block in y.chunks_exact_mut(n * inner) {
        for i in 0..inner {
            let mut max = block[i];
            for k in 0..n {
                max = max.max(block[k * inner + i]);
            }
            let mut sum = T::ZERO;
            for k in 0..n {
                sum = sum + (block[k * inner + i] - max).exp();
            }
            let lse = sum.ln();
            for k in 0..n {
                let v = &mut block[k * inner + i];
                *v = (*v - max) - lse;
            }
        }
    }
}

/// `dy := dy − e^y · Σ dy` along the middle axis of `(outer, n, inner)`: the input
/// gradient of [`log_forward`] given its output `y`.
pub fn log_backward<T: Scalar>(y: &[T], dy: &mut [T], n: usize, inner: usize) {
    if n == 0 || inner == 0 {
        return;
    }
    for (dblock, yblock) in dy
        .chunks_exact_mut(n * inner)
        .zip(y.chunks_exact(n * inner))
    {
        for i in 0..inner {
            let mut sum = T::ZERO;
            for k in 0..n {
                sum = sum + dblock[k * inner + i];
            }
            for k in 0..n {
                let d = &mut dblock[k * inner + i];
                *d = *d - yblock[k * inner + i].exp() * sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_axis_equals_transposed_last_axis() {
        // (n=2, inner=3) over axis 0 == last-axis softmax of the transpose.
        let mut a = [1.0f32, 2.0, 3.0, -1.0, 0.5, 7.0];
        forward(&mut a, 2, 3);
        let mut t = [1.0f32, -1.0, 2.0, 0.5, 3.0, 7.0];
        forward(&mut t, 2, 1);
        for i in 0..2 {
            for j in 0..3 {
                assert!((a[i * 3 + j] - t[j * 2 + i]).abs() < 1e-7);
            }
        }
    }
}
