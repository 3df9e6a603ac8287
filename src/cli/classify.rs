//! `digitbot classify`: read image files as the robot would read a camera frame.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use super::ModelArgs;
use crate::pipeline::Pipeline;
use crate::sink::dump::Dumper;
use crate::source::file::{list_images, load_frame};

#[derive(Args, Debug)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print one JSON object per image: file, digit, confidence, probabilities, ms.
    #[arg(long)]
    pub json: bool,
    /// Confidence below which the answer is "no digit" [default: the config's
    /// decision.threshold].
    #[arg(long, value_name = "P")]
    pub threshold: Option<f32>,
    /// Write each image's frame, ink mask with the chosen box, and 28×28 model input as
    /// PNGs into DIR.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    /// Image files (PNG/JPEG) or folders of them.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

#[derive(Serialize)]
struct ClassifyLine<'a> {
    file: &'a str,
    digit: Option<u8>,
    confidence: f32,
    probabilities: Vec<f32>,
    ms: f64,
}

pub fn classify(a: ClassifyArgs) -> Result<()> {
    let (cfg, overrides) = a.model.load(a.threshold, true)?;
    let mut pipeline = Pipeline::from_config(&cfg, &overrides)?;
    let dumper = a.dump.as_deref().map(Dumper::new).transpose()?;
    pipeline.keep_segmentation = dumper.is_some();
    let mut failures = 0;
    let files = a.images.iter().flat_map(|arg| match list_images(arg) {
        Ok(files) => files.into_iter().map(Ok).collect(),
        Err(e) => vec![Err(e)],
    });
    for file in files {
        let frame = match file.and_then(|f| Ok((load_frame(&f, 0)?, f))) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {e:#}");
                failures += 1;
                continue;
            }
        };
        let (frame, file) = frame;
        // Each image is its own first frame: no vote with the one before.
        pipeline.decider.reset();
        let r = pipeline.process(&frame)?;
        if let Some(d) = &dumper {
            let stem = file.file_stem().map_or("image".into(), |s| s.to_string_lossy().to_string());
            d.write(&stem, &frame, &r)?;
        }
        let name = file.display().to_string();
        let probs = r.probabilities.map(|p| p[..pipeline.model.outputs].to_vec()).unwrap_or_default();
        if a.json {
            let line = ClassifyLine {
                file: &name,
                digit: r.decision.digit,
                confidence: r.decision.confidence,
                probabilities: probs,
                ms: r.ms,
            };
            println!("{}", serde_json::to_string(&line)?);
        } else {
            let what = match (&r.found, r.decision.digit) {
                (Err(why), _) => format!("no digit ({})", why.as_str()),
                (Ok(_), Some(d)) => format!("{d} ({:.1}%)", r.decision.confidence * 100.0),
                (Ok(_), None) => format!("no digit (best guess {:.1}% < threshold)", r.decision.confidence * 100.0),
            };
            let p: Vec<String> = probs.iter().map(|v| format!("{v:.3}")).collect();
            println!("{name}: {what}  [{}]  {:.3} ms", p.join(" "), r.ms);
        }
    }
    if failures > 0 {
        bail!("{failures} image(s) could not be read");
    }
    Ok(())
}
