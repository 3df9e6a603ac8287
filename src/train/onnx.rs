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

/// Why a model cannot be read back into the trainer.
#[derive(Debug, thiserror::Error)]
#[error("model {path}: {what} (only models exported by `digitbot train` can be fine-tuned)")]
pub struct ImportError {
    pub path: String,
    pub what: String,
}

/// A model's `metadata_props`, as key and value.
pub type Metadata = Vec<(String, String)>;

/// Reads a model `digitbot train` exported back into a trainer network: its layers and
/// weights, from its graph. Returns the network and the model's metadata.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<(Net<f32>, Metadata), ImportError> {
    use super::net::Shape;
    use std::collections::HashMap;
    let err = |what: String| ImportError { path: path.display().to_string(), what };
    let model = ModelProto::decode(bytes).map_err(|e| err(format!("not a readable ONNX model: {e}")))?;
    let graph = model.graph.as_ref().ok_or_else(|| err("no graph".into()))?;
    let floats = |t: &TensorProto| -> Result<Vec<f32>, ImportError> {
        if t.data_type != DataType::Float as i32 {
            return Err(err(format!("initializer {} is not f32", t.name)));
        }
        if !t.raw_data.is_empty() {
            Ok(t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        } else {
            Ok(t.float_data.clone())
        }
    };
    let inits: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let weight = |node: &NodeProto, k: usize| -> Result<(&TensorProto, Vec<f32>), ImportError> {
        let name = node.input.get(k).ok_or_else(|| err(format!("{} {} lacks input {k}", node.op_type, node.name)))?;
        let t = inits
            .get(name.as_str())
            .ok_or_else(|| err(format!("{} {}: {name} is not a weight", node.op_type, node.name)))?;
        Ok((t, floats(t)?))
    };
    let dims = graph
        .input
        .first()
        .and_then(|i| {
            let type_proto::Value::TensorType(t) = i.r#type.as_ref()?.value.as_ref()?;
            Some(
                t.shape
                    .as_ref()?
                    .dim
                    .iter()
                    .skip(1)
                    .map(|d| match d.value {
                        Some(Dim::DimValue(v)) => v as usize,
                        _ => 0,
                    })
                    .collect::<Vec<usize>>(),
            )
        })
        .ok_or_else(|| err("no input shape".into()))?;
    let mut shape = match dims[..] {
        [c, h, w] => Shape::image(c, h, w),
        [n] => Shape::vec(n),
        _ => return Err(err(format!("input shape {dims:?}"))),
    };
    let (mut layers, mut loss) = (Vec::new(), None);
    for node in &graph.node {
        let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
        match node.op_type.as_str() {
            "Conv" => {
                let (wt, w) = weight(node, 1)?;
                let (_, b) = weight(node, 2)?;
                let (out_c, k) = (wt.dims[0] as usize, wt.dims[2] as usize);
                let pad = attr("pads").and_then(|a| a.ints.first()).copied().unwrap_or(0) as usize;
                let layer = Layer::Conv { input: shape, out_c, k, pad, w, b };
                shape = layer.output_shape();
                layers.push(layer);
            }
            "Gemm" => {
                let (wt, w) = weight(node, 1)?;
                let (_, b) = weight(node, 2)?;
                if attr("transB").map_or(0, |a| a.i) != 1 {
                    return Err(err(format!("Gemm {} without transB=1", node.name)));
                }
                let (output, input) = (wt.dims[0] as usize, wt.dims[1] as usize);
                if input != shape.len() {
                    return Err(err(format!(
                        "Gemm {} takes {input} values, the layer before gives {}",
                        node.name,
                        shape.len()
                    )));
                }
                layers.push(Layer::Dense { input, output, w, b });
                shape = Shape::vec(output);
            }
            "Relu" => layers.push(Layer::Relu { len: shape.len() }),
            "Sigmoid" => layers.push(Layer::Sigmoid { len: shape.len() }),
            "MaxPool" => {
                let layer = Layer::MaxPool { input: shape };
                shape = layer.output_shape();
                layers.push(layer);
            }
            "Flatten" => shape = Shape::vec(shape.len()),
            "Softmax" => loss = Some(Loss::SoftmaxCe),
            "Identity" => loss = Some(Loss::LectureBce),
            other => return Err(err(format!("node {} is a {other}", node.name))),
        }
    }
    let loss = loss.ok_or_else(|| err("no final Softmax or Identity".into()))?;
    if layers.is_empty() {
        return Err(err("no layers".into()));
    }
    let meta = model.metadata_props.iter().map(|p| (p.key.clone(), p.value.clone())).collect();
    Ok((Net { layers, loss }, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_architecture_reads_back_exactly() {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(4);
        for arch in ["seed", "mlp:784-12-8-10", "mlp:784-9-10:sigmoid", "cnn:3-4-8", "cnn:3x3-4x1-8"] {
            let a: Arch = arch.parse().unwrap();
            for classes in [10, 11] {
                let net: Net<f32> = a.build(classes, &mut rng);
                let meta = vec![("k".to_string(), "v".to_string())];
                let (back, m) = from_bytes(Path::new(arch), &to_bytes(&net, &meta)).unwrap();
                assert_eq!(m, meta);
                assert_eq!(back.loss, net.loss, "{arch}");
                assert_eq!(back.layers.len(), net.layers.len(), "{arch}");
                assert_eq!(back.classes(), classes);
                let x: Vec<f32> = (0..784).map(|i| (i % 17) as f32 / 17.0).collect();
                assert_eq!(back.forward(&x, 1), net.forward(&x, 1), "{arch}: the same outputs");
            }
        }
    }

    #[test]
    fn foreign_or_broken_models_are_refused_by_name() {
        let e = from_bytes(Path::new("junk.onnx"), b"\x08\x07 not protobuf \xff").unwrap_err().to_string();
        assert!(e.contains("junk.onnx") && e.contains("not a readable ONNX model"), "{e}");
        let net: Net<f32> = Arch::Seed.build(10, &mut <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(4));
        let mut proto = to_model(&net, &[]);
        proto.graph.as_mut().unwrap().node[0].op_type = "LSTM".into();
        let e = from_bytes(Path::new("rnn.onnx"), &proto.encode_to_vec()).unwrap_err().to_string();
        assert!(e.contains("is a LSTM") && e.contains("digitbot train"), "{e}");
    }
}
