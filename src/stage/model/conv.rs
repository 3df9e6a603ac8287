//! Direct convolutions, in place of tract's matrix product over an im2col view.
//!
//! tract turns every convolution into a matrix product over an im2col view of its input,
//! which it packs panel by panel. For a first layer that reads one grey channel (k = 25
//! for a 5×5 kernel) most of the time goes into packing the view; for a later layer the
//! packing is about a fifth of it. [`speed_up`] swaps the first kind for [`Conv1In`], which
//! slides each kernel tap over blocks of output columns held in registers, and the second
//! for [`ConvDirect`], which holds a block of output channels of a few neighbouring outputs
//! in registers and reads the input where it lies. Both sum the taps in the order tract
//! does, one fused multiply-add at a time, and add the bias last, as tract does, so where
//! tract's kernels use fused multiply-adds (x86-64 with FMA, aarch64) the results agree to
//! the bit. Both pass over rows of zeros (the border, a digit's background, what a ReLU
//! cut), which changes no bit of the sums.

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
    g: Geometry,
    /// `[out_c][kh][kw]`.
    weights: Arc<Vec<f32>>,
    /// One per output channel.
    bias: Arc<Vec<f32>>,
}

impl PartialEq for Conv1In {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        self.g == other.g && bits(&self.weights) == bits(&other.weights) && bits(&self.bias) == bits(&other.bias)
    }
}

impl Eq for Conv1In {}

/// The shape of a stride-1 convolution of NCHW data with a batch of one: `in_c` channels
/// into `out_c`, kernel `kh`×`kw`, zero padding `pad` (top, left; the same below and right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    in_c: usize,
    out_c: usize,
    kh: usize,
    kw: usize,
    pad: (usize, usize),
}

impl Geometry {
    fn output_hw(&self, h: usize, w: usize) -> (usize, usize) {
        (h + 2 * self.pad.0 + 1 - self.kh, w + 2 * self.pad.1 + 1 - self.kw)
    }

    /// The height and width of an input of `shape`, which must be 1×`in_c`×H×W; `op`
    /// names the op in the error.
    fn input_hw(&self, op: &str, shape: &[usize]) -> TractResult<(usize, usize)> {
        match *shape {
            [1, c, h, w] if c == self.in_c => Ok((h, w)),
            _ => Err(TractError::msg(format!("{op} needs a 1×{}×H×W input, got {shape:?}", self.in_c))),
        }
    }
}

/// What a convolution computes, when [`Conv1In`] or [`ConvDirect`] can compute it.
struct Plain {
    g: Geometry,
    /// `[out_c][in_c][kh][kw]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Plain {
    /// `Some` when `conv` (in a decluttered model, its inputs `input`, `kernel` and `bias`)
    /// is f32, one group, NCHW with a batch of one, stride and dilation 1, padding that
    /// keeps the same amount on both sides, with constant weights.
    fn of(conv: &Conv, input: &TypedFact, kernel: &TypedFact, bias: &TypedFact) -> Option<Plain> {
        let spec = &conv.pool_spec;
        let ones = |v: &Option<TVec<usize>>| v.as_deref().is_none_or(|v| v.iter().all(|&x| x == 1));
        let shape = input.shape.as_concrete()?;
        let in_c = spec.input_channels;
        let fits = conv.group == 1
            && conv.q_params.is_none()
            && conv.kernel_fmt == KernelFormat::OIHW
            && spec.data_format == DataFormat::NCHW
            && in_c >= 1
            && input.datum_type == f32::datum_type()
            && shape.len() == 4
            && shape[..2] == [1, in_c]
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
        // An empty kernel or no output channels (a malformed model) is left to tract: the
        // sums are walked in chunks of a kernel row and of a channel's taps.
        if kh == 0 || kw == 0 || spec.output_channels == 0 || shape[2] + 2 * pad.0 < kh || shape[3] + 2 * pad.1 < kw {
            return None;
        }
        let out_c = spec.output_channels;
        let plain = |f: &TypedFact| -> Option<Vec<f32>> {
            let t = f.konst.as_ref()?;
            (t.datum_type() == f32::datum_type()).then_some(())?;
            Some(t.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.to_vec())
        };
        let weights = plain(kernel).filter(|w| w.len() == out_c * in_c * kh * kw)?;
        let bias = match plain(bias)? {
            b if b.len() == out_c => b,
            b if b.len() == 1 => vec![b[0]; out_c],
            _ => return None,
        };
        Some(Plain { g: Geometry { in_c, out_c, kh, kw, pad }, weights, bias })
    }
}

