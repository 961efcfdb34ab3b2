//! `cast` between the numeric types (`f32`, [`crate::Q16_16`]) and from/to `bool`.

use super::elementwise::same_len;
use crate::{Result, Scalar};

/// Converts every element of `x` to `D`.
///
/// - Same type: a bit-exact copy.
/// - `f32 → Q16_16`: [`Scalar::from_f32`], the crate's one conversion (the same one the
///   converter uses for `--dtype fixed`): `x · 65536` rounded to nearest, ties to even;
///   saturating to [`crate::Q16_16::MIN`] / [`crate::Q16_16::MAX`] outside ±32768
///   (so ±inf saturate too); NaN becomes 0.
/// - `Q16_16 → f32`: the nearest `f32` (exact for |x| < 256, where every Q16.16 value
///   fits f32's 24-bit significand; above, rounded to nearest even).
///
/// Keras: `keras.ops.cast(x, dtype)`, `K.cast(x, dtype)` between float dtypes. Its
/// gradient is `dy` cast back: call `cast(dy, dx)` with the types swapped.
///
/// # Errors
/// [`crate::Error::ShapeMismatch`] unless `x` and `out` have the same length.
///
/// ```
/// use ember_nn::{ops, Q16_16};
/// let mut q = [Q16_16::from_bits(0); 3];
/// ops::cast(&[1.5f32, -0.25, 1e9], &mut q).unwrap();
/// assert_eq!(q, [Q16_16::from_bits(0x18000), Q16_16::from_bits(-0x4000), Q16_16::MAX]);
/// let mut f = [0.0f32; 3];
/// ops::cast(&q, &mut f).unwrap();
/// assert_eq!(f[..2], [1.5, -0.25]);
/// ```
pub fn cast<S: Scalar, D: Scalar>(x: &[S], out: &mut [D]) -> Result<()> {
    same_len(x.len(), out.len())?;
    let same_type = S::DTYPE == D::DTYPE;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = match bytemuck::try_cast::<S, D>(v) {
            Ok(bits) if same_type => bits,
            _ => D::from_f32(v.to_f32()),
        };
    }
    Ok(())
}

/// `true → 1`, `false → 0`.
///
/// Keras: `keras.ops.cast(condition, "float32")`, `K.cast(mask, "float32")`.
///
/// ```
/// use ember_nn::ops;
/// let mut f = [9.0f32; 2];
/// ops::cast_bool(&[true, false], &mut f).unwrap();
/// assert_eq!(f, [1.0, 0.0]);
/// ```
pub fn cast_bool<T: Scalar>(x: &[bool], out: &mut [T]) -> Result<()> {
    same_len(x.len(), out.len())?;
    for (o, &b) in out.iter_mut().zip(x) {
        *o = if b { T::ONE } else { T::ZERO };
    }
    Ok(())
}

/// `x != 0` (NaN is `true`), as a cast to `"bool"`.
///
/// Keras: `keras.ops.cast(x, "bool")`.
///
/// ```
/// use ember_nn::ops;
/// let mut b = [false; 3];
/// ops::cast_to_bool(&[0.0f32, -2.0, f32::NAN], &mut b).unwrap();
/// assert_eq!(b, [false, true, true]);
/// ```
pub fn cast_to_bool<T: Scalar>(x: &[T], out: &mut [bool]) -> Result<()> {
    same_len(x.len(), out.len())?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v != T::ZERO;
    }
    Ok(())
}
