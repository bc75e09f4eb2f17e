"""Saving: a checkpoint or a text file written to a temp file beside its target, fsynced and renamed over it,
so that a crash or a full disk leaves the previous file as it was; nothing non-finite is ever written.
Also the sweep of temp files a killed save left behind.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Optional, Sequence

import numpy as np
from numpy.lib import format as npy_format

from ..errors import CheckpointError, RunIOError
from ..network import Params
from ..version import __version__
from . import fmt
from .fmt import _STATE_NAME, _TEMP_NAME, _ZIP_DATE, FORMAT, FORMAT_VERSION, _check_dtype, _check_finite, _check_layout, _native

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
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file of these bytes as write_text writes text: atomically and durably."""
    path = Path(path)
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
    if len(text) > fmt.MAX_META_CHARS:
        raise CheckpointError(f"{where}: meta is {len(text)} characters of JSON, over the {fmt.MAX_META_CHARS} limit")
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

