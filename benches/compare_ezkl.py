#!/usr/bin/env python3
"""EZKL half of benches/compare_ezkl.sh, plus the table printer.

    compare_ezkl.py ezkl  FIXTURE WORKDIR RESULT.json   # run EZKL end to end, write timings
    compare_ezkl.py table RESULT.json...                # print the comparison table

`ezkl` needs the venv made by compare_ezkl.sh (ezkl 23.x); `table` needs only
the standard library. Each result file is one JSON object:
    {"fixture", "system", "prove_s", "verify_s", "proof_bytes", "pk_bytes", ...}

EZKL flow (Python API of ezkl 23): gen_settings -> decomp_base=1024,
decomp_legs=3 -> calibrate_settings(target="resources", the fixture's
samples.json inputs as calibration data) -> compile_circuit -> gen_srs (a
local, insecure SRS: there is no network to fetch the public one, and
ezkl.gen_srs exists for testing) -> setup -> gen_witness -> prove -> verify.
Inputs and outputs are public, weights fixed (EZKL's defaults), matching
zkinfer's public inputs (packed input and output) and constant weights.
"""

import json
import os
import sys
import time


CALIBRATION_SAMPLES = 5


def flat(x):
    if isinstance(x, list):
        out = []
        for v in x:
            out.extend(flat(v))
        return out
    return [float(x)]


def maybe_await(r):
    """Some ezkl releases made a few calls async; accept both forms."""
    import asyncio
    import inspect

    if inspect.isawaitable(r):
        async def wait():
            return await r
        return asyncio.run(wait())
    return r


def timed(label, fn, times):
    t0 = time.perf_counter()
    r = maybe_await(fn())
    dt = time.perf_counter() - t0
    times[label] = dt
    print(f"  ezkl {label:<10} {dt:8.3f} s", file=sys.stderr, flush=True)
    if r is False:
        raise SystemExit(f"ezkl {label} returned False")
    return r


def proof_bytes_of(proof_path):
    """Length of the raw proof transcript inside EZKL's proof JSON."""
    with open(proof_path) as f:
        p = json.load(f)
    raw = p.get("proof")
    if isinstance(raw, str):
        s = raw[2:] if raw.startswith("0x") else raw
        return len(s) // 2
    if isinstance(raw, list):
        return len(raw)
    hexp = p.get("hex_proof")
    if isinstance(hexp, str):
        s = hexp[2:] if hexp.startswith("0x") else hexp
        return len(s) // 2
    return None


