"""Helpers for tests/test_cuda.py: build the fake CUDA driver and the vtable driver, and run
Python or the vtable driver in a subprocess (the backend reads ANETHRU_CUDA_LIBRARY once per
process, so every variation of it needs its own process)."""
import os
import re
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CSRC = os.path.join(ROOT, "csrc")
sys.path.insert(0, os.path.join(HERE, "cuda_fake"))
from build import build_fake  # noqa: E402

CC = shutil.which("gcc") or shutil.which("cc")
# csrc/anethru.h's status codes, as the vtable driver prints them.
E = {"OK": 0, "ARG": 1, "UNAVAILABLE": 2, "UNSUPPORTED": 3, "NOMEM": 4, "COMPILE": 5, "EVAL": 6,
     "LOCK": 7, "LIMIT": 8}
CXX = shutil.which("g++") or shutil.which("c++")

# The subprocess environment must not inherit knobs from the developer's shell.
_KNOBS = ("ANETHRU_CUDA_LIBRARY", "ANETHRU_CUDA_KERNEL", "VTABLE_MAPPED", "FAKE_CUDA_INIT_ERROR",
          "FAKE_CUDA_DEVICE_COUNT", "FAKE_CUDA_MODULE_ERROR", "FAKE_CUDA_FAIL_LAUNCH",
          "FAKE_CUDA_FAIL_AT_SYNC", "FAKE_CUDA_FAIL_ALLOC", "FAKE_CUDA_FAIL_CAPTURE",
          "FAKE_CUDA_COMPUTE_CAPABILITY", "FAKE_CUDA_REJECT_TARGET", "FAKE_CUDA_MISSING_FUNCTION",
          "FAKE_CUDA_FAIL_KERNEL", "FAKE_CUDA_FAST_KERNEL", "FAKE_CUDA_SLOW_US",
          "FAKE_CUDA_NO_MAP_HOST", "FAKE_CUDA_CONTEXT_ERROR", "FAKE_CUDA_CORRUPT",
          "FAKE_CUDA_CORRUPT_KERNEL", "FAKE_CUDA_VERSION_ERROR")


def env_with(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in _KNOBS}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def run_python(code, **env):
    """Run `code` in a fresh interpreter; returns (returncode, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-c", code], env=env_with(**env), capture_output=True,
                       text=True, timeout=300, cwd=HERE)
    return p.returncode, p.stdout, p.stderr


def cuda_sources():
    """csrc/cuda/'s C files, from the folder as anethru/_build.py lists them (a new one is in)."""
    folder = os.path.join(CSRC, "cuda")
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".c"))


def build_vtable_check(out_dir):
    exe = os.path.join(out_dir, "vtable_check")
    subprocess.run([CC, "-std=gnu11", "-O1", "-g", "-Wall", "-Werror", "-I", CSRC,
                    os.path.join(HERE, "cuda_fake", "vtable_check.c"), *cuda_sources(),
                    os.path.join(CSRC, "common", "port_lock.c"),
                    os.path.join(CSRC, "common", "messages.c"),
                    "-o", exe, "-ldl", "-lpthread"], check=True, capture_output=True, text=True)
    return exe


def run_vtable(exe, *args, **env):
    """Run the vtable driver; returns its key=value lines as a dict (and the raw stdout)."""
    p = subprocess.run([exe, *map(str, args)], env=env_with(**env), capture_output=True,
                       text=True, timeout=300)
    kv = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    assert p.returncode == 0, f"vtable_check {args} exited {p.returncode}: {p.stdout}{p.stderr}"
    return kv


def write_case(tmp_path, weights, x):
    """The vtable driver's and the emulator's input file: the weights, then the input."""
    path = tmp_path / "in.bin"
    path.write_bytes(np.concatenate([w.ravel() for w in weights] + [x.ravel()]).tobytes())
    return str(path), str(tmp_path / "out.bin")


def read_out(path, c, s):
    return np.frombuffer(open(path, "rb").read(), np.float16).reshape(c, s)


LOCK_EXPECT = {
    "lock_out_ro": "OK", "lock_out_ro_nested": "OK", "lock_out_rw_over_ro": "LOCK",
    "unlock_out_rw_mismatch": "LOCK", "eval_while_locked": "EVAL", "unlock_out_ro": "OK",
    "unlock_out_ro_outer": "OK", "unlock_out_not_locked": "LOCK", "lock_bad_port": "ARG",
    "lock_bad_flags": "ARG", "lock_in_rw": "OK", "unlock_in_ro_mismatch": "LOCK",
    "unlock_in_rw": "OK", "eval": "OK", "lock_out_again": "OK", "unlock_out_again": "OK",
}


