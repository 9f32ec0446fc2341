use thiserror::Error;

/// Every failure a backend can report. CUDA driver, NVRTC and launch errors are carried as text
/// (with the call that failed) so callers need no cudarc types.
#[derive(Debug, Error)]
pub enum GpuError {
    /// The backend name is not one of `cpu`, `cuda`, `auto`.
    #[error("unknown backend {0:?} (expected \"cpu\", \"cuda\" or \"auto\")")]
    UnknownBackend(String),
    /// CUDA was asked for but cannot be used here: not compiled in, no driver, no device, or no NVRTC.
    #[error("CUDA backend unavailable: {0}")]
    Unavailable(String),
    /// A CUDA driver call failed.
    #[error("CUDA error in {call}: {msg}")]
    Cuda { call: &'static str, msg: String },
    /// NVRTC failed to compile a kernel file; `log` is the compiler's output.
    #[error("NVRTC failed to compile {file}: {log}")]
    Compile { file: &'static str, log: String },
    /// Inputs that violate the call's contract (lengths, sizes, handles from another backend).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl GpuError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        GpuError::InvalidInput(msg.into())
    }
}
