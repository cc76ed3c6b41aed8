"""The MIL text of every program form, byte for byte.

The 1-layer ios16 form is the text the research program (maderix/ANE 99ba013,
training/test_throughput_ceiling.m, gen_conv_mil_fp16) compiled and ran on an M4 Max: its
SHA-256 for the seed's three configurations is the reference's (shared/reference/
seed-mil-exact.md), and the whole text is compared, whitespace included.  The other forms are
anethru's own spelling, each pinned by its digest so any change to it is deliberate.
"""

import hashlib

import pytest

import anethru

# shared/reference/seed-mil-exact.md: (bytes, sha256 of the UTF-8 text).
RESEARCH_DIGESTS = {
    (64, 32): (1047, "9a3a5d80dcb710c72324331ee1aab392991c86d5899527c0370e1721e626a59f"),
    (256, 64): (1053, "c547176a2e65054e4a2150b43b3c1d7446eac4ac31506aec71e4df06262980e0"),
    (768, 256): (1055, "8398adce7ffb73b4ce1853a0a68aec06277bc07965da1551ffead644f51e71c1"),
}

# The reference's 64x32 text, copied from seed-mil-exact.md (C and S substituted below).
RESEARCH_TEXT = (
    'program(1.0)\n'
    '[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{"coremlc-version", "3505.4.1"}})]\n'
    '{\n'
    '    func main<ios16>(tensor<fp16, [1, C, 1, S]> x) {\n'
    '        tensor<string, []> pt = const()[name=tensor<string, []>("pt"), val=tensor<string, []>("valid")];\n'
    '        tensor<int32, [2]> st = const()[name=tensor<string, []>("st"), val=tensor<int32, [2]>([1,1])];\n'
    '        tensor<int32, [4]> pd = const()[name=tensor<string, []>("pd"), val=tensor<int32, [4]>([0,0,0,0])];\n'
    '        tensor<int32, [2]> dl = const()[name=tensor<string, []>("dl"), val=tensor<int32, [2]>([1,1])];\n'
    '        tensor<int32, []> gr = const()[name=tensor<string, []>("gr"), val=tensor<int32, []>(1)];\n'
    '        tensor<fp16, [C,C,1,1]> W = const()[name=tensor<string, []>("W"), val=tensor<fp16, [C,C,1,1]>(BLOBFILE(path=tensor<string, []>("@model_path/weights/weight.bin"), offset=tensor<uint64, []>(64)))];\n'
    '        tensor<fp16, [1,C,1,S]> y = conv(dilations=dl,groups=gr,pad=pd,pad_type=pt,strides=st,weight=W,x=x)[name=tensor<string, []>("conv")];\n'
    '    } -> (y);\n'
    '}\n')

# anethru's own forms at 64x32 (1 layer for ios18, 3 layers for the chained forms).
OWN_DIGESTS = {
    (1, "ios18"): (990, "8b78357e0f53573153b2c7002fe78d1fcd774fce5e71f7a1e27de903d8077e26"),
    (3, "ios16-files"): (1782, "a33d4fc910279a15a09b3401a8abf16f63d1654366b3bde473cdc95ff3a62048"),
    (3, "ios16-onefile"): (1799, "e3c858642f4e82e7377b3b793dfb85939f0416af0bfa12e56843d631c3baad61"),
    (3, "ios18-files"): (1620, "e723af20ebf0b447930eaaccda5d5e9f7688a3926778630d9f2c02788987d05a"),
    (3, "ios18-onefile"): (1637, "817d8ad3e3785c2bb4d74c11e3f6ee3ac7ce9119a8288def2d91b143157f948e"),
}


def mil(channels, spatial, layers=1, form="ios16") -> bytes:
    (p,) = [p for p in anethru.ane_programs(channels, spatial, layers=layers) if p.form == form]
    return p.mil.encode("utf-8")


def digest(text: bytes) -> tuple[int, str]:
    return len(text), hashlib.sha256(text).hexdigest()


@pytest.mark.parametrize("channels,spatial", sorted(RESEARCH_DIGESTS))
def test_one_layer_ios16_is_the_research_programs_text_byte_for_byte(channels, spatial):
    ours = mil(channels, spatial)
    assert digest(ours) == RESEARCH_DIGESTS[(channels, spatial)]
    expected = RESEARCH_TEXT.replace("C", str(channels)).replace("S", str(spatial))
    assert ours == expected.encode("utf-8")


def test_the_reference_text_reproduces_the_reference_digests():
    # The copy above is the reference's text: its digests are the reference's too.
    for (c, s), want in RESEARCH_DIGESTS.items():
        text = RESEARCH_TEXT.replace("C", str(c)).replace("S", str(s)).encode("utf-8")
        assert digest(text) == want


def test_one_space_more_is_another_digest():
    ours = mil(64, 32)
    assert digest(ours.replace(b"[64,64,1,1]", b"[64, 64, 1, 1]", 1)) != RESEARCH_DIGESTS[(64, 32)]


@pytest.mark.parametrize("layers,form", sorted(OWN_DIGESTS))
def test_every_other_form_is_pinned(layers, form):
    ours = mil(64, 32, layers, form)
    assert digest(ours) == OWN_DIGESTS[(layers, form)], ours.decode()
    assert b"[64, 64, 1, 1]" in ours and b"[64,64,1,1]" not in ours  # anethru's own spelling
