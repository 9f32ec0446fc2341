//! The constant linear maps behind [`crate::ops::affine::Affine`]: dense matrices, 2-D
//! convolutions, average pooling and per-channel scaling.
//!
//! Every map answers one question, [`LinearMap::for_each_term`]: which (input index, weight)
//! pairs make up output `o`. Integer inference, the constraints and the overflow bounds all
//! iterate those terms, so they cannot disagree about the arithmetic. Maps are stored in
//! their compact form (a conv kernel, not its expanded rows) so `.zkc` files stay small.

use serde::{Deserialize, Serialize};

/// The geometry of a 2-D sliding window over an NCHW tensor (dilation 1, floor rounding:
/// ONNX `ceil_mode = 0`), shared by convolution and pooling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window2d {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    /// Zero padding before the first row and column (the end padding only shapes `out_h`, `out_w`).
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Window2d {
    /// The geometry for `[batch, c_in, h, w]` with kernel `(kh, kw)`, strides and ONNX pads
    /// `[top, left, bottom, right]`; `None` when the padded input is smaller than the kernel
    /// or a stride is zero.
    pub fn new(
        input: [usize; 4],
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
    ) -> Option<Self> {
        let [batch, c_in, h, w] = input;
        let [kh, kw] = kernel;
        let [stride_h, stride_w] = strides;
        let (ph, pw) = (h + pads[0] + pads[2], w + pads[1] + pads[3]);
        if kh == 0 || kw == 0 || stride_h == 0 || stride_w == 0 || ph < kh || pw < kw {
            return None;
        }
        Some(Window2d {
            batch,
            c_in,
            h,
            w,
            kh,
            kw,
            stride_h,
            stride_w,
            pad_top: pads[0],
            pad_left: pads[1],
            out_h: (ph - kh) / stride_h + 1,
            out_w: (pw - kw) / stride_w + 1,
        })
    }

    /// Calls `f(ky, kx, input offset within the channel)` for each kernel tap of output
    /// position `(oy, ox)` that falls inside the input; taps on padding (zeros) are skipped.
    fn taps(&self, oy: usize, ox: usize, mut f: impl FnMut(usize, usize, usize)) {
        for ky in 0..self.kh {
            let Some(iy) = (oy * self.stride_h + ky)
                .checked_sub(self.pad_top)
                .filter(|&y| y < self.h)
            else {
                continue;
            };
            for kx in 0..self.kw {
                let Some(ix) = (ox * self.stride_w + kx)
                    .checked_sub(self.pad_left)
                    .filter(|&x| x < self.w)
                else {
                    continue;
                };
                f(ky, kx, iy * self.w + ix);
            }
        }
    }

    /// The number of taps of `(oy, ox)` inside the input.
    fn inside(&self, oy: usize, ox: usize) -> usize {
        let mut n = 0;
        self.taps(oy, ox, |_, _, _| n += 1);
        n
    }
}

/// `round(2^scale / count)` (half up): the integer weight of one term of an average of
/// `count` values at weight scale `scale`. Integer-only so inference and circuit agree.
pub fn reciprocal(count: usize, scale: u32) -> i64 {
    let c = count as i128;
    (((1i128 << scale) + c / 2) / c) as i64
}

/// A constant linear map from a flat input tensor to a flat output tensor. Outputs are
/// grouped in *channels*; the affine op adds one bias per channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LinearMap {
    /// `y[m, n] = Σ_k w[n, k] · x[m, k]` over the rows of a `[rows, in_len]` input;
    /// channel `n`. `weights` is row-major `[out_len, in_len]`.
    Dense {
        rows: usize,
        in_len: usize,
        out_len: usize,
        weights: Vec<i64>,
    },
    /// ONNX `Conv` on NCHW (dilation 1): `group` groups of `c_in / group` input channels;
    /// channel = output channel. `weights` is `[c_out, c_in / group, kh, kw]`.
    Conv2d {
        geom: Window2d,
        c_out: usize,
        group: usize,
        weights: Vec<i64>,
    },
    /// ONNX `AveragePool` on NCHW: each output is `Σ x · reciprocal(count, weight_scale)` over
    /// its window, `count` being the window size (`count_include_pad`) or its taps inside the
    /// input; channel = input channel.
    AvgPool2d {
        geom: Window2d,
        count_include_pad: bool,
        weight_scale: u32,
    },
    /// `y[o, c, i] = scale[c] · x[o, c, i]` on an `[outer, channels, inner]` tensor.
    PerChannel {
        outer: usize,
        channels: usize,
        inner: usize,
        scale: Vec<i64>,
    },
    /// `y[i] = scale[broadcast(i)] · x[i]`: element-wise by a constant of `const_shape` (the
    /// output's rank, size 1 along the axes it broadcasts over), e.g. rotary tables `[1, 1, T, D]`
    /// on `[1, H, T, D]` or a constant varying along non-adjacent axes; channel = the constant's
    /// flat index.
    Broadcast {
        shape: Vec<usize>,
        const_shape: Vec<usize>,
        scale: Vec<i64>,
    },
}

