//! A 2×2 max pool with stride 2 for tract, the pooling of almost every small CNN.
//!
//! tract 0.23 vectorises 2×2 pooling only at stride 1; at stride 2 it walks every window
//! tap by tap with bounds checks. In our digit CNN that took a quarter of the model's time
//! (its two pools as long as its first convolution). [`speed_up`] swaps each such pool in
//! an optimised model for [`MaxPool2x2`], which takes the maximum of two rows at a time,
//! with the same result to the bit. The ReLU before a pool and the zero padding after it
//! (for the next convolution) join the same pass: max(0, ·) commutes with the maximum, and
//! the padded plane is written at once rather than copied again.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalContext, EvalOp, InletId, Op, StaticName, TypedOp};
use tract_onnx::tract_core::ops::array::{Pad, PadMode};
use tract_onnx::tract_core::ops::binary::OptBinByScalar;
use tract_onnx::tract_core::ops::cnn::{OptMaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

/// Max pooling over 2×2 windows at stride 2 on the last two axes of f32 data (channels
/// first), without padding inside the pool; optionally max(0, ·) on the result, and a zero
/// border around each pooled plane.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub struct MaxPool2x2 {
    /// Take max(0, ·): the pool swallowed the ReLU before it.
    relu: bool,
    /// Zero rows above and below, zero columns left and right of each pooled plane.
    border: [(usize, usize); 2],
}

/// `true` when `op` pools what [`MaxPool2x2`] pools: 2×2 windows, stride 2, no dilation, no
/// padding (or all-zero padding without ceil mode), channels first, no index output, on an
/// f32 input of known shape whose planes are at least 2×2.
fn poolable(op: &OptMaxPool, input: &TypedFact) -> bool {
    let spec = &op.pool_spec;
    let no_padding = match &spec.padding {
        PaddingSpec::Valid => true,
        PaddingSpec::Explicit(b, a) => b.iter().chain(a).all(|&p| p == 0),
        PaddingSpec::ExplicitOnnxPool(b, a, ceil) => !ceil && b.iter().chain(a).all(|&p| p == 0),
        PaddingSpec::SameUpper | PaddingSpec::SameLower => false,
    };
    let rank = match spec.data_format {
        DataFormat::NCHW => 4,
        DataFormat::CHW => 3,
        DataFormat::NHWC | DataFormat::HWC => return false,
    };
    let Some(shape) = input.shape.as_concrete() else { return false };
    no_padding
        && op.with_index_outputs.is_none()
        && input.datum_type == f32::datum_type()
        && shape.len() == rank
        && shape[rank - 2..].iter().all(|&d| d >= 2)
        && spec.kernel_shape[..] == [2, 2]
        && spec.strides.as_deref() == Some(&[2, 2][..])
        && spec.dilations.as_deref().is_none_or(|d| d.iter().all(|&x| x == 1))
}

impl MaxPool2x2 {
    fn pooled_shape(&self, input: &[usize]) -> TVec<usize> {
        let mut shape: TVec<usize> = input.into();
        let rank = shape.len();
        for (axis, (before, after)) in (rank - 2..rank).zip(self.border) {
            shape[axis] = input[axis] / 2 + before + after;
        }
        shape
    }
}

/// Pools the row-major `h`×`w` planes of `input` into `out`, one `op.pooled_shape` plane
/// each (an odd last row or column is dropped, as a pool without padding does).
fn pool_planes(op: MaxPool2x2, input: &[f32], h: usize, w: usize, out: &mut [f32]) {
    let [(top, bottom), (left, right)] = op.border;
    let (oh, ow) = (h / 2, w / 2);
    let out_w = left + ow + right;
    let out_plane = (top + oh + bottom) * out_w;
    for (plane, o) in input.chunks_exact(h * w).zip(out.chunks_exact_mut(out_plane)) {
        let rows = o[top * out_w..].chunks_exact_mut(out_w).take(oh);
        for (pair, o) in plane.chunks_exact(2 * w).zip(rows) {
            let (r0, r1) = pair.split_at(w);
            let o = &mut o[left..left + ow];
            for ((o, a), b) in o.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
                *o = max(max(a[0], a[1]), max(b[0], b[1]));
            }
            if op.relu {
                o.iter_mut().for_each(|v| *v = max(*v, 0.0));
            }
        }
    }
}

/// The larger of two numbers, as one vector instruction (`f32::max` adds a NaN check:
/// the two differ only on NaN).
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

impl super::Direct for MaxPool2x2 {
    fn output_shape(&self, shape: &[usize]) -> TractResult<TVec<usize>> {
        if shape.len() < 2 {
            return Err(TractError::msg(format!("MaxPool2x2 needs a 2-D plane, got shape {shape:?}")));
        }
        Ok(self.pooled_shape(shape))
    }

    fn compute(&self, input: &[f32], shape: &[usize], out: &mut [f32]) -> TractResult<()> {
        let [.., h, w] = *shape else {
            return Err(TractError::msg(format!("MaxPool2x2 needs a 2-D plane, got shape {shape:?}")));
        };
        // The output comes zeroed, for the border; the pooled cells are all written.
        pool_planes(*self, input, h, w, out);
        Ok(())
    }
}

