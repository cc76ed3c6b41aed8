"""anethru.ane_programs: what the ANE backend compiles, checked against things nobody here wrote.

- the 1-layer ios16 program against the research program itself (tests/data/, the seed's
  gen_conv_mil_fp16 and compile_fp16_kernel, read out of its text, not retyped);
- every weight file of every form against Apple's own writer (coremltools' _BlobStorageWriter);
- every BLOBFILE(path, offset) of every MIL text resolved by hand.

These run on every OS: the MIL and weight-file builders are the backend's own plain C.
"""

import glob
import importlib.machinery
import importlib.util
import os
import re
import struct
import tempfile

import numpy as np
import pytest

import anethru
from anethru.native import tensors

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.path.join(HERE, "data", "seed_test_throughput_ceiling.txt")
SEED_CONFIGS = [(64, 32), (256, 64), (768, 256)]
# Beyond the seed's: rows that are not a multiple of 64 bytes, and weights that are not.
OTHER_CONFIGS = [(36, 7)]


# ---------------------------------------------------------------------------- the seed's text

def seed_function(name: str) -> str:
    """The body of one function of the seed, from its name to the start of the next one."""
    with open(SEED, encoding="utf-8") as f:
        text = f.read()
    start = text.index(f"*{name}(int ch, int sp) {{")
    end = text.index("static ", start + 1) if "static " in text[start + 1:] else len(text)
    return text[start:min(end, text.index("int main(", start))]


def c_string_literals(code: str) -> str:
    """The concatenation of the C string literals in code, escapes decoded."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', code)
    return "".join(bytes(p, "utf-8").decode("unicode_escape") for p in parts)


def seed_mil_format() -> tuple[str, list[str]]:
    """gen_conv_mil_fp16's format string and the names of the arguments it is given."""
    body = seed_function("gen_conv_mil_fp16")
    call = re.search(r'stringWithFormat:\s*@((?:\s*"(?:[^"\\]|\\.)*")+)\s*,([\w\s,]+)\]', body)
    return c_string_literals(call.group(1)), [a.strip() for a in call.group(2).split(",")]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def drop_angle_brackets(text: str) -> str:
    """What the stored seed went through: every span from '<' to the next '>' removed."""
    return re.sub(r"<[^>]*>", "", text)


def program(channels, spatial, layers=1, form="ios16", weights="identity", seed=0):
    (p,) = [p for p in anethru.ane_programs(channels, spatial, layers=layers, weights=weights,
                                            seed=seed) if p.form == form]
    return p


@pytest.mark.parametrize("channels,spatial", SEED_CONFIGS)
def test_one_layer_ios16_mil_is_the_research_programs(channels, spatial):
    fmt, args = seed_mil_format()
    ours = program(channels, spatial).mil
    values = {"ch": channels, "sp": spatial}
    if "%d" in fmt:  # a complete copy of the seed: substitute and compare everything
        expected = fmt
        for a in args:
            expected = expected.replace("%d", str(values[a]), 1)
        assert squeeze(ours) == squeeze(expected)
        return
    # The stored seed lost every <...> span (and the %d inside them): compare what is left...
    assert "<" not in fmt and ">" in fmt
    assert squeeze(drop_angle_brackets(ours)) == squeeze(fmt)
    # ...and the numbers the seed formatted into the lost spans, in the seed's argument order:
    # the dimensions other than 1 of every fp16 tensor type of ours.
    dims = [int(d) for shape in re.findall(r"tensor<fp16, \[([0-9, ]+)\]>", ours)
            for d in shape.split(",") if int(d) != 1]
    assert dims == [values[a] for a in args]


def test_the_seed_comparison_sees_one_changed_token():
    fmt, _ = seed_mil_format()
    ours = program(64, 32).mil
    for old, new in (("valid", "same"), ("(64)", "(128)"), ('"conv"', '"conv0"'),
                     ("3505.4.1", "3505.4.2"), ("weight.bin", "w0.bin")):
        assert squeeze(drop_angle_brackets(ours.replace(old, new, 1))) != squeeze(fmt), old


def seed_blob(channels: int) -> bytes:
    """compile_fp16_kernel's weight blob, built by running its own statements: the sizes, the
    byte stores, the uint32 stores and the identity loop, each read out of the seed."""
    body = seed_function("compile_fp16_kernel")
    env = {"ch": channels}
    env["ws"] = eval(re.search(r"int ws = ([^;]+);", body).group(1), {}, env)
    total = eval(re.search(r"int tot = ([^;]+);", body).group(1), {}, env)
    blob = bytearray(total)
    stores = re.findall(r"blob\[(\d+)\] = (0x[0-9A-Fa-f]+|\d+);", body)
    assert len(stores) >= 7
    for index, value in stores:
        blob[int(index)] = int(value, 0)
    words = re.findall(r"\*\(uint32_t \*\)\(blob \+ (\d+)\) = (?:\(uint32_t\))?(\w+);", body)
    assert len(words) == 2
    for offset, value in words:
        struct.pack_into("<I", blob, int(offset), int(eval(value, {}, env)))
    base = int(re.search(r"_Float16 \*wp = \(_Float16 \*\)\(blob \+ (\d+)\);", body).group(1))
    diag = re.search(r"for \(int i = 0; i < ch; i\+\+\) wp\[(.+?)\] = \(_Float16\)1\.0f;", body).group(1)
    for i in range(channels):
        struct.pack_into("<e", blob, base + 2 * eval(diag, {}, {**env, "i": i}), 1.0)
    return bytes(blob)


