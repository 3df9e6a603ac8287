//! The offline trainer: the lecture's 784-30-10 network reproduced, deeper MLPs and a CNN,
//! trained by backpropagation (the numerical derivative kept as its check) and exported
//! to ONNX for the firmware.

pub mod augment;
pub mod calibrate;
pub mod camera;
pub mod job;
pub mod net;
pub mod onnx;
pub mod printed;
pub mod report;

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::data::Dataset;
use crate::util::argmax;
use net::{Grads, Layer, Loss, Net, Real, Shape};

/// What network to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arch {
    /// The lecture's 784-30-10 sigmoid network with its loss and initialisation.
    Seed,
    /// A multi-layer perceptron, sizes from input to output.
    Mlp { sizes: Vec<usize>, activation: Activation },
    /// conv(c1, k1×k1)-relu-pool-conv(c2, k2×k2)-relu-pool-dense(hidden)-relu-dense(10);
    /// odd kernels, zero-padded to keep the size.
    Cnn { c1: usize, k1: usize, c2: usize, k2: usize, hidden: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Sigmoid,
    Relu,
}

impl FromStr for Arch {
    type Err = String;

    /// `seed`, `mlp:784-100-10`, `mlp:784-256-128-10:sigmoid`, `cnn`, `cnn:16-32-128` or,
    /// with kernel sizes other than 5, `cnn:16x5-32x3-128`.
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = "expected seed, mlp:784-H…-10[:relu|:sigmoid], cnn or cnn:C1[xK1]-C2[xK2]-HIDDEN";
        let sizes = |spec: &str| -> Result<Vec<usize>, String> {
            spec.split('-')
                .map(|v| v.parse::<usize>().ok().filter(|&n| n > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("bad layer sizes {spec:?}: {usage}"))
        };
        let mut parts = s.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("seed"), None, ..) => Ok(Arch::Seed),
            (Some("cnn"), None, ..) => Ok(Arch::Cnn { c1: 16, k1: 5, c2: 32, k2: 5, hidden: 128 }),
            (Some("cnn"), Some(spec), None, _) => {
                // A convolution's "CxK" (or "C", for a 5×5 kernel) as (channels, kernel).
                let conv = |part: &str| -> Result<(usize, usize), String> {
                    let (c, k) = part.split_once('x').unwrap_or((part, "5"));
                    let (c, k) = (sizes(c)?[0], sizes(k)?[0]);
                    if k % 2 == 0 {
                        return Err(format!("cnn kernels must be odd, got {k} in {spec:?}"));
                    }
                    Ok((c, k))
                };
                match spec.split('-').collect::<Vec<_>>()[..] {
                    [a, b, hidden] => {
                        let ((c1, k1), (c2, k2)) = (conv(a)?, conv(b)?);
                        Ok(Arch::Cnn { c1, k1, c2, k2, hidden: sizes(hidden)?[0] })
                    }
                    _ => Err(format!("cnn takes three sizes C1-C2-HIDDEN, got {spec:?}")),
                }
            }
            (Some("mlp"), Some(spec), act, None) => {
                let sizes = sizes(spec)?;
                if sizes.len() < 2 || sizes[0] != crate::data::PIXELS {
                    return Err(format!("mlp sizes must start with 784 and have an output layer, got {spec:?}"));
                }
                let activation = match act {
                    None | Some("relu") => Activation::Relu,
                    Some("sigmoid") => Activation::Sigmoid,
                    Some(other) => return Err(format!("unknown activation {other:?}: expected relu or sigmoid")),
                };
                Ok(Arch::Mlp { sizes, activation })
            }
            _ => Err(format!("unknown architecture {s:?}: {usage}")),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arch::Seed => write!(f, "seed"),
            Arch::Mlp { sizes, activation } => {
                let s: Vec<String> = sizes.iter().map(|v| v.to_string()).collect();
                let act = match activation {
                    Activation::Relu => "relu",
                    Activation::Sigmoid => "sigmoid",
                };
                write!(f, "mlp:{}:{act}", s.join("-"))
            }
            Arch::Cnn { c1, k1: 5, c2, k2: 5, hidden } => write!(f, "cnn:{c1}-{c2}-{hidden}"),
            Arch::Cnn { c1, k1, c2, k2, hidden } => write!(f, "cnn:{c1}x{k1}-{c2}x{k2}-{hidden}"),
        }
    }
}

