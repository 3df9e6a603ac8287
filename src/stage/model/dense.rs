//! A dense layer for tract that reads only the weights of its non-zero inputs.
//!
//! tract runs a dense layer on one input as a matrix product, with a kernel that reads
//! every weight. After a ReLU and a max-pool, a third to a half of the inputs are zero, and
//! the weights (800 KB in our CNN's first dense layer, more than a core's L2 cache) come
//! from memory on every frame: reading them is most of the layer's time. [`speed_up`] swaps
//! such a layer for [`DenseDirect`], which passes over the zero inputs and their weights.
//! It sums the rest in tract's order, one fused multiply-add at a time from zero (a zero
//! input adds ±0 to a sum that is never −0, which changes nothing), so where tract's
//! kernels fuse multiply-adds its results agree with tract's to the bit.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalContext, EvalOp, Op, StaticName, TypedOp};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

use super::conv::fused;

/// Outputs summed together: eight AVX or sixteen NEON registers.
const LANES: usize = 64;

/// `out[o] = Σ_i weights[o][i] · x[i]` for `outputs` outputs of `inputs` inputs, on f32
/// data; the result has the shape `shape` (`outputs` values).
#[derive(Debug, Clone)]
pub struct DenseDirect {
    inputs: usize,
    outputs: usize,
    /// `[outputs / LANES, rounded up][inputs]`, each a block of `LANES` outputs' weights
    /// (zero past `outputs`).
    weights: Arc<Vec<[f32; LANES]>>,
    shape: TVec<usize>,
}

impl PartialEq for DenseDirect {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (self.inputs, self.outputs, &self.shape) == (other.inputs, other.outputs, &other.shape)
            && bits(self.weights.as_flattened()) == bits(other.weights.as_flattened())
    }
}

impl Eq for DenseDirect {}

impl DenseDirect {
    /// `weights` is `[outputs][inputs]`, row-major.
    fn new(weights: &[f32], outputs: usize, shape: TVec<usize>) -> DenseDirect {
        let inputs = weights.len() / outputs.max(1);
        let mut blocks = vec![[0f32; LANES]; outputs.div_ceil(LANES) * inputs];
        for (o, row) in weights.chunks_exact(inputs).enumerate() {
            for (lanes, &w) in blocks[o / LANES * inputs..][..inputs].iter_mut().zip(row) {
                lanes[o % LANES] = w;
            }
        }
        DenseDirect { inputs, outputs, weights: Arc::new(blocks), shape }
    }

    /// `Some` when `op` (in a decluttered model, its inputs `x` and `w`, its output `out`)
    /// is a dense layer on one input: f32, `w` constant of shape `[n, R…]`, `x` of shape
    /// `[1…, R…]` (axes of size one, then the same axes as `w`'s after its first, in the
    /// same order), summed over every axis of `x`, into the `n` values of `out` (whose other
    /// axes have size one). That is `m…R,nR->…n…` in einsum's terms.
    fn replacing(op: &EinSum, x: &TypedFact, w: &TypedFact, out: &TypedFact) -> Option<DenseDirect> {
        let f32_ = f32::datum_type();
        if op.q_params.is_some() || op.operating_dt != f32_ || x.datum_type != f32_ || out.datum_type != f32_ {
            return None;
        }
        let (x_shape, w_shape, out_shape) = (x.shape.as_concrete()?, w.shape.as_concrete()?, out.shape.as_concrete()?);
        let expr = op.axes.to_string();
        let (terms, o) = expr.split_once("->")?;
        let (xt, wt) = terms.split_once(',')?;
        let (xt, wt, o): (Vec<char>, Vec<char>, Vec<char>) =
            (xt.chars().collect(), wt.chars().collect(), o.chars().collect());
        let (&n, rest) = wt.split_first()?;
        let lead = xt.len().checked_sub(rest.len())?;
        let fits = !rest.is_empty()
            && xt[lead..] == *rest
            && !xt.contains(&n)
            && x_shape.len() == xt.len()
            && w_shape.len() == wt.len()
            && x_shape[..lead].iter().all(|&d| d == 1)
            && x_shape[lead..] == w_shape[1..]
            // Empty weights (a malformed model) are left to tract: they are walked in rows.
            && w_shape.iter().all(|&d| d > 0)
            && out_shape.len() == o.len()
            && o.iter().filter(|&&c| c == n).count() == 1
            && o.iter().zip(out_shape).all(|(&c, &d)| c == n || d == 1)
            && out_shape.iter().product::<usize>() == w_shape[0];
        if !fits {
            return None;
        }
        let weights = w.konst.as_ref()?;
        (weights.datum_type() == f32_).then_some(())?;
        let weights = weights.try_as_plain_ram().ok()?;
        Some(DenseDirect::new(weights.as_slice::<f32>().ok()?, w_shape[0], out_shape.into()))
    }