@pytest.mark.parametrize("channels,spatial", SEED_CONFIGS)
def test_one_layer_weight_file_is_the_research_programs_blob(channels, spatial):
    (data,) = program(channels, spatial).weights.values()
    assert data == seed_blob(channels)


# ---------------------------------------------------------------------------- Apple's writer

def blob_storage_writer():
    """coremltools' _BlobStorageWriter (Apple's MIL weight writer), loaded from its extension
    module alone: importing the coremltools package costs seconds and prints warnings here."""
    spec = importlib.util.find_spec("coremltools")
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("coremltools is not installed: pip install -e '.[test]'")
        pytest.skip("coremltools is not installed (pip install -e '.[test]'): Apple's weight "
                    "writer is the reference for these tests")
    folder = list(spec.submodule_search_locations)[0]
    for path in glob.glob(os.path.join(folder, "libmilstoragepython*")):
        loader = importlib.machinery.ExtensionFileLoader("libmilstoragepython", path)
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
        loader.exec_module(module)
        return module._BlobStorageWriter
    from coremltools.libmilstoragepython import _BlobStorageWriter  # pragma: no cover
    return _BlobStorageWriter  # pragma: no cover


def apple_file(writer_class, arrays):
    """The bytes Apple's writer produces for these fp16 arrays, in order, and its offsets."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "weight.bin")
        writer = writer_class(path)
        offsets = [writer.write_fp16_data(np.ascontiguousarray(a).view(np.uint16).ravel())
                   for a in arrays]
        del writer  # the file is complete once the writer is gone
        with open(path, "rb") as f:
            return f.read(), offsets


BLOBFILE = re.compile(r'(\w+) = const\(\)\[name=[^\n]*?BLOBFILE\(path=(?:tensor<string, \[\]>|string)'
                      r'\("([^"]+)"\), offset=(?:tensor<uint64, \[\]>|uint64)\((\d+)\)\)')


def blobfiles(mil: str) -> list[tuple[str, str, int]]:
    """(weight const, path, offset) of every BLOBFILE, in program order."""
    return [(name, path, int(off)) for name, path, off in BLOBFILE.findall(mil)]


def layer_of(const: str) -> int:
    """Which layer a weight const feeds: W (one layer) or W<i>."""
    return 0 if const == "W" else int(const[1:])


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("channels,spatial", SEED_CONFIGS + OTHER_CONFIGS)
def test_every_weight_file_is_what_apples_writer_writes(channels, spatial, layers):
    writer = blob_storage_writer()
    w = tensors.make_weights("random", channels, layers, seed=channels + layers)
    programs = anethru.ane_programs(channels, spatial, layers=layers, weights=w)
    assert [p.form for p in programs] == anethru.native.programs.form_names(layers)
    for p in programs:
        refs = blobfiles(p.mil)
        assert len(refs) == layers, p.form
        for path, data in p.weights.items():
            # The layers whose BLOBFILE names this file, in program order, written in that order.
            mine = [(layer_of(c), off) for c, ref, off in refs if ref == path]
            assert mine, f"{p.form}: {path} is never read"
            expected, offsets = apple_file(writer, [w[layer] for layer, _ in mine])
            assert data == expected, f"{p.form}: {path} differs from Apple's writer"
            assert [off for _, off in mine] == offsets, f"{p.form}: {path} offsets"


def test_apples_writer_sees_one_changed_byte():
    writer = blob_storage_writer()
    w = tensors.make_weights("random", 36, 1, seed=1)
    (data,) = program(36, 7, weights=w).weights.values()
    expected, _ = apple_file(writer, [w[0]])
    assert data == expected
    for i in (0, 4, 64, 72, 80, len(data) - 1):
        bad = bytearray(data)
        bad[i] ^= 1
        assert bytes(bad) != expected


# ---------------------------------------------------------------------------- BLOBFILE by hand

@pytest.mark.parametrize("layers", [1, 3, 12])
@pytest.mark.parametrize("channels,spatial", [(64, 32), (36, 7)])
def test_every_blobfile_resolves_to_its_layers_weights(channels, spatial, layers):
    w = tensors.make_weights("random", channels, layers, seed=5)
    for p in anethru.ane_programs(channels, spatial, layers=layers, weights=w):
        refs = blobfiles(p.mil)
        assert sorted(layer_of(c) for c, _, _ in refs) == list(range(layers)), p.form
        for const, path, offset in refs:
            assert path in p.weights, f"{p.form}: {path} is not a weight file"
            data = p.weights[path]
            magic, dtype, size, data_offset = struct.unpack_from("<IIQQ", data, offset)
            assert (magic, dtype, size) == (0xDEADBEEF, 1, channels * channels * 2), (p.form, const)
            layer = w[layer_of(const)].tobytes()
            assert data[data_offset:data_offset + size] == layer, (p.form, const)


def test_forms_and_their_order():
    assert anethru.native.programs.form_names(1) == ["ios16", "ios18"]
    assert anethru.native.programs.form_names(12) == ["ios16-files", "ios16-onefile", "ios18-files",
                                               "ios18-onefile"]
    files = program(64, 32, layers=3, form="ios16-files")
    assert sorted(files.weights) == [f"@model_path/weights/w{i}.bin" for i in range(3)]
    assert [off for _, _, off in blobfiles(files.mil)] == [64, 64, 64]
    one = program(64, 32, layers=3, form="ios16-onefile")
    assert list(one.weights) == ["@model_path/weights/weight.bin"]
    assert struct.unpack_from("<I", one.weights["@model_path/weights/weight.bin"])[0] == 3


def test_ios18_form_spells_scalars_plainly():
    mil = program(64, 32, form="ios18").mil
    assert mil.startswith("program(1.3)\n") and "func main<ios18>(tensor<fp16, [1, 64, 1, 32]> x)" in mil
    assert 'string pt = const()[name=string("pt"), val=string("valid")];' in mil
    assert "int32 gr = const()[name=string(\"gr\"), val=int32(1)];" in mil
    assert 'BLOBFILE(path=string("@model_path/weights/weight.bin"), offset=uint64(64))' in mil
    assert "tensor<string" not in mil and "tensor<uint64" not in mil
    # Same program otherwise: the same conv, the same weights.
    assert program(64, 32, form="ios18").weights == program(64, 32).weights


def test_files_are_laid_out_as_the_backend_writes_them(tmp_path):
    p = program(64, 32, layers=2, form="ios16-files")
    written = p.write(str(tmp_path))
    assert sorted(os.path.relpath(x, tmp_path) for x in written) == [
        "model.mil", os.path.join("weights", "w0.bin"), os.path.join("weights", "w1.bin")]
    assert (tmp_path / "model.mil").read_text(encoding="utf-8") == p.mil
    assert (tmp_path / "weights" / "w1.bin").read_bytes() == p.weights["@model_path/weights/w1.bin"]


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(channels=0, spatial=32), ValueError, r"channels must be >= 1; got 0"),
    (dict(channels=64, spatial=32, layers=0), ValueError, r"layers must be >= 1; got 0"),
    (dict(channels=64, spatial="32"), TypeError, r"spatial must be an integer"),
    (dict(channels=64, spatial=32, weights="ones"), ValueError, r"weights must be one of"),
    (dict(channels=4, spatial=2, layers=2, weights=np.zeros((1, 4, 4), np.float16)), ValueError,
     r"weights array has shape \(1, 4, 4\)"),
])
def test_bad_arguments_name_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        anethru.ane_programs(**kwargs)


# ---------------------------------------------------------------------------- anethru ane-files

def test_ane_files_writes_every_form_as_the_backend_lays_it_out(tmp_path, capsys):
    from anethru.cli import main

    assert main(["ane-files", "-c", "64x32", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    for p in anethru.ane_programs(64, 32):
        for rel, data in p.files().items():
            path = tmp_path / p.form / rel
            assert str(path) in printed
            assert path.read_bytes() == (data.encode() if isinstance(data, str) else data)
    assert len(printed) == 4

    assert main(["ane-files", "-c", "36x7", "--layers", "3", "--form", "ios16-files",
                 "--weights", "random", "--seed", "9", str(tmp_path / "one")]) == 0
    p = program(36, 7, layers=3, form="ios16-files", weights="random", seed=9)
    assert sorted(os.listdir(tmp_path / "one" / "weights")) == ["w0.bin", "w1.bin", "w2.bin"]
    assert (tmp_path / "one" / "weights" / "w2.bin").read_bytes() == p.weights["@model_path/weights/w2.bin"]
    assert (tmp_path / "one" / "model.mil").read_text(encoding="utf-8") == p.mil


@pytest.mark.parametrize("args,words", [
    (["--form", "ios17"], "unknown form 'ios17' for 1 layer(s); choose from ios16, ios18"),
    (["--layers", "0"], "layers must be >= 1; got 0"),
])
def test_ane_files_usage_errors(tmp_path, capsys, args, words):
    from anethru.cli import main

    assert main(["ane-files", "-c", "64x32", *args, str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []
