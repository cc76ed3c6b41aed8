"""Build the fake CUDA driver (tests only): ``fake_libcuda.c`` -> a shared library.

    build_fake(out_dir, drop=None) -> path

``drop`` names one exported entry point to hide (a linker version script makes it local), which
is how tests get "a driver that lacks symbol X": dlsym only sees what a library exports.
-ffp-contract=off keeps the CPU conv's multiply and add separately rounded (no FMA fusion on
targets that have it), so tests can reproduce its output bit for bit with numpy.
"""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def build_fake(out_dir, drop=None, cc="gcc"):
    name = "libcuda_fake.so" if not drop else f"libcuda_fake_no_{drop}.so"
    out = os.path.join(out_dir, name)
    cmd = [cc, "-shared", "-fPIC", "-O2", "-std=gnu11", "-ffp-contract=off", "-fvisibility=hidden", "-Wall", "-Werror",
           "-I", os.path.join(ROOT, "csrc"), os.path.join(HERE, "fake_libcuda.c"), "-o", out,
           "-lpthread", "-lm"]
    if drop:
        script = os.path.join(out_dir, f"drop_{drop}.map")
        with open(script, "w") as f:
            f.write("{ global: *; local: %s; };\n" % drop)
        cmd.append(f"-Wl,--version-script={script}")
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out
