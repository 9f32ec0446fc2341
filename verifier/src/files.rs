//! Reading and writing the crate's files: I/O errors are [`VerifyError::BadInput`] naming the
//! path, and every file is written atomically.

use std::path::Path;

use crate::error::VerifyError;

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so that a
/// reader never sees a half-written file. I/O errors are [`VerifyError::BadInput`] naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), VerifyError> {
    let err = |e: std::io::Error| VerifyError::bad(format!("cannot write {}: {e}", path.display()));
    let name = path.file_name().ok_or_else(|| {
        VerifyError::bad(format!("cannot write {}: not a file name", path.display()))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// The bytes of `path`.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, VerifyError> {
    std::fs::read(path)
        .map_err(|e| VerifyError::bad(format!("cannot read {}: {e}", path.display())))
}

/// The text of `path`.
pub fn read_text(path: &Path) -> Result<String, VerifyError> {
    std::fs::read_to_string(path)
        .map_err(|e| VerifyError::bad(format!("cannot read {}: {e}", path.display())))
}