impl Conv1In {
    /// `Some` when `conv` is what this op computes (see [`Plain::of`]) and reads one
    /// input channel.
    fn replacing(conv: &Conv, input: &TypedFact, kernel: &TypedFact, bias: &TypedFact) -> Option<Conv1In> {
        let p = Plain::of(conv, input, kernel, bias).filter(|p| p.g.in_c == 1)?;
        Some(Conv1In { g: p.g, weights: Arc::new(p.weights), bias: Arc::new(p.bias) })
    }

    /// Convolves the `h`×`w` plane `input` into `out` (`out_c` planes of `output_hw`).
    fn run(&self, input: &[f32], h: usize, w: usize, out: &mut [f32]) {
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
    unsafe fn run_fma(&self, input: &[f32], h: usize, w: usize, out: &mut [f32]) {
        self.convolve(input, h, w, out, f32::mul_add);
    }

    #[inline(always)]
    fn convolve(&self, input: &[f32], h: usize, w: usize, out: &mut [f32], fma: impl Fn(f32, f32, f32) -> f32) {
        let (oh, ow) = self.g.output_hw(h, w);
        let (py, px) = self.g.pad;
        // The input inside a zero border, wide enough that every tap reads whole blocks of
        // output columns (the columns past the last are computed and dropped).
        let pw = ow.next_multiple_of(BLOCK) + self.g.kw - 1;
        let mut padded = vec![0f32; (h + 2 * py) * pw];
        for (row, src) in padded[py * pw..].chunks_exact_mut(pw).zip(input.chunks_exact(w)) {
            row[px..px + w].copy_from_slice(src);
        }
        // Rows of zeros (the border, and the background above and below a digit) add ±0
        // to sums that are never −0, which changes nothing: they are passed over (see
        // `ConvDirect::nonzero_columns`).
        let zero: Vec<bool> = padded.chunks_exact(pw).map(|row| row.iter().all(|&v| v == 0.0)).collect();
        let taps = self.g.kh * self.g.kw;
        let planes = out.chunks_exact_mut(oh * ow);
        for ((kernel, &bias), plane) in self.weights.chunks_exact(taps).zip(self.bias.iter()).zip(planes) {
            for (y, out) in plane.chunks_exact_mut(ow).enumerate() {
                for x0 in (0..ow).step_by(BLOCK) {
                    // A block of outputs summed in registers, tap after tap.
                    let mut acc = [0f32; BLOCK];
                    for (ky, kernel_row) in kernel.chunks_exact(self.g.kw).enumerate() {
                        if zero[y + ky] {
                            continue;
                        }
                        let row = &padded[(y + ky) * pw + x0..];
                        for (kx, &k) in kernel_row.iter().enumerate() {
                            let x: &[f32; BLOCK] = row[kx..kx + BLOCK].try_into().expect("a block of the padded row");
                            for (a, &x) in acc.iter_mut().zip(x) {
                                *a = fma(k, x, *a);
                            }
                        }
                    }
                    let n = BLOCK.min(ow - x0);
                    out[x0..x0 + n].copy_from_slice(&acc.map(|a| a + bias)[..n]);
                }
            }
        }
    }
}

/// A stride-1 convolution of `in_c` > 1 input channels into `out_c` channels, kernel
/// `kh`×`kw`, zero padding `pad`, on f32 NCHW data.
///
/// tract computes it as a matrix product over an im2col view of the input, which it packs
/// panel by panel; this op reads the padded input in place. It holds [`LANES`] output
/// channels of [`PIXELS`] neighbouring outputs in registers, and for each input channel
/// adds that channel's taps in tract's order (channel, kernel row, kernel column), one
/// fused multiply-add at a time, from zero; the bias comes last. So its results agree with
/// tract's to the bit wherever [`Conv1In`]'s do.
#[derive(Debug, Clone)]
pub struct ConvDirect {
    g: Geometry,
    /// `[out_c / LANES, rounded up][in_c][kh][kw]`, each a block of `LANES` output
    /// channels (zero past `out_c`).
    weights: Arc<Vec<[f32; LANES]>>,
    bias: Arc<Vec<f32>>,
}

/// Output channels summed together: four AVX registers.
const LANES: usize = 32;
/// Neighbouring outputs of a row summed together.
const PIXELS: usize = 2;

impl PartialEq for ConvDirect {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        self.g == other.g
            && bits(self.weights.as_flattened()) == bits(other.weights.as_flattened())
            && bits(&self.bias) == bits(&other.bias)
    }
}

