#!/usr/bin/env bash
# Installs NVRTC 13.0 from PyPI (the `nvidia-cuda-nvrtc` wheel ships libnvrtc.so.13 and its
# builtins) so that CI, which has no GPU and no CUDA toolkit, can still compile every kernel in
# gpu/kernels/ to PTX. Idempotent: a matching install is detected and the pip step skipped.
#
# Prints the library folder and the export lines to use. cudarc (feature dynamic-loading) opens
# libnvrtc by bare name (`libnvrtc.so`, `libnvrtc.so.13`, ...) through dlopen, which only searches
# LD_LIBRARY_PATH / the ld.so cache, so either
#   eval "$(bash .ci/install-nvrtc.sh --exports)"
# in the shell that runs cargo, or rely on ZKINFER_NVRTC_LIB, which zkinfer-gpu preloads by full
# path before cudarc's first NVRTC call (a library already loaded is found again by its soname).
set -euo pipefail

want="13.0"
py="${PYTHON:-python3}"

locate() {
  "$py" - <<'PY' 2>/dev/null
import glob, os, sys
try:
    import nvidia
except ImportError:
    sys.exit(1)
for root in list(getattr(nvidia, "__path__", [])):
    for pat in ("cu13/lib/libnvrtc.so*", "cuda_nvrtc/lib/libnvrtc.so*", "*/lib/libnvrtc.so*"):
        hits = sorted(p for p in glob.glob(os.path.join(root, pat)) if "builtins" not in p and "alt" not in os.path.basename(p))
        if hits:
            print(hits[0]); sys.exit(0)
sys.exit(1)
PY
}

installed_version() {
  "$py" -m pip show nvidia-cuda-nvrtc 2>/dev/null | awk '/^Version:/ {print $2}'
}

ver="$(installed_version || true)"
if [[ "$ver" != "$want".* ]] || ! locate >/dev/null; then
  echo "install-nvrtc: installing nvidia-cuda-nvrtc==$want.* (found: ${ver:-none})" >&2
  "$py" -m pip install --quiet "nvidia-cuda-nvrtc==$want.*" >&2
fi

lib="$(locate)" || { echo "install-nvrtc: libnvrtc not found after install" >&2; exit 1; }
dir="$(dirname "$lib")"
if [[ "${1:-}" == "--exports" ]]; then
  echo "export ZKINFER_NVRTC_LIB='$lib'"
  echo "export LD_LIBRARY_PATH='$dir'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
else
  echo "install-nvrtc: libnvrtc at $lib" >&2
  echo "  export ZKINFER_NVRTC_LIB='$lib'" >&2
  echo "  export LD_LIBRARY_PATH='$dir'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" >&2
fi
