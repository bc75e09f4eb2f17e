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

One job per module: save.py (atomic writes, the sweep of temp files), load.py (the hostile-input-safe
read), fmt.py (the names, limits and wording both share).

Left out on purpose: which checkpoint to resume from and what the metadata means (runfolder.py, trained.py),
config validation (config.py), and the math (network.py).
"""

from .fmt import FORMAT, FORMAT_VERSION
from .load import load_checkpoint, load_state, read_meta
from .save import RawJSON, json_text, save_checkpoint, sweep_temp_files, write_bytes, write_text

__all__ = ["FORMAT", "FORMAT_VERSION", "RawJSON", "json_text", "load_checkpoint", "load_state", "read_meta",
           "save_checkpoint", "sweep_temp_files", "write_bytes", "write_text"]