impl Eq for ConvDirect {}

impl ConvDirect {
    /// `Some` when `conv` is what this op computes (see [`Plain::of`]) and reads more than
    /// one input channel.
    fn replacing(conv: &Conv, input: &TypedFact, kernel: &TypedFact, bias: &TypedFact) -> Option<ConvDirect> {
        Plain::of(conv, input, kernel, bias).filter(|p| p.g.in_c > 1).map(ConvDirect::new)
    }

    fn new(p: Plain) -> ConvDirect {
        let Geometry { in_c, out_c, kh, kw, .. } = p.g;
        let taps = kh * kw;
        let mut weights = vec![[0f32; LANES]; out_c.div_ceil(LANES) * in_c * taps];
        for (o, kernel) in p.weights.chunks_exact(in_c * taps).enumerate() {
            let block = &mut weights[o / LANES * in_c * taps..][..in_c * taps];
            for (lanes, &k) in block.iter_mut().zip(kernel) {
                lanes[o % LANES] = k;
            }
        }
        ConvDirect { g: p.g, weights: Arc::new(weights), bias: Arc::new(p.bias) }
    }

    /// Convolves the `in_c` planes of `h`×`w` in `input` into `out` (`out_c` planes of
    /// `output_hw`).
    fn run(&self, input: &[f32], h: usize, w: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if fused() {
            // SAFETY: the CPU has the features the function is compiled for.
            match self.g.kw {
                // SAFETY: as above.
                3 => unsafe { self.run_avx::<3>(input, h, w, out) },
                5 => unsafe { self.run_avx::<5>(input, h, w, out) },
                _ => unsafe { self.run_fma(input, h, w, out) },
            }
            return;
        }
        // As in `Conv1In::run`.
        if fused() {
            self.convolve(input, h, w, out, f32::mul_add);
        } else {
            self.convolve(input, h, w, out, |a, b, c| a * b + c);
        }
    }

    /// Each input plane inside a zero border, its rows wide enough for `row_w` outputs
    /// (those past the last are computed and dropped); with the padded height and width.
    fn padded(&self, input: &[f32], h: usize, w: usize, row_w: usize) -> (Vec<f32>, usize, usize) {
        let (py, px) = self.g.pad;
        let (ph, pw) = (h + 2 * py, row_w + self.g.kw - 1);
        let mut padded = vec![0f32; self.g.in_c * ph * pw];
        for (plane, src) in padded.chunks_exact_mut(ph * pw).zip(input.chunks_exact(h * w)) {
            for (row, src) in plane[py * pw..].chunks_exact_mut(pw).zip(src.chunks_exact(w)) {
                row[px..px + w].copy_from_slice(src);
            }
        }
        (padded, ph, pw)
    }

