//! CSR products on the device (`kernels/spmv.cu`).

use ark_bn254::Fr;
use cudarc::driver::{CudaSlice, PushKernelArg};

use super::{cuda_err, download_fr, fr_words, grid, len_u32, CudaBackend, BLOCK};
use crate::{CsrMatrix, GpuError};

/// A CSR matrix resident on the device.
pub struct CudaMatrix {
    row_ptr: CudaSlice<u64>,
    cols: CudaSlice<u32>,
    vals: CudaSlice<u32>,
    pub(crate) rows: usize,
    pub(crate) max_col: Option<u32>,
}

impl CudaBackend {
    pub(crate) fn prepare_matrix_impl(&self, m: &CsrMatrix) -> Result<CudaMatrix, GpuError> {
        m.validate(usize::MAX)?;
        len_u32(m.rows(), "matrix rows")?;
        let row_ptr: Vec<u64> = m.row_ptr.iter().map(|&x| x as u64).collect();
        Ok(CudaMatrix {
            row_ptr: self.upload(&row_ptr, "upload row_ptr")?,
            cols: self.upload(&m.cols, "upload cols")?,
            vals: self.upload(&fr_words(&m.vals), "upload vals")?,
            rows: m.rows(),
            max_col: m.cols.iter().copied().max(),
        })
    }

    pub(crate) fn spmv_impl(
        &self,
        ms: &[&CudaMatrix],
        z: &[Fr],
        outs: &mut [&mut [Fr]],
    ) -> Result<(), GpuError> {
        let dz = self.upload(&fr_words(z), "upload z")?;
        let f = self.kernels.get("spmv_csr");
        for (m, out) in ms.iter().zip(outs.iter_mut()) {
            if m.rows == 0 {
                continue;
            }
            let mut dout = self.alloc_u32(8 * m.rows)?;
            let rows = m.rows as u32;
            let mut b = self.stream.launch_builder(f);
            b.arg(&m.row_ptr)
                .arg(&m.cols)
                .arg(&m.vals)
                .arg(&rows)
                .arg(&dz)
                .arg(&mut dout);
            // SAFETY: argument types and buffer sizes match spmv_csr's signature: row_ptr has
            // rows + 1 entries, columns were bound-checked against z by the caller.
            unsafe { b.launch(grid(m.rows, BLOCK)) }.map_err(cuda_err("launch spmv_csr"))?;
            download_fr(&self.stream, &dout, &mut out[..m.rows])?;
        }
        Ok(())
    }
}
