//! The trainer's network: a stack of layers with forward and backward passes written out
//! by hand, as the lecture teaches them. Generic over the float type so that the gradient
//! check can run in f64 while training runs in f32.

use std::fmt::Debug;
use std::iter::Sum;
use std::ops::AddAssign;

use num_traits::Float;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::util::argmax;

/// A float the trainer computes in: f32 to train, f64 to check gradients.
pub trait Real: Float + AddAssign + Sum + Debug + Default + Send + Sync + 'static {
    /// `c = alpha * a·b + beta * c` for an m×k `a`, a k×n `b` and an m×n `c`, each stored
    /// with its own row and column strides (see [`gemm`], which checks them).
    ///
    /// # Safety
    /// Every element each matrix's strides reach lies inside its slice, and no two
    /// elements of `c` share a place.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_unchecked(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        sa: (usize, usize),
        b: &[Self],
        sb: (usize, usize),
        beta: Self,
        c: &mut [Self],
        sc: (usize, usize),
    );
    fn from_f64(v: f64) -> Self;
}

/// How far into its slice an r×c matrix with these strides reaches (one past its last
/// element), or None when that overflows.
fn extent(r: usize, c: usize, (rs, cs): (usize, usize)) -> Option<usize> {
    if r == 0 || c == 0 {
        return Some(0);
    }
    (r - 1).checked_mul(rs)?.checked_add((c - 1).checked_mul(cs)?)?.checked_add(1)
}

/// Whether every (row, column) of an r×c matrix has a place of its own: one stride steps
/// over a whole row (or column) of the other.
fn distinct(r: usize, c: usize, (rs, cs): (usize, usize)) -> bool {
    let rows_apart = |rs: usize, cs: usize, c: usize| cs >= 1 && rs >= cs.saturating_mul(c);
    r <= 1 && (c <= 1 || cs >= 1) || c <= 1 && rs >= 1 || rows_apart(rs, cs, c) || rows_apart(cs, rs, r)
}

/// `c = alpha * a·b + beta * c` with strided matrices (strides `(row, column)`, in
/// elements). Panics, before touching memory, when a stride would reach outside its slice
/// or make two elements of `c` one.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: &[T],
    sa: (usize, usize),
    b: &[T],
    sb: (usize, usize),
    beta: T,
    c: &mut [T],
    sc: (usize, usize),
) {
    let fits = |len: usize, r, cols, s| extent(r, cols, s).is_some_and(|e| e <= len && e <= isize::MAX as usize);
    assert!(fits(a.len(), m, k, sa), "gemm: a ({m}×{k}, strides {sa:?}) overruns its {} elements", a.len());
    assert!(fits(b.len(), k, n, sb), "gemm: b ({k}×{n}, strides {sb:?}) overruns its {} elements", b.len());
    assert!(fits(c.len(), m, n, sc), "gemm: c ({m}×{n}, strides {sc:?}) overruns its {} elements", c.len());
    assert!(distinct(m, n, sc), "gemm: c's strides {sc:?} put two of its {m}×{n} elements in one place");
    // SAFETY: checked just above; `a` and `b` cannot overlap `c`, which is borrowed mutably.
    unsafe { T::gemm_unchecked(m, k, n, alpha, a, sa, b, sb, beta, c, sc) }
}

macro_rules! impl_real {
    ($t:ty, $gemm:path) => {
        impl Real for $t {
            unsafe fn gemm_unchecked(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                (rsa, csa): (usize, usize),
                b: &[Self],
                (rsb, csb): (usize, usize),
                beta: Self,
                c: &mut [Self],
                (rsc, csc): (usize, usize),
            ) {
                if m == 0 || n == 0 {
                    return;
                }
                // The strides fit in isize: the caller keeps them within slices, and a slice
                // never holds more than isize::MAX bytes.
                let i = |v: usize| v as isize;
                // SAFETY: the caller's contract (see the trait).
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        alpha,
                        a.as_ptr(),
                        i(rsa),
                        i(csa),
                        b.as_ptr(),
                        i(rsb),
                        i(csb),
                        beta,
                        c.as_mut_ptr(),
                        i(rsc),
                        i(csc),
                    )
                }
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
        }
    };
}
impl_real!(f32, matrixmultiply::sgemm);
impl_real!(f64, matrixmultiply::dgemm);

