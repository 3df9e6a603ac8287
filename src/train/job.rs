//! `digitbot train`: read the data, train, report, export — the trainer's whole job.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::net::Net;
use super::{onnx, Arch, EpochStats, Gradient, Optimizer, TrainConfig};
use crate::data::{self, Split};

/// Everything a training run needs to know.
#[derive(Clone, Debug)]
pub struct Job {
    /// An MNIST-layout folder or a CSV file.
    pub data: PathBuf,
    /// Test data when it is not the t10k files of `data`.
    pub test: Option<PathBuf>,
    /// The architecture of a new network (None: fine-tune `init`).
    pub arch: Option<Arch>,
    pub out: PathBuf,
    pub epochs: Option<usize>,
    pub seed: u64,
    pub batch: Option<usize>,
    pub lr: Option<f64>,
    /// "sgd" or "adam".
    pub optimizer: Option<String>,
    pub momentum: f64,
    pub gradient: Gradient,
    pub augment: bool,
    pub limit: Option<usize>,
    pub test_limit: Option<usize>,
    pub labels: Option<String>,
    pub printed: Option<usize>,
    pub fonts: Vec<PathBuf>,
    pub report: Option<PathBuf>,
    pub threads: Option<usize>,
    /// Add 1s and 7s written the continental way (a flag and a base, a barred stem).
    pub styles: bool,
    /// Draw each digit into this many camera-like views and train on what preprocessing
    /// makes of them.
    pub camera: Option<usize>,
    /// Train an 11th output, "no digit", on what preprocessing finds in this many views
    /// without a readable digit.
    pub clutter: Option<usize>,
    /// Keep a twelfth of the training samples aside and fit a temperature on them.
    pub calibrate: bool,
    /// Start from this model (one `digitbot train` exported): fine-tuning.
    pub init: Option<PathBuf>,
    /// Capture folders whose labelled 28×28 inputs join the training data (a fifth kept
    /// aside to measure on), each repeated `extra_copies` times.
    pub extra: Vec<PathBuf>,
    pub extra_copies: usize,
}

/// A fine-tune's starting point.
struct Start {
    net: Net<f32>,
    arch: Arch,
    classes: usize,
}

fn load_init(path: &std::path::Path) -> Result<Start> {
    let bytes = std::fs::read(path).with_context(|| format!("--init {}: cannot read", path.display()))?;
    let (net, meta) = onnx::from_bytes(path, &bytes)?;
    let arch_text = meta.iter().find(|(k, _)| k == "digitbot.arch").map(|(_, v)| v.clone()).with_context(|| {
        format!("--init {}: the model does not say its architecture (digitbot.arch)", path.display())
    })?;
    let arch: Arch = arch_text.parse().map_err(|e: String| anyhow::anyhow!("--init {}: {e}", path.display()))?;
    let classes = net.classes();
    Ok(Start { net, arch, classes })
}

/// The labelled inputs of capture folders; "no digit" captures only for an 11-class net.
fn read_captures(dirs: &[PathBuf], classes: usize) -> Result<data::Dataset> {
    let mut ds = data::Dataset { rows: data::SIDE, cols: data::SIDE, ..data::Dataset::default() };
    let mut unusable = 0;
    for dir in dirs {
        for (path, r) in data::captures::read_records(dir)? {
            let Some(input) = &r.input else { continue };
            let label = match r.label {
                Some(d) => d,
                None if classes == 11 => super::camera::NO_DIGIT,
                None => {
                    unusable += 1;
                    continue;
                }
            };
            let file = dir.join(input);
            let img = image::open(&file)
                .with_context(|| format!("capture {}: cannot read {}", path.display(), file.display()))?
                .into_luma8();
            if img.dimensions() != (data::SIDE as u32, data::SIDE as u32) {
                bail!("capture {}: {} is not 28×28", path.display(), file.display());
            }
            ds.images.extend_from_slice(img.as_raw());
            ds.labels.push(label);
        }
    }
    if unusable > 0 {
        println!("leaving out {unusable} \"no digit\" captures: the model has no \"no digit\" output to learn them");
    }
    if ds.is_empty() {
        bail!("--extra {dirs:?}: no labelled captures with a model input");
    }
    Ok(ds)
}

const FASHION_LABELS: &str = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot";

