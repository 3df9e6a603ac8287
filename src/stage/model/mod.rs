//! The model stage: an ONNX digit classifier run by tract.
//!
//! Accepts any model whose one input is f32 `[1,1,28,28]`, `[1,784]` or `[784]` (a symbolic
//! batch dimension is fixed to 1) and whose output holds 10 values, one per digit, or 11,
//! the last meaning "no digit here" (its metadata says so). Shapes are checked once, at
//! load time. Confidences are always probabilities: logits go through softmax.

use std::fmt;
use std::path::{Path, PathBuf};

use tract_onnx::pb::{tensor_shape_proto::dimension::Value as Dim, type_proto, ModelProto};
use tract_onnx::prelude::*;

use crate::data::{PIXELS, SIDE};

/// What tract asks of each of our ops beyond its name; [`our_op!`] writes tract's `Op`,
/// `EvalOp` and `TypedOp` from it.
trait Direct {
    /// The output's shape for an input of `shape`, or why the op cannot take that input.
    fn output_shape(&self, shape: &[usize]) -> TractResult<TVec<usize>>;
    /// Computes `out` (of the output's shape, all zeros) from `input` (of `shape`).
    fn compute(&self, input: &[f32], shape: &[usize], out: &mut [f32]) -> TractResult<()>;
}

/// tract's `Op`, `EvalOp` and `TypedOp` for an op of ours: one f32 input of known shape
/// and one f32 output, as its [`Direct`] says. The module using it imports what the
/// bodies name.
macro_rules! our_op {
    ($op:ident) => {
        impl Op for $op {
            fn name(&self) -> StaticName {
                stringify!($op).into()
            }

            op_as_typed_op!();
        }

        impl EvalOp for $op {
            op_out_of_plan!();

            fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
                let input = &inputs[0];
                let shape = input.shape();
                let mut out = Tensor::zero::<f32>(&super::Direct::output_shape(self, shape)?)?;
                let from = input.try_as_plain_ram()?;
                let mut to = out.try_as_plain_ram_mut()?;
                super::Direct::compute(self, from.as_slice::<f32>()?, shape, to.as_slice_mut::<f32>()?)?;
                Ok(tvec!(out.into_tvalue()))
            }
        }

        impl TypedOp for $op {
            fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
                let shape = inputs[0]
                    .shape
                    .as_concrete()
                    .ok_or_else(|| TractError::msg(format!("{} needs an input of known shape", stringify!($op))))?;
                Ok(tvec!(f32::fact(super::Direct::output_shape(self, shape)?)))
            }

            as_op!();
        }
    };
}

mod conv;
mod dense;
mod pool;

/// tract's optimisation of `model`, with our own ops where they are faster: direct
/// convolutions (one for a first layer of one channel, one for the layers after it), dense
/// layers that pass over zero inputs, and a 2×2 stride-2 max pool.
fn optimise(model: InferenceModel) -> TractResult<TypedModel> {
    let mut typed = model.into_typed()?.into_decluttered()?;
    conv::speed_up(&mut typed)?;
    dense::speed_up(&mut typed)?;
    let mut optimised = typed.into_optimized()?;
    pool::speed_up(&mut optimised)?;
    Ok(optimised)
}

/// Applies `swaps` (each replacing one node of `model` with an op of ours) and drops what
/// they left unused; returns how many there were.
fn apply(model: &mut TypedModel, swaps: Vec<TypedModelPatch>) -> TractResult<usize> {
    let n = swaps.len();
    for patch in swaps {
        patch.apply(model)?;
    }
    if n > 0 {
        model.compact()?;
    }
    Ok(n)
}

