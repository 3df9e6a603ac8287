//! A direct convolution for a CNN's first layer, where the input has one channel.
//!
//! tract turns every convolution into a matrix product over an im2col view of its input.
//! For a first layer that reads one grey channel (k = 25 for a 5×5 kernel) most of that
//! time goes into packing the view. [`speed_up`] swaps such a convolution for [`Conv1In`],
//! which slides each kernel tap over blocks of output columns held in registers. It sums
//! the taps in the order tract does, one fused multiply-add at a time, and adds the bias
//! last, as tract does, so where tract's kernels use fused multiply-adds (x86-64 with FMA,
//! aarch64) the results agree to the bit.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalContext, EvalOp, Op, StaticName, TypedOp};
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

/// A stride-1 convolution of one input channel into `out_c` channels, kernel `kh`×`kw`,
/// zero padding `pad` (top, left; the same below and right), on f32 NCHW data.
#[derive(Debug, Clone)]
pub struct Conv1In {
    out_c: usize,
    kh: usize,
    kw: usize,
    pad: (usize, usize),
    /// `[out_c][kh][kw]`.
    weights: Arc<Vec<f32>>,
    /// One per output channel.
    bias: Arc<Vec<f32>>,
}

impl PartialEq for Conv1In {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (self.out_c, self.kh, self.kw, self.pad) == (other.out_c, other.kh, other.kw, other.pad)
            && bits(&self.weights) == bits(&other.weights)
            && bits(&self.bias) == bits(&other.bias)
    }
}

impl Eq for Conv1In {}

impl Conv1In {
    /// `Some` when `conv` (in a decluttered model, its inputs `input`, `kernel` and `bias`)
    /// is what this op computes: f32, one group, one input channel, NCHW with a batch of
    /// one, stride and dilation 1, padding that keeps the same amount on both sides, and
    /// constant weights.
    fn replacing(conv: &Conv, input: &TypedFact, kernel: &TypedFact, bias: &TypedFact) -> Option<Conv1In> {
        let spec = &conv.pool_spec;
        let ones = |v: &Option<TVec<usize>>| v.as_deref().is_none_or(|v| v.iter().all(|&x| x == 1));
        let shape = input.shape.as_concrete()?;
        let fits = conv.group == 1
            && conv.q_params.is_none()
            && conv.kernel_fmt == KernelFormat::OIHW
            && spec.data_format == DataFormat::NCHW
            && spec.input_channels == 1
            && input.datum_type == f32::datum_type()
            && shape.len() == 4
            && shape[..2] == [1, 1]
            && ones(&spec.strides)
            && ones(&spec.dilations)
            && spec.kernel_shape.len() == 2;
        if !fits {
            return None;
        }
        let (kh, kw) = (spec.kernel_shape[0], spec.kernel_shape[1]);
        let pad = match &spec.padding {
            PaddingSpec::Valid => (0, 0),
            PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, false) if b == a && b.len() == 2 => {
                (b[0], b[1])
            }
            PaddingSpec::SameUpper | PaddingSpec::SameLower if kh % 2 == 1 && kw % 2 == 1 => (kh / 2, kw / 2),
            _ => return None,
        };
        if shape[2] + 2 * pad.0 < kh || shape[3] + 2 * pad.1 < kw {
            return None;
        }
        let out_c = spec.output_channels;
        let plain = |f: &TypedFact| -> Option<Vec<f32>> {
            let t = f.konst.as_ref()?;
            (t.datum_type() == f32::datum_type()).then_some(())?;
            Some(t.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.to_vec())
        };
        let weights = plain(kernel).filter(|w| w.len() == out_c * kh * kw)?;
        let bias = match plain(bias)? {
            b if b.len() == out_c => b,
            b if b.len() == 1 => vec![b[0]; out_c],
            _ => return None,
        };
        Some(Conv1In { out_c, kh, kw, pad, weights: Arc::new(weights), bias: Arc::new(bias) })
    }

    fn output_hw(&self, h: usize, w: usize) -> (usize, usize) {
        (h + 2 * self.pad.0 + 1 - self.kh, w + 2 * self.pad.1 + 1 - self.kw)
    }

    /// Convolves the `h`×`w` plane `input` into `out` (`out_c` planes of `output_hw`,
    /// appended in order).
    fn run(&self, input: &[f32], h: usize, w: usize, out: &mut Vec<f32>) {
        #[cfg(target_arch = "x86_64")]
        if fused() {
            // SAFETY: the CPU has the features the function is compiled for.
            unsafe { self.run_fma(input, h, w, out) };
            return;
        }
        // aarch64 fuses `mul_add` in one instruction. An x86-64 without FMA would call a
        // slow software fma for it: there this multiplies and adds apart, which agrees with
        // tract to a rounding rather than to the bit.
        if fused() {
            self.convolve(input, h, w, out, f32::mul_add);
        } else {
            self.convolve(input, h, w, out, |a, b, c| a * b + c);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&self, input: &[f32], h: usize, w: usize, out: &mut Vec<f32>) {
        self.convolve(input, h, w, out, f32::mul_add);
    }

    #[inline(always)]
    fn convolve(&self, input: &[f32], h: usize, w: usize, out: &mut Vec<f32>, fma: impl Fn(f32, f32, f32) -> f32) {
        let (oh, ow) = self.output_hw(h, w);
        let (py, px) = self.pad;
        // The input inside a zero border, wide enough that every tap reads whole blocks of
        // output columns (the columns past the last are computed and dropped).
        let pw = ow.next_multiple_of(BLOCK) + self.kw - 1;
        let mut padded = vec![0f32; (h + 2 * py) * pw];
        for (row, src) in padded[py * pw..].chunks_exact_mut(pw).zip(input.chunks_exact(w)) {
            row[px..px + w].copy_from_slice(src);
        }
        let taps = self.kh * self.kw;
        for (kernel, &bias) in self.weights.chunks_exact(taps).zip(self.bias.iter()) {
            for y in 0..oh {
                for x0 in (0..ow).step_by(BLOCK) {
                    // A block of outputs summed in registers, tap after tap.
                    let mut acc = [0f32; BLOCK];
                    for (ky, kernel_row) in kernel.chunks_exact(self.kw).enumerate() {
                        let row = &padded[(y + ky) * pw + x0..];
                        for (kx, &k) in kernel_row.iter().enumerate() {
                            let x: &[f32; BLOCK] = row[kx..kx + BLOCK].try_into().expect("a block of the padded row");
                            for (a, &x) in acc.iter_mut().zip(x) {
                                *a = fma(k, x, *a);
                            }
                        }
                    }
                    out.extend_from_slice(&acc.map(|a| a + bias)[..BLOCK.min(ow - x0)]);
                }
            }
        }
    }
}

