"""The command line: parse → call a plain function → render with rich → exit code.

Only this module prints and exits. Library code raises NettrainError subclasses; `handle_errors`
turns them into one line on stderr and the error's exit code (see errors.EXIT_CODES), never a
traceback. An unexpected exception prints one line and how to see the traceback (--debug).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from .cluster import SHOW_DASK_LOGS
from .errors import EXIT_CODES, NettrainError
from .render.console import err, out, print_json, progress_bar, stdout
from .version import __version__

EXIT_CODE_HELP = "Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + "."

# click's UsageError and ClickException (typer.BadParameter's bases), from click itself or typer's vendored copy
_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class _Command(TyperCommand):
    """A command whose help reads as plain click's: an argument is NAME in the usage line and in its list, not
    typer's {NAME} and NAME <path>."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in self.params:
            if isinstance(p, TyperArgument):
                p.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
                p._usage_display_name = (lambda p, more: lambda: f"{p.display_name_raw}{more}" if p.required  # type: ignore
                                         else f"[{p.display_name_raw}{more}]")(p, "..." if p.nargs == -1 else "")


class _Group(TyperGroup):
    """The app: a usage error is one line on stderr and exit 2, as every other error is one line."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except _USAGE_ERROR as e:
            if e.ctx is None or not e.args or type(e).__name__ == "NoArgsIsHelpError":
                e.show()  # no command at all: the help itself
                sys.exit(e.exit_code)
            err.print(f"nettrain: usage error: {e.format_message()} (see: {e.ctx.command_path} --help)", markup=False)
            sys.exit(2)
        except _CLICK_EXCEPTION as e:
            e.show()
            sys.exit(e.exit_code)
        except typer.Abort:
            err.print("nettrain: interrupted", markup=False)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="nettrain",
    cls=_Group,
    help="Train fully-connected neural networks from YAML configs, exactly as the UFLDL equations say.\n\n"
    "Example: nettrain fit configs/digits.yaml",
    epilog=EXIT_CODE_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}


def handle_errors(command: Callable) -> Callable:
    """Map nettrain's errors to a one-line message and exit code; anything else to exit 70."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, _CLICK_EXCEPTION):  # usage errors: _Group says them, exit 2
            raise
        except NettrainError as e:
            if _state["debug"]:
                raise
            err.print(f"nettrain: {e.kind}: {e}", markup=False)
            raise typer.Exit(e.exit_code)
        except KeyboardInterrupt:
            err.print("nettrain: interrupted", markup=False)
            raise typer.Exit(130)
        except Exception as e:  # a bug: say so in one line, without local variables
            if _state["debug"]:
                raise
            err.print(
                f"nettrain: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                "(rerun with --debug for the full traceback, and please report it)",
                markup=False,
            )
            raise typer.Exit(70)

    return wrapper


