"""`reidtool validate`: raw tensors through the board, compared byte for byte with a reference.

Why: like `stedgeai validate --mode target`, but exact. It needs no data set and no config,
only a firmware project (its `model.tflite`) and a board: the lowest-level check that the
generated C computes what the oracle computes, on whatever inputs the user brings.

Example:
    report = validate("experiments_outputs/run/firmware", port="socket://127.0.0.1:4321")
    report["exact_match_fraction"]    # 1.0
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from host.device_eval import agreement, model_hash, run_on_boards
from host.transport import DEFAULT_BAUD
from toolchain.errors import ConfigError, ReidtoolError
from toolchain.files import atomic_write, atomic_write_json
from toolchain.oracle import Oracle

log = logging.getLogger(__name__)

#: Random inputs made when none are given.
DEFAULT_RANDOM_INPUTS = 8


def _load_npy(path: str | Path, what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what}: {path} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ConfigError(f"{what}: {path} is not a plain .npy array ({err})") from err


def random_inputs(oracle: Oracle, n: int = DEFAULT_RANDOM_INPUTS, seed: int = 0) -> np.ndarray:
    """`n` inputs shaped `(n, *input_shape[1:])` spanning the input dtype's whole range."""
    rng = np.random.default_rng(seed)
    shape = (n, *oracle.input_shape[1:])
    dtype = oracle.input_dtype
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)


def validate(
    dir: str | Path = ".",
    port: str | None = None,
    board: str | None = None,
    inputs: str | Path | None = None,
    outputs: str | Path | None = None,
    reference: str | Path | None = None,
    baud: int = DEFAULT_BAUD,
    session_kwargs: dict | None = None,
) -> dict:
    """Run inputs on the board of project `dir`, compare with the reference, write validation.json.

    Args:
        dir: the firmware project (holds `model.tflite`).
        port: URL of a running board; or
        board: a board name to start from `dir` (and stop after).
        inputs: `.npy` of N inputs `(N, *input_shape[1:])` in the input dtype; random if None.
        outputs: where to save the board's N outputs (`.npy`, output dtype).
        reference: `.npy` of expected outputs; None = the oracle on `model.tflite`.

    Returns:
        {"exact_match_fraction", "max_abs_diff", "mean_cosine", "num_inputs", "board", "url"}.
    """
    project = Path(dir)
    model = project / "model.tflite"
    if not model.is_file():
        raise ConfigError(f"validate: {project} is not a firmware project (no model.tflite)")
    if (port is None) == (board is None):
        raise ConfigError("validate: give exactly one of --port URL or --board BOARD")
    oracle = Oracle(model)
    if inputs is None:
        xs = random_inputs(oracle)
    else:
        xs = _load_npy(inputs, "--inputs")
        want = tuple(oracle.input_shape[1:])
        if (
            xs.ndim != len(want) + 1
            or tuple(xs.shape[1:]) != want
            or xs.dtype != oracle.input_dtype
        ):
            raise ConfigError(
                f"--inputs {inputs}: expected (N, {', '.join(map(str, want))}) "
                f"{oracle.input_dtype}, "
                f"received {xs.shape} {xs.dtype}"
            )
    xs = np.ascontiguousarray(xs)
    out_shape = tuple(oracle.output_shape[1:])
    out_dtype = oracle.output_dtype
    output_size = int(np.prod(out_shape)) * out_dtype.itemsize

    started = None
    url = port
    if board is not None:
        from toolchain.boards import BOARDS

        entry = BOARDS.get(board)
        started = entry() if isinstance(entry, type) else entry
        url = started.start(project)
    try:
        dev = run_on_boards(
            [x.tobytes() for x in xs],
            [url],
            expected_hash=model_hash(model),
            output_size=output_size,
            baud=baud,
            session_kwargs=session_kwargs,
        )
    finally:
        if started is not None:
            started.stop()
    got = np.stack([np.frombuffer(o, out_dtype).reshape(out_shape) for o in dev.outputs])
    if outputs is not None:
        atomic_write(outputs, lambda tmp: np.save(tmp, got), suffix=".npy")
    if reference is not None:
        ref = _load_npy(reference, "--reference")
        if ref.shape != got.shape:
            raise ConfigError(
                f"--reference {reference}: expected shape {got.shape}, received {ref.shape}"
            )
    else:
        ref = oracle.run(xs)
    quant = oracle.output_quantization if out_dtype != np.float32 else None
    report = agreement(got, ref.astype(out_dtype, copy=False), quant)
    report.update({"num_inputs": int(len(xs)), "board": dev.board, "url": url})
    atomic_write_json(project / "validation.json", report)
    if report["exact_match_fraction"] != 1.0 or report["max_abs_diff"] != 0:
        raise ReidtoolError(
            f"validate: board outputs differ from the reference: exact_match_fraction="
            f"{report['exact_match_fraction']}, max_abs_diff={report['max_abs_diff']}, "
            f"mean_cosine={report['mean_cosine']:.6f} (see {project / 'validation.json'})"
        )
    return report