/// Keys our trainer writes into ONNX `metadata_props`; a model that carries them needs no
/// flags. Any ONNX model may carry them.
pub mod meta {
    /// `"LO,HI"`: pixel 0 (background) → LO, pixel 255 (ink) → HI.
    pub const INPUT_RANGE: &str = "digitbot.input_range";
    /// `"MEAN,STD"`: input = (pixel / 255 - MEAN) / STD.
    pub const INPUT_MEAN_STD: &str = "digitbot.input_mean_std";
    /// `"probabilities"` (already softmaxed), `"logits"`, or `"sigmoid"` (independent
    /// scores in [0,1], normalised to sum to 1).
    pub const OUTPUT: &str = "digitbot.output";
    /// Comma-separated class names, in output order.
    pub const LABELS: &str = "digitbot.labels";
    /// The index of the output that means "no digit here", in a model with 11 outputs.
    pub const NO_DIGIT: &str = "digitbot.no_digit";
}

/// How pixels (0 = background, 255 = ink, MNIST-style) become model inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputScale {
    /// pixel 0 → lo, 255 → hi.
    Range(f32, f32),
    /// (pixel / 255 - mean) / std.
    MeanStd(f32, f32),
}

impl InputScale {
    pub fn apply(&self, pixel: u8) -> f32 {
        let v = pixel as f32 / 255.0;
        match *self {
            InputScale::Range(lo, hi) => lo + v * (hi - lo),
            InputScale::MeanStd(m, s) => (v - m) / s,
        }
    }

    /// The model's input for a 28×28 MNIST-style digit (0 background, 255 ink).
    pub fn to_input(&self, digit: &[u8]) -> [f32; PIXELS] {
        let mut x = [0f32; PIXELS];
        for (o, &p) in x.iter_mut().zip(digit) {
            *o = self.apply(p);
        }
        x
    }

    /// Parses `"A,B"` as two finite numbers; for MeanStd the std must be positive.
    pub fn parse(kind: &str, s: &str) -> Result<InputScale, String> {
        let nums: Vec<f32> = s
            .split(',')
            .map(|v| v.trim().parse::<f32>().ok().filter(|x| x.is_finite()))
            .collect::<Option<Vec<_>>>()
            .filter(|v| v.len() == 2)
            .ok_or_else(|| format!("{kind} must be two numbers A,B, got {s:?}"))?;
        match kind {
            "input-mean-std" | "input_mean_std" if nums[1] <= 0.0 => {
                Err(format!("{kind}: std must be > 0, got {}", nums[1]))
            }
            "input-mean-std" | "input_mean_std" => Ok(InputScale::MeanStd(nums[0], nums[1])),
            _ if nums[0] == nums[1] => Err(format!("{kind}: LO and HI must differ, got {s:?}")),
            _ => Ok(InputScale::Range(nums[0], nums[1])),
        }
    }
}

impl fmt::Display for InputScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputScale::Range(lo, hi) => write!(f, "range {lo}..{hi}"),
            InputScale::MeanStd(m, s) => write!(f, "mean {m} std {s}"),
        }
    }
}

/// What the model's output values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    Probabilities,
    Logits,
    Sigmoid,
    /// Not stated: probabilities if they look like them, else logits.
    Auto,
}

/// A problem with a model file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {path}: file not found (expected an ONNX digit classifier; see models/README.md)")]
    Missing { path: PathBuf },
    #[error("model {path}: not a readable ONNX model: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("model {path}: input shape {found}, expected f32 [1,1,28,28], [1,784] or [784] (batch may be symbolic)")]
    InputShape { path: PathBuf, found: String },
    #[error(
        "model {path}: output shape {found}, expected 10 values ([1,10] or [10]), or 11 with a \"no digit\" output"
    )]
    OutputShape { path: PathBuf, found: String },
    #[error("model {path}: metadata {key}: {reason}")]
    Metadata { path: PathBuf, key: String, reason: String },
    #[error("model {path}: inference failed: {reason}")]
    Run { path: PathBuf, reason: String },
}

