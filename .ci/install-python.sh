#!/usr/bin/env bash
# Builds the Python package (python/: PyO3 + maturin, one abi3 wheel for CPython >= 3.9) and
# installs it into a virtual environment at .ci/venv (git-ignored) together with numpy and
# pytest, for prover/tests/python_package.rs, which runs python/tests with that venv's Python.
#
# Idempotent: the venv and the pinned tools are made once; the wheel is rebuilt every time
# (cargo's incremental build makes an unchanged tree a few seconds) and reinstalled, so the
# installed package always matches the tree (the test checks its build id).
#
# The wheel is built in cargo's dev profile: the workspace's [profile.dev] already optimises
# every dependency at opt-level 3 (arkworks' arithmetic is what costs), and the dev profile
# shares those artefacts with `cargo test --workspace --all-features` instead of compiling
# the whole tree again with release's thin LTO. `--features cuda` (the CUDA backend, loaded at
# run time, so the wheel runs without CUDA) matches the test build's `--all-features`, and
# python/Cargo.toml names the features the rest of the test build turns on in shared crates:
# with both, the wheel's dependencies are the very artefacts `cargo test --workspace
# --all-features` uses, compiled once.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.ci/venv
py="${PYTHON:-python3}"
# Pinned (the newest on PyPI for the machine's Python 3.11 when this was written; numpy 2.5
# needs 3.12): maturin builds the wheel, numpy is
# the package's one dependency, pytest runs the suite.
pins=(maturin==1.16.0 numpy==2.4.6 pytest==9.2.0)

if [[ ! -x "$venv/bin/python" ]]; then
  echo "install-python: creating $venv" >&2
  "$py" -m venv "$venv"
fi
missing=0
for pin in "${pins[@]}"; do
  name="${pin%%==*}"
  # `pip show` fails for a package not installed yet (a fresh venv): not an error here.
  have="$("$venv/bin/python" -m pip show "$name" 2>/dev/null | awk '/^Version:/ {print $2}' || true)"
  [[ "$have" == "${pin##*==}" ]] || missing=1
done
if [[ "$missing" == 1 ]]; then
  echo "install-python: installing ${pins[*]}" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
fi

start=$(date +%s)
rm -rf target/wheels/zkinfer-*.whl
"$venv/bin/maturin" build --profile dev --features cuda --strip -m python/Cargo.toml -i "$venv/bin/python" \
  --out target/wheels >&2
wheel="$(ls target/wheels/zkinfer-*.whl | head -n 1)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
  --no-deps "$wheel" >&2
echo "install-python: built and installed $wheel in $(( $(date +%s) - start )) s" >&2
"$venv/bin/python" -c 'import zkinfer; print("install-python: zkinfer", zkinfer.__version__, "build", zkinfer.__build_id__[:16])'