def check_locks(kv):
    assert {k: int(kv[k]) for k in LOCK_EXPECT} == {k: E[v] for k, v in LOCK_EXPECT.items()}
    assert kv["out"] == "3c00 4000 4200 4400"  # identity 2x2 over 1 2 3 4


def random_fp16(rng, shape, scale):
    return (rng.standard_normal(shape) * scale).astype(np.float16)


def reference_chain(weights, x):
    """What the fake driver computes, bit for bit: per layer, fp32 products summed over input
    channels in order 0..C-1 (one fp32 rounding per step), rounded once to fp16."""
    y = x
    for w in weights:
        w32, y32 = w.astype(np.float32), y.astype(np.float32)
        acc = np.zeros(y.shape, np.float32)
        for i in range(w.shape[1]):
            acc += w32[:, i:i + 1] * y32[i:i + 1, :]
        y = acc.astype(np.float16)
    return y


def variant_table():
    """csrc/cuda/kernels/cuda_kernels.h's variants: {name: (tm, tn, bk, groups, stages)}, FMA as (32, 32, 0,
    0, 0), read from the header's X-macro lists so tests follow it."""
    text = open(os.path.join(CSRC, "cuda", "kernels", "cuda_kernels.h")).read()
    out = {}
    for m in re.finditer(r"X\((\w+), (\d+), (\d+), (\d+), (\d+)(?:, (\d+))?\)", text):
        name, *nums = m.groups()
        out[name] = tuple(int(n) for n in nums[:4]) + (int(nums[4] or 1),)
    fma = re.search(r'#define ANETHRU_CUDA_FMA_NAME "(\w+)"', text).group(1)
    out[fma] = (32, 32, 0, 0, 0)
    return out


def variant_fits(v, c, s):
    tm, tn, bk, groups, _ = v
    return groups == 0 or (c % tm == 0 and s % tn == 0 and c % (bk * groups) == 0)


def build_emulator(out_dir, cxx=None, name="cuda_emu"):
    """csrc/cuda/kernels/cuda_kernels*.cu compiled for the CPU against tests/cuda_emu's stand-in headers;
    None (with the compiler's complaint) where this C++ compiler cannot build it.
    -fno-strict-aliasing: CUDA code type-puns through reinterpret_cast, which nvcc allows."""
    exe = os.path.join(out_dir, name)
    emu = os.path.join(HERE, "cuda_emu")
    p = subprocess.run([cxx or CXX, "-std=c++20", "-O1", "-fno-strict-aliasing",
                        "-ffp-contract=off", "-Wall", "-Werror",
                        "-I", emu, "-I", os.path.join(HERE, "cuda_fake"), "-I", CSRC,
                        "-I", os.path.join(CSRC, "cuda", "kernels"),
                        "-include", os.path.join(emu, "emu_runtime.h"),
                        os.path.join(emu, "emu_main.cpp"), "-o", exe, "-lpthread"],
                       capture_output=True, text=True)
    return (exe, "") if p.returncode == 0 else (None, p.stderr[-2000:])


def mma_groups(c, bk=64):
    """csrc/cuda/kernels/cuda_kernels.h's ANETHRU_CUDA_MMA_GROUPS."""
    return 4 if c % (4 * bk) == 0 else 2 if c % (2 * bk) == 0 else 1


def reference_mma(w, x, bk=64, groups=None):
    """What the tensor-core kernel computes under tests/cuda_emu (products summed in k order),
    bit for bit: group g sums input channels g*bk.., (g+G)*bk.., ... in order in fp32, then the
    G partial sums are added in group order and rounded once to fp16."""
    c = w.shape[1]
    groups = groups or mma_groups(c, bk)
    w32, x32 = w.astype(np.float32), x.astype(np.float32)
    partial = []
    for g in range(groups):
        acc = np.zeros((w.shape[0], x.shape[1]), np.float32)
        for k0 in range(g * bk, c, groups * bk):
            for i in range(k0, k0 + bk):
                acc += w32[:, i:i + 1] * x32[i:i + 1, :]
        partial.append(acc)
    total = partial[0]
    for p in partial[1:]:
        total = total + p
    return total.astype(np.float16)
