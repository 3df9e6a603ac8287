//! Measuring a pipeline: accuracy on an MNIST-format test set, the whole pipeline on
//! camera-like scenes per condition, and on folders of anyone's labelled images.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::data::images::LabelledImage;
use crate::data::{self, Dataset};
use crate::pipeline::Pipeline;
use crate::sim::scenes::{Condition, SceneMaker};
use crate::sink::dump::Dumper;
use crate::source::file::load_frame;
use crate::source::Frame;
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
pub fn mnist(pipeline: &mut Pipeline, test: &Dataset, through_preprocess: bool) -> Result<MnistReport> {
    let mut preds = Vec::with_capacity(test.len());
    let mut no_digit = 0;
    let started = Instant::now();
    for i in 0..test.len() {
        let img = test.image(i);
        let digit: [u8; data::PIXELS] = if through_preprocess {
            match pipeline.preprocessor.run(img, data::SIDE, data::SIDE) {
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
    /// The highest confidence of a wrong digit read (0 when none was): a blank view read as
    /// a digit at 0.95 is a robot that drives off.
    pub worst_confidence: f32,
}

/// `eval --sim-scenes`: every condition, and the mean per-frame time.
#[derive(Serialize)]
pub struct ScenesReport {
    pub model: String,
    pub conditions: Vec<ConditionReport>,
    pub ms_per_frame: f64,
    /// The model's part of `ms_per_frame`, and its time per frame that reached it.
    pub model_ms_per_frame: f64,
    pub model_ms_per_reaching_frame: f64,
    pub seed: u64,
}

fn fmt_digit(d: Option<u8>) -> String {
    d.map_or("none".into(), |d| d.to_string())
}

/// Scenes are drawn this many at a time and then read, as the benchmark reads its frames:
/// drawing one (fonts, strokes, a 640×480 canvas, JPEG) pushes the pipeline's code, model
/// and buffers out of the caches, and timed right after it each frame paid for misses the
/// simulator caused and a camera does not. 32 frames are 10 MB.
const BATCH: u64 = 32;

/// The whole pipeline, each frame judged alone, on `n` scenes per condition; misread
/// scenes are dumped when a dumper is given.
pub fn scenes(pipeline: &mut Pipeline, maker: &SceneMaker, n: u64, dump: Option<&Dumper>) -> Result<ScenesReport> {
    pipeline.keep_segmentation |= dump.is_some();
    let (mut conditions, mut total_ms, mut frames) = (Vec::new(), 0.0, 0u64);
    let (mut model_ms, mut reached) = (0.0, 0u64);
    for cond in Condition::ALL {
        let (mut correct, mut missed, mut worst) = (0, 0, 0.0f32);
        for first in (0..n).step_by(BATCH as usize) {
            let batch: Vec<_> = (first..(first + BATCH).min(n)).map(|i| (i, maker.scene(cond, i))).collect();
            for (i, scene) in batch {
                pipeline.decider.reset();
                let shown = scene.digit;
                let frame = Frame::from(scene);
                let r = pipeline.process(&frame)?;
                total_ms += r.ms;
                frames += 1;
                model_ms += r.timings.model;
                reached += r.probabilities.is_some() as u64;
                let read = r.decision.digit;
                if read == shown {
                    correct += 1;
                } else {
                    missed += (read.is_none()) as u64;
                    if read.is_some() {
                        worst = worst.max(r.decision.confidence);
                    }
                    if let Some(d) = dump {
                        let stem = format!(
                            "{}-{i:04}-shows-{}-read-{}",
                            cond.name().replace(' ', "_"),
                            fmt_digit(shown),
                            fmt_digit(read)
                        );
                        d.write(&stem, &frame, &r)?;
                    }
                }
            }
        }
        conditions.push(ConditionReport {
            condition: cond.name(),
            n,
            correct,
            accuracy: correct as f64 / n.max(1) as f64,
            missed,
            worst_confidence: worst,
        });
    }
    Ok(ScenesReport {
        model: pipeline.model.path().display().to_string(),
        conditions,
        ms_per_frame: total_ms / frames.max(1) as f64,
        model_ms_per_frame: model_ms / frames.max(1) as f64,
        model_ms_per_reaching_frame: model_ms / reached.max(1) as f64,
        seed: maker.seed,
    })
}

impl std::fmt::Display for ScenesReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for r in &self.conditions {
            write!(
                f,
                "{:<36} {:>7.2}%  ({} of {}; {} read as no digit",
                r.condition,
                r.accuracy * 100.0,
                r.correct,
                r.n,
                r.missed
            )?;
            let wrong = r.n - r.correct - r.missed;
            if wrong > 0 {
                write!(f, "; {wrong} misread, the surest at {:.0}%", r.worst_confidence * 100.0)?;
            }
            writeln!(f, ")")?;
        }
        writeln!(f, "{:.3} ms per 640x480 frame (preprocess + model + decision)", self.ms_per_frame)?;
        writeln!(
            f,
            "  of which the model {:.3} ms per frame ({:.3} ms per frame that reached it)",
            self.model_ms_per_frame, self.model_ms_per_reaching_frame
        )
    }
}

/// Accuracy of one kind of image.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KindReport {
    pub accuracy: f64,
    pub n: usize,
    #[serde(skip)]
    correct: usize,
}