    /// For each row of the padded planes, a bit for each of its first 64 columns that is
    /// not zero (±0). A tap on a zero adds ±0 to a sum that is never −0 (it starts at +0,
    /// and a sum that cancels exactly rounds to +0), which changes nothing: rows of zeros
    /// are passed over, and the sums keep their bits.
    fn nonzero_columns(padded: &[f32], pw: usize) -> Vec<u64> {
        padded
            .chunks_exact(pw)
            .map(|row| row.iter().take(64).enumerate().fold(0, |m, (i, &v)| m | ((v != 0.0) as u64) << i))
            .collect()
    }

    /// The bits of [`Self::nonzero_columns`] that the kernel's rows read for `pixels`
    /// outputs from column `x0`; all bits when a row is wider than 64, so that none is
    /// passed over.
    fn window(&self, pw: usize, pixels: usize, x0: usize) -> u64 {
        if pw > 64 {
            return u64::MAX;
        }
        // Within 64 bits: x0 + self.g.kw + pixels - 1 <= pw.
        (u64::MAX >> (64 - (self.g.kw + pixels - 1))) << x0
    }

    /// Adds the bias to the sums (`[block][y][x]`, rows of `row_w`) and writes them to
    /// `out`, channel by channel.
    fn finish(&self, sums: &[[f32; LANES]], oh: usize, ow: usize, row_w: usize, out: &mut [f32]) {
        for ((o, &bias), plane) in self.bias.iter().enumerate().zip(out.chunks_exact_mut(oh * ow)) {
            let block = &sums[o / LANES * oh * row_w..][..oh * row_w];
            for (row, out) in block.chunks_exact(row_w).zip(plane.chunks_exact_mut(ow)) {
                for (o2, s) in out.iter_mut().zip(row) {
                    *o2 = s[o % LANES] + bias;
                }
            }
        }
    }

    #[inline(always)]
    fn convolve(&self, input: &[f32], h: usize, w: usize, out: &mut [f32], fma: impl Fn(f32, f32, f32) -> f32) {
        let (oh, ow) = self.g.output_hw(h, w);
        let row_w = ow.next_multiple_of(PIXELS);
        let (padded, ph, pw) = self.padded(input, h, w, row_w);
        let nonzero = Self::nonzero_columns(&padded, pw);
        // The sums so far, `[block][y][x]`, `LANES` output channels each.
        let taps = self.g.kh * self.g.kw;
        let mut sums = vec![[0f32; LANES]; self.g.out_c.div_ceil(LANES) * oh * row_w];
        let blocks = sums.chunks_exact_mut(oh * row_w).zip(self.weights.chunks_exact(self.g.in_c * taps));
        for (sums, weights) in blocks {
            let planes = padded.chunks_exact(ph * pw).zip(nonzero.chunks_exact(ph)).zip(weights.chunks_exact(taps));
            for ((plane, nonzero), kernel) in planes {
                for (y, sums) in sums.chunks_exact_mut(row_w).enumerate() {
                    for (x0, sums) in sums.chunks_exact_mut(PIXELS).enumerate().map(|(i, s)| (i * PIXELS, s)) {
                        let sums: &mut [[f32; LANES]; PIXELS] = sums.try_into().expect("a block of outputs");
                        let mut acc = *sums;
                        let window = self.window(pw, PIXELS, x0);
                        for (ky, kernel_row) in kernel.chunks_exact(self.g.kw).enumerate() {
                            if nonzero[y + ky] & window == 0 {
                                continue;
                            }
                            let row = &plane[(y + ky) * pw + x0..][..self.g.kw + PIXELS - 1];
                            for (kx, k) in kernel_row.iter().enumerate() {
                                for (acc, &x) in acc.iter_mut().zip(&row[kx..kx + PIXELS]) {
                                    for (a, &k) in acc.iter_mut().zip(k) {
                                        *a = fma(k, x, *a);
                                    }
                                }
                            }
                        }
                        *sums = acc;
                    }
                }
            }
        }
        self.finish(&sums, oh, ow, row_w, out);
    }