/// Shape of one sample's activations: channels × height × width (1×1×n for vectors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    pub fn vec(n: usize) -> Shape {
        Shape { c: 1, h: 1, w: n }
    }
    pub fn image(c: usize, h: usize, w: usize) -> Shape {
        Shape { c, h, w }
    }
    pub fn len(&self) -> usize {
        self.c * self.h * self.w
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One layer. Dense and Conv hold parameters; the rest are functions.
#[derive(Clone, Debug)]
pub enum Layer<T> {
    /// `y = W x + b`, W stored `[out, in]` (ONNX Gemm with transB=1).
    Dense {
        input: usize,
        output: usize,
        w: Vec<T>,
        b: Vec<T>,
    },
    /// 2-D convolution, stride 1, zero padding `pad`; W stored `[out, in, k, k]`.
    Conv {
        input: Shape,
        out_c: usize,
        k: usize,
        pad: usize,
        w: Vec<T>,
        b: Vec<T>,
    },
    /// 2×2 max pooling with stride 2.
    MaxPool {
        input: Shape,
    },
    Sigmoid {
        len: usize,
    },
    Relu {
        len: usize,
    },
}

impl<T: Real> Layer<T> {
    /// A dense layer with Xavier weights (`randn(in, out) / sqrt(in)`, the lecture's rule)
    /// and biases uniform in [0, 1) as the lecture draws them (`np.random.rand`).
    pub fn dense_lecture(input: usize, output: usize, rng: &mut impl Rng) -> Self {
        // Drawn in the lecture's (in, out) order, stored transposed as [out, in].
        let scale = 1.0 / (input as f64).sqrt();
        let mut w = vec![T::zero(); input * output];
        for i in 0..input {
            for o in 0..output {
                let z: f64 = StandardNormal.sample(rng);
                w[o * input + i] = T::from_f64(z * scale);
            }
        }
        let b = (0..output).map(|_| T::from_f64(rng.random::<f64>())).collect();
        Layer::Dense { input, output, w, b }
    }

    /// A dense layer with He initialisation (suits ReLU) and zero biases.
    pub fn dense_he(input: usize, output: usize, rng: &mut impl Rng) -> Self {
        let scale = (2.0 / input as f64).sqrt();
        let w = (0..input * output)
            .map(|_| T::from_f64(Distribution::<f64>::sample(&StandardNormal, rng) * scale))
            .collect();
        Layer::Dense { input, output, w, b: vec![T::zero(); output] }
    }

    /// A convolution with He initialisation and zero biases.
    pub fn conv_he(input: Shape, out_c: usize, k: usize, pad: usize, rng: &mut impl Rng) -> Self {
        let fan_in = input.c * k * k;
        let scale = (2.0 / fan_in as f64).sqrt();
        let w = (0..out_c * fan_in)
            .map(|_| T::from_f64(Distribution::<f64>::sample(&StandardNormal, rng) * scale))
            .collect();
        Layer::Conv { input, out_c, k, pad, w, b: vec![T::zero(); out_c] }
    }

    pub fn input_shape(&self) -> Shape {
        match self {
            Layer::Dense { input, .. } => Shape::vec(*input),
            Layer::Conv { input, .. } | Layer::MaxPool { input } => *input,
            Layer::Sigmoid { len } | Layer::Relu { len } => Shape::vec(*len),
        }
    }

    pub fn output_shape(&self) -> Shape {
        match self {
            Layer::Dense { output, .. } => Shape::vec(*output),
            Layer::Conv { input, out_c, k, pad, .. } => {
                Shape::image(*out_c, input.h + 2 * pad + 1 - k, input.w + 2 * pad + 1 - k)
            }
            Layer::MaxPool { input } => Shape::image(input.c, input.h / 2, input.w / 2),
            Layer::Sigmoid { len } | Layer::Relu { len } => Shape::vec(*len),
        }
    }

    /// Parameter tensors (weights, biases); empty for parameter-free layers.
    pub fn params(&self) -> Vec<&[T]> {
        match self {
            Layer::Dense { w, b, .. } | Layer::Conv { w, b, .. } => vec![w, b],
            _ => vec![],
        }
    }

    pub fn params_mut(&mut self) -> Vec<&mut Vec<T>> {
        match self {
            Layer::Dense { w, b, .. } | Layer::Conv { w, b, .. } => vec![w, b],
            _ => vec![],
        }
    }

    /// Forward pass over a batch: `x` holds `batch` samples of `input_shape()`.
    pub fn forward(&self, x: &[T], batch: usize) -> Vec<T> {
        let out_len = self.output_shape().len();
        let mut y = vec![T::zero(); batch * out_len];
        match self {
            Layer::Dense { input, output, w, b } => {
                if batch == 1 {
                    // One sample (the lecture's training): plain dot products beat a GEMM's
                    // packing overhead.
                    for ((yo, row), &bo) in y.iter_mut().zip(w.chunks_exact(*input)).zip(b) {
                        *yo = bo + dot(row, x);
                    }
                    return y;
                }
                for row in y.chunks_exact_mut(*output) {
                    row.copy_from_slice(b);
                }
                // y[B,out] += x[B,in] · Wᵀ
                gemm(batch, *input, *output, T::one(), x, (*input, 1), w, (1, *input), T::one(), &mut y, (*output, 1));
            }
            Layer::Conv { input, out_c, k, pad, w, b } => {
                let os = self.output_shape();
                let ohw = os.h * os.w;
                let ckk = input.c * k * k;
                let mut cols = vec![T::zero(); ckk * ohw];
                for (xs, ys) in x.chunks_exact(input.len()).zip(y.chunks_exact_mut(out_len)) {
                    im2col(xs, *input, *k, *pad, os, &mut cols);
                    for (oc, plane) in ys.chunks_exact_mut(ohw).enumerate() {
                        plane.fill(b[oc]);
                    }
                    gemm(*out_c, ckk, ohw, T::one(), w, (ckk, 1), &cols, (ohw, 1), T::one(), ys, (ohw, 1));
                }
            }
            Layer::MaxPool { input } => {
                let os = self.output_shape();
                for (xs, ys) in x.chunks_exact(input.len()).zip(y.chunks_exact_mut(out_len)) {
                    for c in 0..input.c {
                        for oy in 0..os.h {
                            for ox in 0..os.w {
                                let (_, v) = pool_argmax(xs, *input, c, oy, ox);
                                ys[(c * os.h + oy) * os.w + ox] = v;
                            }
                        }
                    }
                }
            }
            Layer::Sigmoid { .. } => {
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = sigmoid(v);
                }
            }
            Layer::Relu { .. } => {
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = v.max(T::zero());
                }
            }
        }
        y
    }

    /// Backward pass: given the layer's input `x`, output `y` and the loss gradient `dy`,
    /// adds the parameter gradients into `grads` (same layout as `params()`) and returns
    /// the gradient with respect to `x` when `need_dx`.
    pub fn backward(&self, x: &[T], y: &[T], dy: &[T], batch: usize, grads: &mut [Vec<T>], need_dx: bool) -> Vec<T> {
        let in_len = self.input_shape().len();
        let mut dx = if need_dx { vec![T::zero(); batch * in_len] } else { Vec::new() };
        match self {
            Layer::Dense { input, output, w, .. } => {
                let (gw, rest) = grads.split_at_mut(1);
                if batch == 1 {
                    for ((grow, &d), gb) in gw[0].chunks_exact_mut(*input).zip(dy).zip(rest[0].iter_mut()) {
                        *gb += d;
                        grow.iter_mut().zip(x).for_each(|(g, &xi)| *g += d * xi);
                    }
                    if need_dx {
                        for (&d, wrow) in dy.iter().zip(w.chunks_exact(*input)) {
                            dx.iter_mut().zip(wrow).for_each(|(g, &wi)| *g += d * wi);
                        }
                    }
                    return dx;
                }
                // dW[out,in] += dyᵀ · x
                gemm(
                    *output,
                    batch,
                    *input,
                    T::one(),
                    dy,
                    (1, *output),
                    x,
                    (*input, 1),
                    T::one(),
                    &mut gw[0],
                    (*input, 1),
                );
                for row in dy.chunks_exact(*output) {
                    for (g, &d) in rest[0].iter_mut().zip(row) {
                        *g += d;
                    }
                }
                if need_dx {
                    gemm(
                        batch,
                        *output,
                        *input,
                        T::one(),
                        dy,
                        (*output, 1),
                        w,
                        (*input, 1),
                        T::zero(),
                        &mut dx,
                        (*input, 1),
                    );
                }
            }
            Layer::Conv { input, out_c, k, pad, w, .. } => {
                let os = self.output_shape();
                let ohw = os.h * os.w;
                let ckk = input.c * k * k;
                let out_len = os.len();
                let mut cols = vec![T::zero(); ckk * ohw];
                let mut dcols = vec![T::zero(); if need_dx { ckk * ohw } else { 0 }];
                let (gw, gb) = grads.split_at_mut(1);
                for s in 0..batch {
                    let xs = &x[s * in_len..(s + 1) * in_len];
                    let ds = &dy[s * out_len..(s + 1) * out_len];
                    im2col(xs, *input, *k, *pad, os, &mut cols);
                    // dW[oc, ckk] += dy[oc, ohw] · colsᵀ
                    gemm(*out_c, ohw, ckk, T::one(), ds, (ohw, 1), &cols, (1, ohw), T::one(), &mut gw[0], (ckk, 1));
                    for (g, plane) in gb[0].iter_mut().zip(ds.chunks_exact(ohw)) {
                        *g += plane.iter().copied().sum();
                    }
                    if need_dx {
                        // dcols[ckk, ohw] = Wᵀ · dy
                        gemm(ckk, *out_c, ohw, T::one(), w, (1, ckk), ds, (ohw, 1), T::zero(), &mut dcols, (ohw, 1));
                        col2im(&dcols, *input, *k, *pad, os, &mut dx[s * in_len..(s + 1) * in_len]);
                    }
                }
            }
            Layer::MaxPool { input } => {
                let os = self.output_shape();
                if need_dx {
                    for s in 0..batch {
                        let xs = &x[s * in_len..(s + 1) * in_len];
                        let ds = &dy[s * os.len()..(s + 1) * os.len()];
                        let dxs = &mut dx[s * in_len..(s + 1) * in_len];
                        for c in 0..input.c {
                            for oy in 0..os.h {
                                for ox in 0..os.w {
                                    let (at, _) = pool_argmax(xs, *input, c, oy, ox);
                                    dxs[at] += ds[(c * os.h + oy) * os.w + ox];
                                }
                            }
                        }
                    }
                }
            }
            Layer::Sigmoid { .. } => {
                if need_dx {
                    for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(y) {
                        *d = g * v * (T::one() - v);
                    }
                }
            }
            Layer::Relu { .. } => {
                if need_dx {
                    for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
                        *d = if v > T::zero() { g } else { T::zero() };
                    }
                }
            }
        }
        dx
    }
}

