// Radix-2 NTT over Fr in passes of up to r_max stages. Algorithm: gpu/src/mirror/ntt.rs (tested
// in CI against ark-poly); the host (gpu/src/cuda/ntt.rs) takes its pass plan and power tables
// from that module.
//
// A pass over stages s0..s0+r gives block q the 2^r positions hi*2^(s0+r) + m*2^s0 + lo
// (lo = q mod 2^s0, hi = q >> s0). The block loads them into shared memory — through the
// bit-reversal permutation on the first pass, which therefore runs out of place — runs the r
// decimation-in-time stages there and writes them back. Each pass reads and writes the array
// once, so memory traffic is ceil(log_n / r_max) round trips instead of log_n.
#include "field.cuh"

// Stage s butterfly on shared elements m and m + 2^t (t = s - s0) with twiddle
// tw[jj << (log_n - 1 - s)], jj = global position mod 2^s.
extern "C" __global__ void ntt_pass(const u32* src, u32* dst, const u32* tw, u32 log_n, u32 s0, u32 r, u32 first) {
    extern __shared__ u32 sh[];
    u32 q = blockIdx.x;
    u32 size = 1u << r;
    u32 lo_mask = (1u << s0) - 1u;
    u32 lo = q & lo_mask;
    u32 hi = q >> s0;
    for (u32 m = threadIdx.x; m < size; m += blockDim.x) {
        u32 pos = (hi << (s0 + r)) | (m << s0) | lo;
        u32 from = first ? (__brev(pos) >> (32 - log_n)) : pos;
#pragma unroll
        for (int w = 0; w < 8; w++) sh[m * 8 + w] = src[(u64)from * 8 + w];
    }
    __syncthreads();
    for (u32 t = 0; t < r; t++) {
        u32 s = s0 + t;
        u32 half = 1u << t;
        for (u32 b = threadIdx.x; b < size / 2; b += blockDim.x) {
            u32 m = ((b >> t) << (t + 1)) | (b & (half - 1u));
            u32 jj = ((m & (half - 1u)) << s0) | lo;
            Fr w = load<FrParams>(tw + (u64)(jj << (log_n - 1 - s)) * 8);
            Fr u = load<FrParams>(sh + m * 8);
            Fr v = mul(load<FrParams>(sh + (m + half) * 8), w);
            store(sh + m * 8, add(u, v));
            store(sh + (m + half) * 8, sub(u, v));
        }
        __syncthreads();
    }
    for (u32 m = threadIdx.x; m < size; m += blockDim.x) {
        u32 pos = (hi << (s0 + r)) | (m << s0) | lo;
#pragma unroll
        for (int w = 0; w < 8; w++) dst[(u64)pos * 8 + w] = sh[m * 8 + w];
    }
}

// data[i] *= hi[i >> l] * lo[i & (2^l - 1)]: coset factors g^i, and n^-1 folded into lo.
extern "C" __global__ void ntt_scale_powers(u32* data, u32 n, const u32* lo, const u32* hi, u32 l) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    Fr f = mul(load<FrParams>(hi + (u64)(i >> l) * 8), load<FrParams>(lo + (u64)(i & ((1u << l) - 1u)) * 8));
    store(data + (u64)i * 8, mul(load<FrParams>(data + (u64)i * 8), f));
}

// out[i] = hi[i >> l] * lo[i & (2^l - 1)]: expands the twiddle table from two small ones.
extern "C" __global__ void ntt_powers(u32* out, u32 count, const u32* lo, const u32* hi, u32 l) {
    u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    store(out + (u64)i * 8, mul(load<FrParams>(hi + (u64)(i >> l) * 8), load<FrParams>(lo + (u64)(i & ((1u << l) - 1u)) * 8)));
}
