"""Checkpoints: exact round trips, atomic saves, and one-line CheckpointErrors for hostile files.

Every file here is real, written in tmp_path. Hostile archives are built by hand with zipfile and
numpy.lib.format so that each test breaks exactly one thing in an otherwise valid checkpoint.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy_format

from nettrain import __version__, checkpoint
from nettrain.checkpoint import FORMAT, FORMAT_VERSION, load_checkpoint, read_meta, save_checkpoint, sweep_temp_files
from nettrain.errors import CheckpointError, RunIOError
from nettrain.network import Architecture, Params, init_params
from .fuzzing import mutate

LAYERS = (4, 3, 2)
META = {"epoch": 7, "cost_history": [0.5, 0.25, 0.125], "config": {"model": {"layers": list(LAYERS)}}}


def make_params(layers=LAYERS, dtype=np.float64, seed=0) -> Params:
    params = init_params(layers, "glorot_uniform", np.random.default_rng(seed), dtype=dtype)
    for l in params.b:  # non-zero biases, so that a mix-up of blocks would show
        params.b[l][:] = np.arange(1, layers[l] + 1, dtype=dtype) / 8
    return params


def assert_same_params(got: Params, want: Params) -> None:
    assert list(got.blocks()) == list(want.blocks())
    for name, a in want.blocks().items():
        assert got.blocks()[name].dtype == a.dtype, name
        assert np.array_equal(got.blocks()[name], a), name


def npy(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    npy_format.write_array(buf, np.asanyarray(a), allow_pickle=allow_pickle)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple, fortran: bool = False) -> bytes:
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buf.getvalue()


def meta_npy(meta: dict | None = None, **override) -> bytes:
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, "nettrain_version": __version__, **(meta or {}), **override}
    return npy(np.array(json.dumps(full)))


def valid_members(params: Params | None = None) -> dict[str, bytes]:
    """The members of a valid checkpoint, as bytes, ready to be broken one at a time."""
    params = make_params() if params is None else params
    members = {f"{name}.npy": npy(a) for name, a in params.blocks().items()}
    members["meta.npy"] = meta_npy(META)
    return members


def write_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def expect_error(path: Path, *words: str, shapes=None, read=load_checkpoint) -> str:
    """load (or read_meta) fails with one CheckpointError line naming the file and each word."""
    with pytest.raises(CheckpointError) as info:
        read(path) if shapes is None else read(path, shapes)
    msg = str(info.value)
    assert path.name in msg
    for word in words:
        assert word in msg
    assert "\n" not in msg
    assert "allow_pickle" not in msg
    return msg


def peak_memory(fn) -> int:
    """Peak bytes allocated (Python and numpy) while fn runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def saved(tmp_path) -> Path:
    path = tmp_path / "run" / "checkpoints" / "epoch-7.npz"
    save_checkpoint(path, make_params(), META)
    return path


# ----------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact_and_keeps_dtype(tmp_path, dtype):
    params = make_params((5, 4, 3, 2), dtype)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, params, META)
    got, meta = load_checkpoint(path, Architecture((5, 4, 3, 2)).shapes())
    assert_same_params(got, params)
    assert sorted(got.W) == sorted(got.b) == [1, 2, 3]
    assert meta == {**META, "format": FORMAT, "format_version": FORMAT_VERSION, "nettrain_version": __version__}
    assert read_meta(path) == meta
    got.W[1][0, 0] = 42.0  # the arrays are writable: training can continue on them


def test_fortran_ordered_and_extreme_values_round_trip(tmp_path):
    params = make_params()
    params.W[1] = np.asfortranarray(params.W[1])
    params.W[2][0, 0] = np.finfo(np.float64).max  # finite edge cases survive bit for bit
    params.W[2][0, 1] = np.finfo(np.float64).tiny / 2  # subnormal
    params.W[2][1, 0] = -0.0
    save_checkpoint(tmp_path / "c.npz", params, {})
    got, _ = load_checkpoint(tmp_path / "c.npz")
    assert_same_params(got, params)
    assert np.signbit(got.W[2][1, 0])