/// The flat index into a constant of `const_shape` (same rank as `shape`, broadcasting along
/// its size-1 axes) of element `i` of a tensor of `shape`.
fn broadcast_index(shape: &[usize], const_shape: &[usize], mut i: usize) -> usize {
    let (mut idx, mut stride) = (0, 1);
    for d in (0..shape.len()).rev() {
        let k = i % shape[d];
        i /= shape[d];
        if const_shape[d] != 1 {
            idx += k * stride;
        }
        stride *= const_shape[d];
    }
    idx
}

impl LinearMap {
    /// Number of input values the map reads.
    pub fn in_len(&self) -> usize {
        match self {
            LinearMap::Dense { rows, in_len, .. } => rows * in_len,
            LinearMap::Conv2d { geom: g, .. } | LinearMap::AvgPool2d { geom: g, .. } => {
                g.batch * g.c_in * g.h * g.w
            }
            LinearMap::PerChannel {
                outer,
                channels,
                inner,
                ..
            } => outer * channels * inner,
            LinearMap::Broadcast { shape, .. } => shape.iter().product(),
        }
    }

    /// Number of output values.
    pub fn out_len(&self) -> usize {
        self.block_len() * self.blocks()
    }

    /// Number of channels (one bias each).
    pub fn channels(&self) -> usize {
        match self {
            LinearMap::Dense { out_len, .. } => *out_len,
            LinearMap::Conv2d { c_out, .. } => *c_out,
            LinearMap::AvgPool2d { geom, .. } => geom.c_in,
            LinearMap::PerChannel { channels, .. } => *channels,
            LinearMap::Broadcast { scale, .. } => scale.len(),
        }
    }

    /// Outputs per batch entry (row, image, outer index): every block repeats the first
    /// one's weights, so bounds need only the first block.
    pub fn block_len(&self) -> usize {
        match self {
            LinearMap::Dense { out_len, .. } => *out_len,
            LinearMap::Conv2d { geom, c_out, .. } => c_out * geom.out_h * geom.out_w,
            LinearMap::AvgPool2d { geom, .. } => geom.c_in * geom.out_h * geom.out_w,
            LinearMap::PerChannel {
                channels, inner, ..
            } => channels * inner,
            LinearMap::Broadcast { shape, .. } => shape.iter().product(),
        }
    }

    fn blocks(&self) -> usize {
        match self {
            LinearMap::Dense { rows, .. } => *rows,
            LinearMap::Conv2d { geom, .. } | LinearMap::AvgPool2d { geom, .. } => geom.batch,
            LinearMap::PerChannel { outer, .. } => *outer,
            LinearMap::Broadcast { .. } => 1,
        }
    }

    /// The channel of output `o`.
    pub fn channel(&self, o: usize) -> usize {
        match self {
            LinearMap::Dense { out_len, .. } => o % out_len,
            LinearMap::Conv2d { geom, c_out, .. } => (o / (geom.out_h * geom.out_w)) % c_out,
            LinearMap::AvgPool2d { geom, .. } => (o / (geom.out_h * geom.out_w)) % geom.c_in,
            LinearMap::PerChannel {
                channels, inner, ..
            } => (o / inner) % channels,
            LinearMap::Broadcast {
                shape, const_shape, ..
            } => broadcast_index(shape, const_shape, o),
        }
    }

    /// Calls `f(input index, weight)` for every term of output `o` (the one definition of
    /// the map that inference, constraints and bounds share). Zero-padding contributes no term.
    pub fn for_each_term(&self, o: usize, mut f: impl FnMut(usize, i64)) {
        match self {
            LinearMap::Dense {
                in_len,
                out_len,
                weights,
                ..
            } => {
                let (m, n) = (o / out_len, o % out_len);
                let w = &weights[n * in_len..(n + 1) * in_len];
                for (k, &wk) in w.iter().enumerate() {
                    f(m * in_len + k, wk);
                }
            }
            LinearMap::Conv2d {
                geom: g,
                c_out,
                group,
                weights,
            } => {
                let plane = g.out_h * g.out_w;
                let (b, oc, pos) = (o / (c_out * plane), (o / plane) % c_out, o % plane);
                let (cin_g, cout_g) = (g.c_in / group, c_out / group);
                let first_in = (oc / cout_g) * cin_g;
                for ic in 0..cin_g {
                    let base = ((b * g.c_in) + first_in + ic) * g.h * g.w;
                    let kbase = (oc * cin_g + ic) * g.kh * g.kw;
                    g.taps(pos / g.out_w, pos % g.out_w, |ky, kx, off| {
                        f(base + off, weights[kbase + ky * g.kw + kx])
                    });
                }
            }
            LinearMap::AvgPool2d {
                geom: g,
                count_include_pad,
                weight_scale,
            } => {
                let plane = g.out_h * g.out_w;
                let (bc, pos) = (o / plane, o % plane);
                let (oy, ox) = (pos / g.out_w, pos % g.out_w);
                // ceil_mode 0 keeps every window inside the padded input, so with padding
                // counted every window has kh·kw values.
                let count = if *count_include_pad {
                    g.kh * g.kw
                } else {
                    g.inside(oy, ox)
                };
                let w = reciprocal(count, *weight_scale);
                let base = bc * g.h * g.w;
                g.taps(oy, ox, |_, _, off| f(base + off, w));
            }
            LinearMap::PerChannel { scale, .. } | LinearMap::Broadcast { scale, .. } => {
                f(o, scale[self.channel(o)])
            }
        }
    }

