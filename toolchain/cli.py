"""The `reidtool` command line (CONTRACTS §1).

Every command is a thin layer: parse arguments, load the config once (`load_config`), call one
function of a stage. A `ReidtoolError` is printed as one line and exits with its exit code
(1 the job failed, 2 bad usage, bad config or a missing tool); `--debug` shows tracebacks.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from toolchain import __version__
from toolchain.errors import ReidtoolError, UsageError

console = Console(stderr=True)
app = typer.Typer(
    name="reidtool",
    help="Train, quantize, generate C for and evaluate on-device person re-identification models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Configuration reference.", no_args_is_help=True)
board_app = typer.Typer(help="Boards started by reidtool (qemu-m55, host).", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(board_app, name="board")

_STATE = {"debug": False}
#: Commands taking a config and Hydra overrides accept unknown tokens (`+key=v`, `~key`).
CONFIG_COMMAND = {"allow_extra_args": True, "ignore_unknown_options": True}


def _version(value: bool) -> None:
    if value:
        print(f"reidtool {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _STATE["debug"] = debug
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=debug)],
    )
    for noisy in (
        "tensorflow",
        "absl",
        "h5py",
        "matplotlib",
        "PIL",
        "mlflow",
        "alembic",
        "urllib3",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# --------------------------------------------------------------------------- config commands


def _split_config_args(args: list[str], config_path: str | None, config_name: str | None):
    """FILE.yaml (first argument ending in .yaml/.yml) or --config-path/--config-name; the rest
    are Hydra overrides."""
    file = None
    overrides = []
    for arg in args:
        if (
            file is None
            and config_name is None
            and arg.endswith((".yaml", ".yml"))
            and "=" not in arg
        ):
            file = arg
        elif arg.startswith("-") and not arg.startswith("--"):
            raise UsageError(f"unknown option {arg}")
        elif arg.startswith("--"):
            raise UsageError(f"unknown option {arg.split('=')[0]}; overrides are written key=value")
        else:
            overrides.append(arg)
    if file is None and config_name is None:
        raise UsageError(
            "no configuration: give FILE.yaml or --config-path DIR --config-name NAME.yaml"
        )
    return file, overrides


def _load(ctx_args: list[str], config_path, config_name, operation_mode=None):
    from toolchain.config import load_config

    file, overrides = _split_config_args(ctx_args, config_path, config_name)
    return load_config(
        file,
        config_path=config_path,
        config_name=config_name,
        overrides=overrides,
        operation_mode=operation_mode,
    )


ConfigPath = Annotated[str | None, typer.Option("--config-path", help="Folder of the config file.")]
ConfigName = Annotated[
    str | None, typer.Option("--config-name", help="Config file name in --config-path.")
]


def _run(ctx: typer.Context, config_path, config_name, operation_mode) -> None:
    from toolchain.modes import preflight, run_mode
    from toolchain.report import print_run_summary

    loaded = _load(ctx.args, config_path, config_name, operation_mode)
    preflight(loaded)
    console.print(
        f"[bold]reidtool[/] {loaded.cfg.operation_mode} → run directory {loaded.run.root}"
    )
    run_mode(loaded)
    print_run_summary(loaded.run)


@app.command(context_settings=CONFIG_COMMAND)
def run(ctx: typer.Context, config_path: ConfigPath = None, config_name: ConfigName = None) -> None:
    """Run the operation mode (or chain) of a config: reidtool run FILE.yaml [OVERRIDES...]."""
    _run(ctx, config_path, config_name, None)


def _mode_command(name: str, mode: str, doc: str) -> None:
    def command(
        ctx: typer.Context, config_path: ConfigPath = None, config_name: ConfigName = None
    ) -> None:
        _run(ctx, config_path, config_name, mode)

    command.__doc__ = doc
    app.command(name, context_settings=CONFIG_COMMAND)(command)


for _name, _mode, _doc in (
    ("train", "training", "Train an embedder (operation_mode training)."),
    (
        "evaluate",
        "evaluation",
        "Evaluate a model: rank-1/5/10, mAP, mINP (operation_mode evaluation).",
    ),
    (
        "quantize",
        "quantization",
        "Quantize to a full-int8 TFLite model (operation_mode quantization).",
    ),
    ("predict", "prediction", "Rank a gallery for each query (operation_mode prediction)."),
    (
        "benchmark",
        "benchmarking",
        "Footprint: params, MACs, weights, arena, firmware (operation_mode benchmarking).",
    ),
    (
        "deploy",
        "deployment",
        "Generate, build and flash for deployment.board (operation_mode deployment).",
    ),
):
    _mode_command(_name, _mode, _doc)


@app.command("augment-preview")
def augment_preview(
    config: Annotated[Path, typer.Argument(help="Config file.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Images to show.")] = 8,
    out: Annotated[Path | None, typer.Option("--out", help="PNG file to write.")] = None,
) -> None:
    """Save a grid of training crops before and after data augmentation."""
    from toolchain.config import load_config
    from toolchain.training.augment_preview import augment_preview as preview

    loaded = load_config(config, create_run_dir=False)
    print(preview(loaded.cfg, n, out))


@app.command("plot-lr")
def plot_lr(
    config: Annotated[Path, typer.Argument(help="Config file.")],
    out: Annotated[Path | None, typer.Option("--out", help="PNG file to write.")] = None,
) -> None:
    """Plot the learning-rate schedule of training.callbacks over training.epochs."""
    from toolchain.config import load_config
    from toolchain.training.schedulers import plot_lr as plot

    loaded = load_config(config, create_run_dir=False)
    print(plot(loaded.cfg, out))


@config_app.command("schema")
def config_schema(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/config.md.")] = False,
) -> None:
    """Print every configuration key: type, default and meaning."""
    from toolchain.config.reference import schema_markdown, schema_text

    print(schema_markdown() if markdown else schema_text(), end="")


# --------------------------------------------------------------------------- data


@app.command("make-dataset")
def make_dataset(
    out: Annotated[Path, typer.Argument(help="Output folder (gets reid_train/ and reid_test/).")],
    identities: Annotated[int, typer.Option(min=2, help="Players in total.")] = 100,
    images_per_id: Annotated[int, typer.Option(min=2, help="Images per player.")] = 10,
    query_per_id: Annotated[int, typer.Option(min=1, help="Query images per test player.")] = 1,
    test_fraction: Annotated[
        float, typer.Option(min=0.01, max=0.99, help="Share of players in the test set.")
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Same seed, byte-identical files.")] = 0,
    height: Annotated[int, typer.Option(min=16, help="Image height.")] = 128,
    width: Annotated[int, typer.Option(min=8, help="Image width.")] = 64,
    difficulty: Annotated[
        float, typer.Option(min=0.0, max=3.0, help="0 clean renders, 1 default nuisances, up to 3.")
    ] = 1.0,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output folders.")] = False,
) -> None:
    """Write a synthetic sports-player ReID set in the seed layout."""
    from toolchain.data.synthetic import make_dataset as make

    summary = make(
        out,
        identities=identities,
        images_per_id=images_per_id,
        query_per_id=query_per_id,
        test_fraction=test_fraction,
        seed=seed,
        height=height,
        width=width,
        difficulty=difficulty,
        overwrite=overwrite,
    )
    counts = {k: v for k, v in summary.items() if isinstance(v, int)}
    console.print(
        f"synthetic dataset in {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    )


# --------------------------------------------------------------------------- C, firmware, boards


@app.command()
def generate(
    model: Annotated[Path, typer.Argument(help="The int8 .tflite model.")],
    out: Annotated[Path, typer.Option("--out", help="Project folder to write.")],
    board: Annotated[
        str, typer.Option(help="qemu-m55, host, STM32N6570-DK (alias STM32N6).")
    ] = "qemu-m55",
    backend: Annotated[
        str, typer.Option(help="builtin (reidtool's generator) or stedgeai (ST's, when installed).")
    ] = "builtin",
    name: Annotated[str, typer.Option(help="C name prefix of the network.")] = "reid",
    neural_art: Annotated[
        Path | None,
        typer.Option("--neural-art", help="stedgeai on the N6: the Neural-ART profile file."),
    ] = None,
    optimization: Annotated[
        str, typer.Option(help="stedgeai: balanced, time or ram.")
    ] = "balanced",
) -> None:
    """Turn an int8 TFLite model into a C firmware project for a board."""
    from toolchain.backends import generate_project_with_backend
    from toolchain.stedgeai import StEdgeAiOptions

    if not model.is_file():
        raise UsageError(f"model file {model} does not exist")
    command = "reidtool " + " ".join(sys.argv[1:])
    options = StEdgeAiOptions.from_config(
        {"optimization": optimization, "neural_art": str(neural_art) if neural_art else None}
    )
    generate_project_with_backend(
        model, out, board=board, backend=backend, name=name, stedgeai=options, command=command
    )
    console.print(f"project for {board} in {out}")


@app.command()
def build(project: Annotated[Path, typer.Argument(help="Project folder.")] = Path(".")) -> None:
    """Compile a generated project (make) and print its size table."""
    from toolchain.boards.build import build_project

    build_project(project, echo=True)


def _latest_firmware() -> Path:
    runs = sorted(
        Path("experiments_outputs").glob("*/firmware/project.json"), key=lambda p: p.stat().st_mtime
    )
    if not runs:
        raise UsageError("no project given and no experiments_outputs/*/firmware project found")
    return runs[-1].parent


@app.command()
def flash(
    project: Annotated[
        Path | None, typer.Argument(help="Project folder (default: the latest run's firmware/).")
    ] = None,
    board: Annotated[str, typer.Option("--board", help="Board to flash or start.")] = ...,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the commands only.")] = False,
    boot: Annotated[
        str,
        typer.Option(
            "--boot", help="STM32N6: development (load to RAM and run) or flash (sign, program)."
        ),
    ] = "development",
) -> None:
    """Program a board, or start a virtual one and print its URL."""
    from toolchain.boards.flash import flash as do_flash

    do_flash(project or _latest_firmware(), board, dry_run=dry_run, boot=boot)


@board_app.command("stop")
def board_stop(
    project: Annotated[Path | None, typer.Argument(help="Project whose board to stop.")] = None,
    all_boards: Annotated[
        bool, typer.Option("--all", help="Stop every board reidtool started.")
    ] = False,
) -> None:
    """Stop boards started by `reidtool flash` (by process group)."""
    from toolchain.boards.process import stop_boards

    stopped = stop_boards(project, all=all_boards or project is None)
    console.print(f"stopped {len(stopped)} board(s)")


@app.command("hil-eval", context_settings=CONFIG_COMMAND)
def hil_eval(
    ctx: typer.Context,
    config_path: ConfigPath = None,
    config_name: ConfigName = None,
    port: Annotated[
        list[str] | None, typer.Option("--port", help="Board URL (repeat for several boards).")
    ] = None,
    baud: Annotated[int | None, typer.Option("--baud", help="Line rate (default 921600).")] = None,
    fail_under: Annotated[
        list[str] | None, typer.Option("--fail-under", help="KEY=VALUE gate on metrics.json.")
    ] = None,
    allow_mismatch: Annotated[
        bool,
        typer.Option("--allow-mismatch", help="Do not fail on bytes that differ from the oracle."),
    ] = False,
) -> None:
    """Evaluate the run's int8 model on a board: on-device rank-1/mAP, bit-exact check."""
    from host.device_eval import hil_eval as evaluate_on_board
    from toolchain.gates import check_fail_under, parse_gate

    for gate in fail_under or ():
        parse_gate(gate)  # bad gates fail before the board is touched
    loaded = _load(ctx.args, config_path, config_name)
    evaluate_on_board(loaded, ports=port or None, baud=baud, allow_mismatch=allow_mismatch or None)
    check_fail_under(loaded.run.read_metrics(), fail_under or (), block="device")