/// An image read wrong.
#[derive(Clone, Debug, Serialize)]
pub struct Misread {
    pub file: String,
    pub kind: String,
    pub label: Option<u8>,
    pub read: Option<u8>,
    pub confidence: f32,
    /// Why preprocessing found no digit, or why the file could not be read.
    pub why: Option<String>,
}

/// `eval --images`: how many images were read right, per kind and overall.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImagesReport {
    /// Right readings: the digit shown, or "no digit" for images that show none.
    pub accuracy: f64,
    pub n: usize,
    /// Images read as "no digit" (right or wrong).
    pub no_digit: usize,
    pub kinds: BTreeMap<String, KindReport>,
    /// `confusion[shown][read]`, index 10 standing for "no digit".
    pub confusion: Vec<Vec<u32>>,
    pub misread: Vec<Misread>,
    pub ms_per_image: f64,
    pub model: String,
}

/// Reads every image as a single camera frame and compares with its label. An image that
/// cannot be decoded counts as misread (and is named).
pub fn images(pipeline: &mut Pipeline, set: &[LabelledImage], dump: Option<&Dumper>) -> Result<ImagesReport> {
    pipeline.keep_segmentation |= dump.is_some();
    let none = 10;
    let mut report = ImagesReport {
        confusion: vec![vec![0; 11]; 11],
        model: pipeline.model.path().display().to_string(),
        ..ImagesReport::default()
    };
    let (mut correct, mut total_ms) = (0, 0.0);
    for (i, item) in set.iter().enumerate() {
        pipeline.decider.reset();
        let (read, confidence, why) = match load_frame(&item.path, 0) {
            Err(e) => (None, 0.0, Some(format!("{e:#}"))),
            Ok(frame) => {
                let r = pipeline.process(&frame)?;
                total_ms += r.ms;
                let d = &r.decision;
                if d.digit != item.label {
                    if let Some(dumper) = dump {
                        let name = item.path.file_stem().map_or("image".into(), |s| s.to_string_lossy().to_string());
                        let stem = format!("{i:04}-{name}-shows-{}-read-{}", fmt_digit(item.label), fmt_digit(d.digit));
                        dumper.write(&stem, &frame, &r)?;
                    }
                }
                (d.digit, d.confidence, r.found.as_ref().err().map(|e| e.as_str().to_string()))
            }
        };
        let ok = read == item.label;
        correct += ok as usize;
        report.no_digit += read.is_none() as usize;
        let k = report.kinds.entry(item.kind.clone()).or_default();
        k.n += 1;
        k.correct += ok as usize;
        report.confusion[item.label.map_or(none, usize::from)][read.map_or(none, usize::from)] += 1;
        if !ok {
            report.misread.push(Misread {
                file: item.path.display().to_string(),
                kind: item.kind.clone(),
                label: item.label,
                read,
                confidence,
                why,
            });
        }
    }
    report.n = set.len();
    report.accuracy = correct as f64 / set.len().max(1) as f64;
    for k in report.kinds.values_mut() {
        k.accuracy = k.correct as f64 / k.n.max(1) as f64;
    }
    report.ms_per_image = total_ms / set.len().max(1) as f64;
    Ok(report)
}

impl std::fmt::Display for ImagesReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |i: usize| if i == 10 { "none".to_string() } else { i.to_string() };
        writeln!(f, "shown\\read {}", (0..11).map(|c| format!("{:>5}", name(c))).collect::<String>())?;
        for (r, row) in self.confusion.iter().enumerate() {
            if row.iter().any(|&v| v > 0) {
                writeln!(f, "{:>10} {}", name(r), row.iter().map(|v| format!("{v:>5}")).collect::<String>())?;
            }
        }
        if !self.misread.is_empty() {
            writeln!(f, "misread:")?;
        }
        for m in &self.misread {
            let why = m.why.as_deref().map_or(String::new(), |w| format!(" ({w})"));
            writeln!(
                f,
                "  {}: shows {}, read {} at {:.0}%{why}",
                m.file,
                fmt_digit(m.label),
                fmt_digit(m.read),
                m.confidence * 100.0
            )?;
        }
        for (kind, k) in &self.kinds {
            writeln!(f, "{kind:<24} {:>7.2}%  ({} images)", k.accuracy * 100.0, k.n)?;
        }
        writeln!(
            f,
            "{:<24} {:>7.2}%  ({} images, {} read as no digit; {:.2} ms per image)",
            "all",
            self.accuracy * 100.0,
            self.n,
            self.no_digit,
            self.ms_per_image
        )
    }
}
