//! Running one `tests/fixtures/ops/cases.json` case through `ember_nn::ops`, generic over
//! the scalar type, and comparing results with Keras's.

use ember_nn::{ops, Error, Result, Scalar, Shape, TensorView};
use ember_tests::{fixture, npy};
use serde_json::Value;

/// Relative tolerance of the f32 golden comparison.
pub const GRAD_RTOL: f32 = 1e-6;
/// Absolute floor of the f32 golden comparison (values near 0 after cancellation).
pub const GRAD_ATOL: f32 = 1e-7;

/// The cases of `cases.json`.
pub fn load_cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture("ops", "cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// One named input tensor of a case.
#[derive(Debug, Clone)]
pub struct Operand<T> {
    /// `x`, `a`, `b`, `cond`, `then` or `other`.
    pub name: String,
    /// Its shape (rank 0 for a scalar).
    pub shape: Shape,
    /// Its elements.
    pub data: Vec<T>,
}

/// The case's f32 operands, read from the fixture files.
pub fn operands(case: &Value) -> Vec<Operand<f32>> {
    let name = case["name"].as_str().unwrap();
    case["shapes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, dims)| {
            let dims: Vec<usize> = dims
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            Operand {
                name: k.clone(),
                shape: Shape::new(&dims).unwrap(),
                data: npy("ops", &format!("{name}_{k}.npy")).data,
            }
        })
        .collect()
}

/// A Keras `axis` argument: `null` (all), an int, or a list.
pub fn axes_of(v: &Value) -> Option<Vec<i32>> {
    match v {
        Value::Null => None,
        Value::Array(a) => Some(a.iter().map(|x| x.as_i64().unwrap() as i32).collect()),
        x => Some(vec![x.as_i64().unwrap() as i32]),
    }
}

/// What a case computes: the output (shape and elements) and the gradients of
/// `Σ c ⊙ y` with respect to the case's `grads` operands, in that order.
#[derive(Debug, Clone)]
pub struct Outcome<T> {
    /// Output shape.
    pub shape: Shape,
    /// Output elements.
    pub y: Vec<T>,
    /// `(operand, gradient)` pairs (empty when `c` is empty).
    pub grads: Vec<(String, Vec<T>)>,
}

fn get<'a, T>(inputs: &'a [Operand<T>], name: &str) -> &'a Operand<T> {
    inputs.iter().find(|o| o.name == name).unwrap()
}

fn view<'a, T: Scalar>(o: &'a Operand<T>) -> TensorView<'a, T> {
    TensorView::new(o.shape, &o.data).unwrap()
}

