//! Fan-in and fan-out of a weight shape: Keras's `compute_fans`
//! (`keras/src/initializers/random_initializers.py`).

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Shape, MAX_RANK};

/// The number of input and output units of a weight tensor of shape `shape`, as Keras's
/// `compute_fans(shape)` returns them:
///
/// | rank | `fan_in` | `fan_out` |
/// |---|---|---|
/// | 0 | 1 | 1 |
/// | 1 | `shape[0]` | `shape[0]` |
/// | 2 (Dense kernel `(in, out)`) | `shape[0]` | `shape[1]` |
/// | ≥ 3 (conv kernel `(*spatial, in, out)`) | `shape[-2] · rf` | `shape[-1] · rf` |
///
/// where the receptive field size `rf` is the product of all dimensions but the last two.
///
/// ```
/// use ember_nn::initializers::compute_fans;
/// use ember_nn::Shape;
/// // Dense(16) on 8 features: kernel (8, 16).
/// assert_eq!(compute_fans(&Shape::new(&[8, 16]).unwrap()), (8, 16));
/// // Conv2D(32, 3×3) on 4 channels: kernel (3, 3, 4, 32).
/// assert_eq!(compute_fans(&Shape::new(&[3, 3, 4, 32]).unwrap()), (36, 288));
/// ```
pub fn compute_fans(shape: &Shape) -> (usize, usize) {
    let dims = shape.dims();
    match dims.len() {
        0 => (1, 1),
        1 => (dims[0] as usize, dims[0] as usize),
        2 => (dims[0] as usize, dims[1] as usize),
        r => {
            let receptive_field: usize = dims[..r - 2].iter().map(|&d| d as usize).product();
            (
                dims[r - 2] as usize * receptive_field,
                dims[r - 1] as usize * receptive_field,
            )
        }
    }
}

/// Explicit fan axes: Keras's `VarianceScaling(input_axes=..., output_axes=...)`.
///
/// `fan_in` is the product of `shape[a]` over the input axes and `fan_out` over the
/// output axes; negative axes count from the end, as in Python. Keras uses them only when
/// *both* lists are given, so this type holds both. At most [`MAX_RANK`] axes per list.
///
/// ```
/// use ember_nn::initializers::FanAxes;
/// use ember_nn::Shape;
/// // An EinsumDense-like kernel (in, heads, head_dim): fan_in over axis 0, fan_out over
/// // the last two.
/// let axes = FanAxes::new(&[0], &[-2, -1]).unwrap();
/// assert_eq!(axes.fans(&Shape::new(&[16, 4, 8]).unwrap()).unwrap(), (16, 32));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FanAxes {
    input: [i8; MAX_RANK],
    n_input: u8,
    output: [i8; MAX_RANK],
    n_output: u8,
}

impl FanAxes {
    /// Axes from two lists. Fails with [`Error::InvalidConfig`] if a list is longer than
    /// [`MAX_RANK`] or an axis is outside `-MAX_RANK..MAX_RANK`.
    pub fn new(input_axes: &[i32], output_axes: &[i32]) -> Result<Self> {
        let (input, n_input) = Self::pack(input_axes)?;
        let (output, n_output) = Self::pack(output_axes)?;
        Ok(FanAxes {
            input,
            n_input,
            output,
            n_output,
        })
    }

    fn pack(axes: &[i32]) -> Result<([i8; MAX_RANK], u8)> {
        if axes.len() > MAX_RANK {
            return Err(Error::InvalidConfig("too many fan axes"));
        }
        let mut out = [0i8; MAX_RANK];
        for (o, &a) in out.iter_mut().zip(axes) {
            if a >= MAX_RANK as i32 || a < -(MAX_RANK as i32) {
                return Err(Error::InvalidConfig("fan axis out of range"));
            }
            *o = a as i8;
        }
        Ok((out, axes.len() as u8))
    }

    /// The input axes as given.
    pub fn input_axes(&self) -> &[i8] {
        &self.input[..self.n_input as usize]
    }

    /// The output axes as given.
    pub fn output_axes(&self) -> &[i8] {
        &self.output[..self.n_output as usize]
    }

    /// `(fan_in, fan_out)` of `shape` over these axes. An axis outside the shape's rank is
    /// [`Error::InvalidConfig`] (Keras: `IndexError`).
    pub fn fans(&self, shape: &Shape) -> Result<(usize, usize)> {
        Ok((
            product(shape, self.input_axes())?,
            product(shape, self.output_axes())?,
        ))
    }
}

fn product(shape: &Shape, axes: &[i8]) -> Result<usize> {
    let rank = shape.rank() as i32;
    let mut p: usize = 1;
    for &a in axes {
        let a = a as i32;
        let i = if a < 0 { a + rank } else { a };
        if i < 0 || i >= rank {
            return Err(Error::InvalidConfig("fan axis outside the weight's rank"));
        }
        p = p
            .checked_mul(shape.dim(i as usize))
            .ok_or(Error::InvalidShape)?;
    }
    Ok(p)
}