/// Trains, evaluates and writes the model (and the report) as the job says.
pub fn run(a: &Job) -> Result<()> {
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().context("--threads")?;
    }
    let mut start = a.init.as_deref().map(load_init).transpose()?;
    let mut train_data = data::read_any(&a.data, Split::Train)?;
    let test_path = a.test.clone().unwrap_or(a.data.clone());
    let mut test_data = if a.test.is_none() && !a.data.is_dir() {
        log::warn!("no --test given for a CSV file: reporting accuracy on the training data");
        train_data.clone()
    } else {
        data::read_any(&test_path, Split::Test)?
    };
    if let Some(n) = a.limit {
        train_data = train_data.take(n);
    }
    if let Some(copies) = a.printed {
        let fonts = crate::sim::scenes::load_fonts(&a.fonts);
        if fonts.is_empty() {
            bail!("--printed: no fonts with digits under {:?} (apt-get install fonts-dejavu-core)", a.fonts);
        }
        let printed = super::printed::printed_digits(&fonts, copies);
        println!("adding {} printed digits from {} fonts", printed.len(), fonts.len());
        train_data.images.extend_from_slice(&printed.images);
        train_data.labels.extend_from_slice(&printed.labels);
    }
    let mnist = train_data.clone();
    if a.styles {
        let v = super::camera::style_variants(&mnist, a.seed ^ 0x5717);
        println!("adding {} continental 1s and barred 7s", v.len());
        train_data.extend(&v);
    }
    // What is added from here on is as varied as a camera makes it: it is not augmented,
    // and is kept after the rest.
    let mut domain = data::Dataset { rows: data::SIDE, cols: data::SIDE, ..data::Dataset::default() };
    if let Some(copies) = a.camera {
        let started = Instant::now();
        let cam = super::camera::camera_digits(&train_data, copies, a.seed ^ 0xCA3E);
        println!(
            "adding {} digits as the camera and preprocessing see them ({} views, {:.0} s)",
            cam.len(),
            train_data.len() * copies,
            started.elapsed().as_secs_f64()
        );
        domain.extend(&cam);
    }
    let classes = if let Some(s) = &mut start {
        if a.clutter.is_some() && s.classes == 10 {
            // A reader that already reads digits well learns "no digit" as one more output
            // on the features it has, instead of starting afresh.
            if !s.net.add_class() {
                bail!("--clutter: the model given to --init does not end in a dense layer to add \"no digit\" to");
            }
            s.classes = 11;
            println!("adding a \"no digit\" output to the model given to --init");
        }
        s.classes
    } else if a.clutter.is_some() {
        11
    } else {
        10
    };
    if let Some(n) = a.clutter {
        let started = Instant::now();
        let neg = super::camera::clutter(&mnist, n, a.seed ^ 0xC1A7);
        println!(
            "adding {} \"no digit\" samples from {n} views without one ({:.0} s)",
            neg.len(),
            started.elapsed().as_secs_f64()
        );
        domain.extend(&neg);
    }
    // Captures: a fifth kept aside to measure the fine-tune on, the rest repeated.
    let held_captures = if a.extra.is_empty() {
        None
    } else {
        let caps = read_captures(&a.extra, classes)?;
        let (rest, held) = caps.split_every(5, a.seed ^ 0xE87A);
        println!("adding {} captures ×{} ({} kept aside to measure on)", rest.len(), a.extra_copies, held.len());
        for _ in 0..a.extra_copies {
            domain.extend(&rest);
        }
        Some(held)
    };
    let validation = if a.calibrate {
        // A temperature is one number: a thirtieth of the data fits it well, and the rest
        // still trains the network.
        let (base, mut val) = train_data.split_every(30, a.seed);
        let (rest, val_domain) = domain.split_every(30, a.seed ^ 1);
        val.extend(&val_domain);
        (train_data, domain) = (base, rest);
        Some(val)
    } else {
        None
    };
    let augment_below = train_data.len();
    train_data.extend(&domain);
    if let Some(n) = a.test_limit {
        test_data = test_data.take(n);
    }
    for d in [&train_data, &test_data] {
        if d.rows != data::SIDE || d.cols != data::SIDE {
            bail!("{}: images are {}x{}, expected 28x28", a.data.display(), d.cols, d.rows);
        }
    }
    let labels: Vec<String> = match &a.labels {
        Some(l) => l.split(',').map(|s| s.trim().to_string()).collect(),
        None if a.data.to_string_lossy().to_lowercase().contains("fashion") => {
            FASHION_LABELS.split(',').map(String::from).collect()
        }
        None => (0..10).map(|d| d.to_string()).collect(),
    };
    if labels.len() != 10 {
        bail!("--labels: {} names given, the network has 10 outputs", labels.len());
    }
    let mut labels = labels;
    if classes == 11 {
        labels.push(super::camera::NO_DIGIT_LABEL.into());
    }
    let arch = match (&start, &a.arch) {
        (Some(s), _) => s.arch.clone(),
        (None, Some(arch)) => arch.clone(),
        (None, None) => bail!("--arch is needed unless --init names a model to fine-tune"),
    };
    let mut cfg = TrainConfig::for_arch(arch);
    if start.is_some() {
        // Fine-tuning: a few gentle epochs.
        cfg.epochs = 2;
        cfg.lr = cfg.lr.min(2e-4);
    }
    cfg.seed = a.seed;
    cfg.gradient = a.gradient;
    cfg.augment = a.augment;
    cfg.augment_below = augment_below;
    cfg.progress = true;
    if let Some(e) = a.epochs {
        cfg.epochs = e;
    }
    if let Some(b) = a.batch {
        cfg.batch = b.max(1);
    }
    if let Some(lr) = a.lr {
        cfg.lr = lr;
    }
    match a.optimizer.as_deref() {
        Some("sgd") => cfg.optimizer = Optimizer::Sgd { momentum: a.momentum },
        Some("adam") => cfg.optimizer = Optimizer::Adam,
        _ if a.momentum != 0.0 => cfg.optimizer = Optimizer::Sgd { momentum: a.momentum },
        _ => {}
    }
    println!(
        "training {} on {} samples ({} test), {} epoch(s), batch {}, lr {}, {:?}, {:?} gradients{}",
        cfg.arch,
        train_data.len(),
        test_data.len(),
        cfg.epochs,
        cfg.batch,
        cfg.lr,
        cfg.optimizer,
        cfg.gradient,
        if cfg.augment { ", augmented" } else { "" }
    );
    let started = Instant::now();
    let on_epoch = |s: &EpochStats| {
        println!(
            "epoch {:>3}: loss {:.4}, train accuracy {:.2}%, test accuracy {}, {:.1} s",
            s.epoch,
            s.loss,
            s.train_accuracy * 100.0,
            s.test_accuracy.map_or("-".into(), |a| format!("{:.2}%", a * 100.0)),
            s.seconds
        )
    };
    let range = cfg.arch.input_range();
    // Before: the starting model on the captures kept aside and on the test set.
    let before = start.as_ref().map(|s| {
        let caps = held_captures.as_ref().map(|h| super::evaluate(&s.net, h, range).accuracy);
        (caps, super::evaluate(&s.net, &test_data, range).accuracy)
    });
    // The numerical derivative needs f64 to mean anything (the lecture used numpy's f64).
    let (net, history): (Net<f32>, _) = match (cfg.gradient, start) {
        (Gradient::Numerical, None) => {
            let (n, h) = super::train::<f64>(&cfg, &train_data, Some(&test_data), classes, on_epoch);
            (super::cast(&n), h)
        }
        (Gradient::Numerical, Some(_)) => bail!("--gradient numerical cannot fine-tune: use backprop"),
        (Gradient::Backprop, None) => super::train::<f32>(&cfg, &train_data, Some(&test_data), classes, on_epoch),
        (Gradient::Backprop, Some(s)) => super::train_from::<f32>(&cfg, s.net, &train_data, Some(&test_data), on_epoch),
    };
    let mut net = net;
    let calibration = match &validation {
        Some(val) if cfg.arch != super::Arch::Seed => {
            let c = super::calibrate::fit(&net, val, range);
            super::calibrate::apply(&mut net, c.temperature);
            println!(
                "calibration on {} held-out samples: temperature {:.3}, expected calibration error {:.2}% -> {:.2}%, \
                 NLL {:.4} -> {:.4}",
                c.n,
                c.temperature,
                c.ece_before * 100.0,
                c.ece_after * 100.0,
                c.nll_before,
                c.nll_after
            );
            Some(c)
        }
        Some(_) => bail!("--calibrate: the lecture's network has sigmoid outputs, not softmax"),
        None => None,
    };
    let seconds = started.elapsed().as_secs_f64();
    let e = super::evaluate(&net, &test_data, range);
    print!("{}", super::report::text(&e, &labels));
    if let Some((caps, test)) = before {
        let pct = |v: f64| format!("{:.1} %", v * 100.0);
        let after_caps = held_captures.as_ref().map(|h| super::evaluate(&net, h, range).accuracy);
        let caps_line = match (caps, after_caps, &held_captures) {
            (Some(b), Some(a), Some(h)) => format!("captures kept aside ({}) {} -> {}, ", h.len(), pct(b), pct(a)),
            _ => String::new(),
        };
        println!("fine-tune: {caps_line}test set {} -> {}", pct(test), pct(e.accuracy));
    }
    // As a user would type it, wherever the binary lives.
    let command = std::iter::once("digitbot".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ");
    let mut metadata = onnx::metadata(&cfg, &labels, &a.data, e.accuracy, &command);
    if classes == 11 {
        metadata.push((crate::stage::model::meta::NO_DIGIT.into(), "10".into()));
    }
    if let Some(c) = &calibration {
        metadata.push(("digitbot.temperature".into(), format!("{:.4}", c.temperature)));
        metadata.push(("digitbot.ece".into(), format!("{:.4} -> {:.4}", c.ece_before, c.ece_after)));
    }
    let bytes = onnx::to_bytes(&net, &metadata);
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "wrote {} ({} parameters, {} bytes, sha256 {}) after {:.1} s",
        a.out.display(),
        net.param_count(),
        bytes.len(),
        crate::util::sha256_hex(&bytes),
        seconds
    );
    if let Some(dir) = &a.report {
        super::report::write(
            dir,
            &cfg.arch.to_string(),
            net.param_count(),
            seconds,
            &history,
            &e,
            &test_data,
            &command,
        )?;
        println!("report in {}", dir.display());
    }
    Ok(())
}