/// Whether this CPU takes the fused multiply-add path, where the results agree with tract's
/// to the bit: x86-64 with AVX2 and FMA, and every aarch64.
pub(super) fn fused() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    return true;
}

/// Output columns summed together: 32 floats, four AVX or eight SSE/NEON registers.
const BLOCK: usize = 32;

impl Op for Conv1In {
    fn name(&self) -> StaticName {
        "Conv1In".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Conv1In {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let &[1, 1, h, w] = input.shape() else {
            return Err(TractError::msg(format!("Conv1In needs a 1×1×H×W input, got {:?}", input.shape())));
        };
        let (oh, ow) = self.output_hw(h, w);
        let mut out = Vec::with_capacity(self.out_c * oh * ow);
        self.run(input.try_as_plain_ram()?.as_slice::<f32>()?, h, w, &mut out);
        let out = tract_ndarray::Array4::from_shape_vec((1, self.out_c, oh, ow), out)?;
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Conv1In {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        match inputs[0].shape.as_concrete() {
            Some(&[1, 1, h, w]) => {
                let (oh, ow) = self.output_hw(h, w);
                Ok(tvec!(f32::fact([1, self.out_c, oh, ow])))
            }
            _ => Err(TractError::msg("Conv1In needs a known 1×1×H×W input")),
        }
    }

    as_op!();
}

/// Swaps every convolution in the decluttered `model` that [`Conv1In`] can take for it;
/// returns how many it swapped.
pub fn speed_up(model: &mut TypedModel) -> TractResult<usize> {
    let mut swaps = Vec::new();
    for node in model.nodes() {
        let Some(conv) = node.op_as::<Conv>() else { continue };
        let [input, kernel, bias] = node.inputs[..] else { continue };
        let facts = (model.outlet_fact(input)?, model.outlet_fact(kernel)?, model.outlet_fact(bias)?);
        if let Some(op) = Conv1In::replacing(conv, facts.0, facts.1, facts.2) {
            // The kernel and bias are now inside the op.
            swaps.push(TypedModelPatch::replace_single_op(model, node, &[input], op)?);
        }
    }
    let n = swaps.len();
    for patch in swaps {
        patch.apply(model)?;
    }
    if n > 0 {
        model.compact()?;
    }
    Ok(n)
}
