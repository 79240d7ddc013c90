"""What a pickle would import, read without unpickling it.

``torch.load(weights_only=True)`` refuses a file that needs a Python class, but its message depends on the
torch version and on the file (a plain ``pickle.dump`` file gives "Unsupported operand 149", the FRAME
opcode), and it advises loading with ``weights_only=False``, which a user must never be told to do. So
faceforge reads the pickle's opcodes itself (:mod:`pickletools`, which executes nothing) and names the
classes the file would import.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path

_PICKLE_LIMIT = 64 << 20  # bytes of one pickle scanned; torch's data.pkl holds structure, not tensors
_LEGACY_PICKLES = 5  # torch's pre-1.6 format: magic, protocol, sys info, the object, storage keys
_STRINGS = {
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING",
}  # fmt: skip
_GETS = {"BINGET", "LONG_BINGET", "GET"}
_PUTS = {"BINPUT", "LONG_BINPUT", "PUT"}
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_NO_PUSH = {"PROTO", "FRAME", "STOP", "MEMOIZE", *_PUTS}

#: Classes every torch checkpoint names: torch's own rebuild functions and storages, and the containers
#: its weights-only unpickler allows without being told.
_ALWAYS_SAFE_PREFIXES = ("torch.",)
_ALWAYS_SAFE = {
    "collections.OrderedDict", "collections.defaultdict", "builtins.set", "builtins.frozenset",
    "builtins.bytearray", "builtins.complex", "builtins.slice", "builtins.range", "builtins.bytes",
    "_codecs.encode", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
}  # fmt: skip


def class_name(cls: type) -> str:
    """``module.QualName``: how a pickle names a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _named(module: str, qualname: str) -> str:
    """``module.qualname``, with the Python 2 module names protocols 0-2 write read as Python 3's."""
    return f"{_PY2_MODULES.get(module, module)}.{qualname}"


def _globals_of(stream: io.BytesIO) -> list[str]:
    """The globals one pickle (from the stream's position up to its STOP) would import."""
    found: list[str] = []
    pushed: list[str | None] = []  # the value of each push, when it is a string; None otherwise
    memo: dict[int, str | None] = {}
    for opcode, arg, _ in pickletools.genops(stream):
        name = opcode.name
        if name in _STRINGS:
            pushed.append(arg if isinstance(arg, str) else bytes(arg or b"").decode("latin-1"))
        elif name in _GETS:
            pushed.append(memo.get(arg) if isinstance(arg, int) else None)
        elif name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in _PUTS and isinstance(arg, int):
            memo[arg] = pushed[-1] if pushed else None
        elif name in ("GLOBAL", "INST"):
            module, _, qualname = str(arg).partition(" ")
            found.append(_named(module, qualname))
            pushed.append(None)
        elif name == "STACK_GLOBAL":
            top: list[str | None] = pushed[-2:] if len(pushed) >= 2 else [None, None]
            found.append(_named(top[0], top[1]) if top[0] and top[1] else "an unnamed class")
            pushed.append(None)
        elif name not in _NO_PUSH:
            pushed.append(None)
    return found


def _pickles(path: Path) -> list[bytes]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [info for info in archive.infolist() if info.filename.endswith("data.pkl")]
            return [archive.open(info).read(_PICKLE_LIMIT) for info in names]
    with open(path, "rb") as handle:
        return [handle.read(_PICKLE_LIMIT)]


def pickled_globals(path: Path) -> list[str]:
    """Every class or function the pickle(s) in ``path`` would import, in order, without duplicates: a
    torch zip checkpoint's ``data.pkl``, or a raw pickle file (torch's legacy format is several pickles in
    a row; scanning stops at the first bytes that are not one). Unreadable bytes end the scan quietly:
    this only names what is there, it does not judge the file."""
    found: list[str] = []
    for data in _pickles(path):
        stream = io.BytesIO(data)
        for _ in range(_LEGACY_PICKLES):
            if stream.tell() >= len(data):
                break
            try:
                found.extend(_globals_of(stream))
            except Exception:  # pickletools raises ValueError, KeyError, IndexError... on non-pickle bytes
                break
    return list(dict.fromkeys(found))


def unsafe_globals(path: Path, allowed: set[str]) -> list[str]:
    """The globals of ``path`` that neither torch's weights-only loader nor ``allowed`` accepts."""
    return [
        name
        for name in pickled_globals(path)
        if name not in allowed and name not in _ALWAYS_SAFE and not name.startswith(_ALWAYS_SAFE_PREFIXES)
    ]