def finite_masks(src, dst):
    """The model with every -inf constant (a causal mask's fill, as nanoGPT's masked_fill
    exports it) replaced by -1e4: EZKL cannot quantise -inf ("significant bit truncation"),
    and after the Softmax both give exactly 0 in float32 (exp(-1e4) underflows), so the model
    computes the same function. Returns the path to use (src itself when nothing changes)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    m = onnx.load(src)
    changed = False

    def fix(t):
        nonlocal changed
        a = numpy_helper.to_array(t)
        if a.dtype.kind == "f" and np.isneginf(a).any():
            a = np.where(np.isneginf(a), np.asarray(-1e4, a.dtype), a)
            t.CopyFrom(numpy_helper.from_array(a, t.name))
            changed = True

    for t in m.graph.initializer:
        fix(t)
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.HasField("t"):
                    fix(a.t)
    if not changed:
        return src
    onnx.save(m, dst)
    return dst


def run_ezkl(fixture, workdir, result_path):
    import ezkl

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fdir = os.path.join(root, "fixtures", fixture)
    model = os.path.join(fdir, "model.onnx")
    os.makedirs(workdir, exist_ok=True)
    P = lambda n: os.path.join(workdir, n)  # noqa: E731
    model = finite_masks(model, P("model.onnx"))

    with open(os.path.join(fdir, "input.json")) as f:
        x = flat(json.load(f)["input"])
    with open(P("input.json"), "w") as f:
        json.dump({"input_data": [x]}, f)
    with open(os.path.join(fdir, "samples.json")) as f:
        # The first CALIBRATION_SAMPLES (5, as many as the digits fixtures hold): EZKL's
        # calibration runs the model at every scale it tries, which on gpt takes over ten
        # minutes for 100 samples. compare_ezkl.sh calibrates zkinfer on the same ones.
        samples = json.load(f)["inputs"][:CALIBRATION_SAMPLES]
    # calibration data: all samples concatenated into one flat list (EZKL
    # splits it into batches of the model's input size)
    with open(P("calibration.json"), "w") as f:
        json.dump({"input_data": [flat(samples)]}, f)

    times = {}
    run_args = ezkl.PyRunArgs()
    run_args.variables = [("N", 1)]  # our fixtures name the batch dim "N", not "batch_size"
    run_args.input_visibility = "public"
    run_args.output_visibility = "public"
    run_args.param_visibility = "fixed"
    timed("settings", lambda: ezkl.gen_settings(model, P("settings.json"), py_run_args=run_args), times)

    with open(P("settings.json")) as f:
        settings = json.load(f)
    settings["run_args"]["decomp_base"] = 1024
    settings["run_args"]["decomp_legs"] = 3
    with open(P("settings.json"), "w") as f:
        json.dump(settings, f)

    # EZKL_MAX_LOGROWS caps the circuit size calibration may choose (unset: EZKL's default;
    # on gpt it picks logrows 26, whose SRS alone did not finish in 50 minutes here).
    max_logrows = os.environ.get("EZKL_MAX_LOGROWS")
    cal_kwargs = {"max_logrows": int(max_logrows)} if max_logrows else {}
    timed("calibrate", lambda: ezkl.calibrate_settings(P("calibration.json"), model, P("settings.json"),
                                                      "resources", **cal_kwargs), times)
    timed("compile", lambda: ezkl.compile_circuit(model, P("circuit.ezkl"), P("settings.json")), times)
    with open(P("settings.json")) as f:
        settings = json.load(f)
    logrows = settings["run_args"]["logrows"]
    timed("gen_srs", lambda: ezkl.gen_srs(P("kzg.srs"), logrows), times)
    timed("setup", lambda: ezkl.setup(P("circuit.ezkl"), P("vk.key"), P("pk.key"), srs_path=P("kzg.srs")), times)
    timed("witness", lambda: ezkl.gen_witness(P("input.json"), P("circuit.ezkl"), P("witness.json"),
                                              vk_path=P("vk.key"), srs_path=P("kzg.srs")), times)
    timed("prove", lambda: ezkl.prove(P("witness.json"), P("circuit.ezkl"), P("pk.key"), P("proof.json"),
                                      srs_path=P("kzg.srs")), times)
    ok = timed("verify", lambda: ezkl.verify(P("proof.json"), P("settings.json"), P("vk.key"),
                                             srs_path=P("kzg.srs")), times)
    if ok is not True:
        raise SystemExit(f"ezkl verify returned {ok!r}")

    with open(P("witness.json")) as f:
        wit = json.load(f)
    out_floats = None
    try:
        outs = wit["outputs"][0]
        scale = settings["model_output_scales"][0]
        out_floats = [round(ezkl.felt_to_float(v, scale), 4) for v in outs]
    except Exception:  # noqa: BLE001 - informative only
        pass

    res = {
        "fixture": fixture,
        "system": f"ezkl {getattr(ezkl, '__version__', '?')}",
        # prove = witness generation + proving, as zkinfer's `prove` command does both
        "prove_s": times["witness"] + times["prove"],
        "prove_only_s": times["prove"],
        "verify_s": times["verify"],
        "setup_s": times["setup"],
        "proof_bytes": proof_bytes_of(P("proof.json")),
        "proof_file_bytes": os.path.getsize(P("proof.json")),
        "pk_bytes": os.path.getsize(P("pk.key")),
        "vk_bytes": os.path.getsize(P("vk.key")),
        "logrows": logrows,
        "input_scale": settings["run_args"]["input_scale"],
        "param_scale": settings["run_args"]["param_scale"],
        "num_rows": settings.get("num_rows"),
        "decomp_base": settings["run_args"]["decomp_base"],
        "decomp_legs": settings["run_args"]["decomp_legs"],
        "times": times,
        "outputs": out_floats,
    }
    with open(result_path, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "times"}), file=sys.stderr)


def fmt_int(v):
    return "-" if v is None else f"{int(v):,}"


def fmt_s(v):
    return "-" if v is None else f"{v:.3f}"


def print_table(paths):
    rows = []
    for p in paths:
        if os.path.exists(p):
            with open(p) as f:
                rows.append(json.load(f))
    hdr = ("fixture", "system", "prove s", "verify s", "proof bytes", "pk bytes")
    body = [(r["fixture"], r["system"], fmt_s(r.get("prove_s")), fmt_s(r.get("verify_s")),
             fmt_int(r.get("proof_bytes")), fmt_int(r.get("pk_bytes"))) for r in rows]
    w = [max(len(str(x)) for x in col) for col in zip(hdr, *body)] if body else [len(h) for h in hdr]
    line = lambda cells: "| " + " | ".join(str(c).ljust(n) for c, n in zip(cells, w)) + " |"  # noqa: E731
    print(line(hdr))
    print("|" + "|".join("-" * (n + 2) for n in w) + "|")
    for b in body:
        print(line(b))
    by_fixture = {}
    for r in rows:
        key = "zkinfer" if r["system"].startswith("zkinfer") else "ezkl"
        by_fixture.setdefault(r["fixture"], {})[key] = r
    for fx, d in by_fixture.items():
        if "ezkl" in d and "zkinfer" in d and d["zkinfer"].get("prove_s"):
            sp = d["ezkl"]["prove_s"] / d["zkinfer"]["prove_s"]
            print(f"{fx}: zkinfer prove is {sp:.2f}x faster than EZKL prove "
                  f"({d['ezkl']['prove_s']:.3f} s / {d['zkinfer']['prove_s']:.3f} s)")
        elif "ezkl" in d:
            print(f"{fx}: no zkinfer result (binary missing or a step failed)")


def main(argv):
    if len(argv) >= 4 and argv[0] == "ezkl":
        run_ezkl(argv[1], argv[2], argv[3])
    elif len(argv) >= 1 and argv[0] == "table":
        print_table(argv[1:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
