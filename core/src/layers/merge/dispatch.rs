//! [`LayerConfig`]'s multi-input interface: the `*_n` methods a graph executor calls for
//! every node, merge or not.

use super::{Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply, Subtract};
use crate::layers::recurrent::layer as rnn;
use crate::layers::SimpleRNN;
use crate::layers::{Context, LayerConfig, TensorMask, GRU, LSTM};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

impl LayerConfig {
    /// Whether the layer is a merge (several inputs: [`Add`], [`Subtract`],
    /// [`Multiply`], [`Average`], [`Maximum`], [`Minimum`], [`Concatenate`], [`Dot`]).
    /// Its single-input methods ([`LayerConfig::forward`], …) return
    /// [`Error::InvalidConfig`]; use the `*_n` ones.
    pub fn is_merge(&self) -> bool {
        self.merge_class().is_some()
    }

    /// Whether the layer takes `n` inputs: exactly 1 for single-input layers, see
    /// [`Merge::input_count_ok`] for merges.
    pub fn input_count_ok(&self, n: usize) -> bool {
        match self {
            LayerConfig::Add(l) => l.input_count_ok(n),
            LayerConfig::Subtract(l) => l.input_count_ok(n),
            LayerConfig::Multiply(l) => l.input_count_ok(n),
            LayerConfig::Average(l) => l.input_count_ok(n),
            LayerConfig::Maximum(l) => l.input_count_ok(n),
            LayerConfig::Minimum(l) => l.input_count_ok(n),
            LayerConfig::Concatenate(l) => l.input_count_ok(n),
            LayerConfig::Dot(l) => l.input_count_ok(n),
            LayerConfig::SimpleRNN(_) => rnn::input_count_ok::<SimpleRNN>(n),
            LayerConfig::LSTM(_) => rnn::input_count_ok::<LSTM>(n),
            LayerConfig::GRU(_) => rnn::input_count_ok::<GRU>(n),
            LayerConfig::Bidirectional(l) => l.input_count_ok(n),
            _ => n == 1,
        }
    }

    /// Output shape for the per-sample input shapes: [`Merge::output_shape`] for merges,
    /// [`LayerConfig::output_shape`] of the one input otherwise.
    pub fn output_shape_n(&self, inputs: &[Shape]) -> Result<Shape> {
        match self {
            LayerConfig::Add(l) => l.output_shape(inputs),
            LayerConfig::Subtract(l) => l.output_shape(inputs),
            LayerConfig::Multiply(l) => l.output_shape(inputs),
            LayerConfig::Average(l) => l.output_shape(inputs),
            LayerConfig::Maximum(l) => l.output_shape(inputs),
            LayerConfig::Minimum(l) => l.output_shape(inputs),
            LayerConfig::Concatenate(l) => l.output_shape(inputs),
            LayerConfig::Dot(l) => l.output_shape(inputs),
            LayerConfig::SimpleRNN(c) => rnn::output_shape(c, inputs),
            LayerConfig::LSTM(c) => rnn::output_shape(c, inputs),
            LayerConfig::GRU(c) => rnn::output_shape(c, inputs),
            LayerConfig::Bidirectional(c) => c.output_shape(inputs),
            _ => self.output_shape(single(inputs)?),
        }
    }

    /// Multiply-accumulates per sample for the per-sample input shapes (0 on shapes the
    /// layer cannot take).
    pub fn macs_n(&self, inputs: &[Shape]) -> usize {
        match self {
            LayerConfig::Add(l) => l.macs(inputs),
            LayerConfig::Subtract(l) => l.macs(inputs),
            LayerConfig::Multiply(l) => l.macs(inputs),
            LayerConfig::Average(l) => l.macs(inputs),
            LayerConfig::Maximum(l) => l.macs(inputs),
            LayerConfig::Minimum(l) => l.macs(inputs),
            LayerConfig::Concatenate(l) => l.macs(inputs),
            LayerConfig::Dot(l) => l.macs(inputs),
            _ if self.is_recurrent() => inputs.first().map_or(0, |&s| self.macs(s)),
            _ => single(inputs).map_or(0, |s| self.macs(s)),
        }
    }

