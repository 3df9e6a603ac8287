//! ONNX export of a trained network, written with the protobuf types tract itself uses.
//!
//! The graph uses standard ops only (Flatten, Gemm, Conv, MaxPool, Sigmoid, Relu, Softmax)
//! at opset 13, and `metadata_props` tell the firmware how to feed the model (see
//! [`crate::stage::model::meta`]) so that it configures itself.

use prost::Message;
use tract_onnx::pb::{
    attribute_proto::AttributeType,
    tensor_proto::DataType,
    tensor_shape_proto::{dimension::Value as Dim, Dimension},
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use std::path::Path;

use super::net::{Layer, Loss, Net};
use super::{Arch, TrainConfig};

const OPSET: i64 = 13;
const IR_VERSION: i64 = 8;

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i, ..Default::default() }
}

fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: ints.to_vec(), ..Default::default() }
}

fn tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float as i32,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A float tensor value whose first dimension is the symbolic batch `N`.
fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let dimension = |value| Dimension { value: Some(value), ..Default::default() };
    let mut dim = vec![dimension(Dim::DimParam("N".into()))];
    dim.extend(dims.iter().map(|&d| dimension(Dim::DimValue(d as i64))));
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attrs,
        ..Default::default()
    }
}

/// Builds the ONNX model for `net`. The input is `[N,1,28,28]` when the first layer is a
/// convolution and `[N,784]` otherwise; the output is `probs` `[N,classes]`: Softmax
/// probabilities for softmax-trained networks, the sigmoid outputs for the lecture's.
pub fn to_model(net: &Net<f32>, metadata: &[(String, String)]) -> ModelProto {
    let mut graph = GraphProto { name: "digitbot".into(), ..Default::default() };
    let input = net.input_shape();
    let in_dims: Vec<usize> =
        if matches!(net.layers[0], Layer::Conv { .. }) { vec![input.c, input.h, input.w] } else { vec![input.len()] };
    graph.input.push(value_info("input", &in_dims));
    let mut cur = "input".to_string();
    let mut is_flat = in_dims.len() == 1;
    for (i, layer) in net.layers.iter().enumerate() {
        let out = format!("l{i}");
        match layer {
            Layer::Dense { input, output, w, b } => {
                if !is_flat {
                    let flat = format!("l{i}_flat");
                    graph.node.push(node("Flatten", &[&cur], &flat, vec![attr_int("axis", 1)]));
                    cur = flat;
                    is_flat = true;
                }
                let (wn, bn) = (format!("l{i}_w"), format!("l{i}_b"));
                graph.initializer.push(tensor(&wn, &[*output, *input], w));
                graph.initializer.push(tensor(&bn, &[*output], b));
                graph.node.push(node("Gemm", &[&cur, &wn, &bn], &out, vec![attr_int("transB", 1)]));
            }
            Layer::Conv { input, out_c, k, pad, w, b } => {
                let (wn, bn) = (format!("l{i}_w"), format!("l{i}_b"));
                graph.initializer.push(tensor(&wn, &[*out_c, input.c, *k, *k], w));
                graph.initializer.push(tensor(&bn, &[*out_c], b));
                let p = *pad as i64;
                graph.node.push(node(
                    "Conv",
                    &[&cur, &wn, &bn],
                    &out,
                    vec![
                        attr_ints("kernel_shape", &[*k as i64, *k as i64]),
                        attr_ints("pads", &[p, p, p, p]),
                        attr_ints("strides", &[1, 1]),
                    ],
                ));
            }
            Layer::MaxPool { .. } => graph.node.push(node(
                "MaxPool",
                &[&cur],
                &out,
                vec![attr_ints("kernel_shape", &[2, 2]), attr_ints("strides", &[2, 2])],
            )),
            Layer::Sigmoid { .. } => graph.node.push(node("Sigmoid", &[&cur], &out, vec![])),
            Layer::Relu { .. } => graph.node.push(node("Relu", &[&cur], &out, vec![])),
        }
        cur = out;
    }
    let probs = "probs";
    match net.loss {
        Loss::SoftmaxCe => graph.node.push(node("Softmax", &[&cur], probs, vec![attr_int("axis", 1)])),
        Loss::LectureBce => graph.node.push(node("Identity", &[&cur], probs, vec![])),
    }
    graph.output.push(value_info(probs, &[net.classes()]));
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: "digitbot".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto { key: k.clone(), value: v.clone() })
            .collect(),
        ..Default::default()
    }
}

/// The encoded bytes of [`to_model`].
pub fn to_bytes(net: &Net<f32>, metadata: &[(String, String)]) -> Vec<u8> {
    to_model(net, metadata).encode_to_vec()
}

/// The `metadata_props` the firmware reads (see `stage::model::meta`) plus provenance.
pub fn metadata(
    cfg: &TrainConfig,
    labels: &[String],
    data: &Path,
    accuracy: f64,
    command: &str,
) -> Vec<(String, String)> {
    use crate::stage::model::meta;
    let (lo, hi) = cfg.arch.input_range();
    let output = match cfg.arch {
        Arch::Seed => "sigmoid",
        _ => "probabilities",
    };
    vec![
        (meta::INPUT_RANGE.into(), format!("{lo},{hi}")),
        (meta::OUTPUT.into(), output.into()),
        (meta::LABELS.into(), labels.join(",")),
        ("digitbot.arch".into(), cfg.arch.to_string()),
        ("digitbot.seed".into(), cfg.seed.to_string()),
        ("digitbot.epochs".into(), cfg.epochs.to_string()),
        ("digitbot.augment".into(), cfg.augment.to_string()),
        ("digitbot.data".into(), data.display().to_string()),
        ("digitbot.test_accuracy".into(), format!("{accuracy:.4}")),
        ("digitbot.command".into(), command.into()),
    ]
}