impl Arch {
    /// The network, freshly initialised from `rng`, for `classes` outputs.
    pub fn build<T: Real>(&self, classes: usize, rng: &mut ChaCha8Rng) -> Net<T> {
        match self {
            Arch::Seed => Net {
                layers: vec![
                    Layer::dense_lecture(crate::data::PIXELS, 30, rng),
                    Layer::Sigmoid { len: 30 },
                    Layer::dense_lecture(30, classes, rng),
                    Layer::Sigmoid { len: classes },
                ],
                loss: Loss::LectureBce,
            },
            Arch::Mlp { sizes, activation } => {
                let mut layers = Vec::new();
                let last = sizes.len() - 1;
                for (i, pair) in sizes.windows(2).enumerate() {
                    let out = if i + 1 == last { classes } else { pair[1] };
                    layers.push(match activation {
                        Activation::Relu => Layer::dense_he(pair[0], out, rng),
                        Activation::Sigmoid => Layer::dense_lecture(pair[0], out, rng),
                    });
                    if i + 1 < last {
                        layers.push(match activation {
                            Activation::Relu => Layer::Relu { len: out },
                            Activation::Sigmoid => Layer::Sigmoid { len: out },
                        });
                    }
                }
                Net { layers, loss: Loss::SoftmaxCe }
            }
            Arch::Cnn { c1, k1, c2, k2, hidden } => {
                let s0 = Shape::image(1, crate::data::SIDE, crate::data::SIDE);
                let conv1 = Layer::conv_he(s0, *c1, *k1, k1 / 2, rng);
                let s1 = conv1.output_shape();
                let pool1 = Layer::MaxPool { input: s1 };
                let conv2 = Layer::conv_he(pool1.output_shape(), *c2, *k2, k2 / 2, rng);
                let s2 = conv2.output_shape();
                let pool2 = Layer::MaxPool { input: s2 };
                let flat = pool2.output_shape().len();
                Net {
                    layers: vec![
                        conv1,
                        Layer::Relu { len: s1.len() },
                        pool1,
                        conv2,
                        Layer::Relu { len: s2.len() },
                        pool2,
                        Layer::dense_he(flat, *hidden, rng),
                        Layer::Relu { len: *hidden },
                        Layer::dense_he(*hidden, classes, rng),
                    ],
                    loss: Loss::SoftmaxCe,
                }
            }
        }
    }