type Unary<T> = fn(&[T], &mut [T]) -> Result<()>;
type UnaryBackward<T> = fn(&[T], &[T], &mut [T]) -> Result<()>;
type Reduce<T> = fn(TensorView<'_, T>, Option<&[i32]>, &mut [T]) -> Result<()>;
type Binary<T> = fn(TensorView<'_, T>, TensorView<'_, T>, &mut [T]) -> Result<()>;
type Compare<T> = fn(TensorView<'_, T>, TensorView<'_, T>, &mut [bool]) -> Result<()>;

/// Runs `case` on `inputs`; with a non-empty cotangent `c`, its backward too.
pub fn run<T: Scalar>(case: &Value, inputs: &[Operand<T>], c: &[T]) -> Result<Outcome<T>> {
    let op = case["op"].as_str().unwrap();
    let args = &case["args"];
    let want_grads = !c.is_empty();
    let unary: Option<(Unary<T>, UnaryBackward<T>)> = match op {
        "abs" => Some((ops::abs, ops::abs_backward)),
        "square" => Some((ops::square, ops::square_backward)),
        "sqrt" => Some((ops::sqrt, ops::sqrt_backward)),
        "exp" => Some((ops::exp, ops::exp_backward)),
        "log" => Some((ops::log, ops::log_backward)),
        _ => None,
    };
    if let Some((f, b)) = unary {
        let x = get(inputs, "x");
        let mut y = vec![T::ZERO; x.data.len()];
        f(&x.data, &mut y)?;
        let mut grads = Vec::new();
        if want_grads {
            let mut dx = vec![T::ZERO; x.data.len()];
            b(&x.data, c, &mut dx)?;
            grads.push(("x".to_string(), dx));
        }
        return Ok(Outcome {
            shape: x.shape,
            y,
            grads,
        });
    }
    if op == "clip" {
        let x = get(inputs, "x");
        let lo = args["min_value"].as_f64().unwrap() as f32;
        let hi = args["max_value"].as_f64().unwrap() as f32;
        let mut y = vec![T::ZERO; x.data.len()];
        ops::clip(&x.data, lo, hi, &mut y)?;
        let mut grads = Vec::new();
        if want_grads {
            let mut dx = vec![T::ZERO; x.data.len()];
            ops::clip_backward(&x.data, lo, hi, c, &mut dx)?;
            grads.push(("x".to_string(), dx));
        }
        return Ok(Outcome {
            shape: x.shape,
            y,
            grads,
        });
    }
    let reduce: Option<Reduce<T>> = match op {
        "sum" => Some(ops::sum),
        "mean" => Some(ops::mean),
        "max" => Some(ops::max),
        "min" => Some(ops::min),
        _ => None,
    };
    if let Some(f) = reduce {
        let x = get(inputs, "x");
        let axes = axes_of(&args["axis"]);
        let axes = axes.as_deref();
        let shape = ops::reduced_shape(x.shape, axes, args["keepdims"].as_bool().unwrap())?;
        let mut y = vec![T::ZERO; shape.len()];
        f(view(x), axes, &mut y)?;
        let mut grads = Vec::new();
        if want_grads {
            let mut dx = vec![T::ZERO; x.data.len()];
            match op {
                "sum" => ops::sum_backward(x.shape, axes, c, &mut dx)?,
                "mean" => ops::mean_backward(x.shape, axes, c, &mut dx)?,
                "max" => ops::max_backward(view(x), axes, c, &mut dx)?,
                _ => ops::min_backward(view(x), axes, c, &mut dx)?,
            }
            grads.push(("x".to_string(), dx));
        }
        return Ok(Outcome { shape, y, grads });
    }
    let compare: Option<Compare<T>> = match op {
        "less" => Some(ops::less),
        "less_equal" => Some(ops::less_equal),
        "greater" => Some(ops::greater),
        "greater_equal" => Some(ops::greater_equal),
        "equal" => Some(ops::equal),
        "not_equal" => Some(ops::not_equal),
        _ => None,
    };
    if let Some(f) = compare {
        let (a, b) = (get(inputs, "a"), get(inputs, "b"));
        let shape = ops::broadcast_shape(a.shape, b.shape)?;
        let mut bools = vec![false; shape.len()];
        f(view(a), view(b), &mut bools)?;
        let mut y = vec![T::ZERO; shape.len()];
        ops::cast_bool(&bools, &mut y)?;
        return Ok(Outcome {
            shape,
            y,
            grads: Vec::new(),
        });
    }
    let binary: Option<Binary<T>> = match op {
        "add" => Some(ops::add),
        "subtract" => Some(ops::subtract),
        "multiply" => Some(ops::multiply),
        "divide" => Some(ops::divide),
        _ => None,
    };
    if let Some(f) = binary {
        let (a, b) = (get(inputs, "a"), get(inputs, "b"));
        let shape = ops::broadcast_shape(a.shape, b.shape)?;
        let mut y = vec![T::ZERO; shape.len()];
        f(view(a), view(b), &mut y)?;
        let mut grads = Vec::new();
        if want_grads {
            let mut da = vec![T::ZERO; a.data.len()];
            let mut db = vec![T::ZERO; b.data.len()];
            let (sa, sb) = (a.shape, b.shape);
            match op {
                "add" => ops::add_backward(sa, sb, c, Some(&mut da), Some(&mut db))?,
                "subtract" => ops::subtract_backward(sa, sb, c, Some(&mut da), Some(&mut db))?,
                "multiply" => {
                    ops::multiply_backward(view(a), view(b), c, Some(&mut da), Some(&mut db))?
                }
                _ => ops::divide_backward(view(a), view(b), c, Some(&mut da), Some(&mut db))?,
            }
            grads.push(("a".to_string(), da));
            grads.push(("b".to_string(), db));
        }
        return Ok(Outcome { shape, y, grads });
    }
    if op == "where" {
        let (cond, then, other) = (
            get(inputs, "cond"),
            get(inputs, "then"),
            get(inputs, "other"),
        );
        let mut bools = vec![false; cond.data.len()];
        ops::cast_to_bool(&cond.data, &mut bools)?;
        let cv = ops::BoolView::new(cond.shape, &bools)?;
        let shape =
            ops::broadcast_shape(ops::broadcast_shape(cond.shape, then.shape)?, other.shape)?;
        let mut y = vec![T::ZERO; shape.len()];
        ops::switch(cv, view(then), view(other), &mut y)?;
        let mut grads = Vec::new();
        if want_grads {
            let mut dt = vec![T::ZERO; then.data.len()];
            let mut de = vec![T::ZERO; other.data.len()];
            ops::switch_backward(cv, then.shape, other.shape, c, Some(&mut dt), Some(&mut de))?;
            grads.push(("then".to_string(), dt));
            grads.push(("other".to_string(), de));
        }
        return Ok(Outcome { shape, y, grads });
    }
    Err(Error::InvalidConfig("unknown op in cases.json"))
}

/// `|a − e| ≤ GRAD_RTOL·|e| + GRAD_ATOL` for finite expectations, identical values
/// (same infinity, or both NaN) otherwise; panics on the first failure, returns the worst
/// error as a share of the tolerance.
pub fn check_close(what: &str, actual: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let mut worst = 0.0f32;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        if !e.is_finite() {
            assert!(
                a == e || (a.is_nan() && e.is_nan()),
                "{what}[{i}]: got {a}, Keras {e}"
            );
            continue;
        }
        let share = (a - e).abs() / (GRAD_RTOL * e.abs() + GRAD_ATOL);
        assert!(share <= 1.0, "{what}[{i}]: got {a}, Keras {e}");
        worst = worst.max(share);
    }
    worst
}