    /// Forward pass of any layer over batched input views: [`Merge::forward`] for
    /// merges (which take no parameters: `params` must be empty), and
    /// [`LayerConfig::forward`] of `xs[0]` for single-input layers (`xs.len()` must be 1).
    pub fn forward_n<T: Scalar>(
        &self,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()> {
        if self.is_merge() {
            no_params(params.len())?;
        }
        match self {
            LayerConfig::Add(l) => l.forward(xs, y),
            LayerConfig::Subtract(l) => l.forward(xs, y),
            LayerConfig::Multiply(l) => l.forward(xs, y),
            LayerConfig::Average(l) => l.forward(xs, y),
            LayerConfig::Maximum(l) => l.forward(xs, y),
            LayerConfig::Minimum(l) => l.forward(xs, y),
            LayerConfig::Concatenate(l) => l.forward(xs, y),
            LayerConfig::Dot(l) => l.forward(xs, y),
            _ => self.forward(params, single(xs)?, y, ctx),
        }
    }

    /// Backward pass of any layer over batched input views. Merges run
    /// [`Merge::backward`]: `dy` is only read, each `Some` entry of `dxs` is overwritten
    /// with its input's gradient, and `dparams` must be `None` or empty. Single-input
    /// layers need `xs.len() == dxs.len() == 1` and run [`LayerConfig::backward_masked`]
    /// with `wanted` (which may overwrite `dy`); merges have no parameters and ignore it.
    #[allow(clippy::too_many_arguments)] // mirrors LayerConfig::backward_masked
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
        if self.is_merge() {
            no_params(params.len())?;
            no_params(dparams.as_deref().map_or(0, <[T]>::len))?;
        }
        match self {
            LayerConfig::Add(l) => l.backward(xs, y, dy, dxs),
            LayerConfig::Subtract(l) => l.backward(xs, y, dy, dxs),
            LayerConfig::Multiply(l) => l.backward(xs, y, dy, dxs),
            LayerConfig::Average(l) => l.backward(xs, y, dy, dxs),
            LayerConfig::Maximum(l) => l.backward(xs, y, dy, dxs),
            LayerConfig::Minimum(l) => l.backward(xs, y, dy, dxs),
            LayerConfig::Concatenate(l) => l.backward(xs, y, dy, dxs),
            LayerConfig::Dot(l) => l.backward(xs, y, dy, dxs),
            _ => {
                let x = single(xs)?;
                let [dx] = dxs else {
                    return Err(Error::InvalidConfig(
                        "a single-input layer takes exactly 1 input",
                    ));
                };
                self.backward_masked(params, x, y, dy, dx.as_deref_mut(), dparams, wanted, ctx)
            }
        }
    }

    /// The Keras class of a merge variant, `None` for single-input layers.
    fn merge_class(&self) -> Option<&'static str> {
        match self {
            LayerConfig::Add(_) => Some(Add::KERAS_CLASS),
            LayerConfig::Subtract(_) => Some(Subtract::KERAS_CLASS),
            LayerConfig::Multiply(_) => Some(Multiply::KERAS_CLASS),
            LayerConfig::Average(_) => Some(Average::KERAS_CLASS),
            LayerConfig::Maximum(_) => Some(Maximum::KERAS_CLASS),
            LayerConfig::Minimum(_) => Some(Minimum::KERAS_CLASS),
            LayerConfig::Concatenate(_) => Some(Concatenate::KERAS_CLASS),
            LayerConfig::Dot(_) => Some(Dot::KERAS_CLASS),
            _ => None,
        }
    }

    /// The error of a single-input method called on a merge layer.
    pub(in crate::layers) fn takes_several_inputs(&self) -> Error {
        Error::InvalidConfig(match self {
            LayerConfig::Add(_) => "Add takes several inputs: use forward_n/backward_n",
            LayerConfig::Subtract(_) => "Subtract takes several inputs: use forward_n/backward_n",
            LayerConfig::Multiply(_) => "Multiply takes several inputs: use forward_n/backward_n",
            LayerConfig::Average(_) => "Average takes several inputs: use forward_n/backward_n",
            LayerConfig::Maximum(_) => "Maximum takes several inputs: use forward_n/backward_n",
            LayerConfig::Minimum(_) => "Minimum takes several inputs: use forward_n/backward_n",
            LayerConfig::Concatenate(_) => {
                "Concatenate takes several inputs: use forward_n/backward_n"
            }
            LayerConfig::Dot(_) => "Dot takes several inputs: use forward_n/backward_n",
            _ => "layer takes one input",
        })
    }
}

/// The one element of `items`, or an error for a single-input layer given several.
fn single<I: Copy>(items: &[I]) -> Result<I> {
    match items {
        [one] => Ok(*one),
        _ => Err(Error::InvalidConfig(
            "a single-input layer takes exactly 1 input",
        )),
    }
}

fn no_params(n: usize) -> Result<()> {
    if n != 0 {
        return Err(Error::ShapeMismatch {
            expected: 0,
            found: n,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every merge variant survives the blob's postcard encoding; the field-less ones
    /// are their variant index alone.
    #[test]
    fn merge_variants_round_trip_through_postcard() {
        let all = [
            LayerConfig::Add(Add),
            LayerConfig::Subtract(Subtract),
            LayerConfig::Multiply(Multiply),
            LayerConfig::Average(Average),
            LayerConfig::Maximum(Maximum),
            LayerConfig::Minimum(Minimum),
            LayerConfig::Concatenate(Concatenate { axis: -2 }),
            LayerConfig::Dot(Dot {
                axes: [1, -1],
                normalize: true,
            }),
        ];
        for (i, c) in all.iter().enumerate() {
            let mut buf = [0u8; 16];
            let bytes = postcard::to_slice(c, &mut buf).unwrap();
            let expected_len = match i {
                0..=5 => 1,
                6 => 2,
                _ => 4,
            };
            assert_eq!(bytes.len(), expected_len, "{c:?}");
            let back: LayerConfig = postcard::from_bytes(bytes).unwrap();
            assert_eq!(&back, c);
            assert!(c.is_merge() && c.feature().is_none() && c.is_compiled());
        }
        assert!(!LayerConfig::ReLU(crate::layers::ReLU::default()).is_merge());
    }
}