    /// [`Self::convolve`] with fused multiply-adds.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&self, input: &[f32], h: usize, w: usize, out: &mut [f32]) {
        self.convolve(input, h, w, out, f32::mul_add);
    }

    /// [`Self::convolve`] in AVX registers, three outputs at a time (twelve sums, which
    /// the compiler does not keep in registers on its own), for a kernel `KW` wide
    /// (`self.g.kw`), which a constant lets the compiler unroll.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx<const KW: usize>(&self, input: &[f32], h: usize, w: usize, out: &mut [f32]) {
        use std::arch::x86_64::{__m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps};
        const P: usize = 3;
        const V: usize = LANES / 8;
        let (oh, ow) = self.g.output_hw(h, w);
        let row_w = ow.next_multiple_of(P);
        let (padded, ph, pw) = self.padded(input, h, w, row_w);
        let nonzero = Self::nonzero_columns(&padded, pw);
        let taps = self.g.kh * self.g.kw;
        let mut sums = vec![[0f32; LANES]; self.g.out_c.div_ceil(LANES) * oh * row_w];
        let blocks = sums.chunks_exact_mut(oh * row_w).zip(self.weights.chunks_exact(self.g.in_c * taps));
        for (sums, weights) in blocks {
            let planes = padded.chunks_exact(ph * pw).zip(nonzero.chunks_exact(ph)).zip(weights.chunks_exact(taps));
            for ((plane, nonzero), kernel) in planes {
                for (y, sums) in sums.chunks_exact_mut(row_w).enumerate() {
                    for (x0, sums) in sums.chunks_exact_mut(P).enumerate().map(|(i, s)| (i * P, s)) {
                        let sums: &mut [[f32; LANES]; P] = sums.try_into().expect("a block of outputs");
                        // SAFETY (every load and store): each reads or writes 8 floats at
                        // an offset of 8·v < LANES into a `[f32; LANES]`.
                        let mut acc: [[__m256; V]; P] =
                            sums.map(|s| std::array::from_fn(|v| unsafe { _mm256_loadu_ps(s[8 * v..].as_ptr()) }));
                        let window = self.window(pw, P, x0);
                        for (ky, kernel_row) in kernel.chunks_exact(KW).enumerate() {
                            if nonzero[y + ky] & window == 0 {
                                continue;
                            }
                            let row = &plane[(y + ky) * pw + x0..][..KW + P - 1];
                            for (kx, k) in kernel_row.iter().enumerate() {
                                // Three inputs and one weight vector at a time: with the
                                // twelve sums, the sixteen AVX registers.
                                let x: [__m256; P] = std::array::from_fn(|p| _mm256_set1_ps(row[kx + p]));
                                for v in 0..V {
                                    let k = unsafe { _mm256_loadu_ps(k[8 * v..].as_ptr()) };
                                    for p in 0..P {
                                        acc[p][v] = _mm256_fmadd_ps(k, x[p], acc[p][v]);
                                    }
                                }
                            }
                        }
                        for (s, acc) in sums.iter_mut().zip(acc) {
                            for (v, a) in acc.into_iter().enumerate() {
                                unsafe { _mm256_storeu_ps(s[8 * v..].as_mut_ptr(), a) };
                            }
                        }
                    }
                }
            }
        }
        self.finish(&sums, oh, ow, row_w, out);
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

/// [`Direct`](super::Direct), and tract's traits from it, for a direct convolution `$op`:
/// its [`Geometry`] `g`, and its `run(input, h, w, out)`, which convolves the `in_c`
/// planes of `h`×`w` in `input` into `out`.
macro_rules! conv_op {
    ($op:ident) => {
        impl super::Direct for $op {
            fn output_shape(&self, shape: &[usize]) -> TractResult<TVec<usize>> {
                let (h, w) = self.g.input_hw(stringify!($op), shape)?;
                let (oh, ow) = self.g.output_hw(h, w);
                Ok(tvec![1, self.g.out_c, oh, ow])
            }

            fn compute(&self, input: &[f32], shape: &[usize], out: &mut [f32]) -> TractResult<()> {
                let (h, w) = self.g.input_hw(stringify!($op), shape)?;
                self.run(input, h, w, out);
                Ok(())
            }
        }

        our_op!($op);
    };
}

