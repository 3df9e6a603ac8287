//! `digitbot eval`: how well the pipeline reads — MNIST's test set, or camera-like scenes.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::ModelArgs;
use crate::data::{self, Split};
use crate::pipeline::Pipeline;
use crate::sim::scenes::{load_fonts, SceneMaker};
use crate::sink::dump::Dumper;
use crate::{eval as measure, train};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Folder with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].
    #[arg(long, value_name = "DIR", required_unless_present_any = ["sim_scenes", "images"])]
    pub data: Option<PathBuf>,
    /// Instead: a folder of labelled images (photos, scans, drawings), each read as one
    /// camera frame. Labels come from its manifest.json ([{"file", "label", "kind"}], label
    /// null or -1 = no digit), from file names (3_….png, none_….png), or from a capture
    /// folder's JSON records; accuracy per kind.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "sim_scenes"])]
    pub images: Option<PathBuf>,
    /// Instead: N camera-like 640×480 scenes per condition (handwritten on paper, on a card
    /// on the floor, printed, blank), through the whole pipeline; reports each condition.
    #[arg(long, value_name = "N", conflicts_with = "data")]
    pub sim_scenes: Option<u64>,
    /// Seed for --sim-scenes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folders of fonts for printed digits in --sim-scenes.
    #[arg(long, value_name = "DIR", default_value = "/usr/share/fonts")]
    pub fonts: Vec<PathBuf>,
    /// The confidence below which a reading is "no digit" [default: the config's
    /// decision.threshold].
    #[arg(long, value_name = "P")]
    pub threshold: Option<f32>,
    /// With --sim-scenes or --images: write frame, mask and model input of every misread
    /// scene or image here.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print {"accuracy": …, "n": …, …} as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only the first N test digits.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Send each digit through the camera preprocessing first (segmentation, 20-px box,
    /// centre of mass) instead of feeding the 28×28 image as it is.
    #[arg(long)]
    pub preprocess: bool,
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let (cfg, overrides) = a.model.load(a.threshold, true)?;
    let mut pipeline = Pipeline::from_config(&cfg, &overrides)?;
    let dumper = a.dump.as_deref().map(Dumper::new).transpose()?;
    if let Some(dir) = &a.images {
        let set = data::images::read_labelled(dir)?;
        let report = measure::images(&mut pipeline, &set, dumper.as_ref())?;
        if a.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{report}");
        }
        return Ok(());
    }
    if let Some(n) = a.sim_scenes {
        let digits = crate::sim::sim_digits()?;
        let fonts = load_fonts(&a.fonts);
        if fonts.is_empty() {
            log::warn!("no fonts with digits under {:?}: printed scenes show handwritten digits", a.fonts);
        }
        let maker = SceneMaker { width: 640, height: 480, digits: &digits, fonts: &fonts, seed: a.seed };
        let report = measure::scenes(&mut pipeline, &maker, n, dumper.as_ref())?;
        if a.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{report}");
        }
        return Ok(());
    }
    let Some(data_dir) = a.data.as_deref() else { bail!("eval needs --data DIR or --sim-scenes N") };
    let mut test = data::read_split(data_dir, Split::Test)?;
    if let Some(n) = a.limit {
        test = test.take(n);
    }
    if test.rows != data::SIDE || test.cols != data::SIDE {
        bail!("{}: images are {}x{}, expected 28x28", data_dir.display(), test.cols, test.rows);
    }
    let report = measure::mnist(&mut pipeline, &test, a.preprocess)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let labels: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        print!("{}", train::report::text(&report.evaluation, &labels));
        println!(
            "model {}: {:.2}% of {} test digits, {:.3} ms per digit",
            report.model,
            report.accuracy * 100.0,
            report.n,
            report.ms_per_digit
        );
    }
    Ok(())
}
