//! Helpers of [`super::Layer::backward_masked`] for the layers with a bias: which
//! gradients a mask asks for, and the bias gradient alone.

use super::TensorMask;
use crate::kernels::optimized::depthwise::bias_grad;
use crate::{Error, Result, Scalar};

/// The error of a [`Layer::backward_masked`] call with a set of tensors the layer cannot
/// compute gradients for alone.
pub(super) fn unsupported_mask() -> Error {
    Error::InvalidConfig("this layer cannot compute the gradients of that subset of its tensors")
}

/// Checks a [`Layer::backward_masked`] call of a layer with `lens` trainable tensor
/// lengths (Keras order) and its bias at `bias` (if any): `wanted` is every tensor, none,
/// the bias alone, or all but the bias; `dparams` (when given) is as long as the wanted
/// tensors. Returns whether the kernels' (non-bias) gradients and the bias gradient are
/// wanted.
pub(super) fn check_mask(
    lens: &[usize],
    bias: Option<usize>,
    wanted: TensorMask,
    dparams: Option<usize>,
) -> Result<(bool, bool)> {
    let all = TensorMask::first(lens.len());
    if wanted.intersect(all) != wanted {
        return Err(unsupported_mask());
    }
    let with_bias = bias.is_some_and(|b| wanted.contains(b));
    let rest = match bias {
        Some(b) => all.without(b),
        None => all,
    };
    let kernels = match wanted.without(bias.unwrap_or(usize::MAX)) {
        w if w.is_empty() => false,
        w if w == rest => true,
        _ => return Err(unsupported_mask()),
    };
    if let Some(found) = dparams {
        let expected = wanted.select_len(lens);
        if found != expected {
            return Err(Error::ShapeMismatch { expected, found });
        }
    }
    Ok((kernels, with_bias))
}

/// The bias gradient alone: `db[f] = Σ_rows dz[row, f]` over the rows of `dz` (the
/// gradient at the pre-activation, `db.len()` features per row), accumulated as the
/// kernels' combined parameter gradients accumulate it (same result, bit for bit).
pub(super) fn bias_gradient<T: Scalar>(dz: &[T], db: &mut [T]) -> Result<()> {
    let c = db.len();
    if c == 0 || dz.len() % c != 0 {
        return Err(Error::ShapeMismatch {
            expected: c,
            found: dz.len(),
        });
    }
    bias_grad(dz, db, c);
    Ok(())
}

/// [`super::Layer::backward_masked`]'s default for a layer with `n_trainable` trainable
/// tensors: `backward(dparams)` when every tensor is wanted, `backward(None)` when none
/// is (`dparams` must then be absent or empty), [`Error::InvalidConfig`] otherwise.
pub(crate) fn backward_masked_default<T>(
    backward: impl FnOnce(Option<&mut [T]>) -> Result<()>,
    n_trainable: usize,
    dparams: Option<&mut [T]>,
    wanted: TensorMask,
) -> Result<()> {
    if wanted == TensorMask::first(n_trainable) {
        backward(dparams)
    } else if wanted.is_empty() {
        match dparams {
            Some(d) if !d.is_empty() => Err(Error::ShapeMismatch {
                expected: 0,
                found: d.len(),
            }),
            _ => backward(None),
        }
    } else {
        Err(unsupported_mask())
    }
}
