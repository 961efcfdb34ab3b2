//! Calling a layer on the tensors of a graph node: the entry points a functional model
//! uses for every layer, whether it takes one input or several (merges).

use super::{Context, LayerConfig, TensorMask};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

impl LayerConfig {
    /// Output shape of a call on tensors of shapes `inputs` (no batch): one shape for a
    /// single-input layer ([`LayerConfig::output_shape`]).
    pub fn output_shape_n(&self, inputs: &[Shape]) -> Result<Shape> {
        match inputs {
            [one] => self.output_shape(*one),
            _ => Err(Error::InvalidConfig("layer takes exactly one input")),
        }
    }

    /// Forward pass of a call on `xs` (batched views, one per input tensor).
    pub fn forward_n<T: Scalar>(
        &self,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()> {
        match xs {
            [x] => self.forward(params, *x, y, ctx),
            _ => Err(Error::InvalidConfig("layer takes exactly one input")),
        }
    }

    /// Backward pass of a call on `xs`: [`LayerConfig::backward_masked`] for a
    /// single-input layer. For every `i` with `dxs[i] = Some(buf)`, overwrites `buf` with
    /// `∂L/∂x_i`. `dy` may be overwritten.
    #[allow(clippy::too_many_arguments)] // LayerConfig::backward_masked with several inputs
    pub fn backward_n<T: Scalar>(
        &self,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &mut [T],
        dxs: &mut [Option<&mut [T]>],
        dparams: Option<&mut [T]>,
        wanted: TensorMask,
        ctx: &Context,
    ) -> Result<()> {
        match (xs, dxs) {
            ([x], [dx]) => {
                self.backward_masked(params, *x, y, dy, dx.as_deref_mut(), dparams, wanted, ctx)
            }
            _ => Err(Error::InvalidConfig("layer takes exactly one input")),
        }
    }
}
