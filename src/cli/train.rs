//! `digitbot train`: flags → a training job.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::train::job::{self, Job};
use crate::train::{self as trainer, Gradient};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data: an MNIST-layout folder (train-*/t10k-* IDX files) or a CSV file
    /// (label then 784 pixels per row).
    #[arg(long, value_name = "PATH")]
    pub data: PathBuf,
    /// Test data when it is not the t10k files of --data (a folder or CSV file).
    #[arg(long, value_name = "PATH")]
    pub test: Option<PathBuf>,
    /// seed (the lecture's 784-30-10), mlp:784-H…-10[:relu|:sigmoid], cnn or cnn:C1-C2-HIDDEN (kernels other than 5×5 as C1xK1-C2xK2, e.g. cnn:16-32x3-128).
    #[arg(long, value_name = "ARCH", required_unless_present = "init")]
    pub arch: Option<trainer::Arch>,
    /// Where to write the ONNX model.
    #[arg(long, value_name = "FILE.onnx")]
    pub out: PathBuf,
    /// Epochs [default: 1 for seed, 10 otherwise].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Random seed for initialisation, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Mini-batch size [default: 1 for seed, 64 otherwise].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate [default: 0.01 for seed (SGD), 0.001 otherwise (Adam)].
    #[arg(long)]
    pub lr: Option<f64>,
    /// sgd or adam [default: sgd for seed, adam otherwise].
    #[arg(long, value_parser = ["sgd", "adam"])]
    pub optimizer: Option<String>,
    /// Momentum for SGD.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// How gradients are computed; numerical is the lecture's method (use --limit).
    #[arg(long, value_enum, default_value_t = Gradient::Backprop)]
    pub gradient: Gradient,
    /// Augment: shifts, rotation, scale, shear, stroke thickness, elastic distortion.
    #[arg(long)]
    pub augment: bool,
    /// Train on the first N samples only.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Test on the first N test samples only.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// Class names, comma-separated [default: digits, or Fashion-MNIST's names when the
    /// data path mentions fashion].
    #[arg(long)]
    pub labels: Option<String>,
    /// Add printed digits: each digit of each font under --fonts, normalised like camera
    /// digits, repeated N times (augmentation varies the copies).
    #[arg(long, value_name = "N")]
    pub printed: Option<usize>,
    /// Font folders for --printed.
    #[arg(long, value_name = "DIR", default_value = "/usr/share/fonts")]
    pub fonts: Vec<PathBuf>,
    /// Write summary.json, loss.png, confusion.png and misread.png here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Add 1s and 7s written the continental way (a flag and a base on the 1, a bar across
    /// the 7), made from the training set's own.
    #[arg(long)]
    pub styles: bool,
    /// Also draw each training digit into N camera-like views (paper, ruled and grid paper,
    /// a card on the floor, a board, close-ups, crops; pens, blur, noise, JPEG) and train on
    /// what the firmware's preprocessing makes of them.
    #[arg(long, value_name = "N")]
    pub camera: Option<usize>,
    /// Train an 11th output, "no digit", on what preprocessing finds in N views without a
    /// readable digit (shadows, card and paper edges, lines, specks, half digits, digits run
    /// together, scribbles). With --init of a 10-output model, the output is added to it.
    #[arg(long, value_name = "N")]
    pub clutter: Option<usize>,
    /// Keep a twelfth of the training samples aside, fit a temperature on them so confidence
    /// matches accuracy, and report the calibration error before and after.
    #[arg(long)]
    pub calibrate: bool,
    /// Fine-tune this model (one `digitbot train` exported) instead of starting afresh:
    /// its architecture and weights, 2 epochs at a low learning rate unless told otherwise.
    #[arg(long, value_name = "MODEL.onnx", conflicts_with = "arch")]
    pub init: Option<PathBuf>,
    /// Capture folders (from the live view or `run --capture`) whose labelled samples join
    /// the training data; a fifth is kept aside and the accuracy on it reported before and
    /// after.
    #[arg(long, value_name = "DIR")]
    pub extra: Vec<PathBuf>,
    /// How many times each capture is repeated in the training data.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub extra_copies: usize,
}

pub fn train(a: TrainArgs) -> Result<()> {
    job::run(&Job {
        data: a.data,
        test: a.test,
        arch: a.arch,
        out: a.out,
        epochs: a.epochs,
        seed: a.seed,
        batch: a.batch,
        lr: a.lr,
        optimizer: a.optimizer,
        momentum: a.momentum,
        gradient: a.gradient,
        augment: a.augment,
        limit: a.limit,
        test_limit: a.test_limit,
        labels: a.labels,
        printed: a.printed,
        fonts: a.fonts,
        report: a.report,
        threads: a.threads,
        styles: a.styles,
        camera: a.camera,
        clutter: a.clutter,
        calibrate: a.calibrate,
        init: a.init,
        extra: a.extra,
        extra_copies: a.extra_copies,
    })
}
