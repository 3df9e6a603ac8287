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
    pub arch: Arch,
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
}

const FASHION_LABELS: &str = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot";

/// Trains, evaluates and writes the model (and the report) as the job says.
pub fn run(a: &Job) -> Result<()> {
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().context("--threads")?;
    }
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
    if let Some(copies) = a.camera {
        let started = Instant::now();
        let cam = super::camera::camera_digits(&train_data, copies, a.seed ^ 0xCA3E);
        println!(
            "adding {} digits as the camera and preprocessing see them ({} views, {:.0} s)",
            cam.len(),
            train_data.len() * copies,
            started.elapsed().as_secs_f64()
        );
        train_data.extend(&cam);
    }
    let classes = if let Some(n) = a.clutter {
        let started = Instant::now();
        let neg = super::camera::clutter(&mnist, n, a.seed ^ 0xC1A7);
        println!(
            "adding {} \"no digit\" samples from {n} views without one ({:.0} s)",
            neg.len(),
            started.elapsed().as_secs_f64()
        );
        train_data.extend(&neg);
        11
    } else {
        10
    };
    let validation = if a.calibrate {
        let (rest, val) = train_data.split_every(12, a.seed);
        train_data = rest;
        Some(val)
    } else {
        None
    };
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
    let mut cfg = TrainConfig::for_arch(a.arch.clone());
    cfg.seed = a.seed;
    cfg.gradient = a.gradient;
    cfg.augment = a.augment;
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
    // The numerical derivative needs f64 to mean anything (the lecture used numpy's f64).
    let (net, history): (Net<f32>, _) = match cfg.gradient {
        Gradient::Numerical => {
            let (n, h) = super::train::<f64>(&cfg, &train_data, Some(&test_data), classes, on_epoch);
            (super::cast(&n), h)
        }
        Gradient::Backprop => super::train::<f32>(&cfg, &train_data, Some(&test_data), classes, on_epoch),
    };
    let mut net = net;
    let range = cfg.arch.input_range();
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
