//! Callbacks against Keras 3's own decisions (`tests/fixtures/fit`): EarlyStopping and
//! ReduceLROnPlateau on a fixed sequence, LearningRateScheduler, TerminateOnNaN and the
//! fixed capacity of History.

mod fit_support;

use ember_nn::metrics::AnyMetric;
use ember_nn::model::callbacks::{
    Callback, Control, EarlyStopping, History, Mode, ReduceLROnPlateau, TerminateOnNaN,
};
use ember_nn::model::{fit, Dataset, FitOptions, Logs, SliceDataset};
use ember_nn::Error;
use ember_tests::assert_close;
use fit_support::*;

// ---------------------------------------------------------------------------------------
// Callbacks driven with Keras's decisions on a fixed sequence.
// ---------------------------------------------------------------------------------------
fn logs_with_val_loss(v: f32) -> Logs {
    let mut l = Logs::new();
    l.loss = 1.0;
    l.val_loss = Some(v);
    l
}

#[test]
fn early_stopping_decides_as_keras() {
    let g = json("callbacks.json");
    let seq: Vec<f32> = g["sequence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let cfg = config("SGD", 0.1, 0.0, "mse");
    let mut checked = 0;
    with_model(cfg, |m| {
        for case in g["early_stopping"].as_array().unwrap() {
            let kw = &case["kwargs"];
            let mut es = EarlyStopping::<f32>::new("val_loss")
                .patience(kw["patience"].as_u64().unwrap() as usize);
            if let Some(d) = kw["min_delta"].as_f64() {
                es = es.min_delta(d as f32);
            }
            if let Some(b) = kw["baseline"].as_f64() {
                es = es.baseline(b as f32);
            }
            if let Some(s) = kw["start_from_epoch"].as_u64() {
                es = es.start_from_epoch(s as usize);
            }
            es.on_train_begin(m).unwrap();
            let mut stopped = None;
            let mut waits = Vec::new();
            for (e, &v) in seq.iter().enumerate() {
                let c = es.on_epoch_end(m, e, &mut logs_with_val_loss(v)).unwrap();
                waits.push(es.wait() as u64);
                if c == Control::Stop {
                    stopped = Some(e as u64);
                    break;
                }
            }
            let want_waits: Vec<u64> = case["waits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(waits, want_waits, "{kw}: waits");
            assert_eq!(stopped, case["stopped_epoch"].as_u64(), "{kw}: stop");
            assert_eq!(
                es.best_epoch() as u64,
                case["best_epoch"].as_u64().unwrap(),
                "{kw}"
            );
            checked += 1;
        }
    });
    assert_eq!(checked, 5);
}

#[test]
fn early_stopping_restores_best_weights() {
    let cfg = config("SGD", 0.1, 0.0, "mse");
    with_model(cfg, |m| {
        // A snapshot: trainable parameters then layer state (none in this model).
        let n = m.snapshot_len();
        assert_eq!(n, m.trainable_params().len());
        let mut best = vec![0.0f32; n];
        let mut es = EarlyStopping::new("val_loss")
            .patience(2)
            .restore_best_weights(&mut best);
        es.on_train_begin(m).unwrap();
        // Epoch e leaves weights all equal to e; val_loss is best at epoch 1.
        let seq = [0.5f32, 0.3, 0.4, 0.35, 0.2];
        let mut stopped = None;
        for (e, &v) in seq.iter().enumerate() {
            m.set_trainable_params(&vec![e as f32; n]).unwrap();
            if es.on_epoch_end(m, e, &mut logs_with_val_loss(v)).unwrap() == Control::Stop {
                stopped = Some(e);
                break;
            }
        }
        assert_eq!(stopped, Some(3));
        assert_eq!(es.best(), Some(0.3));
        es.on_train_end(m, None).unwrap();
        assert!(
            m.trainable_params().iter().all(|&w| w == 1.0),
            "epoch 1's weights"
        );
        // A wrongly sized buffer is an error, not a panic.
        let mut small = vec![0.0f32; n - 1];
        let mut bad = EarlyStopping::new("val_loss").restore_best_weights(&mut small);
        bad.on_train_begin(m).unwrap();
        let r = bad.on_epoch_end(m, 0, &mut logs_with_val_loss(1.0));
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
        // Auto mode cannot guess an unknown metric's direction (Keras: ValueError).
        let mut unknown = EarlyStopping::<f32>::new("val_my_metric");
        assert!(matches!(
            unknown.on_train_begin(m),
            Err(Error::InvalidConfig(_))
        ));
        let mut max = EarlyStopping::<f32>::new("val_my_metric").mode(Mode::Max);
        assert!(max.on_train_begin(m).is_ok());
    });
}

#[test]
fn reduce_lr_on_plateau_matches_keras() {
    let g = json("callbacks.json");
    let seq: Vec<f32> = g["sequence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let mut checked = 0;
    for case in g["reduce_lr"].as_array().unwrap() {
        let kw = &case["kwargs"];
        let f = |k: &str, d: f64| kw[k].as_f64().unwrap_or(d) as f32;
        let mut cb = ReduceLROnPlateau::new(
            "val_loss",
            f("factor", 0.1),
            kw["patience"].as_u64().unwrap() as usize,
            f("min_delta", 1e-4),
            kw["cooldown"].as_u64().unwrap_or(0) as usize,
            f("min_lr", 0.0),
        );
        let want: Vec<f32> = case["learning_rates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        with_model(config("SGD", 0.1, 0.0, "mse"), |m| {
            cb.on_train_begin(m).unwrap();
            let mut lrs = Vec::new();
            for (e, &v) in seq.iter().enumerate() {
                let mut logs = logs_with_val_loss(v);
                cb.on_epoch_end(m, e, &mut logs).unwrap();
                lrs.push(m.learning_rate().unwrap());
            }
            if f("factor", 0.1) == 0.5 {
                assert_eq!(lrs, want, "{kw}: learning rates, bit for bit");
            } else {
                // Keras multiplies by the f64 `0.1`, Ember by the f32 one: 1-3 ulp apart
                // after 6 reductions.
                assert_close(&format!("{kw}: learning rates"), &lrs, &want, 5e-7, 0.0);
            }
        });
        checked += 1;
    }
    assert_eq!(checked, 3);
    // factor >= 1 is refused, as Keras's constructor does.
    with_model(config("SGD", 0.1, 0.0, "mse"), |m| {
        let mut cb = ReduceLROnPlateau::new("val_loss", 1.0, 10, 1e-4, 0, 0.0);
        assert!(matches!(cb.on_train_begin(m), Err(Error::InvalidConfig(_))));
    });
}

#[test]
fn learning_rate_cannot_be_set_with_a_schedule() {
    use ember_nn::optimizer::{ExponentialDecay, LearningRateSchedule};
    let mut cfg = config("SGD", 0.1, 0.0, "mse");
    cfg.optimizer = cfg
        .optimizer
        .with_schedule(LearningRateSchedule::ExponentialDecay(ExponentialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 10.0,
            decay_rate: 0.5,
            staircase: false,
        }));
    with_model(cfg, |m| {
        assert!(matches!(
            m.set_learning_rate(0.01),
            Err(Error::InvalidConfig(_))
        ));
        assert_eq!(m.learning_rate(), Some(0.1));
    });
    with_model(config("Adam", 0.01, 0.0, "mse"), |m| {
        m.set_learning_rate(0.002).unwrap();
        assert_eq!(m.learning_rate(), Some(0.002));
        assert!(m.set_learning_rate(f32::NAN).is_err());
    });
}

// ---------------------------------------------------------------------------------------
// fit behaviour.
// ---------------------------------------------------------------------------------------
#[test]
fn terminate_on_nan_stops_after_the_batch() {
    let d = data();
    let mut x = d.x.clone();
    x[B * 4 + 1] = f32::NAN; // first sample of batch 1
    let train = SliceDataset::new(&x, &d.y, 4, 3).unwrap();
    with_model(config("SGD", 0.1, 0.9, "mse"), |m| {
        let mut bufs = Bufs::new(m, train.len());
        let mut nan = TerminateOnNaN::new();
        let mut history: History<8> = History::new();
        let mut cbs = (&mut nan, &mut history);
        let metrics: &mut [AnyMetric<2>] = &mut [];
        let opts = FitOptions::epochs(5);
        let last = fit(
            m,
            &train,
            None::<&SliceDataset<'_, f32>>,
            &opts,
            metrics,
            &mut cbs,
            bufs.get(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(nan.stopped_at_batch, Some(1));
        assert_eq!(
            m.iterations(),
            2,
            "batches 0 and 1 ran, then training stopped"
        );
        assert_eq!(
            history.len(),
            1,
            "on_epoch_end still runs for the stopped epoch"
        );
        assert!(last.loss.is_nan());
    });
}

#[test]
fn history_has_fixed_capacity() {
    let d = data();
    let train = SliceDataset::new(&d.x, &d.y, 4, 3).unwrap();
    let mut full: History<5> = History::new();
    let mut short: History<2> = History::new();
    let opts = FitOptions::epochs(5);
    let none = None::<&SliceDataset<'_, f32>>;
    with_model(config("SGD", 0.1, 0.9, "mse"), |m| {
        let mut bufs = Bufs::new(m, train.len());
        let mut metrics = [metric("mean_absolute_error")];
        fit(m, &train, none, &opts, &mut metrics, &mut full, bufs.get()).unwrap();
    });
    with_model(config("SGD", 0.1, 0.9, "mse"), |m| {
        let mut bufs = Bufs::new(m, train.len());
        let mut metrics = [metric("mean_absolute_error")];
        fit(m, &train, none, &opts, &mut metrics, &mut short, bufs.get()).unwrap();
    });
    assert_eq!((full.len(), full.dropped()), (5, 0));
    assert_eq!((short.len(), short.dropped()), (2, 3));
    assert_eq!(short.epochs(), &full.epochs()[..2]);
    assert!(full.epoch(4).unwrap().loss < full.epoch(0).unwrap().loss);
    assert_eq!(full.epoch(5), None);
    assert_eq!(full.values("mean_absolute_error").count(), 5);
    assert_eq!(full.values("val_loss").count(), 0, "no validation data");
}
