//! The worked example of `core/docs/blob-format.md`, byte for byte: if the encoding
//! changes, this test and the spec change together.

use ember_nn::blob::{write, Blob, LayerSpec};
use ember_nn::constraints::{Constraint, NormAxes};
use ember_nn::layers::LayerAttrs;
use ember_nn::layers::{Dense, LayerConfig};
use ember_nn::regularizers::Regularizer;
use ember_nn::{Activation, AlignedBlob, Sequential, Shape};

#[test]
fn worked_example_bytes() {
    let dense = Dense {
        units: 2,
        activation: Activation::Relu,
        use_bias: true,
    };
    let kernel = [1.0f32, -1.0, 0.5, 2.0, 0.0, 0.25]; // (3, 2)
    let bias = [0.5f32, -0.5];
    let params: [&[f32]; 2] = [&kernel, &bias];
    let layers = [LayerSpec::new(
        "d",
        true,
        LayerConfig::Dense(dense),
        &params,
    )];
    let mut out = AlignedBlob([0u8; 160]);
    let len = write("m", Shape::new(&[3]).unwrap(), &layers, &mut out.0).unwrap();
    let b = &out.0[..len];
    assert_eq!(len, 144);
    assert_eq!(&b[..4], b"EMBR");
    // Graph section: header record then one layer record.
    let graph: &[u8] = &[
        0x01, b'm', // name "m"
        0x00, // dtype F32
        0x03, 0x00, 0x00, 0x00, 0x00, 0x01, // input Shape: dims [3,0,0,0,0], rank 1
        0x01, // 1 layer
        0x01, b'd', // name "d"
        0x01, // trainable
        0x00, // LayerConfig::Dense
        0x02, 0x01, 0x01, // units 2, Activation::Relu, use_bias
        0x02, // 2 params
        0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, // F32, shape [3,2] rank 2, offset 0
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, // F32, shape [2] rank 1, offset 32
        0x00, // attrs (v2): no activity regularizer,
        0x00, 0x00, 0x00, 0x00, // no regularizer on params 0..4,
        0x00, 0x00, 0x00, 0x00, // no constraint on params 0..4
        // Topology (v3): inputs [Shape [3] rank 1], 1 node, outputs [tensor 1]
        0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00,
        0x00, // NodeDesc: layer 0, inputs [tensor 0], not TimeDistributed
        0x00, // no training record
    ];
    let blob = Blob::parse(b).unwrap();
    assert_eq!(blob.graph_bytes(), graph);
    let h = blob.header();
    assert_eq!(h.version, 3);
    assert_eq!((h.graph.offset, h.graph.len), (32, 58));
    assert_eq!((h.weights.offset, h.weights.len), (96, 48));
    assert_eq!(h.crc32, 0x5ab5_8582);
    assert_eq!(&b[96..100], &1.0f32.to_le_bytes());
    assert_eq!(&b[120..128], &[0u8; 8]); // padding after the 24-byte kernel
    assert_eq!(&b[128..132], &0.5f32.to_le_bytes());
    assert_eq!(&b[132..136], &(-0.5f32).to_le_bytes());
}

/// The same model as written by format v2 (no topology record): byte for byte the worked
/// example of the v2 spec. v3 readers load it as a chain.
#[test]
fn v2_worked_example_still_loads() {
    let v2 = AlignedBlob([
        0x45, 0x4d, 0x42, 0x52, 0x02, 0x00, 0x20, 0x00, 0x80, 0x00, 0x00, 0x00, 0x9b, 0x9e, 0x3e,
        0xb0, 0x20, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x30, 0x00,
        0x00, 0x00, 0x01, 0x6d, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x64, 0x01,
        0x00, 0x02, 0x01, 0x01, 0x02, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0xbf, 0x00, 0x00,
        0x00, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3e, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0xbf,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00u8,
    ]);
    let blob = Blob::parse(&v2.0).unwrap();
    assert_eq!(blob.header().version, 2);
    let mut arena = ember_nn::ArenaBuffer::<16>::new();
    let mut model = Sequential::<f32>::new(&v2.0, arena.as_mut_bytes(), 1).unwrap();
    let mut y = [0.0f32; 2];
    model.predict(&[1.0, 2.0, 3.0], &mut y).unwrap();
    assert_eq!(y, [2.5, 3.25]);
    assert!(model.graph().is_chain());
}

