//! A tiny reference interpreter of Keras graphs (Dense, Add, Concatenate, Activation,
//! BatchNormalization) for `keras_functional.rs`: it runs a parsed [`KerasModel`] in f64
//! on its own, independent of Ember's core, so the reader's wiring is checked against
//! Keras's outputs.

use ember_cli::keras::{KerasLayer, KerasModel, TensorRef};
use serde_json::{json, Value};

/// A batch of row vectors.
#[derive(Clone, Debug)]
pub struct T {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl T {
    pub fn from_json(v: &Value) -> T {
        let shape: Vec<usize> = v["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim") as usize)
            .collect();
        assert_eq!(shape.len(), 2, "rank-2 fixtures only");
        let data: Vec<f64> = v["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect();
        T {
            rows: shape[0],
            cols: shape[1],
            data,
        }
    }

    fn map(&self, f: impl Fn(f64) -> f64) -> T {
        T {
            data: self.data.iter().map(|&x| f(x)).collect(),
            ..self.clone()
        }
    }
}

fn activation(name: &str, x: &T) -> T {
    match name {
        "linear" => x.clone(),
        "relu" => x.map(|v| v.max(0.0)),
        "tanh" => x.map(f64::tanh),
        other => panic!("activation {other} not in the test interpreter"),
    }
}

/// `layer` applied to `inputs`.
fn apply(layer: &KerasLayer, inputs: &[&T]) -> T {
    let w = |i: usize| -> Vec<f64> { layer.weights[i].data.iter().map(|&v| v as f64).collect() };
    let cfg = &layer.config;
    match layer.class_name.as_str() {
        "Dense" => {
            let x = inputs[0];
            let (n_in, n_out) = (layer.weights[0].shape[0], layer.weights[0].shape[1]);
            assert_eq!(n_in, x.cols, "{}: kernel rows", layer.name);
            let kernel = w(0);
            let bias = if cfg["use_bias"] == json!(true) {
                w(1)
            } else {
                vec![0.0; n_out]
            };
            let mut data = vec![0.0; x.rows * n_out];
            for r in 0..x.rows {
                for o in 0..n_out {
                    let mut acc = bias[o];
                    for i in 0..n_in {
                        acc += x.data[r * n_in + i] * kernel[i * n_out + o];
                    }
                    data[r * n_out + o] = acc;
                }
            }
            let y = T {
                rows: x.rows,
                cols: n_out,
                data,
            };
            activation(cfg["activation"].as_str().expect("activation"), &y)
        }
        "Activation" => activation(cfg["activation"].as_str().expect("activation"), inputs[0]),
        "Add" => {
            let mut y = inputs[0].clone();
            for other in &inputs[1..] {
                for (a, b) in y.data.iter_mut().zip(&other.data) {
                    *a += b;
                }
            }
            y
        }
        "Concatenate" => {
            assert_eq!(cfg["axis"], json!(-1));
            let rows = inputs[0].rows;
            let cols = inputs.iter().map(|t| t.cols).sum();
            let mut data = Vec::with_capacity(rows * cols);
            for r in 0..rows {
                for t in inputs {
                    data.extend_from_slice(&t.data[r * t.cols..(r + 1) * t.cols]);
                }
            }
            T { rows, cols, data }
        }
        "BatchNormalization" => {
            let eps = cfg["epsilon"].as_f64().expect("epsilon");
            let (gamma, beta, mean, var) = (w(0), w(1), w(2), w(3));
            let x = inputs[0];
            let mut y = x.clone();
            for r in 0..x.rows {
                for c in 0..x.cols {
                    let v = &mut y.data[r * x.cols + c];
                    *v = (*v - mean[c]) / (var[c] + eps).sqrt() * gamma[c] + beta[c];
                }
            }
            y
        }
        other => panic!("{other} not in the test interpreter"),
    }
}

/// Run `model` on `xs`: through its graph, or as a chain when it has none.
pub fn run(model: &KerasModel, xs: &[T]) -> Vec<T> {
    match &model.graph {
        None => {
            assert_eq!(xs.len(), 1);
            let mut x = xs[0].clone();
            for layer in &model.layers {
                x = apply(layer, &[&x]);
            }
            vec![x]
        }
        Some(g) => {
            let mut values: Vec<T> = Vec::with_capacity(g.nodes.len());
            let get = |values: &[T], r: TensorRef| -> T {
                match r {
                    TensorRef::Input(i) => xs[i].clone(),
                    TensorRef::Node(i) => values[i].clone(),
                    TensorRef::Output(..) => panic!("these fixtures return one tensor per call"),
                }
            };
            for node in &g.nodes {
                let ins: Vec<T> = node.inputs.iter().map(|&r| get(&values, r)).collect();
                let refs: Vec<&T> = ins.iter().collect();
                values.push(apply(&model.layers[node.layer], &refs));
            }
            g.outputs.iter().map(|&r| get(&values, r)).collect()
        }
    }
}
