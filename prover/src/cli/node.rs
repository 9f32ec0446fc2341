//! `zkinfer serve`: the compute node lives in its own crate (`node/`, binary `zkinfer-node`,
//! which depends on this one); the CLI hands the command to that binary beside it, replacing
//! this process so that signals reach the node directly.

use super::Exit;
use std::ffi::OsString;
use std::process::Command;

/// Runs `zkinfer-node SUB ARGS…` from this executable's directory.
pub fn forward(sub: &str, args: Vec<OsString>) -> Result<(), Exit> {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("zkinfer-node")))
        .filter(|p| p.exists())
        .ok_or_else(|| {
            Exit::BadInput(format!(
                "`zkinfer {sub}` needs the zkinfer-node binary beside zkinfer: build it with `cargo build --release -p zkinfer-node` (or `--workspace`)"
            ))
        })?;
    let mut cmd = Command::new(&exe);
    cmd.arg(sub).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        Err(Exit::BadInput(format!(
            "cannot run {}: {err}",
            exe.display()
        )))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| Exit::BadInput(format!("cannot run {}: {e}", exe.display())))?;
        match status.code() {
            Some(0) => Ok(()),
            Some(1) => Err(Exit::Invalid(format!("zkinfer-node {sub} failed"))),
            _ => Err(Exit::BadInput(format!("zkinfer-node {sub} failed"))),
        }
    }
}