def test_file_loads_with_plain_numpy_and_describes_itself(saved):
    with np.load(saved, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["W1", "W2", "b1", "b2", "meta"]
        assert npz["W1"].shape == (3, 4) and npz["b2"].shape == (2,)
        assert npz["meta"].shape == () and npz["meta"].dtype.kind == "U"
        meta = json.loads(npz["meta"].item())
    assert meta["format"] == "nettrain-checkpoint" and meta["format_version"] == FORMAT_VERSION
    assert meta["nettrain_version"] == __version__ and meta["epoch"] == 7
    with zipfile.ZipFile(saved) as zf:  # stored, not compressed
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_meta_takes_numpy_scalars_and_arrays_and_unicode(tmp_path):
    meta = {"epoch": np.int64(3), "cost": np.float32(0.5), "history": np.array([1.0, 2.0]), "note": "λ = 1e-4 ✓"}
    save_checkpoint(tmp_path / "c.npz", make_params(), meta)
    got = read_meta(tmp_path / "c.npz")
    assert (got["epoch"], got["cost"], got["history"], got["note"]) == (3, 0.5, [1.0, 2.0], "λ = 1e-4 ✓")


def test_same_content_gives_same_bytes_and_parent_folders_are_created(tmp_path):
    a, b = tmp_path / "x" / "y" / "a.npz", tmp_path / "b.npz"
    save_checkpoint(a, make_params(), META)
    save_checkpoint(b, make_params(), META)
    assert a.read_bytes() == b.read_bytes()


def test_save_overwrites_the_previous_checkpoint(saved):
    save_checkpoint(saved, make_params(seed=1), {"epoch": 8})
    got, meta = load_checkpoint(saved)
    assert_same_params(got, make_params(seed=1))
    assert meta["epoch"] == 8
    assert os.listdir(saved.parent) == [saved.name]


# ------------------------------------------------------------------------------ atomic save


def _raise(err: int):
    def fail(*args, **kwargs):
        raise OSError(err, os.strerror(err))

    return fail


def _partial_write(f, arrays):
    f.write(b"PK\x03\x04 half an archive")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_disk_full_leaves_the_previous_file_byte_identical(saved, monkeypatch, where):
    before = saved.read_bytes()
    if where == "write":
        monkeypatch.setattr(checkpoint.save, "_write_npz", _partial_write)
    else:
        monkeypatch.setattr(os, where, _raise(errno.ENOSPC))
    with pytest.raises(RunIOError) as info:
        save_checkpoint(saved, make_params(seed=1), {"epoch": 8})
    msg = str(info.value)
    assert str(saved) in msg and "No space left on device" in msg and "free some disk space" in msg
    assert "\n" not in msg
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]  # no temp file left


def test_permission_denied_is_a_run_io_error(saved, monkeypatch):
    # Tests may run as root, where a chmod-ed folder stays writable: make creating the temp fail.
    before = saved.read_bytes()
    monkeypatch.setattr(os, "open", _raise(errno.EACCES))
    with pytest.raises(RunIOError) as info:
        save_checkpoint(saved, make_params(seed=1), {})
    monkeypatch.undo()
    msg = str(info.value)
    assert str(saved) in msg and "Permission denied" in msg and "permissions" in msg
    assert saved.read_bytes() == before and os.listdir(saved.parent) == [saved.name]


def test_read_only_folder_for_real(saved):
    before = saved.read_bytes()
    saved.parent.chmod(0o500)
    try:
        probe = saved.parent / "probe"
        try:
            probe.touch()
        except PermissionError:
            pass
        else:
            probe.unlink()
            pytest.skip("this user can write into a read-only folder (root)")
        with pytest.raises(RunIOError, match="Permission denied"):
            save_checkpoint(saved, make_params(seed=1), {})
    finally:
        saved.parent.chmod(0o700)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == [saved.name]


def test_interrupted_save_leaves_no_temp_file(saved, monkeypatch):
    before = saved.read_bytes()

    def interrupted(f, arrays):
        f.write(b"PK\x03\x04")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.save, "_write_npz", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved, make_params(seed=1), {})
    assert saved.read_bytes() == before and os.listdir(saved.parent) == [saved.name]


