//! The trainer's ONNX export, reloaded by the firmware's tract loader: every architecture
//! must give the trainer's own outputs on real digits, and models from other tools must
//! load and classify with flags alone.

use std::path::Path;

use digitbot::data::{Dataset, PIXELS};
use digitbot::sim::sim_digits;
use digitbot::stage::model::{to_probabilities, InputScale, Model, ModelError, OutputKind};
use digitbot::train::net::{softmax, Layer, Loss, Net};
use digitbot::train::{self, onnx, Arch, TrainConfig};
use tract_onnx::pb::{tensor_shape_proto::dimension::Value as Dim, type_proto};

fn digits() -> Dataset {
    sim_digits().expect("built-in digits")
}

/// A briefly trained network (random weights would hide layout bugs behind near-uniform
/// outputs).
fn trained(arch: &str, data: &Dataset) -> Net<f32> {
    let mut cfg = TrainConfig::for_arch(arch.parse::<Arch>().unwrap());
    cfg.epochs = 6;
    cfg.batch = cfg.batch.min(16);
    cfg.seed = 3;
    train::train::<f32>(&cfg, data, None, 10, |_| {}).0
}

fn inputs(data: &Dataset, i: usize, range: (f32, f32)) -> [f32; PIXELS] {
    let mut x = Vec::new();
    train::scale_pixels::<f32>(data.image(i), range, &mut x);
    x.try_into().unwrap()
}

#[test]
fn every_architecture_reloads_in_tract_with_the_trainers_outputs() {
    let data = digits();
    let train_set = data.take(300);
    for arch in ["seed", "mlp:784-32-16-10", "mlp:784-20-10:sigmoid", "cnn:4-8-16"] {
        let net = trained(arch, &train_set);
        let parsed: Arch = arch.parse().unwrap();
        let range = parsed.input_range();
        let meta = onnx::metadata(
            &TrainConfig::for_arch(parsed.clone()),
            &(0..10).map(|d| d.to_string()).collect::<Vec<_>>(),
            Path::new("fixture"),
            0.0,
            "test",
        );
        let model = Model::from_bytes(Path::new(arch), &onnx::to_bytes(&net, &meta)).unwrap();
        assert_eq!(model.meta_scale, Some(InputScale::Range(range.0, range.1)), "{arch}");
        let mut worst = 0f32;
        for i in 300..340 {
            let x = inputs(&data, i, range);
            let got = model.probabilities(&x).unwrap();
            let raw = net.forward(&x, 1);
            let want: Vec<f32> = match net.loss {
                Loss::SoftmaxCe => softmax(&raw),
                Loss::LectureBce => to_probabilities(&raw, OutputKind::Sigmoid)[..10].to_vec(),
            };
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max((g - w).abs());
            }
        }
        assert!(worst < 1e-4, "{arch}: tract differs from the trainer by {worst}");
    }
}

/// Folds an input scaling into the first layer, so a network trained on inputs in 0..1
/// takes `scale`d pixels instead: what another tool's export of the same model would want.
fn fold_input(net: &mut Net<f32>, scale: InputScale) {
    // x01 = a * x + c recovers the 0..1 input from the model's input x.
    let (a, c) = match scale {
        InputScale::Range(lo, hi) => (1.0 / (hi - lo), -lo / (hi - lo)),
        InputScale::MeanStd(m, s) => (s, m),
    };
    let (w, b, per_out) = match &mut net.layers[0] {
        Layer::Dense { input, w, b, .. } => (w, b, *input),
        // Zero padding only stays exact when no offset is folded in.
        Layer::Conv { input, k, w, b, .. } if c == 0.0 => (w, b, input.c * *k * *k),
        _ => panic!("cannot fold {scale:?} into this layer"),
    };
    for (o, bo) in b.iter_mut().enumerate() {
        let row = &mut w[o * per_out..(o + 1) * per_out];
        *bo += c * row.iter().sum::<f32>();
        row.iter_mut().for_each(|v| *v *= a);
    }
}