our_op!(MaxPool2x2);

/// The one node that reads `node`'s only output, if that is all that reads it.
fn sole_reader(model: &TypedModel, node: usize) -> TractResult<Option<usize>> {
    let outlet = OutletId::new(node, 0);
    let n = model.node(node);
    Ok(match n.outputs.as_slice() {
        [o] if o.successors.len() == 1 && !model.output_outlets()?.contains(&outlet) => Some(o.successors[0].node),
        _ => None,
    })
}

/// `Some(x)` when `node` is max(x, 0) (a ReLU) and the pool at `pool` is all that reads it.
fn relu_input(model: &TypedModel, node: usize, pool: usize) -> TractResult<Option<OutletId>> {
    let n = model.node(node);
    let is_relu = n.op_as::<OptBinByScalar>().is_some_and(|op| op.binop.name() == "Max")
        && n.inputs.len() == 2
        && model
            .outlet_fact(n.inputs[1])?
            .konst
            .as_ref()
            .and_then(|k| k.try_as_plain_ram().ok()?.as_slice::<f32>().ok().map(|v| v.iter().all(|&x| x == 0.0)))
            == Some(true);
    Ok((is_relu && sole_reader(model, node)? == Some(pool)).then(|| n.inputs[0]))
}

/// The border a zero `Pad` node adds to the last two axes only.
fn zero_border(model: &TypedModel, node: usize) -> Option<[(usize, usize); 2]> {
    let pad = model.node(node).op_as::<Pad>()?;
    let PadMode::Constant(value) = &pad.mode else { return None };
    let zero = value.try_as_plain_ram().ok()?.as_slice::<f32>().ok()? == [0.0];
    let rank = pad.pads.len();
    let only_planes = rank >= 2 && pad.pads[..rank - 2].iter().all(|&p| p == (0, 0));
    (zero && only_planes).then(|| [pad.pads[rank - 2], pad.pads[rank - 1]])
}

/// Swaps every pool in `model` that [`MaxPool2x2`] can take for it, with the ReLU before it
/// and the zero padding after it where they are there and nothing else reads them; returns
/// how many pools it swapped.
pub fn speed_up(model: &mut TypedModel) -> TractResult<usize> {
    let mut swaps = Vec::new();
    for node in model.nodes() {
        let Some(op) = node.op_as::<OptMaxPool>() else { continue };
        if !poolable(op, model.outlet_fact(node.inputs[0])?) {
            continue;
        }
        let (mut input, mut relu) = (node.inputs[0], false);
        if let Some(x) = relu_input(model, input.node, node.id)? {
            (input, relu) = (x, true);
        }
        let (mut last, mut border) = (node.id, [(0, 0); 2]);
        if let Some((pad, b)) = sole_reader(model, node.id)?.and_then(|p| Some((p, zero_border(model, p)?))) {
            (last, border) = (pad, b);
        }
        swaps.push((input, last, MaxPool2x2 { relu, border }));
    }
    let n = swaps.len();
    for (input, last, op) in swaps {
        model.add_edge(input, InletId::new(last, 0))?;
        model.node_mut(last).op = Box::new(op);
    }
    // The ReLUs and pools now bypassed.
    model.compact()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_each_plane_and_drops_an_odd_edge() {
        // Two 3×5 planes: the odd last row and column are not pooled.
        let input: Vec<f32> = (0..30).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let mut out = vec![0.0; 4];
        pool_planes(MaxPool2x2 { relu: false, border: [(0, 0); 2] }, &input, 3, 5, &mut out);
        let at = |p: usize, y: usize, x: usize| input[p * 15 + y * 5 + x];
        let want: Vec<f32> = (0..2)
            .flat_map(|p| (0..2).map(move |ox| (p, ox)))
            .map(|(p, ox)| at(p, 0, 2 * ox).max(at(p, 0, 2 * ox + 1)).max(at(p, 1, 2 * ox)).max(at(p, 1, 2 * ox + 1)))
            .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn pads_around_each_pooled_plane_and_applies_the_relu() {
        // One 4×4 plane of negatives and positives, pooled to 2×2 with a ReLU, then a border
        // of one row above, none below, two columns left and one right.
        let input = [-1.0, -2.0, 3.0, -4.0, -5.0, -6.0, 0.5, 0.25, 7.0, -8.0, -9.0, -1.0, 1.0, 2.0, -3.0, -2.0];
        let op = MaxPool2x2 { relu: true, border: [(1, 0), (2, 1)] };
        assert_eq!(op.pooled_shape(&[1, 1, 4, 4]).as_slice(), [1, 1, 3, 5]);
        let mut out = vec![0.0; 15];
        pool_planes(op, &input, 4, 4, &mut out);
        #[rustfmt::skip]
        assert_eq!(out, [
            0.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 3.0, 0.0,
            0.0, 0.0, 7.0, 0.0, 0.0,
        ]);
    }
}