def _version(value: bool) -> None:
    if value:
        out.print(f"nettrain {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors (and on a "
                               "cluster, Dask's own log lines)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["debug"] = debug
    if debug and SHOW_DASK_LOGS not in os.environ:  # nettrain.cluster.quiet_dask: Dask's log lines too, this command
        os.environ[SHOW_DASK_LOGS] = "1"
        ctx.call_on_close(lambda: os.environ.pop(SHOW_DASK_LOGS, None))


ENTRIES = 2000  # gradcheck CONFIG: entries checked per block (a random sample of a bigger block)


@app.command(cls=_Command)
@handle_errors
def gradcheck(
    config: Optional[Path] = typer.Argument(
        None, metavar="CONFIG", help="A config file: check that network on a small sample of its data. Without it: the built-in suite."
    ),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                   help="Override a config key, e.g. --set model.layers=[64,5,10]."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Built-in suite: show every block of every case."),
    sample: int = typer.Option(20, "--sample", min=1, metavar="N", help="With CONFIG: how many training examples to check on."),
    entries: int = typer.Option(
        ENTRIES, "--entries", min=0, metavar="N", help="With CONFIG: check at most this many entries of each block, drawn at "
        "random (seeded: the same every time); 0 = every entry. Each costs four evaluations of J."
    ),
    plain: bool = typer.Option(
        False, "--plain", help="Use the tutorial's central difference alone (no Richardson step): agreement ~1e-8."
    ),
) -> None:
    """Prove backprop's gradient against a numerical one, block by block (W1, b1, W2, …).

    Central differences with ε = 1e-4, in three stages: the data term alone (λ = 0), the
    weight-decay term alone, then both (with model.sparsity, four: data, reg, the sparsity
    penalty alone, then all). Verdict per block: relative difference < 1e-7 good,
    < 1e-4 acceptable (ReLU kinks), else wrong. Exit 0 when every block passes, 1 otherwise.

    With CONFIG, a block of more than --entries entries is checked on a random sample of them
    (the tables say how many); --entries 0 checks every one.

    \b
    Examples:  nettrain gradcheck
               nettrain gradcheck configs/xor.yaml --json
               nettrain gradcheck configs/digits.yaml --entries 0
    """
    from . import config as config_mod
    from .checks import gradcheck_run
    from .render import gradcheck as render_gradcheck

    cfg = None if config is None else config_mod.load_config(config, set_)
    label = "checking gradients" if config is None else "checking gradients, block by block"
    with progress_bar(None, label, disable=json_out) as step:
        run = gradcheck_run(cfg, sample=sample, richardson=not plain, max_entries=entries or None, progress=step)
    if json_out:
        print_json(run.to_dict())
    else:
        render_gradcheck.render(out, run, every_block=config is not None or verbose)
    raise typer.Exit(0 if run.passed else 1)


# ----------------------------------------------------------------------------- fit


SET_HELP = "Override a config key before validation (repeatable), e.g. --set train.learning_rate=0.1."


@app.command(cls=_Command)
@handle_errors
def fit(
    configs: list[Path] = typer.Argument(..., metavar="CONFIG...", help="The YAML config file; several: a pipeline, "
                                         "trained in order, each into runs/<name>."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP + " With several configs: in each."),
    out_dir: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="Run folder (default runs/<name>; one "
                                           "config only)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in the run folder from its last.npz; a "
                                "pipeline: skip the finished stages, continue the one cut short."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run folder (a run folder only) with a "
                                   "new run; a pipeline: every stage's."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the resolved config with every default and exit."),
) -> None:
    """Train the config's network with its optimizer, logging J, J_data and J_reg every epoch.

    train.optimizer: gd (the tutorial's), momentum, nesterov, adam (with train.batch_size for
    minibatches) or lbfgs (the UFLDL exercises'). Writes a run folder: config.yaml, metrics.csv (one
    row per epoch; a minibatch run with log.train_cost: logged fills J on the logged rows only),
    last.npz, best.npz and checkpoints/epoch-N.npz. Ctrl-C saves the current state; --resume continues it.

    Several configs are a pipeline (a stacked autoencoder's stages, each naming the run folders of
    those before it): every config is checked first, then each stage trains in order into
    runs/<name>; the first failure stops it, naming the stage. With --resume, a finished stage
    (summary.json) is skipped, a first-order stage cut short continues, an L-BFGS stage cut short
    starts over (scipy cannot restore its memory): the files end as an uninterrupted pipeline's.

    \b
    Examples:  nettrain fit configs/digits.yaml
               nettrain fit configs/digits-lbfgs.yaml
               nettrain fit configs/digits-adam.yaml --set log.train_cost=logged
               nettrain fit configs/xor.yaml --set train.epochs=500 --out xor2
               nettrain fit configs/ufldl/self_taught_autoencoder.yaml \\
                   configs/ufldl/self_taught_features.yaml --resume
    """
    from . import config as config_mod
    from .render.fit import run_fit

    if len(configs) > 1:
        if out_dir is not None:
            raise typer.BadParameter("--out names one run folder: with several configs each stage writes "
                                     "runs/<name> (the name in its config)")
        from .render.pipeline import run_pipeline_shown

        run_pipeline_shown(out, configs, set_, resume=resume, overwrite=overwrite, print_config=print_config)
        return
    cfg = config_mod.load_config(configs[0], set_)
    if print_config:
        stdout.write(config_mod.dump_config_yaml(cfg))
        return
    run_fit(out, cfg, out_dir=out_dir, resume=resume, overwrite=overwrite)


# ----------------------------------------------------------------------------- eval, predict, schema


UNKNOWN_HELP = ("A category of --data the model lacks (data.categorical): error (one line naming it) or ignore (all "
                "zeros, as scikit-learn's handle_unknown='ignore').")


def _unknown(value: str) -> str:
    if value not in ("error", "ignore"):
        raise typer.BadParameter(f"--unknown must be error or ignore (got {value!r})")
    return value


@app.command("eval", cls=_Command)
@handle_errors
def eval_(
    target: Path = typer.Argument(..., metavar="RUN_OR_CHECKPOINT", help="A run folder (its last.npz) or a checkpoint .npz."),
    data: Optional[Path] = typer.Option(
        None, "--data", metavar="FILE", help="Evaluate on this file instead of a split of the run's data: a csv, .npz or .npy with "
        "the training features and a target per row (any rows: a single class is fine)."
    ),
    split: Optional[str] = typer.Option(
        None, "--split", metavar="test|val|train", help="Which split of the run's data: test, val or train. Default: test, or train when "
        "the run's test split is empty (the output says which)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object on stdout."),
    unknown: str = typer.Option("error", "--unknown", metavar="error|ignore", help=UNKNOWN_HELP),
) -> None:
    """Measure a trained network: J, J_data, J_reg (J_sparse and the mean ρ̂ with a sparsity penalty), and
    accuracy, the confusion matrix and per-class precision, recall and F1 (with their macro averages),
    or MSE/RMSE/R² (an autoencoder: of its reconstruction).

    The data is preprocessed exactly as in training (statistics from the checkpoint).

    \b
    Examples:  nettrain eval runs/digits
               nettrain eval runs/iris/best.npz --split val --json
    """
    from .evaluation import evaluate_run
    from .render import evaluation as render_evaluation

    if split is not None and split not in ("test", "val", "train"):
        raise typer.BadParameter(f"--split must be test, val or train (got {split!r})")
    res = evaluate_run(target, data, split, _unknown(unknown))
    if Path(target).is_dir() and Path(res["checkpoint"]).name == "best.npz" and not json_out:
        err.print(f"using {res['checkpoint']} (epoch {res['epoch']}): the run has train.early_stopping, and this is "
                  "its best state (lowest validation J_data); give RUN/last.npz for the last one", markup=False)
    if json_out:
        print_json(res)
        return
    render_evaluation.render(out, res)


@app.command(cls=_Command)
@handle_errors
def predict(
    target: Path = typer.Argument(..., metavar="RUN_OR_CHECKPOINT", help="A run folder (its last.npz) or a checkpoint .npz."),
    data: Path = typer.Option(..., "--data", metavar="FILE", help="The examples to predict (same columns as the training data)."),
    out_file: Optional[Path] = typer.Option(None, "--out", metavar="FILE",
                                            help="Write the CSV here instead of stdout."),
    unknown: str = typer.Option("error", "--unknown", metavar="error|ignore", help=UNKNOWN_HELP),
    keep: list[str] = typer.Option([], "--keep", metavar="COLUMN", help="Copy this column of the data file into "
                                   "the output, before the predictions (repeatable): an id, the true label."),
) -> None:
    """Write predictions as CSV: the class label and per-class probabilities, or the regression outputs.

    Columns: the --keep columns, then predicted_<target> (and p_<class> for each class): named unlike any column
    of the data file, so the file's own target can be kept beside its prediction.

    Raw rows as the training file had them: the run's data.categorical columns as text (a category the train
    split lacked: an error naming it, or with --unknown ignore all zeros), empty cells filled with data.missing:
    mean (refused otherwise).

    \b
    Examples:  nettrain predict runs/iris --data data/iris.csv --out pred.csv
               nettrain predict runs/penguins --data new.csv --unknown ignore
               nettrain predict runs/iris --data data/iris.csv --keep species
    """
    from . import prediction
    from .runfolder import checkpoint_of

    header, chunks = prediction.predictions(target, data, _unknown(unknown), keep)  # computed and written by the chunk
    used = checkpoint_of(target)
    if Path(target).is_dir() and used.name == "best.npz":
        err.print(f"using {used}: the run has train.early_stopping, and this is its best state (lowest validation "
                  "J_data); give RUN/last.npz for the last one", markup=False)
    if out_file is None:
        prediction.write_csv(stdout, header, chunks)  # the console's stdout: a reader that went away stops it
    else:
        n = prediction.write_predictions(out_file, header, chunks)
        err.print(f"wrote {n} predictions to {out_file}")


@app.command("export", cls=_Command)
@handle_errors
def export(
    target: Path = typer.Argument(..., metavar="RUN_OR_CHECKPOINT", help="A run folder (its last.npz, or best.npz "
                                  "after early stopping) or a checkpoint .npz."),
    out_file: Optional[Path] = typer.Option(None, "--out", metavar="FILE.onnx", help="The model to write (default "
                                            "RUN/model.onnx, or the checkpoint's name with .onnx); its folder must "
                                            "exist."),
    dtype: Optional[str] = typer.Option(None, "--dtype", metavar="float32|float64", help="The network's arithmetic "
                                        "in the model (default: the run's train.dtype); x is float64 either way."),
    unknown: str = typer.Option("error", "--unknown", metavar="error|ignore", help="A category the model lacks: "
                                "ONNX Runtime refuses the run (error) or encodes it as all zeros (ignore)."),
) -> None:
    """Write the trained network as an ONNX model of the whole prediction path from raw rows.

    The model holds what the checkpoint holds: data.missing: mean's fills, data.categorical's one-hot columns,
    the standardisation (or data.scale), data.whiten's ZCA, every layer with its activation; its outputs are
    probabilities and label (classification) or y (regression, autoencode). Inputs: x (N, numeric columns),
    float64, and one (N, 1) string input per categorical column, named by it. The label set, the columns and
    the layout are in the model's metadata. Checked with onnx.checker; needs pip install -e ".[onnx]".

    \b
    Examples:  nettrain export runs/iris
               nettrain export runs/penguins --out penguins.onnx --dtype float32
    """
    from .export import DTYPES, export_run

    if dtype is not None and dtype not in DTYPES:
        raise typer.BadParameter(f"--dtype must be float32 or float64 (got {dtype!r})")
    res = export_run(target, out_file, dtype=dtype, unknown=_unknown(unknown))
    if Path(target).is_dir() and res.checkpoint.name == "best.npz":
        err.print(f"using {res.checkpoint}: the run has train.early_stopping, and this is its best state (lowest "
                  "validation J_data); give RUN/last.npz for the last one", markup=False)
    err.print(f"wrote {res.out} ({res.size:,} bytes, {res.dtype}; inputs {', '.join(res.inputs)}; outputs "
              f"{', '.join(res.outputs)})", markup=False)


@app.command(cls=_Command)
@handle_errors
def schema() -> None:
    """Print the config's JSON Schema, for editors that validate and complete YAML.

    Example:  nettrain schema > nettrain.schema.json
    """
    from . import config as config_mod

    print_json(config_mod.json_schema())


# ----------------------------------------------------------------------------- explain, plot


@app.command(cls=_Command)
@handle_errors
def explain(
    target: Path = typer.Argument(
        ..., metavar="CONFIG_OR_RUN", help="A config (its initial weights), or a run folder / checkpoint .npz (its trained weights)."
    ),
    example: int = typer.Option(0, "--example", "-i", metavar="I", help="Which example of the train split (0-based)."),
    layer: Optional[int] = typer.Option(
        None, "--layer", "-l", metavar="L", help="Show every number of layer l only: its z, a, f′, δ, and the gradient of W⁽ˡ⁾, "
        "b⁽ˡ⁾ (the weights leaving it); 1 = input … nl = output."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object with every array in full."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                   help="With a config: override a key, e.g. --set loss=squared_error."),
    entries: int = typer.Option(
        ENTRIES, "--entries", min=0, metavar="N", help="The numerical derivative of at most this many entries of a block (a "
        "random sample, with the largest and the first; the --layer shown: all); 0 = every entry."
    ),
) -> None:
    """Walk one training example through backpropagation, every term of every equation written out.

    Forward pass (z, a = f(z), f′(z)); the output error δ⁽ⁿˡ⁾ in the loss's own form; each hidden
    δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾δⱼ⁽ˡ⁺¹⁾)·f′(zᵢ⁽ˡ⁾) with the terms of the sum; this example's gradient
    ∂J/∂Wᵢⱼ⁽ˡ⁾ = aⱼ⁽ˡ⁾δᵢ⁽ˡ⁺¹⁾ beside the numerical derivative of its cost; and how the average
    over the m examples and λW make the batch gradient. See docs/math.md for the derivation.
    Wide layers are summarised; --layer and --json give the full numbers. The numerical derivative
    costs four forward passes an entry: a block of more than --entries entries gets it on a random
    sample of them, always with the largest and the first (the --layer shown: on all).

    \b
    Examples:  nettrain explain configs/xor.yaml --example 1
               nettrain explain runs/digits --example 5 --layer 2
               nettrain explain configs/iris.yaml --set loss=squared_error --json
    """
    from . import walkthrough

    src, res = walkthrough.report(target, example, layer, set_, max_entries=entries or None)
    if json_out:
        print_json(walkthrough.for_json(res, layer))
        return
    from .render import explain as render_explain

    render_explain.render(out, res, layer)


@app.command(cls=_Command)
@handle_errors
def plot(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run folder written by nettrain fit (its metrics.csv is read)."),
    out_file: Optional[Path] = typer.Option(
        None, "--out", metavar="FILE", help="The picture to write, .png or .svg (default RUN_DIR/cost.png, with --weights "
        "RUN_DIR/weights.png)."
    ),
    weights: bool = typer.Option(
        False, "--weights", help="Draw the first layer's weights W⁽¹⁾ instead: one image tile per hidden unit, "
        "each scaled to its own range (the tutorial's display_network); the inputs must be a square image (grey) "
        "or three square planes (colour, R, G, B); a whitened run's W⁽¹⁾M, its filters on the inputs."
    ),
    whitening: bool = typer.Option(
        False, "--whitening", help="Draw the run's data.whiten instead (the PCA exercise): the variance retained "
        "against k, train patches, their PCA reduction, the eigenvalues, the covariance of the PCA-whitened rows and "
        "the ZCA-whitened patches (default RUN_DIR/whitening.png)."
    ),
) -> None:
    """Draw a run's cost curves from its metrics.csv (or, with --weights, its learned filters) to a .png or .svg.

    J, J_data and J_reg per epoch (and J_sparse for a sparse autoencoder; log scale when they span
    decades), the validation cost, and the validation accuracy or R² when the run has a val split:
    how the regularisation term trades against the data term.

    --weights draws W⁽¹⁾ of the run's last.npz (best.npz for an early-stopped run; or a checkpoint
    given instead of the folder): row j, the weights into hidden unit j, as a square tile.

    Needs matplotlib: pip install -e ".[plot]". Without it, exits 1 with a one-line message.

    \b
    Examples:  nettrain plot runs/digits
               nettrain plot runs/iris --out iris-cost.svg
               nettrain plot runs/sparse-autoencoder --weights
    """
    from . import plot as plot_mod

    if out_file is not None and out_file.suffix.lower() not in plot_mod.FORMATS:
        err.print(f"nettrain: usage error: --out {out_file}: the picture must be .png or .svg", markup=False)
        raise typer.Exit(2)
    if weights or whitening:
        from . import pictures
        from .trained import load_trained

        trained = load_trained(run_dir)
        target = out_file if out_file is not None else trained.path.parent / ("weights.png" if weights else
                                                                              "whitening.png")
        if weights:
            pictures.plot_filters(trained, target, pictures.filters_title(trained))
        else:
            pictures.plot_whitening(trained, target)
        err.print(f"wrote {target}", markup=False)
        return
    metrics = plot_mod.read_metrics(run_dir)
    target = out_file if out_file is not None else metrics.path.parent / "cost.png"
    plot_mod.plot_metrics(metrics, target)
    err.print(f"wrote {target}", markup=False)


# ----------------------------------------------------------------------------- sweep, compare, report


@app.command(cls=_Command)
@handle_errors
def sweep(
    sweep_file: Path = typer.Argument(..., metavar="SWEEP_FILE", help="The sweep file (YAML): its base config, grid or search and space, "
                                      "metric, prune, workers, cluster."),
    out_dir: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="Sweep folder (default runs/<name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the sweep in the sweep folder: ended trials are "
                                "kept, interrupted ones start over."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, metavar="N", help="Trials at once (the file's workers); 1 = "
                                          "in this process."),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Override a key of the base config in every trial (repeatable), "
                                   "e.g. --set train.epochs=500."),
) -> None:
    """Train many trials of one base config — every combination of a grid, or Optuna's random or TPE draws
    (with median pruning) — in parallel on Dask workers, each into its own run folder.

    Writes the sweep folder: trial-<k>/ (run folders), trials.csv (a row per trial: its values, status, epochs,
    J, J_data, J_reg, val J_data and accuracy or R², seconds, error), best.yaml (the best trial's config, for
    nettrain fit) and sweep.yaml (the sweep as run, what --resume checks). Trial k is the run that
    `nettrain fit BASE --set KEY=VALUE …` makes of its values, bit for bit. Ctrl-C stops and says how to
    resume. Exit 9 when the sweep ended with failed trials. Needs pip install -e ".[sweep]".

    \b
    Examples:  nettrain sweep configs/sweeps/digits-lambda.yaml
               nettrain sweep configs/sweeps/digits-tpe.yaml --workers 2
               nettrain sweep configs/sweeps/digits-lambda.yaml --resume
    """
    from .errors import TrialsFailed
    from .render.sweep import run_sweep_shown
    from .sweep import load_sweep

    res = run_sweep_shown(out, load_sweep(sweep_file, set_, workers), out_dir=out_dir, resume=resume)
    if res.failed:
        first = res.rows[res.failed[0]]
        raise TrialsFailed(f"{len(res.failed)} of {len(res.rows)} trials failed (trial-{res.failed[0]}: "
                           f"{first.get('error')}); trials.csv's error column has each reason")


