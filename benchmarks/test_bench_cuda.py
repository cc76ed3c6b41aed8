"""anethru's cuda figures beside PyTorch's for the same chain, measured in one run on one GPU.

    python -m pytest benchmarks/test_bench_cuda.py -q --benchmark-autosave

At each of the seed's three sizes (64x32, 256x64, 768x256), 12 kernels, and in both memory
modes (cuda_memory="device" and "mapped"), side by side in one run:
  * anethru chained per kernel   vs  PyTorch CUDA-graph replay of the chain, per kernel
                                     (issue 11 wants <= 1.0x)
  * anethru run_only per kernel  vs  torch conv2d + torch.cuda.synchronize() per kernel
                                     (issue 11 wants <= 0.5x)
  * anethru null_eval per launch vs  a plain CUDA C loop (benchmarks/cuda_floor/floor.c)
                                     (issue 4 wants <= 1.3x)
plus sequential and memcpy_only, which kernel variant the tuner picked for each mode and how
long tuning took.  Every ratio is printed at the end of the run (no test asserts a timing).

All variants of one size are measured in one fixture, round by round in a shuffled order
(interleaving cuts run-to-run drift), each round one block of ITERS passes of the 12-kernel
chain.  The benchmark tests then replay those per-kernel samples through NATIVE_CLOCK, so
pytest-benchmark's statistics are the measured ones: anethru's from its native clock,
PyTorch's from time.perf_counter_ns around its Python loop (an interpreter-driven loop is what
is compared), the floor's from floor.c's own clock.  Skipped with the reason where torch, a GPU
or the cuda backend is missing.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import statistics
import subprocess
import time

import numpy as np
import pytest

import anethru

from anethru.native.clock import NATIVE_CLOCK

from _ratios import RATIOS

CONFIGS = ((64, 32), (256, 64), (768, 256))
MODES = ("device", "mapped")
KERNELS = 12
ITERS = int(os.environ.get("ANETHRU_BENCH_ITERS", "50"))
ROUNDS = int(os.environ.get("ANETHRU_BENCH_ROUNDS", "7"))
ANETHRU_TESTS = ("run_only", "chained", "null_eval", "sequential", "memcpy_only")
VARIANTS = tuple(f"anethru_{m}_{t}" for m in MODES for t in ANETHRU_TESTS) + (
    "torch_conv2d_sync", "torch_graph_replay", "cuda_c_floor")
HERE = os.path.dirname(os.path.abspath(__file__))


def _cuda_backend_reason() -> str:
    info = {b.name: b for b in anethru.backends()}["cuda"]
    if not info.available:
        return f"anethru's cuda backend is unavailable: {info.reason}"
    if info.simulated:
        return f"anethru's cuda backend is simulated here ({info.device}); no GPU to compare on"
    return ""


def _build_floor(tmp: str) -> tuple[str | None, str]:
    """benchmarks/cuda_floor/floor.c built for this machine, or None and why not."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        return None, "no C compiler to build benchmarks/cuda_floor/floor.c"
    src, exe = os.path.join(HERE, "cuda_floor", "floor.c"), os.path.join(tmp, "floor")
    headers = sorted(glob.glob("/usr/local/cuda*/include/cuda.h"))
    flags = (["-I", os.path.dirname(headers[0])] if headers else
             ["-DFLOOR_OWN_DECLS", "-I", os.path.join(os.path.dirname(HERE), "csrc")])
    p = subprocess.run([cc, "-O2", *flags, src, "-o", exe, "-l:libcuda.so.1"],
                       capture_output=True, text=True)
    why = " ".join(p.stderr.split())[-300:]
    return (exe, "") if p.returncode == 0 else (None, f"floor.c did not build: {why}")


class SideBySide:
    def __init__(self, config: tuple[int, int]) -> None:
        self.config = config
        self.samples: dict[str, list[float]] = {v: [] for v in VARIANTS}  # ns per kernel/copy
        self.missing: dict[str, str] = {}
        self.tuning: dict[str, dict] = {}  # memory mode -> Chain.cuda_tuning
        self.device = ""

    @property
    def label(self) -> str:
        return f"{self.config[0]}x{self.config[1]}"


