//! The one error type of the verifier, split by what the caller should conclude.

use thiserror::Error;

/// Why a verification did not succeed.
///
/// The split is the contract with the CLI: [`VerifyError::BadInput`] means the inputs could
/// not even be read as a well-formed statement (exit code 2), [`VerifyError::Rejected`] means
/// they were read fine and the statement is not proven (exit code 1). Every parser and check
/// in this crate returns one of these instead of panicking, whatever bytes it is given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// Malformed or truncated bytes, bad hex or JSON, points off the curve or outside the
    /// prime-order subgroup, trailing bytes, tensors whose lengths do not match their own
    /// shape, quantised values outside their bit width, field elements not below the modulus.
    #[error("bad input: {0}")]
    BadInput(String),
    /// Well-formed, but not proven: a proof for another circuit, shapes or scales that differ
    /// from the verifying key's layout, float values that do not match the quantised ones,
    /// or a failing pairing check.
    #[error("rejected: {0}")]
    Rejected(String),
}

impl VerifyError {
    /// The process exit code the CLI uses for this error: 2 for bad input, 1 for a rejection.
    pub fn exit_code(&self) -> i32 {
        match self {
            VerifyError::BadInput(_) => 2,
            VerifyError::Rejected(_) => 1,
        }
    }

    /// True for [`VerifyError::Rejected`].
    pub fn is_rejected(&self) -> bool {
        matches!(self, VerifyError::Rejected(_))
    }

    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        VerifyError::BadInput(msg.into())
    }

    pub(crate) fn rejected(msg: impl Into<String>) -> Self {
        VerifyError::Rejected(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_cli_contract() {
        assert_eq!(VerifyError::bad("x").exit_code(), 2);
        assert_eq!(VerifyError::rejected("x").exit_code(), 1);
        assert!(VerifyError::rejected("x").is_rejected());
        assert!(!VerifyError::bad("x").is_rejected());
    }
}