    /// The pixel → input mapping the network is trained with: pixel 0 → lo, 255 → hi.
    pub fn input_range(&self) -> (f32, f32) {
        match self {
            // The lecture's x / 255 * 0.99 + 0.01.
            Arch::Seed => (0.01, 1.0),
            _ => (0.0, 1.0),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Optimizer {
    Sgd { momentum: f64 },
    Adam,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum Gradient {
    /// Backpropagation.
    Backprop,
    /// The lecture's central difference, one parameter at a time (very slow).
    Numerical,
}

/// Everything that decides a training run.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub arch: Arch,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub optimizer: Optimizer,
    pub seed: u64,
    pub gradient: Gradient,
    pub augment: bool,
    /// Only samples before this index are augmented (those after are camera-domain samples,
    /// already as varied as the camera makes them).
    pub augment_below: usize,
    /// Shuffle each epoch (the lecture keeps file order).
    pub shuffle: bool,
    /// Cosine decay of the learning rate over the run (the lecture keeps it constant).
    pub decay: bool,
    pub progress: bool,
}

impl TrainConfig {
    /// The defaults for an architecture: the lecture's settings for `seed`, Adam with
    /// mini-batches for the rest.
    pub fn for_arch(arch: Arch) -> Self {
        let lecture = arch == Arch::Seed;
        TrainConfig {
            epochs: if lecture { 1 } else { 10 },
            batch: if lecture { 1 } else { 64 },
            lr: if lecture { 0.01 } else { 1e-3 },
            optimizer: if lecture { Optimizer::Sgd { momentum: 0.0 } } else { Optimizer::Adam },
            seed: 0,
            gradient: Gradient::Backprop,
            augment: false,
            augment_below: usize::MAX,
            shuffle: !lecture,
            decay: !lecture,
            progress: false,
            arch,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub loss: f64,
    pub train_accuracy: f64,
    pub test_accuracy: Option<f64>,
    pub seconds: f64,
    /// Mean training loss over each fiftieth of the epoch, for the loss curve.
    pub trace: Vec<f64>,
}

/// Scales pixels into network inputs.
pub fn scale_pixels<T: Real>(pixels: &[u8], range: (f32, f32), out: &mut Vec<T>) {
    let (lo, hi) = (range.0 as f64, range.1 as f64);
    out.extend(pixels.iter().map(|&p| T::from_f64(lo + p as f64 / 255.0 * (hi - lo))));
}

/// Samples per parallel work item: fixed, so results do not depend on the thread count.
const CHUNK: usize = 16;

struct Adam<T> {
    m: Grads<T>,
    v: Grads<T>,
    t: i32,
}

/// Trains a network. Deterministic for a given config and data, whatever the thread count.
pub fn train<T: Real>(
    cfg: &TrainConfig,
    train: &Dataset,
    test: Option<&Dataset>,
    classes: usize,
    on_epoch: impl FnMut(&EpochStats),
) -> (Net<T>, Vec<EpochStats>) {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let net: Net<T> = cfg.arch.build(classes, &mut rng);
    // Shuffling continues the stream initialisation drew from.
    run_epochs(cfg, net, rng, train, test, on_epoch)
}

/// [`train`], starting from a network already made (fine-tuning a trained one).
pub fn train_from<T: Real>(
    cfg: &TrainConfig,
    net: Net<T>,
    train: &Dataset,
    test: Option<&Dataset>,
    on_epoch: impl FnMut(&EpochStats),
) -> (Net<T>, Vec<EpochStats>) {
    run_epochs(cfg, net, ChaCha8Rng::seed_from_u64(cfg.seed), train, test, on_epoch)
}

fn run_epochs<T: Real>(
    cfg: &TrainConfig,
    mut net: Net<T>,
    mut rng: ChaCha8Rng,
    train: &Dataset,
    test: Option<&Dataset>,
    mut on_epoch: impl FnMut(&EpochStats),
) -> (Net<T>, Vec<EpochStats>) {
    let range = cfg.arch.input_range();
    let mut velocity = net.zero_grads();
    let mut adam = Adam { m: net.zero_grads(), v: net.zero_grads(), t: 0 };
    let n = train.len();
    let batch = cfg.batch.max(1);
    let steps_total = (cfg.epochs * n.div_ceil(batch)).max(1);
    let mut step = 0usize;
    let mut history = Vec::new();
    let mut order: Vec<usize> = (0..n).collect();
    let mut grads = net.zero_grads();
    for epoch in 1..=cfg.epochs {
        let started = Instant::now();
        if cfg.shuffle {
            order.shuffle(&mut rng);
        }
        let bar = progress_bar(cfg.progress, n as u64, epoch, cfg.epochs);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        let trace_every = n.div_ceil(50).max(1);
        let (mut trace, mut trace_sum, mut trace_n) = (Vec::new(), 0.0f64, 0usize);
        for idx in order.chunks(batch) {
            let lr = if cfg.decay {
                let p = step as f64 / steps_total as f64;
                cfg.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * p).cos()))
            } else {
                cfg.lr
            };
            step += 1;
            let x = gather(train, idx, range, cfg.augment.then_some((cfg.seed, epoch, cfg.augment_below)));
            let labels: Vec<u8> = idx.iter().map(|&i| train.labels[i]).collect();
            let scale = T::one() / T::from_f64(idx.len() as f64);
            let (loss, ok) = match cfg.gradient {
                Gradient::Numerical => {
                    let (l, ok) = (net.loss(&x, &labels), count_correct(&net, &x, &labels));
                    grads = net.numerical_grads(&x, &labels, T::from_f64(1e-4));
                    (l * T::from_f64(idx.len() as f64), ok)
                }
                Gradient::Backprop if idx.len() <= CHUNK => {
                    zero(&mut grads);
                    net.loss_and_grads(&x, &labels, scale, &mut grads)
                }
                Gradient::Backprop => {
                    let per = net.input_shape().len();
                    let parts: Vec<(T, usize, Grads<T>)> = x
                        .par_chunks(per * CHUNK)
                        .zip(labels.par_chunks(CHUNK))
                        .map(|(xc, lc)| {
                            let mut g = net.zero_grads();
                            let (l, ok) = net.loss_and_grads(xc, lc, scale, &mut g);
                            (l, ok, g)
                        })
                        .collect();
                    zero(&mut grads);
                    let mut total = (T::zero(), 0);
                    for (l, ok, g) in parts {
                        total.0 += l;
                        total.1 += ok;
                        add_into(&mut grads, &g);
                    }
                    total
                }
            };
            let loss = loss.to_f64().unwrap_or(f64::NAN);
            loss_sum += loss;
            correct += ok;
            trace_sum += loss;
            trace_n += idx.len();
            if trace_n >= trace_every {
                trace.push(trace_sum / trace_n as f64);
                (trace_sum, trace_n) = (0.0, 0);
            }
            match cfg.optimizer {
                Optimizer::Sgd { momentum } => sgd(&mut net, &grads, &mut velocity, lr, momentum),
                Optimizer::Adam => adam_step(&mut net, &grads, &mut adam, lr),
            }
            bar.inc(idx.len() as u64);
        }
        bar.finish_and_clear();
        let test_accuracy = test.map(|t| evaluate(&net, t, range).accuracy);
        let stats = EpochStats {
            epoch,
            loss: loss_sum / n.max(1) as f64,
            train_accuracy: correct as f64 / n.max(1) as f64,
            test_accuracy,
            seconds: started.elapsed().as_secs_f64(),
            trace,
        };
        on_epoch(&stats);
        history.push(stats);
    }
    (net, history)
}

fn progress_bar(show: bool, len: u64, epoch: usize, epochs: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("epoch {msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("{epoch}/{epochs}"));
    bar
}

fn count_correct<T: Real>(net: &Net<T>, x: &[T], labels: &[u8]) -> usize {
    let out = net.forward(x, labels.len());
    out.chunks_exact(net.classes()).zip(labels).filter(|(r, &l)| argmax(r) == l as usize).count()
}

/// The inputs for samples `idx`, augmented with a per-sample seed when asked, so the
/// result depends only on (seed, epoch, sample).
fn gather<T: Real>(data: &Dataset, idx: &[usize], range: (f32, f32), augment: Option<(u64, usize, usize)>) -> Vec<T> {
    let per = data.rows * data.cols;
    let mut x = Vec::with_capacity(idx.len() * per);
    match augment {
        None => idx.iter().for_each(|&i| scale_pixels(data.image(i), range, &mut x)),
        Some((seed, epoch, below)) => {
            let imgs: Vec<Vec<u8>> = idx
                .par_iter()
                .map(|&i| {
                    if i >= below {
                        return data.image(i).to_vec();
                    }
                    let s = seed
                        ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
                    augment::augment(data.image(i), &mut ChaCha8Rng::seed_from_u64(s))
                })
                .collect();
            imgs.iter().for_each(|img| scale_pixels(img, range, &mut x));
        }
    }
    x
}

fn zero<T: Real>(g: &mut Grads<T>) {
    g.iter_mut().flatten().for_each(|t| t.fill(T::zero()));
}

fn add_into<T: Real>(acc: &mut Grads<T>, g: &Grads<T>) {
    for (a, b) in acc.iter_mut().flatten().zip(g.iter().flatten()) {
        for (x, &y) in a.iter_mut().zip(b) {
            *x += y;
        }
    }
}

fn sgd<T: Real>(net: &mut Net<T>, grads: &Grads<T>, vel: &mut Grads<T>, lr: f64, momentum: f64) {
    let (lr, mu) = (T::from_f64(lr), T::from_f64(momentum));
    for ((layer, g), v) in net.layers.iter_mut().zip(grads).zip(vel.iter_mut()) {
        for ((p, g), v) in layer.params_mut().into_iter().zip(g).zip(v.iter_mut()) {
            if momentum == 0.0 {
                p.iter_mut().zip(g).for_each(|(p, &g)| *p = *p - lr * g);
            } else {
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                    *v = mu * *v + g;
                    *p = *p - lr * *v;
                }
            }
        }
    }
}

fn adam_step<T: Real>(net: &mut Net<T>, grads: &Grads<T>, st: &mut Adam<T>, lr: f64) {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;
    st.t += 1;
    let c1 = 1.0 - B1.powi(st.t);
    let c2 = 1.0 - B2.powi(st.t);
    let step = T::from_f64(lr * c2.sqrt() / c1);
    let (b1, b2, eps) = (T::from_f64(B1), T::from_f64(B2), T::from_f64(1e-8));
    let one = T::one();
    for (((layer, g), m), v) in net.layers.iter_mut().zip(grads).zip(st.m.iter_mut()).zip(st.v.iter_mut()) {
        for (((p, g), m), v) in layer.params_mut().into_iter().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = b1 * *m + (one - b1) * g;
                *v = b2 * *v + (one - b2) * g * g;
                *p = *p - step * *m / (v.sqrt() + eps);
            }
        }
    }
}

