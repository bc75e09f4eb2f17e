"""Loading, treating the file as hostile: the zip directory, then every member's .npy header, are checked
before any array data is decompressed or read; then the arrays are read straight from the zip members and
checked for NaN/inf. Every failure is one CheckpointError line naming the file and, where it applies, the
array.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import stat
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np
from numpy.lib import format as npy_format

from ..errors import CheckpointError
from ..network import Params
from ..version import __version__
from . import fmt
from .fmt import (_ARRAY_NAME, _CHUNK, _CORRUPT, _NPY_VERSIONS, _STATE_NAME, FORMAT, FORMAT_VERSION,
                  MAX_MEMBERS, MAX_NPY_HEADER, MAX_RATIO, MAX_TOTAL_BYTES, SMALL_MEMBER, _array_name, _brief, _check_dtype,
                  _check_finite, _check_layout, _layer_order, _listing, _Member, _native, _reason, _refuse_constant, _show,
                  _size)

def load_checkpoint(path: Path, shapes: Optional[dict[str, tuple]] = None) -> tuple[Params, dict]:
    """(Params with W, b keyed 1 … L, metadata dict) from a checkpoint, after checking all of it.

    With `shapes` (Architecture.shapes()), the arrays must have exactly those names and shapes.
    Raises CheckpointError, one line naming the file and the array, for anything wrong.
    """
    arrays, meta = _read(Path(path), shapes, with_data=True)
    return Params.from_blocks({k: v for k, v in arrays.items() if not k.startswith("opt_")}), meta


def load_state(path: Path, size: int) -> dict[str, np.ndarray]:
    """The optimizer state arrays of a checkpoint (opt_v → "v"), each checked to hold `size` numbers;
    {} for a checkpoint without any (format 1, gd, lbfgs)."""
    arrays, _ = _read(Path(path), None, with_data=True)
    out = {}
    for k, a in arrays.items():
        if k.startswith("opt_"):
            if a.ndim != 1 or a.size != size:
                raise CheckpointError(f"{path}: {k} has shape {a.shape}, the model has {size} parameters")
            out[k[4:]] = a
    return out


def read_meta(path: Path) -> dict:
    """The metadata of a checkpoint, after the same checks as load_checkpoint except reading the
    arrays' data (so NaN/inf inside a weight array is not detected here)."""
    return _read(Path(path), None, with_data=False)[1]


def _read(path: Path, shapes: Optional[dict[str, tuple]], with_data: bool) -> tuple[dict, dict]:
    """Every check, cheapest first: file, zip directory, meta, names, .npy headers, shapes, data."""
    f = _open(path)
    try:
        with f, zipfile.ZipFile(f) as zf:
            infos = _check_directory(path, zf.infolist(), os.fstat(f.fileno()).st_size)
            if "meta.npy" not in infos:
                raise CheckpointError(f"{path} is not a nettrain checkpoint (it has no meta member)")
            meta = _read_meta(path, zf, infos.pop("meta.npy"))
            states = [f[:-4] for f in infos if _STATE_NAME.match(f)]
            names = _check_names(path, {f: i for f, i in infos.items() if not _STATE_NAME.match(f)})
            members = {name: _read_header(path, zf, infos[f"{name}.npy"]) for name in names + states}
            for name, m in members.items():
                _check_dtype(str(path), name, m.dtype)
            weights = {name: members[name].shape for name in names}
            _check_layout(str(path), weights)
            if shapes is not None:
                _check_fits(path, weights, shapes)
            if not with_data:
                return {}, meta
            arrays = {}
            for name, m in members.items():
                arrays[name] = _native(_read_data(path, zf, m))
                _check_finite(str(path), name, arrays[name])
            return arrays, meta
    except _CORRUPT as e:
        raise CheckpointError(f"{path} is corrupt or truncated ({_reason(e)}); use an earlier checkpoint") from None
    except OSError as e:
        if e.errno == errno.EINVAL:  # a seek to a negative offset read from a damaged zip directory
            raise CheckpointError(f"{path} is corrupt or truncated ({_reason(e)}); use an earlier checkpoint") from None
        raise CheckpointError(f"{path}: cannot read it ({e.strerror or _reason(e)})") from None


