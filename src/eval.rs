//! Measuring a pipeline: accuracy on an MNIST-format test set, and the whole pipeline on
//! camera-like scenes per condition.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::data::{self, Dataset};
use crate::pipeline::Pipeline;
use crate::sim::scenes::{Condition, SceneMaker};
use crate::sink::dump::Dumper;
use crate::source::Frame;
use crate::stage::preprocess;
use crate::train::{self, Evaluation};
use crate::util::argmax;

/// `eval --data`: the model on test digits.
#[derive(Serialize)]
pub struct MnistReport {
    pub accuracy: f64,
    pub n: usize,
    pub correct: usize,
    pub per_class: Vec<f64>,
    pub ms_per_digit: f64,
    pub model: String,
    /// Digits the camera preprocessing found nothing in (with `preprocess`).
    pub no_digit: usize,
    #[serde(skip)]
    pub evaluation: Evaluation,
}

/// The model on 28×28 test digits, fed as they are or (with `through_preprocess`) sent
/// through the camera preprocessing first.
pub fn mnist(pipeline: &Pipeline, test: &Dataset, through_preprocess: bool) -> Result<MnistReport> {
    let mut preds = Vec::with_capacity(test.len());
    let mut no_digit = 0;
    let started = Instant::now();
    for i in 0..test.len() {
        let img = test.image(i);
        let digit: [u8; data::PIXELS] = if through_preprocess {
            match preprocess::preprocess(img, data::SIDE, data::SIDE, &pipeline.params) {
                Ok(f) => f.digit,
                Err(_) => {
                    no_digit += 1;
                    preds.push(usize::MAX);
                    continue;
                }
            }
        } else {
            img.try_into()?
        };
        let p = pipeline.model.probabilities(&pipeline.model_input(&digit))?;
        preds.push(argmax(&p));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / test.len().max(1) as f64;
    let e = train::summarise(&test.labels, &preds, 10);
    Ok(MnistReport {
        accuracy: e.accuracy,
        n: e.n,
        correct: e.n - e.misread.len(),
        per_class: e.per_class.clone(),
        ms_per_digit: ms,
        model: pipeline.model.path().display().to_string(),
        no_digit,
        evaluation: e,
    })
}

/// One condition of `eval --sim-scenes`.
#[derive(Serialize)]
pub struct ConditionReport {
    pub condition: &'static str,
    pub n: u64,
    pub correct: u64,
    /// Digits read right; for blank views, views read as "no digit".
    pub accuracy: f64,
    /// Scenes with a digit that were read as "no digit".
    pub missed: u64,
}

/// `eval --sim-scenes`: every condition, and the mean per-frame time.
#[derive(Serialize)]
pub struct ScenesReport {
    pub model: String,
    pub conditions: Vec<ConditionReport>,
    pub ms_per_frame: f64,
    pub seed: u64,
}

fn fmt_digit(d: Option<u8>) -> String {
    d.map_or("none".into(), |d| d.to_string())
}

/// The whole pipeline, each frame judged alone, on `n` scenes per condition; misread
/// scenes are dumped when a dumper is given.
pub fn scenes(pipeline: &mut Pipeline, maker: &SceneMaker, n: u64, dump: Option<&Dumper>) -> Result<ScenesReport> {
    pipeline.keep_segmentation |= dump.is_some();
    let (mut conditions, mut total_ms, mut frames) = (Vec::new(), 0.0, 0u64);
    for cond in Condition::ALL {
        let (mut correct, mut missed) = (0, 0);
        for i in 0..n {
            let scene = maker.scene(cond, i);
            pipeline.decider.reset();
            let frame = Frame { width: scene.width, height: scene.height, pixels: scene.pixels, t_ms: 0 };
            let r = pipeline.process(&frame)?;
            total_ms += r.ms;
            frames += 1;
            let read = r.decision.digit;
            if read == scene.digit {
                correct += 1;
            } else {
                missed += (read.is_none()) as u64;
                if let Some(d) = dump {
                    let stem = format!(
                        "{}-{i:04}-shows-{}-read-{}",
                        cond.name().replace(' ', "_"),
                        fmt_digit(scene.digit),
                        fmt_digit(read)
                    );
                    d.write(&stem, &frame, &r)?;
                }
            }
        }
        conditions.push(ConditionReport {
            condition: cond.name(),
            n,
            correct,
            accuracy: correct as f64 / n.max(1) as f64,
            missed,
        });
    }
    Ok(ScenesReport {
        model: pipeline.model.path().display().to_string(),
        conditions,
        ms_per_frame: total_ms / frames.max(1) as f64,
        seed: maker.seed,
    })
}

impl std::fmt::Display for ScenesReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for r in &self.conditions {
            writeln!(
                f,
                "{:<36} {:>7.2}%  ({} of {}; {} read as no digit)",
                r.condition,
                r.accuracy * 100.0,
                r.correct,
                r.n,
                r.missed
            )?;
        }
        writeln!(f, "{:.3} ms per 640x480 frame (preprocess + model + decision)", self.ms_per_frame)
    }
}