/// The outputs of a model: index 0..=9 for the digits, [`NO_DIGIT`] for "no digit here"
/// (always 0 for a model with 10 outputs).
pub type Probabilities = [f32; OUTPUTS];
/// The most outputs a model may have.
pub const OUTPUTS: usize = 11;
/// The index of the "no digit" output.
pub const NO_DIGIT: usize = 10;

/// A loaded, checked, optimised classifier.
pub struct Model {
    path: PathBuf,
    /// The optimised plan's run state, kept from one inference to the next rather than set up anew.
    state: std::cell::RefCell<TypedSimpleState>,
    input_shape: Vec<usize>,
    /// The scale the model's metadata asks for, if any.
    pub meta_scale: Option<InputScale>,
    pub output: OutputKind,
    pub labels: Vec<String>,
    /// 10, or 11 with a "no digit" output.
    pub outputs: usize,
    /// Lowercase hex SHA-256 of the model file.
    pub sha256: String,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("input_shape", &self.input_shape)
            .field("meta_scale", &self.meta_scale)
            .field("output", &self.output)
            .finish()
    }
}

/// Describes a declared ONNX shape, symbolic dimensions by name.
fn describe_dims(dims: &[Option<Result<i64, String>>]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Some(Ok(v)) => v.to_string(),
            Some(Err(name)) if !name.is_empty() => name.clone(),
            _ => "?".into(),
        })
        .collect();
    format!("[{}]", parts.join(","))
}

