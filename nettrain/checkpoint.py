"""The checkpoint format: W1 … WL, b1 … bL and JSON metadata in one uncompressed .npz; atomic save, safe load.

A checkpoint is what np.savez writes — a zip of .npy members — and loads with plain
`numpy.load(path, allow_pickle=False)`:

    W{l}.npy    W⁽ˡ⁾, shape (s_{l+1}, s_l), float32 or float64     l = 1 … L (L = nl − 1)
    b{l}.npy    b⁽ˡ⁾, shape (s_{l+1},), same dtype
    opt_{name}.npy  (format 2) the optimizer's state, one flat float array each — momentum's v,
                Adam's m and v — so that a resumed run continues exactly; absent for gd and lbfgs
    meta.npy    a 0-d unicode array holding one JSON object: {"format": "nettrain-checkpoint",
                "format_version": 2, "nettrain_version": …} plus whatever the caller saves
                (resolved config, epoch, metrics.csv's row count and digest, preprocessing, the
                optimizer's step count and the shuffling generator's state, …)

Format 1 (no opt_ arrays) still loads: its weights serve eval, predict and model.init.from.

Saving is atomic: the archive is written to a temp file beside the target, fsynced and renamed
over it, so a crash or a full disk leaves the previous checkpoint as it was. Nothing non-finite
is ever written.

Loading treats the file as hostile. The zip directory, then every member's .npy header, are
checked before any array data is decompressed or read: sizes against the archive and a cap
(zip bombs, headers declaring huge shapes), dtypes (nothing is ever unpickled), names, shapes
and the metadata. Only then are the arrays read, straight from the zip members, and checked for
NaN/inf. Every failure is one CheckpointError line naming the file and, where it applies, the
array.

Left out on purpose: which checkpoint to resume from and what the metadata means (runfolder.py, trained.py),
config validation (config.py), and the math (network.py).
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import secrets
import stat
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Callable, NamedTuple, Optional, Sequence

import numpy as np
from numpy.lib import format as npy_format

from .version import __version__
from .errors import CheckpointError, RunIOError
from .network import Params

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


# ----------------------------------------------------------------------------------------- save


def save_checkpoint(path: Path, params: Params, meta: dict, also: Sequence[Path] = (),
                    state: Optional[dict] = None) -> None:
    """Write params and meta to `path` atomically; the previous file stays intact on any failure.

    Each path in `also` then gets the same checkpoint, in order, each atomically: a hard link to
    `path` under a temp name, renamed into place (no second write or fsync of the same bytes), or,
    where the file system has no hard links, a second write.

    Raises CheckpointError (nothing written) for non-finite or non-float weights, inconsistent
    shapes, or metadata that is not finite JSON; RunIOError for a failed write (disk full,
    permission denied, …).
    """
    path = Path(path)
    where = f"cannot save {path}"
    layers = list(range(1, len(params.W) + 1))
    if not layers or sorted(params.W) != layers or sorted(params.b) != layers:
        raise CheckpointError(
            f"{where}: params must hold W and b for layers 1 … L (got W {sorted(params.W)}, b {sorted(params.b)})"
        )
    arrays = {name: _native(np.asarray(a)) for name, a in params.blocks().items()}
    for name, a in arrays.items():
        _check_dtype(where, name, a.dtype)
        _check_finite(where, name, a)
    _check_layout(where, {name: a.shape for name, a in arrays.items()})
    for name, a in (state or {}).items():  # the optimizer's state: flat float arrays, finite like the weights
        key = f"opt_{name}"
        if not _STATE_NAME.match(key + ".npy"):
            raise CheckpointError(f"{where}: {name!r} is not a valid optimizer state name")
        a = _native(np.asarray(a))
        _check_dtype(where, key, a.dtype)
        _check_finite(where, key, a)
        arrays[key] = a
    arrays["meta"] = np.array(_meta_json(where, meta))  # 0-d, dtype <U{len}
    def write(f: BinaryIO) -> None:
        _write_npz(f, arrays)

    def failed(target: Path, e: OSError) -> str:
        return f"cannot save checkpoint {target}: {e.strerror or e} ({_io_hint(e)})"

    _publish(path, lambda folder: _written_temp(folder, path.name, write), failed)
    for other in map(Path, also):
        _publish(other, lambda folder: _linked_temp(path, folder, other.name) or _written_temp(folder, other.name, write),
                 failed)


def write_text(path: Path, text: str) -> None:
    """Write a text file (UTF-8, line ends as given) the way a checkpoint is saved: atomically and
    durably, a failure leaving the previous file as it was and no temp file (RunIOError naming it)."""
    path, data = Path(path), text.encode("utf-8")
    _publish(path, lambda folder: _written_temp(folder, path.name, lambda f: f.write(data)),
             lambda target, e: f"cannot write {target}: {e.strerror or e}: check free space and permissions")


def _publish(path: Path, make_temp: Callable[[Path], Path], failed: Callable[[Path, OSError], str]) -> None:
    """Put a file at `path` atomically: make_temp(folder) leaves it complete and durable under a temp
    name in path's folder (and removes it itself if it fails); it is renamed over path, and the
    rename made durable. Any failure, Ctrl-C included, leaves path as it was and no temp file; an
    OSError becomes RunIOError(failed(path, error))."""
    folder = path.parent
    tmp: Optional[Path] = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = make_temp(folder)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
    except OSError as e:
        raise RunIOError(failed(path, e)) from None
    finally:
        _remove(tmp)


def _written_temp(folder: Path, name: str, write: Callable[[BinaryIO], Any]) -> Path:
    """A new temp file for `name`, filled by write(f) and fsynced; its path."""
    tmp, fd = _create_temp(folder, name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _remove(tmp)
        raise
    return tmp


# link() errors that mean "no hard links here" (FAT, some network and FUSE file systems): write instead
_NO_LINKS = {errno.EPERM, errno.EMLINK, errno.EXDEV, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def _linked_temp(src: Path, folder: Path, name: str) -> Optional[Path]:
    """A temp name for `name` made a hard link to src (already saved and fsynced); None where the
    file system cannot link (the caller writes the file instead)."""
    try:
        return _link_temp(src, folder, name)
    except OSError as e:
        if e.errno in _NO_LINKS:
            return None
        raise


def _remove(tmp: Optional[Path]) -> None:
    if tmp is not None:
        try:
            tmp.unlink()
        except OSError:
            pass


def sweep_temp_files(folder: Path) -> list[Path]:
    """Remove temp files left by interrupted saves in `folder` and `folder/checkpoints`; return them.

    A temp file whose writer (the pid in its name) is another live process is kept: that save
    may still be running. Call this when this process is not saving.
    """
    folder = Path(folder)
    removed = []
    for d in (folder, folder / "checkpoints"):
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as e:
            raise RunIOError(f"cannot list {d}: {e.strerror or e} ({_io_hint(e)})") from None
        for entry in entries:
            m = _TEMP_NAME.match(entry.name)
            if not m or not entry.is_file(follow_symlinks=False):
                continue
            pid = int(m["pid"])
            if pid != os.getpid() and _pid_alive(pid):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            except OSError as e:
                raise RunIOError(f"cannot remove {entry.path}: {e.strerror or e} ({_io_hint(e)})") from None
            removed.append(Path(entry.path))
    return removed


def _native(a: np.ndarray) -> np.ndarray:
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))


class RawJSON(str):
    """A metadata value already encoded as finite JSON text (json_text makes it): save_checkpoint puts
    it into the metadata as it is. A value that is the same in every save of a run — its resolved
    config, its preprocessing — is so encoded once, not on every save."""


def json_text(value: Any, where: str = "meta") -> RawJSON:
    """`value` as JSON text, as save_checkpoint would encode it; CheckpointError if it is not finite JSON."""
    try:
        return RawJSON(json.dumps(value, allow_nan=False, ensure_ascii=False, default=_json_default))
    except ValueError:  # allow_nan=False: a NaN or inf somewhere
        key = _first_nonfinite(value)
        raise CheckpointError(f"{where}{'.' + key if key else ''} is not finite (JSON has no NaN/inf)") from None
    except TypeError as e:
        raise CheckpointError(f"{where} is not JSON-serialisable ({e})") from None


def _meta_json(where: str, meta: dict) -> str:
    """The metadata as JSON text, with nettrain's format keys; numpy scalars and arrays become JSON.

    Top-level RawJSON values are spliced in as they are, after the other keys.
    """
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where}: meta must be a dict (got {type(meta).__name__})")
    full = {**meta, "format": FORMAT, "format_version": FORMAT_VERSION, "nettrain_version": __version__}
    raw = {k: v for k, v in full.items() if isinstance(v, RawJSON)}
    text = json_text({k: v for k, v in full.items() if k not in raw}, f"{where}: meta")
    if raw:
        text = text[:-1] + "".join(f", {json_text(str(k), where)}: {v}" for k, v in raw.items()) + "}"
    if len(text) > MAX_META_CHARS:
        raise CheckpointError(f"{where}: meta is {len(text)} characters of JSON, over the {MAX_META_CHARS} limit")
    return text


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _first_nonfinite(obj: Any, key: str = "") -> str:
    """Dotted key of the first non-finite float in a JSON-like tree ('' if none)."""
    if isinstance(obj, (np.generic, np.ndarray)):
        obj = obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return key
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for k, v in items:
        found = _first_nonfinite(v, f"{key}.{k}" if key else str(k))
        if found:
            return found
    return ""


def _create_temp(folder: Path, name: str) -> tuple[Path, int]:
    """A new file `.{name}.tmp-<pid>-<8 hex>` in folder, opened for writing (mode 0o666 & ~umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    while True:
        tmp = folder / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue


def _link_temp(src: Path, folder: Path, name: str) -> Path:
    """A new name `.{name}.tmp-<pid>-<8 hex>` in folder for the file src (a hard link)."""
    while True:
        tmp = folder / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.link(src, tmp)
            return tmp
        except FileExistsError:
            continue


def _write_npz(f: io.BufferedIOBase, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's layout — one stored (uncompressed) `{name}.npy` member per array."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=a.nbytes + 4096 > zipfile.ZIP64_LIMIT) as member:
                npy_format.write_array(member, a, allow_pickle=False)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable. Skipped where a folder cannot be opened or fsynced (not an error)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _io_hint(e: OSError) -> str:
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "free some disk space, then resume the run"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "check the folder's permissions, or choose a writable run folder"
    return "check the disk and the folder's permissions"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    except (OSError, OverflowError):
        return False
    return True


# ----------------------------------------------------------------------------------------- load


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
    if m.dtype.itemsize // 4 > MAX_META_CHARS:
        raise CheckpointError(f"{path}: meta is {m.dtype.itemsize // 4} characters, over the {MAX_META_CHARS} limit")
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


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


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


def _layer_order(name: str) -> tuple:
    """W1, b1, W2, b2, …: by layer, W before b; any other name last."""
    match = _ARRAY_NAME.match(f"{name}.npy")
    return (int(match[2]), match[1] != "W", "") if match else (math.inf, True, name)


def _check_finite(where: str, name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise CheckpointError(
            f"{where}: {name}[{', '.join(map(str, index))}] is {a[index]}; "
            "weights must be finite (did training diverge?)"
        )


# ------------------------------------------------------------------------------------- messages


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