def _open(path: Path) -> io.BufferedReader:
    """The file, open, once it is known to be a non-empty regular file that starts like a zip."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise CheckpointError(f"{path} is a folder, not a checkpoint file")
        if not stat.S_ISREG(st.st_mode):  # a fifo or device could block or never end
            raise CheckpointError(f"{path} is not a regular file, so not a nettrain checkpoint")
        f = open(path, "rb")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read it ({e.strerror or _reason(e)})") from None
    try:
        head = f.read(6)
    except OSError as e:
        f.close()
        raise CheckpointError(f"{path}: cannot read it ({e.strerror or _reason(e)})") from None
    f.seek(0)
    if not head:
        f.close()
        raise CheckpointError(f"{path} is empty (0 bytes), not a checkpoint")
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):  # a local file header, or an empty archive
        f.close()
        what = " (a single .npy array, not an .npz archive)" if head == npy_format.MAGIC_PREFIX else ""
        raise CheckpointError(f"{path} is not a nettrain checkpoint{what or ' (not an .npz archive)'}")
    return f


def _check_directory(path: Path, infos: list[zipfile.ZipInfo], archive_size: int) -> dict[str, zipfile.ZipInfo]:
    """The zip entries by name, once their count and sizes are safe to decompress (nothing read yet)."""
    if len(infos) > MAX_MEMBERS:
        raise CheckpointError(f"{path} is not a nettrain checkpoint (it has {len(infos)} members, over {MAX_MEMBERS})")
    out: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = _show(info.filename)
        if info.filename in out:
            raise CheckpointError(f"{path} is corrupt: it holds two members named {name}")
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{path}: member {name} is encrypted; not a nettrain checkpoint")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(
                f"{path}: member {name} uses an unsupported compression (zip method {info.compress_type})"
            )
        if not 0 <= info.header_offset < archive_size or info.header_offset + info.compress_size > archive_size:
            raise CheckpointError(
                f"{path} is corrupt or truncated: member {name} claims bytes {info.header_offset}"
                f"–{info.header_offset + info.compress_size}, the file has {archive_size}"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise CheckpointError(f"{path} is corrupt: stored member {name} has two different sizes")
        if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > max(
            MAX_RATIO * info.compress_size, SMALL_MEMBER
        ):
            raise CheckpointError(
                f"{path}: member {name} would expand from {_size(info.compress_size)} to {_size(info.file_size)} "
                f"(over {MAX_RATIO}×); refusing a possible zip bomb"
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise CheckpointError(f"{path}: the members add up to more than {_size(MAX_TOTAL_BYTES)}; refusing to load")
        out[info.filename] = info
    return out


def _read_header(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Member:
    """Shape, order and dtype from a member's .npy header, checked against the member's size."""
    name = _array_name(info.filename)
    with zf.open(info) as stream:
        magic = stream.read(8)
        if len(magic) < 8 or magic[:6] != npy_format.MAGIC_PREFIX:
            raise CheckpointError(f"{path}: {name} is not a .npy array; not a nettrain checkpoint")
        version = (magic[6], magic[7])
        if version not in _NPY_VERSIONS:
            raise CheckpointError(f"{path}: {name} uses .npy format version {version[0]}.{version[1]}, not 1.0 or 2.0")
        length_field = stream.read(struct.calcsize(_NPY_VERSIONS[version]))
        if len(length_field) < struct.calcsize(_NPY_VERSIONS[version]):
            raise CheckpointError(f"{path} is corrupt or truncated: {name} has no complete .npy header")
        header_len = struct.unpack(_NPY_VERSIONS[version], length_field)[0]
        if header_len > MAX_NPY_HEADER:  # checked before reading it: the field may say 4 GiB
            raise CheckpointError(f"{path} is corrupt: {name} declares a {header_len}-byte .npy header")
        header = stream.read(header_len)
        if len(header) < header_len:
            raise CheckpointError(f"{path} is corrupt or truncated: {name} has no complete .npy header")
    parse = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns about Python 2 era headers
            shape, fortran, dtype = parse(io.BytesIO(length_field + header), max_header_size=MAX_NPY_HEADER)
    except Exception:  # ast/tokenize on hostile text can raise nearly anything; the reason is the same
        raise CheckpointError(f"{path} is corrupt: the .npy header of {name} cannot be parsed") from None
    if dtype.hasobject:  # checked before any data is read: object arrays are pickles
        raise CheckpointError(
            f"{path}: {name} holds Python objects (pickled data), which nettrain never loads; "
            "not a nettrain checkpoint"
        )
    if any(n < 0 for n in shape):
        raise CheckpointError(f"{path} is corrupt: {name} declares the shape {shape}")
    data_offset = 8 + len(length_field) + header_len
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: a declared (10**12,) cannot overflow
    if nbytes > MAX_TOTAL_BYTES or data_offset + nbytes != info.file_size:
        raise CheckpointError(
            f"{path} is corrupt: {name} declares shape {shape} {dtype} ({_size(nbytes)}) "
            f"but the member holds {_size(info.file_size - data_offset)} of data"
        )
    return _Member(info, shape, fortran, dtype, data_offset)


def _read_data(path: Path, zf: zipfile.ZipFile, m: _Member) -> np.ndarray:
    """A member's array, read into one buffer of its declared size; the zip CRC is checked."""
    nbytes = m.info.file_size - m.data_offset
    buf = bytearray(nbytes)
    view = memoryview(buf)
    with zf.open(m.info) as stream:
        stream.read(m.data_offset)
        got = 0
        while got < nbytes:  # in chunks: zipfile's readinto reads into a temporary bytes object
            n = stream.readinto(view[got : got + _CHUNK])
            if not n:
                raise CheckpointError(f"{path} is corrupt or truncated: {_array_name(m.info.filename)} ends early")
            got += n
        if stream.read(1):  # also reaches the member's end, where zipfile checks the CRC
            raise CheckpointError(f"{path} is corrupt: {_array_name(m.info.filename)} has bytes after its data")
    a = np.frombuffer(buf, dtype=m.dtype)  # a writable view of the bytearray: no copy
    return a.reshape(m.shape[::-1]).T if m.fortran else a.reshape(m.shape)