@app.command()
def validate(
    project: Annotated[Path, typer.Argument(help="Project folder (holds model.tflite).")] = Path(
        "."
    ),
    port: Annotated[str | None, typer.Option("--port", help="URL of a running board.")] = None,
    board: Annotated[
        str | None, typer.Option("--board", help="Board to start from the project.")
    ] = None,
    inputs: Annotated[
        Path | None, typer.Option("--inputs", help="X.npy inputs (random if absent).")
    ] = None,
    outputs: Annotated[
        Path | None, typer.Option("--outputs", help="Where to save the board's outputs.")
    ] = None,
    reference: Annotated[
        Path | None, typer.Option("--reference", help="Expected outputs (default: the oracle).")
    ] = None,
    baud: Annotated[int, typer.Option("--baud")] = 921600,
) -> None:
    """Compare a board's outputs with the oracle's on given or random inputs."""
    from host.validate import validate as run_validate

    if (port is None) == (board is None):
        raise UsageError("give exactly one of --port URL or --board BOARD")
    result = run_validate(
        project,
        port=port,
        board=board,
        inputs=inputs,
        outputs=outputs,
        reference=reference,
        baud=baud,
    )
    console.print(result)
    if result.get("exact_match_fraction", 0.0) < 1.0:
        raise ReidtoolError(
            f"validation: {result['exact_match_fraction']:.4f} of outputs match the reference "
            f"(max abs diff {result.get('max_abs_diff')})"
        )


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (CONTRACTS §1)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
    except ReidtoolError as err:
        if debug:
            console.print_exception()
        console.print(f"[red]error:[/] {err}", markup=True, highlight=False, soft_wrap=True)
        return err.exit_code
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        console.print("aborted")
        return 130
    except KeyboardInterrupt:
        console.print("interrupted: run the same command again to resume")
        return 130
    except Exception as err:  # click's usage errors, then anything unexpected
        if hasattr(err, "show") and isinstance(getattr(err, "exit_code", None), int):
            err.show()  # typer's (click's) usage errors
            return err.exit_code
        from toolchain.data.pipeline import dataset_error_from

        carried = dataset_error_from(err)  # a bad file TensorFlow found mid-stream
        if carried is not None and not debug:
            console.print(f"[red]error:[/] {carried}", highlight=False, soft_wrap=True)
            return carried.exit_code
        if debug:
            console.print_exception()
        else:
            console.print(
                f"[red]internal error:[/] {type(err).__name__}: {err} (run with --debug for the traceback)",
                soft_wrap=True,
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
