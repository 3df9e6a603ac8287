//! Confidence calibration by temperature scaling (Guo et al. 2017): one number T divides
//! the network's logits so that, on samples it was not trained on, a reading at 90 %
//! confidence is right about 90 % of the time. T is folded into the last layer, so the
//! exported model's softmax is already calibrated.

use serde::Serialize;

use super::net::{softmax, Layer, Loss, Net};
use super::scale_pixels;
use crate::data::Dataset;
use crate::util::argmax;

/// How well confidences match accuracy before and after scaling.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Calibration {
    pub temperature: f64,
    /// Expected calibration error (15 equal-width confidence bins), in 0..1.
    pub ece_before: f64,
    pub ece_after: f64,
    /// Mean negative log-likelihood of the true class.
    pub nll_before: f64,
    pub nll_after: f64,
    pub n: usize,
}

/// Expected calibration error: the mean gap between confidence and accuracy over
/// `bins` equal-width confidence bins, weighted by how many samples fall in each.
pub fn ece(probs: &[Vec<f32>], labels: &[u8], bins: usize) -> f64 {
    let mut acc = vec![(0f64, 0f64, 0usize); bins];
    for (p, &l) in probs.iter().zip(labels) {
        let best = argmax(p);
        let conf = p[best] as f64;
        let b = ((conf * bins as f64) as usize).min(bins - 1);
        acc[b].0 += conf;
        acc[b].1 += (best == l as usize) as u8 as f64;
        acc[b].2 += 1;
    }
    let n = probs.len().max(1) as f64;
    // Per bin, (k/N)·|mean confidence − accuracy| = |Σ confidence − Σ right| / N.
    acc.iter().map(|(c, a, _)| (c - a).abs() / n).sum::<f64>()
}

fn nll(logits: &[Vec<f32>], labels: &[u8], t: f64) -> f64 {
    let mut total = 0.0;
    for (z, &l) in logits.iter().zip(labels) {
        let scaled: Vec<f64> = z.iter().map(|&v| v as f64 / t).collect();
        let m = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + scaled.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        total += lse - scaled[l as usize];
    }
    total / logits.len().max(1) as f64
}

fn probs_at(logits: &[Vec<f32>], t: f64) -> Vec<Vec<f32>> {
    logits.iter().map(|z| softmax(&z.iter().map(|&v| (v as f64 / t) as f32).collect::<Vec<_>>())).collect()
}

/// Finds the temperature that minimises the negative log-likelihood on `val` (a golden-
/// section search over log T in 1/4..16) and reports calibration before and after.
pub fn fit(net: &Net<f32>, val: &Dataset, range: (f32, f32)) -> Calibration {
    let classes = net.classes();
    let mut logits = Vec::with_capacity(val.len());
    for chunk in (0..val.len()).collect::<Vec<_>>().chunks(256) {
        let mut x = Vec::new();
        for &i in chunk {
            scale_pixels::<f32>(val.image(i), range, &mut x);
        }
        logits.extend(net.forward(&x, chunk.len()).chunks_exact(classes).map(|r| r.to_vec()));
    }
    let (mut lo, mut hi) = ((0.25f64).ln(), 16f64.ln());
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let (a, b) = (hi - phi * (hi - lo), lo + phi * (hi - lo));
        if nll(&logits, &val.labels, a.exp()) < nll(&logits, &val.labels, b.exp()) {
            hi = b;
        } else {
            lo = a;
        }
    }
    let t = ((lo + hi) / 2.0).exp();
    Calibration {
        temperature: t,
        ece_before: ece(&probs_at(&logits, 1.0), &val.labels, 15),
        ece_after: ece(&probs_at(&logits, t), &val.labels, 15),
        nll_before: nll(&logits, &val.labels, 1.0),
        nll_after: nll(&logits, &val.labels, t),
        n: val.len(),
    }
}

/// Divides the logits by `t` inside the network: the last dense layer's weights and bias.
/// Only for networks whose output goes through softmax.
pub fn apply(net: &mut Net<f32>, t: f64) {
    assert_eq!(net.loss, Loss::SoftmaxCe, "temperature scaling needs softmax outputs");
    if let Some(Layer::Dense { w, b, .. }) = net.layers.iter_mut().rev().find(|l| matches!(l, Layer::Dense { .. })) {
        let k = (1.0 / t) as f32;
        w.iter_mut().chain(b.iter_mut()).for_each(|v| *v *= k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_is_the_gap_between_confidence_and_accuracy() {
        // Four samples at 90 % confidence, half of them right: a gap of 0.4.
        let p = vec![vec![0.9f32, 0.1]; 4];
        assert!((ece(&p, &[0, 0, 1, 1], 10) - 0.4).abs() < 1e-6);
        // Right as often as confident: no gap.
        let p = vec![vec![0.5f32, 0.5]; 2];
        assert!(ece(&p, &[0, 1], 10) < 1e-6);
    }

    #[test]
    fn a_network_made_overconfident_is_cooled_by_exactly_that_much() {
        let data = crate::sim::sim_digits().unwrap();
        let mut cfg = super::super::TrainConfig::for_arch("mlp:784-32-10".parse().unwrap());
        cfg.epochs = 10;
        cfg.seed = 2;
        let (mut net, _) = super::super::train::<f32>(&cfg, &data.take(300), None, 10, |_| {});
        let val = data.slice(300, 500);
        let base = fit(&net, &val, (0.0, 1.0));
        // Logits five times larger: the fitted temperature is five times higher, and the
        // likelihood before scaling is worse.
        apply(&mut net, 0.2);
        let hot = fit(&net, &val, (0.0, 1.0));
        assert!((hot.temperature / base.temperature - 5.0).abs() < 0.05, "{base:?} {hot:?}");
        assert!(hot.nll_before > base.nll_before, "{base:?} {hot:?}");
        assert!((hot.ece_after - base.ece_after).abs() < 1e-3, "same probabilities after: {base:?} {hot:?}");
        // Folding T into the last layer gives the calibrated logits directly.
        let x: Vec<f32> = val.image(0).iter().map(|&p| p as f32 / 255.0).collect();
        let before = net.forward(&x, 1);
        apply(&mut net, hot.temperature);
        let after = net.forward(&x, 1);
        for (a, b) in before.iter().zip(&after) {
            assert!((a / hot.temperature as f32 - b).abs() < 1e-4, "{a} / T vs {b}");
        }
    }
}