# ------------------------------------------------------------------------ refused at save


@pytest.mark.parametrize(
    "block, index, value",
    [("W", (1, 2), np.nan), ("W", (0, 0), np.inf), ("b", (1,), -np.inf)],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_weights_are_never_saved(saved, block, index, value, dtype):
    before = saved.read_bytes()
    params = make_params(dtype=dtype)
    getattr(params, block)[2][index] = value
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(saved, params, {})
    msg = str(info.value)
    assert f"{block}2[{', '.join(map(str, index))}]" in msg and str(saved) in msg
    assert saved.read_bytes() == before and os.listdir(saved.parent) == [saved.name]


def test_non_float_or_inconsistent_params_are_not_saved(tmp_path):
    params = make_params()
    params.W[1] = params.W[1].astype(np.int64)
    with pytest.raises(CheckpointError, match="W1 is int64"):
        save_checkpoint(tmp_path / "c.npz", params, {})
    params = make_params()
    params.b[2] = np.zeros(5)
    with pytest.raises(CheckpointError, match=r"b2 has shape \(5,\)"):
        save_checkpoint(tmp_path / "c.npz", params, {})
    with pytest.raises(CheckpointError, match="layers 1 … L"):
        save_checkpoint(tmp_path / "c.npz", Params({1: np.zeros((2, 2))}, {}), {})
    assert not any(tmp_path.iterdir())


def test_non_finite_or_unserialisable_meta_is_not_saved(tmp_path):
    with pytest.raises(CheckpointError, match=r"meta\.cost_history\.2 is not finite"):
        save_checkpoint(tmp_path / "c.npz", make_params(), {"cost_history": [1.0, 0.5, float("nan")]})
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path / "c.npz", make_params(), {"rng": object()})
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------- not a checkpoint at all


class _Boom:
    """Unpickling this would call _unpickled: proof that a load ran pickle."""

    def __reduce__(self):
        return (_unpickled, ())


UNPICKLED = []


def _unpickled():
    UNPICKLED.append(True)


def test_missing_file_and_folder(tmp_path):
    expect_error(tmp_path / "nope.npz", "no such checkpoint file")
    (tmp_path / "dir.npz").mkdir()
    expect_error(tmp_path / "dir.npz", "is a folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    expect_error(tmp_path / "empty.npz", "empty")
    expect_error(tmp_path / "empty.npz", "empty", read=read_meta)


def test_csv_renamed_npz(tmp_path):
    path = tmp_path / "data.npz"
    path.write_text("x1,x2,y\n0.1,0.2,1\n0.3,0.4,0\n")
    expect_error(path, "is not a nettrain checkpoint (not an .npz archive)")


def test_pickle_renamed_npz_is_never_unpickled(tmp_path):
    path = tmp_path / "model.npz"
    with open(path, "wb") as f:
        pickle.dump({"W1": np.zeros((3, 4)), "boom": _Boom()}, f)
    expect_error(path, "not an .npz archive")
    assert not UNPICKLED


def test_single_npy_renamed_npz(tmp_path):
    path = tmp_path / "w.npz"
    path.write_bytes(npy(np.zeros((3, 4))))
    expect_error(path, "a single .npy array")


def test_object_array_is_refused_before_reading_it(tmp_path):
    path = tmp_path / "evil.npz"
    params = make_params()
    blocks = {name: a for name, a in params.blocks().items()}
    blocks["W1"] = np.array([[_Boom(), 1.0]], dtype=object)
    np.savez(path, allow_pickle=True, meta=np.array(json.dumps({"format": FORMAT, "format_version": 1})), **blocks)
    expect_error(path, "W1", "Python objects")
    expect_error(path, "W1", "Python objects", read=read_meta)
    assert not UNPICKLED


def test_object_meta_is_refused(tmp_path):
    members = valid_members()
    members["meta.npy"] = npy(np.array({"format": FORMAT, "boom": _Boom()}, dtype=object), allow_pickle=True)
    expect_error(write_zip(tmp_path / "evil.npz", members), "meta", "Python objects")
    assert not UNPICKLED


def test_foreign_npz_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((5, 4)), y=np.zeros(5))
    expect_error(path, "not a nettrain checkpoint", "no meta")