/// Dot product with eight independent sums, so the compiler can vectorise it (a single
/// running sum is a serial dependency it may not reorder).
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().copied().sum::<T>() + tail
}

pub fn sigmoid<T: Real>(v: T) -> T {
    T::one() / (T::one() + (-v).exp())
}

/// The input index and value of the maximum in pooling window (oy, ox) of channel c.
fn pool_argmax<T: Real>(x: &[T], s: Shape, c: usize, oy: usize, ox: usize) -> (usize, T) {
    let mut best = (usize::MAX, T::neg_infinity());
    for dy in 0..2 {
        for dx in 0..2 {
            let at = (c * s.h + 2 * oy + dy) * s.w + 2 * ox + dx;
            if x[at] > best.1 || best.0 == usize::MAX {
                best = (at, x[at]);
            }
        }
    }
    best
}

/// Unfolds one sample into `cols[(c,ky,kx), (oy,ox)]` so convolution becomes one GEMM.
fn im2col<T: Real>(x: &[T], s: Shape, k: usize, pad: usize, os: Shape, cols: &mut [T]) {
    let ohw = os.h * os.w;
    for c in 0..s.c {
        for ky in 0..k {
            for kx in 0..k {
                let row = &mut cols[((c * k + ky) * k + kx) * ohw..][..ohw];
                for oy in 0..os.h {
                    let iy = oy as isize + ky as isize - pad as isize;
                    let dst = &mut row[oy * os.w..(oy + 1) * os.w];
                    if iy < 0 || iy >= s.h as isize {
                        dst.fill(T::zero());
                        continue;
                    }
                    let src = &x[(c * s.h + iy as usize) * s.w..][..s.w];
                    for (ox, d) in dst.iter_mut().enumerate() {
                        let ix = ox as isize + kx as isize - pad as isize;
                        *d = if ix < 0 || ix >= s.w as isize { T::zero() } else { src[ix as usize] };
                    }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds each column entry back onto the pixel it came from.
fn col2im<T: Real>(cols: &[T], s: Shape, k: usize, pad: usize, os: Shape, dx: &mut [T]) {
    let ohw = os.h * os.w;
    for c in 0..s.c {
        for ky in 0..k {
            for kx in 0..k {
                let row = &cols[((c * k + ky) * k + kx) * ohw..][..ohw];
                for oy in 0..os.h {
                    let iy = oy as isize + ky as isize - pad as isize;
                    if iy < 0 || iy >= s.h as isize {
                        continue;
                    }
                    let dst = &mut dx[(c * s.h + iy as usize) * s.w..][..s.w];
                    for ox in 0..os.w {
                        let ix = ox as isize + kx as isize - pad as isize;
                        if ix >= 0 && ix < s.w as isize {
                            dst[ix as usize] += row[oy * os.w + ox];
                        }
                    }
                }
            }
        }
    }
}

/// How the last layer's output is turned into a loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// The lecture's: sigmoid outputs against 0.01/0.99 targets,
    /// `-Σ t·ln(y+1e-7) + (1-t)·ln(1-y+1e-7)`.
    LectureBce,
    /// Softmax over the logits, cross-entropy against the one-hot label.
    SoftmaxCe,
}

const BCE_EPS: f64 = 1e-7;

impl Loss {
    /// Summed loss over the samples and its gradient with respect to the network output,
    /// multiplied by `scale` (1 / the whole batch's size, for a mean over the batch).
    pub fn eval<T: Real>(self, out: &[T], labels: &[u8], classes: usize, scale: T) -> (T, Vec<T>) {
        let inv_b = scale;
        let mut grad = vec![T::zero(); out.len()];
        let mut total = T::zero();
        for ((row, g), &label) in out.chunks_exact(classes).zip(grad.chunks_exact_mut(classes)).zip(labels) {
            match self {
                Loss::LectureBce => {
                    let eps = T::from_f64(BCE_EPS);
                    for (j, (&y, gj)) in row.iter().zip(g.iter_mut()).enumerate() {
                        let t = T::from_f64(if j == label as usize { 0.99 } else { 0.01 });
                        let one = T::one();
                        total += -(t * (y + eps).ln() + (one - t) * (one - y + eps).ln());
                        *gj = (-t / (y + eps) + (one - t) / (one - y + eps)) * inv_b;
                    }
                }
                Loss::SoftmaxCe => {
                    let p = softmax(row);
                    total += -(p[label as usize].max(T::from_f64(1e-30))).ln();
                    for (j, (&pj, gj)) in p.iter().zip(g.iter_mut()).enumerate() {
                        let t = if j == label as usize { T::one() } else { T::zero() };
                        *gj = (pj - t) * inv_b;
                    }
                }
            }
        }
        (total, grad)
    }
}

/// Numerically stable softmax.
pub fn softmax<T: Real>(z: &[T]) -> Vec<T> {
    let m = z.iter().copied().fold(T::neg_infinity(), T::max);
    let e: Vec<T> = z.iter().map(|&v| (v - m).exp()).collect();
    let s: T = e.iter().copied().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// A feed-forward network: layers applied in order, then a loss.
#[derive(Clone, Debug)]
pub struct Net<T> {
    pub layers: Vec<Layer<T>>,
    pub loss: Loss,
}

/// Gradients shaped like the network's parameters: per layer, per tensor.
pub type Grads<T> = Vec<Vec<Vec<T>>>;

impl<T: Real> Net<T> {
    pub fn input_shape(&self) -> Shape {
        self.layers[0].input_shape()
    }

    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.output_shape().len())
    }

    /// One more output, as a new row of the last dense layer: zero weights and a bias that
    /// makes it unlikely at first, so the outputs already there keep their meaning while it
    /// learns. False when the network does not end in a dense layer.
    pub fn add_class(&mut self) -> bool {
        let Some(Layer::Dense { input, output, w, b }) = self.layers.last_mut() else { return false };
        w.resize(w.len() + *input, T::zero());
        b.push(T::from_f64(-4.0));
        *output += 1;
        true
    }

    pub fn param_count(&self) -> usize {
        self.layers.iter().flat_map(|l| l.params()).map(|p| p.len()).sum()
    }

    pub fn zero_grads(&self) -> Grads<T> {
        self.layers.iter().map(|l| l.params().iter().map(|p| vec![T::zero(); p.len()]).collect()).collect()
    }

    /// The network output for a batch (what the exported model computes before any Softmax).
    pub fn forward(&self, x: &[T], batch: usize) -> Vec<T> {
        let mut a = x.to_vec();
        for l in &self.layers {
            a = l.forward(&a, batch);
        }
        a
    }

    /// Summed loss over `labels.len()` samples, adding `scale` × its gradients into `grads`
    /// (scale = 1 / batch size gives the mean's gradient). Returns the loss and the number
    /// of samples predicted right.
    pub fn loss_and_grads(&self, x: &[T], labels: &[u8], scale: T, grads: &mut Grads<T>) -> (T, usize) {
        let batch = labels.len();
        let mut acts = Vec::with_capacity(self.layers.len() + 1);
        acts.push(x.to_vec());
        for l in &self.layers {
            let next = l.forward(acts.last().map_or(&[][..], |v| v), batch);
            acts.push(next);
        }
        let out = &acts[self.layers.len()];
        let classes = self.classes();
        let correct = out.chunks_exact(classes).zip(labels).filter(|(row, &l)| argmax(row) == l as usize).count();
        let (loss, mut d) = self.loss.eval(out, labels, classes, scale);
        for (i, l) in self.layers.iter().enumerate().rev() {
            d = l.backward(&acts[i], &acts[i + 1], &d, batch, &mut grads[i], i > 0);
        }
        (loss, correct)
    }

    /// Mean loss over the samples (no gradients), for the numerical derivative.
    pub fn loss(&self, x: &[T], labels: &[u8]) -> T {
        let out = self.forward(x, labels.len());
        let n = T::from_f64(labels.len() as f64);
        self.loss.eval(&out, labels, self.classes(), T::one()).0 / n
    }

    /// Gradients by central differences, `(L(w+h) - L(w-h)) / 2h` for every parameter:
    /// the lecture's method, kept as the check on backpropagation.
    #[allow(clippy::needless_range_loop)] // each parameter is changed in place while indexed
    pub fn numerical_grads(&mut self, x: &[T], labels: &[u8], h: T) -> Grads<T> {
        let mut grads = self.zero_grads();
        for li in 0..self.layers.len() {
            let tensors = self.layers[li].params().len();
            for ti in 0..tensors {
                let n = self.layers[li].params()[ti].len();
                for pi in 0..n {
                    let orig = self.layers[li].params()[ti][pi];
                    self.layers[li].params_mut()[ti][pi] = orig + h;
                    let up = self.loss(x, labels);
                    self.layers[li].params_mut()[ti][pi] = orig - h;
                    let down = self.loss(x, labels);
                    self.layers[li].params_mut()[ti][pi] = orig;
                    grads[li][ti][pi] = (up - down) / (h + h);
                }
            }
        }
        grads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rel_err(a: f64, b: f64) -> f64 {
        (a - b).abs() / (a.abs() + b.abs()).max(1e-8)
    }

    /// Backprop and the lecture's central difference agree for every layer type.
    fn check(net: &mut Net<f64>, batch: usize, rng: &mut ChaCha8Rng) {
        let n_in = net.input_shape().len();
        let x: Vec<f64> = (0..batch * n_in).map(|_| rng.random::<f64>()).collect();
        let labels: Vec<u8> = (0..batch).map(|i| (i * 3 % net.classes()) as u8).collect();
        let mut bp = net.zero_grads();
        net.loss_and_grads(&x, &labels, 1.0 / batch as f64, &mut bp);
        let num = net.numerical_grads(&x, &labels, 1e-4);
        let mut worst = 0.0f64;
        for (li, (a, b)) in bp.iter().zip(&num).enumerate() {
            for (ta, tb) in a.iter().zip(b) {
                for (&ga, &gb) in ta.iter().zip(tb) {
                    // Differences far below the step's own truncation error say nothing.
                    if ga.abs().max(gb.abs()) > 1e-6 {
                        let e = rel_err(ga, gb);
                        assert!(e < 1e-4, "layer {li}: backprop {ga} vs numerical {gb} (rel {e})");
                        worst = worst.max(e);
                    }
                }
            }
        }
        assert!(bp.iter().flatten().flatten().any(|g| g.abs() > 1e-3), "gradients should not all vanish");
    }

    #[test]
    fn lecture_network_gradients_match_numerical() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut net = Net {
            layers: vec![
                Layer::dense_lecture(12, 5, &mut rng),
                Layer::Sigmoid { len: 5 },
                Layer::dense_lecture(5, 4, &mut rng),
                Layer::Sigmoid { len: 4 },
            ],
            loss: Loss::LectureBce,
        };
        check(&mut net, 1, &mut rng);
        check(&mut net, 3, &mut rng);
    }

    #[test]
    fn cnn_gradients_match_numerical() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let s0 = Shape::image(2, 6, 6);
        let conv = Layer::conv_he(s0, 3, 3, 1, &mut rng);
        let s1 = conv.output_shape();
        let pool = Layer::MaxPool { input: s1 };
        let s2 = pool.output_shape();
        let mut net = Net {
            layers: vec![
                conv,
                Layer::Relu { len: s1.len() },
                pool,
                Layer::conv_he(s2, 2, 3, 0, &mut rng),
                Layer::dense_he(2, 4, &mut rng),
                Layer::Relu { len: 4 },
                Layer::dense_he(4, 3, &mut rng),
            ],
            loss: Loss::SoftmaxCe,
        };
        // The second conv sees 3x3 and outputs 2x1x1 = 2 values, which feed the dense layer.
        assert_eq!(net.layers[3].output_shape().len(), 2);
        // Biases > 0 keep ReLUs away from their kink, where central differences are wrong.
        for l in &mut net.layers {
            if let Layer::Conv { b, .. } | Layer::Dense { b, .. } = l {
                b.iter_mut().for_each(|v| *v = 0.3);
            }
        }
        check(&mut net, 2, &mut rng);
    }

    #[test]
    fn an_added_class_starts_unlikely_and_leaves_the_others_in_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut net: Net<f64> = Net {
            layers: vec![Layer::dense_he(6, 5, &mut rng), Layer::Relu { len: 5 }, Layer::dense_he(5, 3, &mut rng)],
            loss: Loss::SoftmaxCe,
        };
        let x: Vec<f64> = (0..6).map(|i| i as f64 / 6.0).collect();
        let before = net.forward(&x, 1);
        assert!(net.add_class());
        assert_eq!(net.classes(), 4);
        let after = net.forward(&x, 1);
        assert_eq!(&after[..3], &before[..], "the old outputs are unchanged");
        assert_eq!(after[3], -4.0, "the new one starts at its bias");
        // Its row trains like any other: the gradient reaches it.
        let mut g = net.zero_grads();
        net.loss_and_grads(&x, &[3], 1.0, &mut g);
        assert!(g[2][0][15..].iter().any(|v| v.abs() > 1e-6) && g[2][1][3] < 0.0);
        // A network that does not end in a dense layer cannot grow one.
        net.layers.push(Layer::Relu { len: 4 });
        assert!(!net.add_class());
    }

    #[test]
    fn conv_matches_direct_convolution() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let s = Shape::image(2, 5, 4);
        let l: Layer<f64> = Layer::conv_he(s, 2, 3, 1, &mut rng);
        let Layer::Conv { w, .. } = &l else { unreachable!() };
        let x: Vec<f64> = (0..s.len()).map(|i| i as f64 * 0.1).collect();
        let y = l.forward(&x, 1);
        let os = l.output_shape();
        assert_eq!(os, Shape::image(2, 5, 4));
        for oc in 0..2 {
            for oy in 0..5i32 {
                for ox in 0..4i32 {
                    let mut acc = 0.0;
                    for c in 0..2 {
                        for ky in 0..3i32 {
                            for kx in 0..3i32 {
                                let (iy, ix) = (oy + ky - 1, ox + kx - 1);
                                if (0..5).contains(&iy) && (0..4).contains(&ix) {
                                    acc += w[((oc * 2 + c) * 3 + ky as usize) * 3 + kx as usize]
                                        * x[(c * 5 + iy as usize) * 4 + ix as usize];
                                }
                            }
                        }
                    }
                    let got = y[(oc * 5 + oy as usize) * 4 + ox as usize];
                    assert!((got - acc).abs() < 1e-12, "{got} vs {acc}");
                }
            }
        }
    }

    #[test]
    fn gemm_checks_strides_before_touching_memory() {
        // A plain 2×2 product: [1 2; 3 4] · [5 6; 7 8].
        let (a, b) = ([1.0f64, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
        let mut c = [0.0; 4];
        gemm(2, 2, 2, 1.0, &a, (2, 1), &b, (2, 1), 0.0, &mut c, (2, 1));
        assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
        // Transposed c (column-major) is fine too.
        gemm(2, 2, 2, 1.0, &a, (2, 1), &b, (2, 1), 0.0, &mut c, (1, 2));
        assert_eq!(c, [19.0, 43.0, 22.0, 50.0]);
        let panics = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
        // A stride that runs past the end of a.
        assert!(panics(&|| gemm(2, 2, 2, 1.0, &a, (3, 1), &b, (2, 1), 0.0, &mut [0.0; 4], (2, 1))));
        // A zero row stride would write two rows of c into one.
        assert!(panics(&|| gemm(2, 2, 2, 1.0, &a, (2, 1), &b, (2, 1), 0.0, &mut [0.0; 4], (0, 1))));
        // Rows that overlap: row stride 1 with rows two wide.
        assert!(panics(&|| gemm(2, 2, 2, 1.0, &a, (2, 1), &b, (2, 1), 0.0, &mut [0.0; 4], (1, 1))));
        // Overflowing strides are caught, not wrapped.
        assert!(panics(&|| gemm(2, 2, 2, 1.0, &a, (usize::MAX, 1), &b, (2, 1), 0.0, &mut [0.0; 4], (2, 1))));
    }
}