    /// The integer weights a per-channel fold (BatchNormalization) may rescale, `None` for
    /// maps whose weights are implicit (pooling).
    pub fn weights_mut(&mut self) -> Option<&mut Vec<i64>> {
        match self {
            LinearMap::Dense { weights, .. } | LinearMap::Conv2d { weights, .. } => Some(weights),
            LinearMap::PerChannel { scale, .. } | LinearMap::Broadcast { scale, .. } => Some(scale),
            LinearMap::AvgPool2d { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_reads_the_constant_along_its_own_axes() {
        // [2, 3, 2] by a constant of shape [2, 1, 2] (non-adjacent varying axes 0 and 2).
        let m = LinearMap::Broadcast {
            shape: vec![2, 3, 2],
            const_shape: vec![2, 1, 2],
            scale: vec![10, 20, 30, 40],
        };
        let mut seen = Vec::new();
        for o in 0..m.out_len() {
            m.for_each_term(o, |i, w| seen.push((i, w)));
        }
        let want: Vec<(usize, i64)> = [10, 20, 10, 20, 10, 20, 30, 40, 30, 40, 30, 40]
            .into_iter()
            .enumerate()
            .collect();
        assert_eq!(seen, want);
        assert_eq!((m.channels(), m.in_len(), m.block_len()), (4, 12, 12));
    }

    fn terms(m: &LinearMap, o: usize) -> Vec<(usize, i64)> {
        let mut v = Vec::new();
        m.for_each_term(o, |i, w| v.push((i, w)));
        v
    }

    #[test]
    fn conv_terms_skip_padding_and_follow_strides() {
        // 1 channel 3×3 input, 2×2 kernel [1 2; 3 4], pad 1 all round, stride 2 → 2×2 output.
        let geom = Window2d::new([1, 1, 3, 3], [2, 2], [2, 2], [1, 1, 1, 1]).unwrap();
        assert_eq!((geom.out_h, geom.out_w), (2, 2));
        let m = LinearMap::Conv2d {
            geom,
            c_out: 1,
            group: 1,
            weights: vec![1, 2, 3, 4],
        };
        assert_eq!(terms(&m, 0), vec![(0, 4)]); // only the bottom-right tap is inside
        assert_eq!(terms(&m, 3), vec![(4, 1), (5, 2), (7, 3), (8, 4)]);
    }

    #[test]
    fn depthwise_conv_reads_its_own_channel() {
        let geom = Window2d::new([1, 2, 1, 1], [1, 1], [1, 1], [0; 4]).unwrap();
        let m = LinearMap::Conv2d {
            geom,
            c_out: 2,
            group: 2,
            weights: vec![5, 7],
        };
        assert_eq!(terms(&m, 0), vec![(0, 5)]);
        assert_eq!(terms(&m, 1), vec![(1, 7)]);
        assert_eq!(m.channel(1), 1);
    }

    #[test]
    fn avg_pool_weights_count_padding_as_asked() {
        let geom = Window2d::new([1, 1, 2, 2], [2, 2], [1, 1], [1, 1, 0, 0]).unwrap();
        let with = LinearMap::AvgPool2d {
            geom: geom.clone(),
            count_include_pad: true,
            weight_scale: 2,
        };
        let without = LinearMap::AvgPool2d {
            geom,
            count_include_pad: false,
            weight_scale: 2,
        };
        assert_eq!(terms(&with, 0), vec![(0, 1)]); // 1 tap, weight 4/4
        assert_eq!(terms(&without, 0), vec![(0, 4)]); // 1 tap, weight 4/1
        assert_eq!(reciprocal(9, 8), 28); // 256/9 = 28.4
        assert_eq!(reciprocal(3, 1), 1); // 2/3 = 0.67 rounds up
    }
}