impl Model {
    /// Loads a model from a file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        if !path.is_file() {
            return Err(ModelError::Missing { path: path.to_path_buf() });
        }
        let bytes =
            std::fs::read(path).map_err(|e| ModelError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })?;
        Self::from_bytes(path, &bytes)
    }

    /// Loads a model from memory; `path` only names it in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Model, ModelError> {
        let corrupt = |reason: String| ModelError::Corrupt { path: path.to_path_buf(), reason };
        let proto: ModelProto = prost::Message::decode(bytes).map_err(|e| corrupt(format!("protobuf decode: {e}")))?;
        let graph = proto.graph.as_ref().ok_or_else(|| corrupt("no graph".into()))?;
        // Old exports list initializers among the inputs; the real input is what remains.
        let init: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<_> = graph.input.iter().filter(|i| !init.contains(&i.name.as_str())).collect();
        let [input] = inputs[..] else {
            return Err(ModelError::InputShape { path: path.to_path_buf(), found: format!("{} inputs", inputs.len()) });
        };
        let (elem, dims) = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(type_proto::Value::TensorType(t)) => {
                let dims: Vec<Option<Result<i64, String>>> = t
                    .shape
                    .as_ref()
                    .map(|s| {
                        s.dim
                            .iter()
                            .map(|d| match &d.value {
                                Some(Dim::DimValue(v)) => Some(Ok(*v)),
                                Some(Dim::DimParam(p)) => Some(Err(p.clone())),
                                None => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (t.elem_type, dims)
            }
            _ => (0, vec![]),
        };
        let shape_err = || ModelError::InputShape {
            path: path.to_path_buf(),
            found: format!("{}{}", if elem != 1 { "non-f32 " } else { "" }, describe_dims(&dims)),
        };
        if elem != 1 {
            return Err(shape_err());
        }
        // A batch dimension may be 1, symbolic or unknown; the rest must match exactly.
        let batch_ok = |d: &Option<Result<i64, String>>| !matches!(d, Some(Ok(v)) if *v != 1);
        let is = |d: &Option<Result<i64, String>>, v: i64| matches!(d, Some(Ok(x)) if *x == v);
        let input_shape: Vec<usize> = match &dims[..] {
            [b, c, h, w] if batch_ok(b) && is(c, 1) && is(h, SIDE as i64) && is(w, SIDE as i64) => {
                vec![1, 1, SIDE, SIDE]
            }
            [b, n] if batch_ok(b) && is(n, PIXELS as i64) => vec![1, PIXELS],
            [n] if is(n, PIXELS as i64) => vec![PIXELS],
            _ => return Err(shape_err()),
        };
        let props: Vec<(&str, &str)> =
            proto.metadata_props.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
        let prop = |k: &str| props.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let meta_err =
            |key: &str, reason: String| ModelError::Metadata { path: path.to_path_buf(), key: key.into(), reason };
        let meta_scale = match (prop(meta::INPUT_RANGE), prop(meta::INPUT_MEAN_STD)) {
            (Some(r), _) => Some(InputScale::parse("input_range", r).map_err(|e| meta_err(meta::INPUT_RANGE, e))?),
            (None, Some(m)) => {
                Some(InputScale::parse("input_mean_std", m).map_err(|e| meta_err(meta::INPUT_MEAN_STD, e))?)
            }
            (None, None) => None,
        };
        let output = match prop(meta::OUTPUT) {
            None => OutputKind::Auto,
            Some("probabilities") => OutputKind::Probabilities,
            Some("logits") => OutputKind::Logits,
            Some("sigmoid") => OutputKind::Sigmoid,
            Some(other) => {
                return Err(meta_err(meta::OUTPUT, format!("{other:?} is not one of probabilities, logits, sigmoid")));
            }
        };
        let labels: Vec<String> = match prop(meta::LABELS) {
            Some(l) => l.split(',').map(|s| s.trim().to_string()).collect(),
            None => (0..10).map(|d| d.to_string()).collect(),
        };

        // tract looks graph outputs up by name and panics on one that nothing produces.
        let produced = |name: &str| {
            graph.input.iter().any(|i| i.name == name)
                || init.contains(&name)
                || graph.node.iter().any(|n| n.output.iter().any(|o| o == name))
        };
        if let Some(o) = graph.output.iter().find(|o| !produced(&o.name)) {
            return Err(corrupt(format!("graph output {:?} is not produced by any node", o.name)));
        }
        // A parser fed bytes it did not write is not trusted to return an error for every
        // malformed graph: a panic inside tract becomes this model's error too.
        let build = || {
            tract_onnx::onnx()
                .model_for_proto_model(&proto)
                .and_then(|m| m.with_input_fact(0, f32::fact(&input_shape).into()))
                .and_then(optimise)
                .and_then(|m| m.into_runnable())
        };
        let plan = std::panic::catch_unwind(std::panic::AssertUnwindSafe(build))
            .map_err(|p| corrupt(format!("tract failed on this graph: {}", panic_text(&p))))?
            .map_err(|e| corrupt(format!("{e:#}")))?;
        let out_fact = plan.model().output_fact(0).map_err(|e| corrupt(format!("{e:#}")))?;
        let outputs = match out_fact.shape.as_concrete() {
            Some(s) if s.iter().filter(|&&d| d != 1).count() == 1 => s.iter().product::<usize>(),
            _ => 0,
        };
        if !matches!(outputs, 10 | 11) || out_fact.datum_type != f32::datum_type() {
            return Err(ModelError::OutputShape {
                path: path.to_path_buf(),
                found: format!("{:?} {:?}", out_fact.datum_type, out_fact.shape),
            });
        }
        if outputs == 11 && prop(meta::NO_DIGIT) != Some("10") {
            return Err(meta_err(
                meta::NO_DIGIT,
                format!(
                    "the model has 11 outputs but does not say the last means \"no digit\" ({:?})",
                    prop(meta::NO_DIGIT)
                ),
            ));
        }
        let labels = match labels.len() {
            10 if outputs == 11 => labels.into_iter().chain(["no digit".to_string()]).collect(),
            n if n == outputs => labels,
            n => return Err(meta_err(meta::LABELS, format!("{n} labels for {outputs} outputs"))),
        };
        let sha256 = crate::util::sha256_hex(bytes);
        let state = std::cell::RefCell::new(plan.spawn().map_err(|e| corrupt(format!("{e:#}")))?);
        Ok(Model { path: path.to_path_buf(), state, input_shape, meta_scale, output, labels, outputs, sha256 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The input scale to feed it with: a command-line flag's, else the config's, else the
    /// model's own metadata, else 0..1; and where it came from.
    pub fn choose_scale(&self, flag: Option<InputScale>, config: Option<InputScale>) -> (InputScale, &'static str) {
        match (flag, config, self.meta_scale) {
            (Some(s), ..) => (s, "command line"),
            (None, Some(s), _) => (s, "config"),
            (None, None, Some(s)) => (s, "model metadata"),
            (None, None, None) => (InputScale::Range(0.0, 1.0), "default; the model does not say"),
        }
    }

    /// The concrete input shape the model runs with.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Runs the model on 784 already-scaled inputs and returns its probabilities.
    pub fn probabilities(&self, input: &[f32; PIXELS]) -> Result<Probabilities, ModelError> {
        let run_err = |e: TractError| ModelError::Run { path: self.path.clone(), reason: format!("{e:#}") };
        let tensor = Tensor::from_shape(&self.input_shape, &input[..]).map_err(run_err)?;
        let out = self.state.borrow_mut().run(tvec!(tensor.into())).map_err(run_err)?;
        let view = out[0].to_plain_array_view::<f32>().map_err(run_err)?;
        let mut raw = [0f32; OUTPUTS];
        for (r, v) in raw.iter_mut().zip(view.iter()) {
            *r = *v;
        }
        Ok(to_probabilities(&raw[..self.outputs], self.output))
    }
}

/// The message a caught panic carried.
fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Turns a model's raw outputs (10 or 11) into probabilities according to what they are.
pub fn to_probabilities(raw: &[f32], kind: OutputKind) -> Probabilities {
    let looks_like_probs = raw.iter().all(|v| (0.0..=1.0).contains(v)) && (raw.iter().sum::<f32>() - 1.0).abs() < 1e-3;
    let n = raw.len().min(OUTPUTS);
    let mut out = [0f32; OUTPUTS];
    match kind {
        OutputKind::Probabilities => out[..n].copy_from_slice(&raw[..n]),
        OutputKind::Auto if looks_like_probs => out[..n].copy_from_slice(&raw[..n]),
        OutputKind::Sigmoid => {
            let sum: f32 = raw.iter().map(|v| v.max(0.0)).sum();
            for (o, v) in out.iter_mut().zip(&raw[..n]) {
                *o = if sum > 0.0 { v.max(0.0) / sum } else { 1.0 / n as f32 };
            }
        }
        OutputKind::Logits | OutputKind::Auto => {
            let m = raw.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let s: f32 = raw.iter().map(|v| (v - m).exp()).sum();
            for (o, v) in out.iter_mut().zip(&raw[..n]) {
                *o = (v - m).exp() / s;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our CNNs through tract's optimisation alone and through [`optimise`]: the same
    /// numbers to the bit (where tract's kernels fuse multiply-adds, as on every x86-64 of
    /// the last decade and on aarch64), on inputs with ink (on zeros or not), blank ones and
    /// negative ones (the ReLU's side).
    #[test]
    fn our_ops_give_tracts_results_exactly() {
        let exact = conv::fused();
        for name in ["digit-cnn.onnx", "fashion-cnn.onnx", "digit-cnn-10.onnx"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(name);
            let load = || {
                tract_onnx::onnx()
                    .model_for_path(&path)
                    .unwrap()
                    .with_input_fact(0, f32::fact([1, 1, 28, 28]).into())
                    .unwrap()
            };
            let plain = load().into_optimized().unwrap().into_runnable().unwrap();
            let ours = optimise(load()).unwrap();
            let names: Vec<_> = ours.nodes().iter().map(|n| n.op.name().to_string()).collect();
            let count = |op: &str| names.iter().filter(|n| *n == op).count();
            assert_eq!(
                (count("Conv1In"), count("ConvDirect"), count("DenseDirect"), count("MaxPool2x2")),
                (1, 1, 2, 2),
                "{name}: {names:?}"
            );
            let ours = ours.into_runnable().unwrap();
            for seed in 0..6u32 {
                let x = tract_ndarray::Array4::from_shape_fn((1, 1, 28, 28), |(_, _, y, x)| {
                    let v = ((x as u32 * 31 + y as u32 * 17 + seed * 101) % 23) as f32 / 22.0;
                    match seed {
                        0 => 0.0,
                        1 => -v,
                        _ if (6..22).contains(&y) && (8..20).contains(&x) => v,
                        // A background of zeros, as in MNIST, for the rows of zeros our
                        // ops pass over; or of small values, for none.
                        2 | 4 => 0.0,
                        _ => 0.01,
                    }
                });
                let x: Tensor = x.into();
                let a = plain.run(tvec!(x.clone().into())).unwrap();
                let b = ours.run(tvec!(x.into())).unwrap();
                let a = a[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect::<Vec<_>>();
                let b = b[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect::<Vec<_>>();
                if exact {
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "{name}, input {seed}: {a:?} against {b:?}");
                } else {
                    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() <= 1e-5), "{name}, input {seed}");
                }
            }
        }
    }

    /// Found by tests/fuzz.rs in CI: one changed letter in the graph output's name
    /// ("probs" to "qrobs") made tract panic instead of refusing the model.
    #[test]
    fn a_graph_output_nothing_produces_is_refused_by_name() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist-seed-784-30-10.onnx");
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(6).rposition(|w| w == b"\x05probs").unwrap();
        bytes[at + 1] = b'q';
        let err = Model::from_bytes(Path::new("bad.onnx"), &bytes).err().unwrap().to_string();
        assert!(err.contains("bad.onnx") && err.contains("\"qrobs\" is not produced"), "{err}");
    }

    #[test]
    fn input_scale_maps_pixels() {
        let lecture = InputScale::parse("input-range", "0.01,1").unwrap();
        assert!((lecture.apply(0) - 0.01).abs() < 1e-7);
        assert!((lecture.apply(255) - 1.0).abs() < 1e-7);
        // The lecture's x / 255 * 0.99 + 0.01 at x = 128.
        assert!((lecture.apply(128) - (128.0 / 255.0 * 0.99 + 0.01)).abs() < 1e-6);
        let ms = InputScale::parse("input-mean-std", "0.1307,0.3081").unwrap();
        assert!((ms.apply(0) + 0.1307 / 0.3081).abs() < 1e-6);
        assert!(InputScale::parse("input-mean-std", "0.1,0").unwrap_err().contains("std must be > 0"));
        assert!(InputScale::parse("input-range", "1").unwrap_err().contains("two numbers"));
        assert!(InputScale::parse("input-range", "nan,1").is_err());
    }

    #[test]
    fn outputs_become_probabilities() {
        let mut logits = [0f32; 10];
        logits[3] = 5.0;
        let p = to_probabilities(&logits, OutputKind::Auto);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[3] > 0.9);
        assert_eq!(p[NO_DIGIT], 0.0, "a 10-output model never says no digit");
        let mut probs = [0.05f32; 10];
        probs[7] = 0.55;
        assert_eq!(&to_probabilities(&probs, OutputKind::Auto)[..10], &probs);
        let mut sig = [0.01f32; 10];
        sig[2] = 0.91;
        let p = to_probabilities(&sig, OutputKind::Sigmoid);
        assert!((p[2] - 0.91).abs() < 1e-6 && (p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // Eleven logits: the last is "no digit".
        let mut eleven = [0f32; 11];
        eleven[NO_DIGIT] = 6.0;
        let p = to_probabilities(&eleven, OutputKind::Logits);
        assert!(p[NO_DIGIT] > 0.9 && (p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