/// Encodes `net` as another tool would: no metadata, logits out, the input renamed and its
/// batch dimension fixed or named.
fn foreign_export(net: &Net<f32>, input_name: &str, batch: Dim) -> Vec<u8> {
    let mut logits = net.clone();
    logits.loss = Loss::LectureBce; // exported without a Softmax node: raw logits
    let mut proto = onnx::to_model(&logits, &[]);
    let graph = proto.graph.as_mut().unwrap();
    graph.input[0].name = input_name.into();
    for node in &mut graph.node {
        for i in &mut node.input {
            if i == "input" {
                *i = input_name.into();
            }
        }
    }
    if let Some(type_proto::Value::TensorType(t)) = graph.input[0].r#type.as_mut().and_then(|t| t.value.as_mut()) {
        t.shape.as_mut().unwrap().dim[0].value = Some(batch);
    }
    prost::Message::encode_to_vec(&proto)
}

#[test]
fn foreign_models_load_and_classify_with_flags_alone() {
    let data = digits();
    let accuracy = |model: &Model, scale: InputScale| {
        let ok = (400..500)
            .filter(|&i| {
                let p = model.probabilities(&scale.to_input(data.image(i))).unwrap();
                digitbot::util::argmax(&p) == data.labels[i] as usize
            })
            .count();
        ok as f64 / 100.0
    };
    for (arch, name, batch, scale) in [
        // Like the ONNX Model Zoo's mnist-12: Input3 [1,1,28,28], pixels 0..255, logits.
        ("cnn:4-8-32", "Input3", Dim::DimValue(1), InputScale::Range(0.0, 255.0)),
        // Like a PyTorch export: a symbolic batch, MNIST mean/std, logits.
        ("mlp:784-64-10", "input.1", Dim::DimParam("batch_size".into()), InputScale::MeanStd(0.1307, 0.3081)),
    ] {
        let mut net = trained(arch, &data.take(400));
        let own = Model::from_bytes(Path::new("own"), &onnx::to_bytes(&net, &[])).unwrap();
        let baseline = accuracy(&own, InputScale::Range(0.0, 1.0));
        assert!(baseline > 0.6, "{arch}: the fixture network learned: {baseline}");
        fold_input(&mut net, scale);
        let foreign = Model::from_bytes(Path::new(name), &foreign_export(&net, name, batch)).unwrap();
        assert_eq!((foreign.meta_scale, foreign.output), (None, OutputKind::Auto), "{arch}");
        assert_eq!(accuracy(&foreign, scale), baseline, "{arch}: with the flag, the same answers");
        assert!(accuracy(&foreign, InputScale::Range(0.0, 1.0)) < baseline, "{arch}: the wrong scale hurts");
    }
}

#[test]
fn bad_models_are_named_with_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.onnx");
    let e = Model::load(&missing).unwrap_err().to_string();
    assert!(e.contains("nope.onnx") && e.contains("file not found"), "{e}");

    let corrupt = dir.path().join("corrupt.onnx");
    std::fs::write(&corrupt, b"\x08\x07garbage that is not protobuf \xff\xff\xff").unwrap();
    let e = Model::load(&corrupt).unwrap_err().to_string();
    assert!(e.contains("corrupt.onnx") && e.contains("not a readable ONNX model"), "{e}");

    // Input of 100 values.
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    let wrong_in = Net { layers: vec![Layer::<f32>::dense_he(100, 10, &mut rng)], loss: Loss::SoftmaxCe };
    let e = Model::from_bytes(Path::new("in100.onnx"), &onnx::to_bytes(&wrong_in, &[])).unwrap_err();
    assert!(matches!(e, ModelError::InputShape { .. }));
    assert_eq!(
        e.to_string(),
        "model in100.onnx: input shape [N,100], expected f32 [1,1,28,28], [1,784] or [784] (batch may be symbolic)"
    );

    // Output of 5 values.
    let wrong_out = Net { layers: vec![Layer::<f32>::dense_he(784, 5, &mut rng)], loss: Loss::SoftmaxCe };
    let e = Model::from_bytes(Path::new("out5.onnx"), &onnx::to_bytes(&wrong_out, &[])).unwrap_err().to_string();
    assert!(e.starts_with("model out5.onnx: output shape") && e.contains("expected 10 values"), "{e}");

    // Metadata that makes no sense.
    let ok = Net { layers: vec![Layer::<f32>::dense_he(784, 10, &mut rng)], loss: Loss::SoftmaxCe };
    let bad_meta = vec![("digitbot.input_range".to_string(), "zero,one".to_string())];
    let e = Model::from_bytes(Path::new("meta.onnx"), &onnx::to_bytes(&ok, &bad_meta)).unwrap_err().to_string();
    assert!(e.contains("meta.onnx") && e.contains("digitbot.input_range"), "{e}");
}
