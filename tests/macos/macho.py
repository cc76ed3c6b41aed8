"""The imported symbols of a 64-bit Mach-O image, read from its symbol table.

Enough of the format to answer one question without any Apple tool: which external symbols
does this object or dylib leave undefined, and where will dyld look for each (the two-level
namespace library ordinal in ``n_desc``)?  Layouts: <mach-o/loader.h> and <mach-o/nlist.h>.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MH_MAGIC_64 = 0xFEEDFACF
CPU_TYPES = {0x01000007: "x86_64", 0x0100000C: "arm64"}
LC_SYMTAB = 0x2
# Load commands naming a dylib; their position among these gives the library ordinal (1-based).
DYLIB_COMMANDS = {0xC, 0x80000018, 0x8000001F, 0x20, 0x80000023}
N_STAB, N_TYPE, N_EXT, N_UNDF, N_SECT = 0xE0, 0x0E, 0x01, 0x0, 0xE
SELF_LIBRARY_ORDINAL, DYNAMIC_LOOKUP_ORDINAL, EXECUTABLE_ORDINAL = 0x0, 0xFE, 0xFF


@dataclass(frozen=True)
class Import:
    name: str        # as in the symbol table: C names carry a leading underscore
    library: str     # the dylib's install name; "" (or "dynamic lookup") where none is named


@dataclass(frozen=True)
class Image:
    arch: str
    dylibs: tuple[str, ...]
    imports: tuple[Import, ...]
    exports: tuple[str, ...]   # external symbols defined in the image


def read(path: str) -> Image:
    with open(path, "rb") as f:
        data = f.read()
    magic, cputype, _sub, _ftype, ncmds, _size, _flags, _res = struct.unpack_from("<8I", data, 0)
    if magic != MH_MAGIC_64:
        raise ValueError(f"{path}: not a 64-bit little-endian Mach-O file (magic {magic:#x})")
    dylibs: list[str] = []
    symtab = None
    off = 32
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack_from("<2I", data, off)
        if cmd == LC_SYMTAB:
            symtab = struct.unpack_from("<4I", data, off + 8)
        elif cmd in DYLIB_COMMANDS:
            (name_off,) = struct.unpack_from("<I", data, off + 8)
            raw = data[off + name_off:off + cmdsize]
            dylibs.append(raw.split(b"\0", 1)[0].decode())
        off += cmdsize
    imports: list[Import] = []
    exports: list[str] = []
    if symtab:
        symoff, nsyms, stroff, _strsize = symtab
        for i in range(nsyms):
            strx, ntype, _sect, desc, _value = struct.unpack_from("<IBBHQ", data, symoff + 16 * i)
            if ntype & N_STAB or not ntype & N_EXT:
                continue
            name = data[stroff + strx:data.index(b"\0", stroff + strx)].decode()
            if (ntype & N_TYPE) == N_UNDF:
                imports.append(Import(name, _library(desc >> 8 & 0xFF, dylibs)))
            elif (ntype & N_TYPE) == N_SECT:
                exports.append(name)
    return Image(CPU_TYPES.get(cputype, hex(cputype)), tuple(dylibs), tuple(imports), tuple(exports))


def _library(ordinal: int, dylibs: list[str]) -> str:
    if ordinal == DYNAMIC_LOOKUP_ORDINAL:
        return "dynamic lookup"
    if ordinal in (SELF_LIBRARY_ORDINAL, EXECUTABLE_ORDINAL):
        return ""
    return dylibs[ordinal - 1] if ordinal <= len(dylibs) else f"ordinal {ordinal}"
