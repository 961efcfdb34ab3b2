//! The worked example of `core/docs/blob-format.md`, byte for byte: if the encoding
//! changes, this test and the spec change together.

use ember_nn::blob::{write, Blob, LayerSpec};
use ember_nn::layers::{Dense, LayerConfig};
use ember_nn::{Activation, AlignedBlob, Shape};

#[test]
fn worked_example_bytes() {
    let dense = Dense {
        units: 2,
        activation: Activation::Relu,
        use_bias: true,
    };
    let kernel = [1.0f32, -1.0, 0.5, 2.0, 0.0, 0.25]; // (3, 2)
    let bias = [0.5f32, -0.5];
    let layers = [LayerSpec {
        name: "d",
        trainable: true,
        config: LayerConfig::Dense(dense),
        params: &[&kernel, &bias],
    }];
    let mut out = AlignedBlob([0u8; 128]);
    let len = write("m", Shape::new(&[3]).unwrap(), &layers, &mut out.0).unwrap();
    let b = &out.0[..len];
    assert_eq!(len, 128);
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
    ];
    let blob = Blob::parse(b).unwrap();
    assert_eq!(blob.graph_bytes(), graph);
    let h = blob.header();
    assert_eq!((h.graph.offset, h.graph.len), (32, 34));
    assert_eq!((h.weights.offset, h.weights.len), (80, 48));
    assert_eq!(h.crc32, 0x9af5_71a4);
    assert_eq!(&b[80..84], &1.0f32.to_le_bytes());
    assert_eq!(&b[104..112], &[0u8; 8]); // padding after the 24-byte kernel
    assert_eq!(&b[112..116], &0.5f32.to_le_bytes());
    assert_eq!(&b[116..120], &(-0.5f32).to_le_bytes());
}