/// Test-set results, like the lecture's `accuracy()` and more.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub n: usize,
    pub accuracy: f64,
    pub per_class: Vec<f64>,
    /// `confusion[label][prediction]`.
    pub confusion: Vec<Vec<u32>>,
    /// (index, label, prediction) of every misread sample.
    pub misread: Vec<(usize, u8, u8)>,
}

pub fn evaluate<T: Real>(net: &Net<T>, data: &Dataset, range: (f32, f32)) -> Evaluation {
    let classes = net.classes();
    let preds: Vec<usize> = (0..data.len())
        .collect::<Vec<_>>()
        .par_chunks(256)
        .flat_map_iter(|idx| {
            let x: Vec<T> = gather(data, idx, range, None);
            let out = net.forward(&x, idx.len());
            out.chunks_exact(classes).map(argmax).collect::<Vec<_>>()
        })
        .collect();
    summarise(&data.labels, &preds, classes)
}

/// Accuracy, per-class accuracy, confusion matrix and misreads from labels and predictions.
pub fn summarise(labels: &[u8], preds: &[usize], classes: usize) -> Evaluation {
    let mut confusion = vec![vec![0u32; classes]; classes];
    let mut misread = Vec::new();
    for (i, (&l, &p)) in labels.iter().zip(preds).enumerate() {
        if (l as usize) < classes && p < classes {
            confusion[l as usize][p] += 1;
        }
        if l as usize != p {
            misread.push((i, l, p as u8));
        }
    }
    let n = labels.len();
    let right = n - misread.len();
    let per_class = confusion
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let total: u32 = row.iter().sum();
            if total == 0 {
                0.0
            } else {
                row[c] as f64 / total as f64
            }
        })
        .collect();
    Evaluation { n, accuracy: if n == 0 { 0.0 } else { right as f64 / n as f64 }, per_class, confusion, misread }
}