# ---------------------------------------------------------------------- damaged checkpoints


@pytest.mark.parametrize("keep", [1, 4, 30, 100, 0.5, -23, -22, -1])
def test_truncated_checkpoint(saved, keep):
    data = saved.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    saved.write_bytes(data[:n])
    msg = expect_error(saved)
    assert "corrupt" in msg or "not an .npz archive" in msg


@pytest.mark.parametrize("where", [0.0, 0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.97, 0.999])
@pytest.mark.parametrize("bit", [0, 7])
def test_flipped_bit_loads_identically_or_is_refused(saved, where, bit):
    data = bytearray(saved.read_bytes())
    data[int(len(data) * where)] ^= 1 << bit
    saved.write_bytes(bytes(data))
    try:
        got, meta = load_checkpoint(saved)
    except CheckpointError as e:
        assert saved.name in str(e) and "\n" not in str(e) and "allow_pickle" not in str(e)
    else:  # the flip hit something harmless, such as a timestamp
        assert_same_params(got, make_params())
        assert meta["epoch"] == META["epoch"]


def test_flipped_bit_in_weight_data_fails_the_crc(tmp_path):
    members = valid_members()
    path = write_zip(tmp_path / "c.npz", members)
    data = bytearray(path.read_bytes())
    w1 = members["W1.npy"]
    at = data.index(w1) + len(w1) - 3  # inside W1's last float
    data[at] ^= 0x10
    path.write_bytes(bytes(data))
    expect_error(path, "corrupt", "CRC")


def test_member_that_is_not_npy(tmp_path):
    members = valid_members()
    members["W1.npy"] = b"1,2,3\n4,5,6\n"
    expect_error(write_zip(tmp_path / "c.npz", members), "W1", "not a .npy array")


def test_header_size_disagreeing_with_the_data(tmp_path):
    members = valid_members()
    members["W1.npy"] = npy_header("<f8", (3, 4)) + np.zeros(11).tobytes()  # one float short
    expect_error(write_zip(tmp_path / "c.npz", members), "W1", "corrupt", "(3, 4)")


def test_unparsable_header(tmp_path):
    members = valid_members()
    header = npy_header("<f8", (3, 4))
    members["W1.npy"] = header.replace(b"'shape'", b"'shape((") + np.zeros(12).tobytes()
    expect_error(write_zip(tmp_path / "c.npz", members), "W1", "header")


def test_huge_declared_shape_is_refused_without_allocating(tmp_path):
    members = valid_members()
    members["W1.npy"] = npy_header("<f8", (10**12,)) + b"\0" * 64
    path = write_zip(tmp_path / "huge.npz", members)
    start = time.perf_counter()
    peak = peak_memory(lambda: expect_error(path, "W1", "(1000000000000,)"))
    assert time.perf_counter() - start < 5
    assert peak < 4 * 2**20


