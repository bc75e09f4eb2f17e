"""The checkpoint format's names and limits, and the wording of its messages: shared by saving and loading."""

from __future__ import annotations

import math
import re
import struct
import zipfile
import zlib
from typing import Any, NamedTuple

from ..errors import CheckpointError

import numpy as np


FORMAT = "nettrain-checkpoint"
FORMAT_VERSION = 2  # the newest format this nettrain reads and the one it writes

MAX_MEMBERS = 1000  # a checkpoint of L layers has 2L + 1 members
MAX_TOTAL_BYTES = 4 * 2**30  # uncompressed bytes in all members together
MAX_META_CHARS = 64 * 2**20  # characters of metadata JSON
MAX_RATIO = 100  # uncompressed / compressed size allowed for a deflated member …
SMALL_MEMBER = 2**20  # … once it is bigger than this (a small block of zeros compresses > 100×)
MAX_NPY_HEADER = 10_000  # bytes of .npy header text (numpy's own limit)

_ARRAY_NAME = re.compile(r"^([Wb])([1-9][0-9]{0,3})\.npy$")  # W1.npy … b9999.npy; no W0, no W01
_STATE_NAME = re.compile(r"^opt_([a-z][a-z0-9_]{0,30})\.npy$")  # an optimizer state array: opt_v.npy, opt_m.npy
# .last.npz.tmp-<pid>-<8 hex> (save_checkpoint and write_text); the sweep also takes .name.tmp-<pid>
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.tmp-(?P<pid>[0-9]+)(?:-[0-9a-f]{8})?$")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: the same weights give the same bytes
_NPY_VERSIONS = {(1, 0): "<H", (2, 0): "<I"}  # .npy header-length field per format version
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_CHUNK = 16 * 2**20  # bytes read from a member at a time

# What zipfile and zlib raise on a damaged archive. Errors from numpy's .npy header parser are
# caught where it is called (it runs ast/tokenize on the header text and can raise nearly anything).
_CORRUPT = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    ValueError,  # includes UnicodeDecodeError (bad member names)
    struct.error,
    OverflowError,
    NotImplementedError,  # a compression method or zip feature zipfile does not support
    RuntimeError,  # e.g. an encrypted member
)


class _Member(NamedTuple):
    """One .npy member of the archive, from its zip entry and its .npy header (no data read yet)."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    data_offset: int  # bytes of magic + header before the array data


def _show(name: str) -> str:
    """A member name fit for a one-line message: as is when plain, else repr'd and shortened."""
    if re.fullmatch(r"[\w.\-]{1,40}", name):
        return name
    return repr(name[:40] + ("…" if len(name) > 40 else ""))


def _array_name(filename: str) -> str:
    """W1 for the member W1.npy, as np.load names it; other names as they are."""
    return _show(filename[:-4] if filename.endswith(".npy") else filename)


def _brief(value: Any) -> str:
    """repr of a JSON value, cut to one short line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _listing(names: list[str], limit: int = 6) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _reason(e: BaseException) -> str:
    """An exception as a short single line (numpy's texts can mention options nettrain never uses)."""
    text = " ".join(str(e).split())[:120] or type(e).__name__
    return type(e).__name__ if "pickle" in text else text


def _size(n: int) -> str:
    if n >= 2**50:  # a hostile header may declare more bytes than a float can hold
        return "over 1 PiB"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def _check_dtype(where: str, name: str, dtype: np.dtype) -> None:
    if dtype.newbyteorder("=") not in _FLOATS or dtype.fields is not None:
        raise CheckpointError(f"{where}: {name} is {dtype}; weights must be float32 or float64")


def _check_layout(where: str, shapes: dict[str, tuple]) -> None:
    """W⁽ˡ⁾ is (s_{l+1}, s_l), b⁽ˡ⁾ is (s_{l+1},), and W⁽ˡ⁺¹⁾ is (s_{l+2}, s_{l+1}): the layers chain."""
    L = len(shapes) // 2
    for l in range(1, L + 1):
        W, b = shapes[f"W{l}"], shapes[f"b{l}"]
        if len(W) != 2 or min(W) < 1:
            raise CheckpointError(f"{where}: W{l} has shape {W}; a weight matrix needs 2 dimensions, each ≥ 1")
        if b != (W[0],):
            raise CheckpointError(f"{where}: b{l} has shape {b}, but W{l} is {W} so b{l} must be ({W[0]},)")
        previous = shapes.get(f"W{l - 1}")
        if previous is not None and W[1] != previous[0]:
            raise CheckpointError(
                f"{where}: W{l} is {W} but W{l - 1} is {previous}; W{l} must have {previous[0]} columns"
            )


def _check_finite(where: str, name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise CheckpointError(
            f"{where}: {name}[{', '.join(map(str, index))}] is {a[index]}; "
            "weights must be finite (did training diverge?)"
        )


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _layer_order(name: str) -> tuple:
    """W1, b1, W2, b2, …: by layer, W before b; any other name last."""
    match = _ARRAY_NAME.match(f"{name}.npy")
    return (int(match[2]), match[1] != "W", "") if match else (math.inf, True, name)


def _native(a: np.ndarray) -> np.ndarray:
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))