/// The same model as written by format v1 (no `attrs` in the layer record): byte for byte
/// the worked example of the v1 spec. v2 readers still load it, with no attributes.
#[test]
fn v1_worked_example_still_loads() {
    let v1 = AlignedBlob([
        0x45, 0x4d, 0x42, 0x52, 0x01, 0x00, 0x20, 0x00, 0x80, 0x00, 0x00, 0x00, 0xa4, 0x71, 0xf5,
        0x9a, 0x20, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x30, 0x00,
        0x00, 0x00, 0x01, 0x6d, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x64, 0x01,
        0x00, 0x02, 0x01, 0x01, 0x02, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0xbf, 0x00, 0x00,
        0x00, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3e, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0xbf,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00u8,
    ]);
    let blob = Blob::parse(&v1.0).unwrap();
    assert_eq!(blob.header().version, 1);
    let (_, mut layers) = blob.graph().unwrap();
    let d = layers.next().unwrap().unwrap();
    assert_eq!(d.name, "d");
    assert!(d.attrs.is_none());
    let mut arena = ember_nn::ArenaBuffer::<16>::new();
    let mut model = Sequential::<f32>::new(&v1.0, arena.as_mut_bytes(), 1).unwrap();
    let mut y = [0.0f32; 2];
    model.predict(&[1.0, 2.0, 3.0], &mut y).unwrap();
    // relu(x·W + b) = relu([2 + 0.5, -1 + 4 + 0.75 - 0.5]) = [2.5, 3.25]
    assert_eq!(y, [2.5, 3.25]);
    // A version this build does not know is refused.
    let mut v4 = v1;
    v4.0[4] = 4;
    assert!(matches!(
        Blob::parse(&v4.0),
        Err(ember_nn::Error::UnsupportedVersion { found: 4, .. })
    ));
}

/// The `attrs` record of the spec's second example, byte for byte.
#[test]
fn attrs_example_bytes() {
    // Dense(kernel_regularizer=L2(0.25), activity_regularizer=L1(0.5),
    //       kernel_constraint=MaxNorm(2.0, axis=0), bias_constraint=NonNeg())
    let attrs = LayerAttrs::NONE
        .with_activity_regularizer(Regularizer::L1 { l1: 0.5 })
        .with_regularizer(0, Regularizer::L2 { l2: 0.25 })
        .with_constraint(
            0,
            Constraint::MaxNorm {
                max_value: 2.0,
                axis: NormAxes::axis(0),
            },
        )
        .with_constraint(1, Constraint::NonNeg);
    let mut buf = [0u8; 64];
    let bytes = postcard::to_slice(&attrs, &mut buf).unwrap();
    let expected: &[u8] = &[
        0x01, 0x00, 0x00, 0x00, 0x00, 0x3f, // activity: Some(L1 { l1: 0.5 })
        0x01, 0x01, 0x00, 0x00, 0x80, 0x3e, // regularizers[0]: Some(L2 { l2: 0.25 })
        0x00, 0x00, 0x00, // regularizers[1..4]: None
        0x01, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, // constraints[0]: MaxNorm(2, axis 0)
        0x01, 0x01, // constraints[1]: Some(NonNeg)
        0x00, 0x00, // constraints[2..4]: None
    ];
    assert_eq!(bytes, expected);
}