@pytest.fixture(scope="module")
def gpu(tmp_path_factory):
    """torch with CUDA, a real GPU for anethru, and the C floor program (or why not)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")
    if not torch.cuda.is_available():
        pytest.skip("torch.cuda.is_available() is False: no GPU for PyTorch")
    reason = _cuda_backend_reason()
    if reason:
        pytest.skip(reason)
    floor_exe, why = _build_floor(str(tmp_path_factory.mktemp("cuda_floor")))
    return torch, floor_exe, why


def _torch_blocks(torch, weights: np.ndarray, c: int, s: int):
    """PyTorch's chain with the same weights: conv2d over [1, C, 1, S] fp16, synchronized after
    each kernel, and replayed as one CUDA graph."""
    import torch.nn.functional as F

    w = torch.from_numpy(np.asarray(weights, dtype=np.float16)).cuda().reshape(KERNELS, c, c, 1, 1)
    x = torch.randn(1, c, 1, s, device="cuda", dtype=torch.float16)

    def torch_pass(inp):
        y = inp
        for k in range(KERNELS):
            y = F.conv2d(y, w[k])
        return y

    def sync_block() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(ITERS):
            y = x
            for k in range(KERNELS):
                y = F.conv2d(y, w[k])
                torch.cuda.synchronize()
        return (time.perf_counter_ns() - t0) / (ITERS * KERNELS)

    side = torch.cuda.Stream()  # capture needs warm-up off the default stream
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            torch_pass(x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        graph_out = torch_pass(x)
    graph.replay()
    torch.cuda.synchronize()
    assert torch.allclose(graph_out, torch_pass(x))

    def graph_block() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(ITERS):
            graph.replay()
            torch.cuda.synchronize()
        return (time.perf_counter_ns() - t0) / (ITERS * KERNELS)

    return sync_block, graph_block


def _anethru_block(chain: anethru.Chain, test: str):
    per_pass = KERNELS - 1 if test == "memcpy_only" else KERNELS

    def block() -> float:
        m = chain.measure(test, iters=ITERS, memcpy_iters=ITERS, warmup=0, repeats=1, seed=0)
        return m.block_ns[0] / (ITERS * per_pass)
    return block


@pytest.fixture(scope="module", params=CONFIGS, ids=[f"{c}x{s}" for c, s in CONFIGS])
def side_by_side(request, gpu):
    torch, floor_exe, floor_why = gpu
    c, s = request.param
    out = SideBySide((c, s))
    chains = {}
    try:
        for mode in MODES:  # each compile tunes its kernel for this shape and mode
            chains[mode] = anethru.Chain(c, s, kernels=KERNELS, backend="cuda", weights="random",
                                         chained=True, cuda_memory=mode)
            chains[mode].check()
            out.tuning[mode] = dict(chains[mode].cuda_tuning)
        out.device = chains["device"].backend_info.device
        blocks = {f"anethru_{m}_{t}": _anethru_block(chains[m], t)
                  for m in MODES for t in ANETHRU_TESTS}
        blocks["torch_conv2d_sync"], blocks["torch_graph_replay"] = _torch_blocks(
            torch, chains["device"].weights, c, s)
        if floor_exe:
            def floor_block() -> float:
                p = subprocess.run([floor_exe, str(ITERS * KERNELS), "1"], capture_output=True,
                                   text=True, check=True)
                return float(p.stdout.split()[1]) * 1e3  # block_us_per_iter -> ns
            blocks["cuda_c_floor"] = floor_block
        else:
            out.missing["cuda_c_floor"] = floor_why

        for fn in blocks.values():  # untimed warm-up of every variant
            fn()
        for r in range(ROUNDS):
            order = list(blocks)
            random.Random(r).shuffle(order)
            for name in order:
                out.samples[name].append(blocks[name]())
    finally:
        for chain in chains.values():
            chain.close()
    _summarise(out)
    return out


def _ratio_line(out: SideBySide, num: str, den: str, target: str) -> str:
    a, b = out.samples.get(num), out.samples.get(den)
    if not a or not b:
        why = out.missing.get(den) or out.missing.get(num) or "no samples"
        return f"  {num} / {den}: not measured ({why})"
    per_round = [x / y for x, y in zip(a, b)]  # same round = measured side by side
    return (f"  {num} / {den} = {statistics.median(per_round):.2f}x "
            f"[{min(per_round):.2f} .. {max(per_round):.2f}] over {len(per_round)} rounds "
            f"({statistics.median(a) / 1e3:.2f} vs {statistics.median(b) / 1e3:.2f} us{target})")


def _summarise(out: SideBySide) -> None:
    RATIOS.append(f"cuda {out.label}, {KERNELS} kernels, {ITERS} passes per round, on "
                  f"{out.device}")
    for mode in MODES:
        t = out.tuning.get(mode, {})
        RATIOS.append(f" cuda_memory={mode}: kernel {t.get('kernel')} ({t.get('how')}, tuning "
                      f"{t.get('tuning_ms', 0):.1f} ms); timed: {t.get('detail')}")
        p = f"anethru_{mode}_"
        RATIOS.append(_ratio_line(out, p + "chained", "torch_graph_replay",
                                  " per kernel; issue 11 wants <= 1.0x"))
        RATIOS.append(_ratio_line(out, p + "run_only", "torch_conv2d_sync",
                                  " per kernel; issue 11 wants <= 0.5x"))
        RATIOS.append(_ratio_line(out, p + "null_eval", "cuda_c_floor",
                                  " per launch; issue 4 wants <= 1.3x"))
        RATIOS.append(_ratio_line(out, p + "sequential", "torch_conv2d_sync", " per kernel"))
    RATIOS.append(_ratio_line(out, "anethru_mapped_memcpy_only", "anethru_device_memcpy_only",
                              " per copy: the round trip's copy, mapped vs device"))


@pytest.mark.benchmark(timer=NATIVE_CLOCK)
@pytest.mark.parametrize("variant", VARIANTS)
def test_cuda_per_kernel(benchmark, side_by_side, variant):
    samples = side_by_side.samples[variant]
    if not samples:
        pytest.skip(side_by_side.missing.get(variant, "not measured"))
    replay = iter(samples)
    benchmark.group = f"cuda {side_by_side.label} per kernel (memcpy_only: per copy)"
    benchmark.pedantic(lambda: NATIVE_CLOCK.advance_ns(next(replay)), rounds=len(samples),
                       iterations=1)
    mode = next((m for m in MODES if variant.startswith(f"anethru_{m}_")), None)
    benchmark.extra_info.update({
        "device": side_by_side.device, "config": side_by_side.label, "kernels": KERNELS,
        "passes_per_round": ITERS, "us_per_unit_median": statistics.median(samples) / 1e3,
        "us_per_unit_samples": [ns / 1e3 for ns in samples],
        **({"cuda_memory": mode, "cuda_tuning": side_by_side.tuning.get(mode)} if mode else {}),
    })