/// Converts a network's parameters to another float type.
pub fn cast<A: Real, B: Real>(net: &Net<A>) -> Net<B> {
    let conv = |v: &Vec<A>| v.iter().map(|x| B::from_f64(x.to_f64().unwrap_or(f64::NAN))).collect::<Vec<B>>();
    let layers = net
        .layers
        .iter()
        .map(|l| match l {
            Layer::Dense { input, output, w, b } => {
                Layer::Dense { input: *input, output: *output, w: conv(w), b: conv(b) }
            }
            Layer::Conv { input, out_c, k, pad, w, b } => {
                Layer::Conv { input: *input, out_c: *out_c, k: *k, pad: *pad, w: conv(w), b: conv(b) }
            }
            Layer::MaxPool { input } => Layer::MaxPool { input: *input },
            Layer::Sigmoid { len } => Layer::Sigmoid { len: *len },
            Layer::Relu { len } => Layer::Relu { len: *len },
        })
        .collect();
    Net { layers, loss: net.loss }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_parses_and_prints() {
        assert_eq!("seed".parse::<Arch>().unwrap(), Arch::Seed);
        let a: Arch = "mlp:784-256-128-10".parse().unwrap();
        assert_eq!(a.to_string(), "mlp:784-256-128-10:relu");
        assert_eq!("cnn:8-16-32".parse::<Arch>().unwrap(), Arch::Cnn { c1: 8, k1: 5, c2: 16, k2: 5, hidden: 32 });
        let small: Arch = "cnn:16-32x3-128".parse().unwrap();
        assert_eq!(small, Arch::Cnn { c1: 16, k1: 5, c2: 32, k2: 3, hidden: 128 });
        assert_eq!(small.to_string(), "cnn:16x5-32x3-128");
        assert_eq!(small.to_string().parse::<Arch>().unwrap(), small);
        assert_eq!("cnn".parse::<Arch>().unwrap().to_string(), "cnn:16-32-128");
        assert!("cnn:16-32x4-128".parse::<Arch>().unwrap_err().contains("must be odd"));
        assert!("cnn:16-32x0-128".parse::<Arch>().unwrap_err().contains("bad layer sizes"));
        assert!("mlp:100-10".parse::<Arch>().unwrap_err().contains("start with 784"));
        assert!("mlp:784-x-10".parse::<Arch>().unwrap_err().contains("bad layer sizes"));
        assert!("resnet".parse::<Arch>().unwrap_err().contains("unknown architecture"));
    }

    #[test]
    fn lecture_network_has_the_lectures_shape() {
        let net: Net<f32> = Arch::Seed.build(10, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(net.param_count(), 784 * 30 + 30 + 30 * 10 + 10);
        let Layer::Dense { b, w, .. } = &net.layers[0] else { panic!("dense first") };
        assert!(b.iter().all(|&v| (0.0..1.0).contains(&v)), "biases from rand are in [0,1)");
        let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        assert!((var * 784.0 - 1.0).abs() < 0.05, "Xavier: var(w) = 1/in, got {}", var * 784.0);
    }

    #[test]
    fn summary_counts_confusions() {
        let e = summarise(&[0, 1, 1, 2], &[0, 1, 2, 2], 3);
        assert_eq!(e.accuracy, 0.75);
        assert_eq!(e.confusion[1], vec![0, 1, 1]);
        assert_eq!(e.misread, vec![(2, 1, 2)]);
        assert_eq!(e.per_class, vec![1.0, 0.5, 1.0]);
    }
}