@app.command(cls=_Command)
@handle_errors
def compare(
    folders: list[Path] = typer.Argument(..., metavar="RUN_OR_SWEEP", help="Run folders (nettrain fit) and sweep folders (nettrain sweep: "
                                         "each stands for its trials)."),
    out_file: Optional[Path] = typer.Option(None, "--out", metavar="FILE", help="Also draw the figure to this .png or .svg: every "
                                            "run's J, J_data, J_reg and val J_data against the epoch; per sweep, "
                                            "its metric against each swept key (needs matplotlib)."),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object instead of the table."),
) -> None:
    """Runs side by side: the config keys that differ between them (and only those), epochs, J, J_data, J_reg
    (J_sparse), val J_data and accuracy or R², test metrics (from summary.json), seconds.

    \b
    Examples:  nettrain compare runs/digits runs/digits-300
               nettrain compare runs/digits-lambda --out compare.png
               nettrain compare runs/a runs/b --json
    """
    from . import compare as compare_mod
    from . import plot as plot_mod
    from .render import compare as render_compare

    if out_file is not None and out_file.suffix.lower() not in plot_mod.FORMATS:
        err.print(f"nettrain: usage error: --out {out_file}: the picture must be .png or .svg", markup=False)
        raise typer.Exit(2)
    c = compare_mod.compare(folders)
    if json_out:
        print_json(c.to_dict())
    else:
        render_compare.render(out, c.to_dict())
    if out_file is not None:
        compare_mod.plot_comparison(c, out_file)
        err.print(f"wrote {out_file}", markup=False)


@app.command(cls=_Command)
@handle_errors
def report(
    folder: Path = typer.Argument(..., metavar="RUN_OR_SWEEP", help="A run folder (nettrain fit) or a sweep folder (nettrain sweep)."),
    out_file: Optional[Path] = typer.Option(None, "--out", metavar="FILE.html", help="The page to write (default FOLDER/report.html)."),
) -> None:
    """One self-contained HTML page of a run or a sweep: its config, cost curves, metrics, confusion matrix or
    residuals, first-layer filters, gradient check; for a sweep the sortable trials table, the validation
    curves and the best trial. Figures are inline; the page loads nothing else (needs matplotlib).

    \b
    Examples:  nettrain report runs/digits
               nettrain report runs/digits-lambda --out digits-lambda.html
    """
    from . import report as report_mod

    target = out_file if out_file is not None else folder / "report.html"
    report_mod.write_report(folder, target)
    err.print(f"wrote {target}", markup=False)


def main() -> None:
    """Entry point of the `nettrain` console script."""
    app(prog_name="nettrain")