/// The training record example of the spec: `compile(optimizer=SGD(momentum=0.9,
/// nesterov=True), loss="mse")` after the worked example's node record.
#[test]
fn training_record_example_bytes() {
    use ember_nn::blob::{chain_node, write_graph_with_training, GraphSpec, TrainingDesc};
    use ember_nn::{Loss, Optimizer, Sgd, TrainConfig};
    let dense = Dense {
        units: 2,
        activation: Activation::Relu,
        use_bias: true,
    };
    let kernel = [1.0f32, -1.0, 0.5, 2.0, 0.0, 0.25];
    let bias = [0.5f32, -0.5];
    let params: [&[f32]; 2] = [&kernel, &bias];
    let layers = [LayerSpec::new(
        "d",
        true,
        LayerConfig::Dense(dense),
        &params,
    )];
    let input = [Shape::new(&[3]).unwrap()];
    let graph = GraphSpec {
        inputs: &input,
        nodes: &[chain_node(0)],
        outputs: &[1],
    };
    let training = TrainingDesc::new(
        Optimizer::sgd(Sgd {
            learning_rate: 0.01,
            momentum: 0.9,
            nesterov: true,
        }),
        Loss::mean_squared_error(),
    );
    // Without a record the graph writer gives the worked example's bytes exactly.
    let mut plain = AlignedBlob([0u8; 160]);
    let mut chain = AlignedBlob([0u8; 160]);
    let n = write("m", input[0], &layers, &mut plain.0).unwrap();
    let m = write_graph_with_training("m", &graph, &layers, None, &mut chain.0).unwrap();
    assert_eq!(plain.0[..n], chain.0[..m]);

    let mut out = AlignedBlob([0u8; 192]);
    let len = write_graph_with_training("m", &graph, &layers, Some(&training), &mut out.0).unwrap();
    let blob = Blob::parse(&out.0[..len]).unwrap();
    let g = blob.graph_bytes();
    let record: &[u8] = &[
        0x01, // Some
        0x00, 0x0a, 0xd7, 0x23, 0x3c, 0x66, 0x66, 0x66, 0x3f, 0x01, // Sgd 0.01, 0.9, nesterov
        0x00, 0x00, 0x00, // no schedule, no weight decay, Clip::None
        0x00, 0x00, // MeanSquaredError, sum_over_batch_size
        0x00, 0x00, // no batch size, no trainable choice
    ];
    assert_eq!(&g[57..], record);
    assert_eq!(blob.training().unwrap(), Some(training));
    let config = TrainConfig::from_blob(&out.0[..len], 4).unwrap().unwrap();
    assert_eq!(config.optimizer, training.optimizer);
    assert_eq!(config.batch_size, 4);
    // The worked example itself has none.
    assert_eq!(
        Blob::parse(&plain.0[..n]).unwrap().training().unwrap(),
        None
    );
    assert_eq!(TrainConfig::from_blob(&plain.0[..n], 4).unwrap(), None);
}

/// The spec's recurrent example: `LSTM(8)` with Keras's defaults, and a Bidirectional of it.
#[test]
fn recurrent_example_bytes() {
    use ember_nn::layers::{BiMerge, Bidirectional, RecurrentLayer, LSTM};
    let mut buf = [0u8; 64];
    let lstm = LayerConfig::LSTM(LSTM::new(8));
    let bytes = postcard::to_slice(&lstm, &mut buf).unwrap();
    assert_eq!(
        bytes,
        [
            0x35, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x03, 0x02, 0x01
        ]
    );
    let bi = LayerConfig::Bidirectional(Bidirectional {
        layer: RecurrentLayer::LSTM(LSTM::new(8)),
        backward_layer: None,
        merge_mode: BiMerge::Sum,
    });
    let bytes = postcard::to_slice(&bi, &mut buf).unwrap();
    assert_eq!((bytes[0], bytes[1], bytes[2]), (0x37, 0x01, 0x08)); // 55, LSTM, units 8
    assert_eq!(&bytes[bytes.len() - 2..], [0x00, 0x01]); // default backward, sum
}