conv_op!(Conv1In);
conv_op!(ConvDirect);

/// Swaps every convolution in the decluttered `model` that [`Conv1In`] or [`ConvDirect`]
/// can take for one of them;
/// returns how many it swapped.
pub fn speed_up(model: &mut TypedModel) -> TractResult<usize> {
    let mut swaps = Vec::new();
    for node in model.nodes() {
        let Some(conv) = node.op_as::<Conv>() else { continue };
        let [input, kernel, bias] = node.inputs[..] else { continue };
        let facts = (model.outlet_fact(input)?, model.outlet_fact(kernel)?, model.outlet_fact(bias)?);
        // The kernel and bias go inside the op.
        if let Some(op) = Conv1In::replacing(conv, facts.0, facts.1, facts.2) {
            swaps.push(TypedModelPatch::replace_single_op(model, node, &[input], op)?);
        } else if let Some(op) = ConvDirect::replacing(conv, facts.0, facts.1, facts.2) {
            swaps.push(TypedModelPatch::replace_single_op(model, node, &[input], op)?);
        }
    }
    super::apply(model, swaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A convolution summed the plain way, in tract's order: from zero, channel by channel,
    /// kernel row by row, one fused multiply-add a tap; then the bias.
    fn reference(p: &Plain, input: &[f32], h: usize, w: usize) -> Vec<f32> {
        let g = p.g;
        let (oh, ow) = g.output_hw(h, w);
        let at = |c: usize, y: usize, x: usize| {
            let (y, x) = (y.wrapping_sub(g.pad.0), x.wrapping_sub(g.pad.1));
            if y < h && x < w {
                input[(c * h + y) * w + x]
            } else {
                0.0
            }
        };
        let mut out = Vec::new();
        for o in 0..g.out_c {
            for y in 0..oh {
                for x in 0..ow {
                    let mut sum = 0f32;
                    for c in 0..g.in_c {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let k = p.weights[((o * g.in_c + c) * g.kh + ky) * g.kw + kx];
                                sum = k.mul_add(at(c, y + ky, x + kx), sum);
                            }
                        }
                    }
                    out.push(sum + p.bias[o]);
                }
            }
        }
        out
    }

    /// An odd shape: 40 output channels (a block and a part), an odd output width, a
    /// kernel wider than tall with padding to match, and rows of zeros. Both ways of
    /// summing (the portable one and, where the CPU has it, the AVX one) give the
    /// reference's results to the bit.
    #[test]
    fn direct_convolution_sums_in_tracts_order() {
        let wave = |i: usize, m: usize| ((i * 37 + 11) % m) as f32 / m as f32 - 0.5;
        let (in_c, out_c, kh, kw, h, w) = (3, 40, 3, 5, 9, 11);
        let p = Plain {
            g: Geometry { in_c, out_c, kh, kw, pad: (1, 2) },
            weights: (0..out_c * in_c * kh * kw).map(|i| wave(i, 101)).collect(),
            bias: (0..out_c).map(|i| wave(i, 7)).collect(),
        };
        // Rows of zeros (+0 and −0), as a ReLU leaves them, for the rows passed over.
        let input: Vec<f32> = (0..in_c * h * w)
            .map(|i| match (i / w) % h {
                0..=2 => 0.0,
                6 => -0.0,
                _ => wave(i, 53) * 3.0,
            })
            .collect();
        let want = reference(&p, &input, h, w);
        let op = ConvDirect::new(p);
        assert_eq!(op.g.output_hw(h, w), (9, 11));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut portable = vec![f32::NAN; want.len()];
        op.convolve(&input, h, w, &mut portable, f32::mul_add);
        assert_eq!(bits(&portable), bits(&want));
        let mut fastest = vec![f32::NAN; want.len()];
        op.run(&input, h, w, &mut fastest);
        assert_eq!(bits(&fastest), bits(&want));
    }
}