def test_huge_declared_header_length_is_refused(tmp_path):
    members = valid_members()
    members["W1.npy"] = b"\x93NUMPY\x02\x00" + (2**32 - 1).to_bytes(4, "little") + b"{" * 100
    expect_error(write_zip(tmp_path / "c.npz", members), "W1", "header")


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """W1 declared as 25e6 float64 zeros — 200 MB — deflated into a file of a few hundred KB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    members = valid_members()
    n = 25_000_000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members.items():
            if name != "W1.npy":
                zf.writestr(name, data)
        with zf.open("W1.npy", "w", force_zip64=True) as member:
            member.write(npy_header("<f8", (n,)))
            zeros = bytes(10**6)
            for _ in range(n * 8 // len(zeros)):  # 200 × 1 MB: exactly the declared data
                member.write(zeros)
    return path


@pytest.mark.robustness
def test_zip_bomb_is_refused_before_decompressing(zip_bomb):
    assert zip_bomb.stat().st_size < 2 * 2**20
    start = time.perf_counter()
    peak = peak_memory(lambda: expect_error(zip_bomb, "W1", "zip bomb"))
    assert time.perf_counter() - start < 5  # generous: the check reads no member data at all
    assert peak < 4 * 2**20
    expect_error(zip_bomb, "W1", "zip bomb", read=read_meta)


def test_deflated_checkpoint_within_limits_loads(tmp_path):
    path = tmp_path / "c.npz"
    params = make_params()
    params.b[1][:] = 0.0  # a small block of zeros compresses far more than 100×: still fine
    write_zip(path, valid_members(params), zipfile.ZIP_DEFLATED)
    got, _ = load_checkpoint(path)
    assert_same_params(got, params)


def test_unsupported_compression(tmp_path):
    expect_error(write_zip(tmp_path / "c.npz", valid_members(), zipfile.ZIP_BZIP2), "compression")


def test_too_many_members(tmp_path):
    members = valid_members()
    members.update({f"x{i}.npy": b"" for i in range(checkpoint.fmt.MAX_MEMBERS)})
    expect_error(write_zip(tmp_path / "c.npz", members), "1005 members")


def test_duplicate_member(tmp_path):
    path = write_zip(tmp_path / "c.npz", valid_members())
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as zf:
        zf.writestr("W1.npy", npy(np.ones((3, 4))))
    expect_error(path, "W1.npy", "two members")


# ------------------------------------------------------------------------ contents checked


def test_nan_inside_a_weight_array(tmp_path):
    params = make_params()
    params.W[2][1, 2] = np.nan
    expect_error(write_zip(tmp_path / "c.npz", valid_members(params)), "W2[1, 2] is nan")


def test_inf_inside_a_bias(tmp_path):
    params = make_params(dtype=np.float32)
    params.b[1][2] = -np.inf
    expect_error(write_zip(tmp_path / "c.npz", valid_members(params)), "b1[2] is -inf")


def test_missing_array(tmp_path):
    members = valid_members()
    del members["W2.npy"]
    expect_error(write_zip(tmp_path / "c.npz", members), "missing", "W2")


def test_w_without_b(tmp_path):
    members = valid_members()
    members["W3.npy"] = npy(np.zeros((2, 2)))
    expect_error(write_zip(tmp_path / "c.npz", members), "missing", "b3")


def test_extra_arrays(tmp_path):
    members = valid_members()
    members["X.npy"] = npy(np.zeros(3))
    members["W01.npy"] = npy(np.zeros(3))
    members["notes.txt"] = b"hello"
    expect_error(write_zip(tmp_path / "c.npz", members), "X, W01, notes.txt")


def test_no_weights(tmp_path):
    expect_error(write_zip(tmp_path / "c.npz", {"meta.npy": meta_npy()}), "no weights")


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.complex128, np.bool_])
def test_non_float_array(tmp_path, dtype):
    members = valid_members()
    members["W1.npy"] = npy(np.zeros((3, 4), dtype))
    expect_error(write_zip(tmp_path / "c.npz", members), "W1", "float32 or float64")


def test_big_endian_floats_load_as_native(tmp_path):
    params = make_params()
    members = valid_members(params)
    members["W1.npy"] = npy(params.W[1].astype(">f8"))
    got, _ = load_checkpoint(write_zip(tmp_path / "c.npz", members))
    assert got.W[1].dtype == np.float64 and np.array_equal(got.W[1], params.W[1])


def test_layers_that_do_not_chain(tmp_path):
    members = valid_members()
    members["W2.npy"] = npy(np.zeros((2, 5)))
    expect_error(write_zip(tmp_path / "c.npz", members), "W2 is (2, 5)", "W1 is (3, 4)")


def test_bias_of_the_wrong_shape(tmp_path):
    members = valid_members()
    members["b1.npy"] = npy(np.zeros((3, 1)))
    expect_error(write_zip(tmp_path / "c.npz", members), "b1", "(3, 1)")


def test_weight_that_is_not_a_matrix(tmp_path):
    members = valid_members()
    members["W1.npy"] = npy(np.zeros(12))
    expect_error(write_zip(tmp_path / "c.npz", members), "W1", "2 dimensions")


def test_shapes_against_the_config_list_every_mismatch(saved):
    msg = expect_error(saved, shapes=Architecture((4, 5, 2)).shapes())
    assert "W1 is (3, 4), the config needs (5, 4); b1 is (3,), the config needs (5,); W2 is (2, 3)" in msg
    msg = expect_error(saved, shapes=Architecture((4, 3, 2, 2)).shapes())
    assert "W3 is missing, the config needs (2, 2); b3 is missing" in msg
    msg = expect_error(saved, shapes=Architecture((4, 2)).shapes())
    assert "W1 is (3, 4), the config needs (2, 4)" in msg and "W2 is (2, 3), the config has no W2" in msg
    assert load_checkpoint(saved, Architecture(LAYERS).shapes())[1]["epoch"] == 7


# ------------------------------------------------------------------------------------ meta


def test_meta_missing(tmp_path):
    members = valid_members()
    del members["meta.npy"]
    expect_error(write_zip(tmp_path / "c.npz", members), "no meta")


@pytest.mark.parametrize(
    "meta_bytes, words",
    [
        (npy(np.array(1.5)), ("meta", "not a 0-d unicode")),
        (npy(np.array(["{}", "{}"])), ("meta", "not a 0-d unicode")),
        (npy(np.array("{not json")), ("meta is not valid JSON",)),
        (npy(np.array('{"format": NaN}')), ("meta is not valid JSON",)),
        (npy(np.array("[" * 100_000 + "]" * 100_000)), ("meta is not valid JSON",)),
        (npy(np.array("[1, 2]")), ("meta is not a JSON object",)),
        (npy(np.array(json.dumps({"epoch": 1}))), ("not a nettrain checkpoint", "meta.format")),
        (meta_npy(format="other-format"), ("not a nettrain checkpoint", "other-format")),
        (meta_npy(format_version=FORMAT_VERSION + 1), (f"format_version {FORMAT_VERSION + 1}", "newer", "upgrade nettrain")),
        (meta_npy(format_version="1"), ("format_version must be a positive integer",)),
        (meta_npy(format_version=0), ("format_version must be a positive integer",)),
    ],
    ids=[
        "float", "array", "not-json", "nan", "deeply-nested", "json-list", "no-format", "other-format",
        "newer-version", "string-version", "version-0",
    ],
)
def test_bad_meta(tmp_path, meta_bytes, words):
    members = valid_members()
    members["meta.npy"] = meta_bytes
    path = write_zip(tmp_path / "c.npz", members)
    expect_error(path, *words)
    expect_error(path, *words, read=read_meta)


def test_meta_over_the_size_limit(tmp_path, monkeypatch):
    members = valid_members()
    members["meta.npy"] = meta_npy(notes="x" * 500)
    path = write_zip(tmp_path / "c.npz", members)
    monkeypatch.setattr(checkpoint.fmt, "MAX_META_CHARS", 300)
    expect_error(path, "meta", "over the 300 limit")
    with pytest.raises(CheckpointError, match="over the 300 limit"):
        save_checkpoint(tmp_path / "d.npz", make_params(), {"notes": "x" * 500})


def test_read_meta_does_not_read_weight_data(tmp_path):
    params = make_params()
    params.W[1][0, 0] = np.nan
    path = write_zip(tmp_path / "c.npz", valid_members(params))
    assert read_meta(path)["epoch"] == 7
    expect_error(path, "W1[0, 0] is nan")


# ------------------------------------------------------------------------------ temp files


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_stale_temp_files(tmp_path):
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    mine = tmp_path / f".latest.npz.tmp-{os.getpid()}-0123abcd"
    dead = ckpts / f".epoch-3.npz.tmp-{_dead_pid()}-deadbeef"
    live = ckpts / f".epoch-4.npz.tmp-{os.getppid()}-0badf00d"  # another live process may be saving
    keep = [tmp_path / "latest.npz", ckpts / "epoch-3.npz", tmp_path / ".hidden", tmp_path / "a.tmp-1-0123abcd"]
    for p in [mine, dead, live, *keep]:
        p.write_bytes(b"x")
    (tmp_path / f".dir.tmp-{os.getpid()}-0123abcd").mkdir()  # not a file: left alone
    removed = sweep_temp_files(tmp_path)
    assert sorted(removed) == sorted([mine, dead])
    assert all(p.exists() for p in [live, *keep]) and not mine.exists() and not dead.exists()
    assert sweep_temp_files(tmp_path) == []
    assert sweep_temp_files(tmp_path / "missing") == []


def test_sweep_finds_the_temp_file_of_a_killed_save(saved, monkeypatch):
    # A save killed between writing and renaming (kill -9: no cleanup runs) leaves its temp file.
    monkeypatch.setattr(os, "replace", lambda *a: None)  # the save "dies" just before its rename
    save_checkpoint(saved, make_params(seed=1), {})
    monkeypatch.undo()
    leftovers = [p for p in saved.parent.iterdir() if p != saved]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(f".{saved.name}.tmp-")
    assert sweep_temp_files(saved.parent.parent) == leftovers
    assert os.listdir(saved.parent) == [saved.name]


# ------------------------------------------------------------------------ property: fuzzing


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("fuzz")
    save_checkpoint(folder / "orig.npz", make_params(), META)
    return folder, (folder / "orig.npz").read_bytes()


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**16), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 2**16)),
    st.tuples(st.just("insert"), st.integers(0, 2**16), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("delete"), st.integers(0, 2**16), st.integers(1, 12)),
)


@pytest.mark.robustness
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_checkpoint_loads_identically_or_raises_checkpoint_error(original, ops):
    folder, data = original
    path = folder / "mutated.npz"
    path.write_bytes(mutate(data, ops))
    try:
        got, meta = load_checkpoint(path, Architecture(LAYERS).shapes())
    except CheckpointError as e:
        msg = str(e)
        assert path.name in msg and "\n" not in msg and "allow_pickle" not in msg
    else:  # the zip CRCs make a silently different load impossible
        assert_same_params(got, make_params())
        assert meta["epoch"] == 7 and meta["cost_history"] == META["cost_history"]


def test_raw_json_values_are_spliced_into_the_metadata_as_they_are(tmp_path):
    """A RawJSON value (encoded once by the caller) reads back exactly as the value it encodes."""
    rows = [[0, 1.5, None], [1, 0.25, 1e-300]]
    params = make_params()
    save_checkpoint(tmp_path / "a.npz", params, {"epoch": 1, "history": {"rows": rows}})
    save_checkpoint(tmp_path / "b.npz", params, {"epoch": 1, "history": checkpoint.json_text({"rows": rows})})
    assert read_meta(tmp_path / "a.npz") == read_meta(tmp_path / "b.npz")
    assert read_meta(tmp_path / "b.npz")["history"] == {"rows": rows}
    with pytest.raises(CheckpointError, match=r"the history\.rows\.1\.1 is not finite"):
        checkpoint.json_text({"rows": [[0, 1.0], [1, float("nan")]]}, "the history")


def test_write_text_replaces_a_file_whole_or_not_at_all(tmp_path, monkeypatch):
    """metrics.csv, config.yaml and predictions are written as checkpoints are: temp file, fsync,
    rename. A failure at any step leaves the old bytes and no temp file, and names the file."""
    target = tmp_path / "out" / "metrics.csv"
    checkpoint.write_text(target, "epoch,cost\r\n0,λ\n")  # the folder is made; bytes exactly as given, UTF-8
    assert target.read_bytes() == "epoch,cost\r\n0,λ\n".encode()
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(checkpoint.save.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    checkpoint.write_text(target, "epoch,cost\n0,0.5\n")
    assert target.read_text() == "epoch,cost\n0,0.5\n" and len(synced) >= 1  # the data reached the disk first

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint.save.os, "fsync", full)
    with pytest.raises(RunIOError, match=rf"^cannot write {target}: No space left on device: check free space"):
        checkpoint.write_text(target, "something else")
    assert target.read_text() == "epoch,cost\n0,0.5\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.csv"]  # no temp file left