    /// The layer on `x` (`inputs` values) into `out` (`outputs` values).
    fn run(&self, x: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if fused() {
            // SAFETY: the CPU has the features the function is compiled for.
            unsafe { self.run_fma(x, out) };
            return;
        }
        // As in `Conv1In::run`.
        if fused() {
            self.multiply(x, out, f32::mul_add);
        } else {
            self.multiply(x, out, |a, b, c| a * b + c);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&self, x: &[f32], out: &mut [f32]) {
        self.multiply(x, out, f32::mul_add);
    }

    #[inline(always)]
    fn multiply(&self, x: &[f32], out: &mut [f32], fma: impl Fn(f32, f32, f32) -> f32) {
        let blocks = self.weights.chunks_exact(self.inputs).zip(out.chunks_mut(LANES));
        for (weights, out) in blocks {
            let mut acc = [0f32; LANES];
            for (w, &v) in weights.iter().zip(x) {
                if v == 0.0 {
                    continue;
                }
                for (a, &w) in acc.iter_mut().zip(w) {
                    *a = fma(w, v, *a);
                }
            }
            out.copy_from_slice(&acc[..out.len()]);
        }
    }
}

impl super::Direct for DenseDirect {
    fn output_shape(&self, shape: &[usize]) -> TractResult<TVec<usize>> {
        if shape.iter().product::<usize>() != self.inputs {
            return Err(TractError::msg(format!("DenseDirect needs {} inputs, got shape {shape:?}", self.inputs)));
        }
        Ok(self.shape.clone())
    }

    fn compute(&self, input: &[f32], _shape: &[usize], out: &mut [f32]) -> TractResult<()> {
        self.run(input, out);
        Ok(())
    }
}

our_op!(DenseDirect);

/// Swaps every dense layer in the decluttered `model` that [`DenseDirect`] can take for
/// it; returns how many it swapped.
pub fn speed_up(model: &mut TypedModel) -> TractResult<usize> {
    let mut swaps = Vec::new();
    for node in model.nodes() {
        let Some(op) = node.op_as::<EinSum>() else { continue };
        let [x, w] = node.inputs[..] else { continue };
        let out = model.outlet_fact(OutletId::new(node.id, 0))?;
        if let Some(dense) = DenseDirect::replacing(op, model.outlet_fact(x)?, model.outlet_fact(w)?, out) {
            // The weights are now inside the op.
            swaps.push(TypedModelPatch::replace_single_op(model, node, &[x], dense)?);
        }
    }
    super::apply(model, swaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 70 outputs (a block and a part) of 37 inputs, some of them +0 and −0: the sums are
    /// the plain ones, in order, one fused multiply-add an input, to the bit.
    #[test]
    fn dense_sums_in_tracts_order() {
        let wave = |i: usize, m: usize| ((i * 37 + 11) % m) as f32 / m as f32 - 0.5;
        let (outputs, inputs) = (70, 37);
        let weights: Vec<f32> = (0..outputs * inputs).map(|i| wave(i, 101)).collect();
        let x: Vec<f32> = (0..inputs)
            .map(|i| match i % 5 {
                0 => 0.0,
                3 => -0.0,
                _ => wave(i, 53) * 3.0,
            })
            .collect();
        let want: Vec<f32> = weights
            .chunks_exact(inputs)
            .map(|row| row.iter().zip(&x).fold(0f32, |sum, (&w, &v)| w.mul_add(v, sum)))
            .collect();
        let op = DenseDirect::new(&weights, outputs, tvec![1, outputs]);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut portable = vec![f32::NAN; outputs];
        op.multiply(&x, &mut portable, f32::mul_add);
        assert_eq!(bits(&portable), bits(&want));
        let mut fastest = vec![f32::NAN; outputs];
        op.run(&x, &mut fastest);
        assert_eq!(bits(&fastest), bits(&want));
    }
}
