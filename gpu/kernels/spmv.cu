// Sparse (CSR) matrix times vector over Fr: out[row] = sum_e vals[e] * z[cols[e]], one thread
// per row (constraint rows are short; the long ones, recompositions of ~16 bits, are still
// cheap next to an MSM). A coefficient equal to one (Montgomery R) skips the multiplication,
// as ark-groth16 does: most coefficients in our circuits are 1.
#include "field.cuh"

extern "C" __global__ void spmv_csr(const u64* row_ptr, const u32* cols, const u32* vals, u32 rows, const u32* z, u32* out) {
    u32 row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    Fr acc = Fr::zero();
    for (u64 e = row_ptr[row]; e < row_ptr[row + 1]; e++) {
        Fr x = load<FrParams>(z + (u64)cols[e] * 8);
        Fr v = load<FrParams>(vals + e * 8);
        acc = add(acc, v.is_one() ? x : mul(x, v));
    }
    store(out + (u64)row * 8, acc);
}