def _read_meta(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    """The metadata dict: a 0-d unicode array holding a JSON object of nettrain's format."""
    m = _read_header(path, zf, info)
    if m.dtype.kind != "U" or m.shape != ():
        raise CheckpointError(
            f"{path} is not a nettrain checkpoint (meta is {m.dtype} of shape {m.shape}, not a 0-d unicode string)"
        )
    if m.dtype.itemsize // 4 > fmt.MAX_META_CHARS:
        raise CheckpointError(f"{path}: meta is {m.dtype.itemsize // 4} characters, over the {fmt.MAX_META_CHARS} limit")
    try:
        text = str(_read_data(path, zf, m).item())
        meta = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, NaN/Infinity, bad code points, deep nesting
        raise CheckpointError(f"{path}: meta is not valid JSON ({_reason(e)})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} is not a nettrain checkpoint (meta is not a JSON object)")
    if meta.get("format") != FORMAT:
        got = f"is {_brief(meta['format'])}" if "format" in meta else "is missing"
        raise CheckpointError(f"{path} is not a nettrain checkpoint (meta.format {got}, not {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path}: meta.format_version must be a positive integer (got {_brief(version)})")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format_version {version}, newer than nettrain {__version__} reads "
            f"(up to {FORMAT_VERSION}); upgrade nettrain"
        )
    return meta


def _check_names(path: Path, infos: dict[str, zipfile.ZipInfo]) -> list[str]:
    """W1, b1, W2, b2, … WL, bL: exactly the arrays present, each W with its b, none missing or extra."""
    present, extra = {}, []
    for filename in infos:
        match = _ARRAY_NAME.match(filename)
        if match:
            present[(int(match[2]), match[1])] = filename[:-4]
        else:
            extra.append(_array_name(filename))
    if extra:
        raise CheckpointError(f"{path} holds arrays a nettrain checkpoint does not: {_listing(extra)}")
    L = max((l for l, _ in present), default=0)
    if L == 0:
        raise CheckpointError(f"{path} holds no weights (no W1, b1)")
    missing = [f"{p}{l}" for l in range(1, L + 1) for p in "Wb" if (l, p) not in present]
    if missing:
        raise CheckpointError(f"{path} is missing arrays {_listing(missing)} (it has W/b up to layer {L})")
    return [f"{p}{l}" for l in range(1, L + 1) for p in "Wb"]


def _check_fits(path: Path, got: dict[str, tuple], want: dict[str, tuple]) -> None:
    """Every array the config needs, with the config's shape: all mismatches in one line."""
    problems = []
    for name in sorted(set(got) | set(want), key=_layer_order):
        if name not in got:
            problems.append(f"{name} is missing, the config needs {tuple(want[name])}")
        elif name not in want:
            problems.append(f"{name} is {got[name]}, the config has no {name}")
        elif tuple(got[name]) != tuple(want[name]):
            problems.append(f"{name} is {got[name]}, the config needs {tuple(want[name])}")
    if problems:
        raise CheckpointError(f"{path} does not fit the model in the config (model.layers): {'; '.join(problems)}")


