"""On-device evaluation: rank-1/mAP from the embeddings the board itself produced.

Why here and not in `toolchain/evaluation`: the metrics are pure functions that must not know
about boards (STYLE: the board is one embedding source plugged in from outside). This module
turns the query and gallery images into the model's input tensor bytes with the same host
function as host int8 evaluation (CONTRACTS §5), streams them to one board or a farm of boards,
keeps every answer in `device_embeddings.log` (so an interrupted run resumes), scores the
embeddings with the evaluation part's one scoring path, and checks them byte for byte against
the oracle (the LiteRT reference kernels) on the same bytes.

Example:
    block = hil_eval(load_config("configs/quickstart.yaml"), ports=["socket://127.0.0.1:4321"])
    block["rank1"], block["exact_match_fraction"]
"""

from __future__ import annotations

import collections
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from host.embedding_log import EmbeddingLog
from host.errors import HostError, SessionError
from host.protocol import crc32
from host.session import BoardSession
from host.transport import DEFAULT_BAUD, open_transport
from toolchain.errors import ConfigError, ReidtoolError

log = logging.getLogger(__name__)

# Board counter unit -> (metrics.json "counter", "unit", factor to that unit).
COUNTER_UNITS = {
    "instructions": ("icount", "instructions", 1.0),
    "cycles": ("dwt", "cycles", 1.0),
    "s": ("wallclock", "s", 1.0),
    "ms": ("wallclock", "s", 1e-3),
    "us": ("wallclock", "s", 1e-6),
    "ns": ("wallclock", "s", 1e-9),
}


def model_hash(path: str | Path) -> bytes:
    """SHA-256 of the `.tflite` bytes: what the firmware reports as its model hash."""
    return hashlib.sha256(Path(path).read_bytes()).digest()


@dataclass
class DeviceRun:
    """What the boards answered for every crop, in crop order."""

    outputs: list[bytes]
    counters: np.ndarray
    crops_run: int  # crops sent in this invocation (the rest came from the log)
    seconds: float  # wall time of sending them
    board: str
    counter_unit: str
    urls: list[str]


class BoardSource:
    """The board as an `EmbeddingSource` (`embed(uint8 batch) -> (N, D)`, `describe()`).

    Args:
        session: a connected `BoardSession`.
        output_dtype: the output tensor's dtype (int8 for reidtool models).
        output_quantization: (scale, zero point) to dequantize like the host int8 source; None
            returns the raw integers.
        to_input: crops → input tensor values (default: the crops' bytes unchanged, which is
            right for reidtool models: uint8 input, scale 1, zero point 0).
    """

    kind = "device"

    def __init__(
        self,
        session: BoardSession,
        output_dtype=np.int8,
        output_quantization: tuple[float, int] | None = None,
        to_input: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        self.session = session
        self.info = session.info or session.connect()
        self.output_dtype = np.dtype(output_dtype)
        self.output_quantization = output_quantization
        self.to_input = to_input
        self.input_shape = tuple(self.info.input_shape)
        self.counters: list[int] = []

    def embed(self, batch_uint8: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch_uint8)
        tensors = self.to_input(batch) if self.to_input is not None else batch
        outs = []
        for x in tensors:
            out, counter = self.session.infer(np.ascontiguousarray(x).tobytes())
            self.counters.append(counter)
            outs.append(np.frombuffer(out, self.output_dtype))
        raw = np.stack(outs) if outs else np.zeros((0, self.info.output_size), self.output_dtype)
        return dequantize(raw, self.output_quantization)

    def describe(self) -> dict:
        return {
            "kind": "device",
            "board": self.info.board,
            "url": self.session.transport.url,
            "model_hash": self.info.model_hash.hex(),
            "firmware": self.info.firmware_version,
        }


def dequantize(raw: np.ndarray, quantization: tuple[float, int] | None) -> np.ndarray:
    """Integer outputs → float32 exactly as the host int8 source does it."""
    if raw.dtype == np.float32 or quantization is None or quantization[0] <= 0:
        return raw.astype(np.float32) if raw.dtype != np.float32 else raw
    scale, zero_point = quantization
    return (raw.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


def agreement(device: np.ndarray, host: np.ndarray, quantization: tuple[float, int] | None) -> dict:
    """exact_match_fraction, max_abs_diff (integer steps) and mean_cosine of two output sets."""
    device = np.asarray(device).reshape(len(device), -1)
    host = np.asarray(host).reshape(len(host), -1)
    if device.shape != host.shape:
        raise HostError(
            f"device outputs {device.shape} and host outputs {host.shape} differ in shape"
        )
    if len(device) == 0:
        return {"exact_match_fraction": None, "max_abs_diff": None, "mean_cosine": None}
    exact = np.all(device == host, axis=1)
    diff = np.abs(device.astype(np.float64) - host.astype(np.float64))
    a = dequantize(device, quantization).astype(np.float64)
    b = dequantize(host, quantization).astype(np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a * b, axis=1) / (na * nb)
    cos = np.where((na == 0) & (nb == 0), 1.0, np.nan_to_num(cos, nan=0.0))
    cos = np.where(exact, 1.0, cos)  # identical vectors: exactly 1, not 1 +- rounding
    max_diff = float(diff.max())
    return {
        "exact_match_fraction": float(exact.mean()),
        "max_abs_diff": int(max_diff) if max_diff.is_integer() else max_diff,
        "mean_cosine": float(cos.mean()),
    }


def run_on_boards(
    inputs: Sequence[bytes],
    urls: Sequence[str],
    *,
    expected_hash: bytes,
    output_size: int,
    device_log: EmbeddingLog | None = None,
    baud: int = DEFAULT_BAUD,
    allow_mismatch: bool = False,
    session_kwargs: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DeviceRun:
    """Send every input not already in the log to the boards at `urls` (one thread per board,
    crops taken from one queue, so a faster board takes more), logging each answer.

    Raises:
        SessionError / ModelMismatchError / LinkClosedError: a board failed; the answers already
            received stay in the log for the rerun.
    """
    if not urls:
        raise ConfigError(
            "no board to talk to: give --port URL (evaluation.port/ports) or deployment.board"
        )
    crcs = [crc32(x) for x in inputs]
    outputs: list[bytes | None] = [None] * len(inputs)
    counters = np.zeros(len(inputs), np.uint64)
    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(inputs)):
        rec = device_log.valid_for(i, crcs[i]) if device_log is not None else None
        if rec is not None:
            outputs[i], counters[i] = rec.output, rec.counter
        else:
            todo.put(i)
    pending = todo.qsize()
    if pending < len(inputs):
        log.info(
            "resuming: %d of %d crops already in %s",
            len(inputs) - pending,
            len(inputs),
            device_log.path if device_log else "",
        )
    infos: dict[str, Any] = {}
    errors: list[BaseException] = []
    stop = threading.Event()
    lock = threading.Lock()
    done = [len(inputs) - pending]

    def worker(url: str) -> None:
        try:
            with open_transport(url, baud) as link:
                session = BoardSession(
                    link,
                    expected_hash=expected_hash,
                    allow_mismatch=allow_mismatch,
                    **(session_kwargs or {}),
                )
                info = session.connect()
                if info.output_size != output_size:
                    raise SessionError(
                        f"{url}: board output is {info.output_size} bytes, the model's is "
                        f"{output_size}"
                    )
                infos[url] = info
                taken: collections.deque[int] = collections.deque()

                def feed():
                    # Crops taken from the shared queue as this board is ready for them.
                    while not stop.is_set():
                        try:
                            i = todo.get_nowait()
                        except queue.Empty:
                            return
                        taken.append(i)
                        yield inputs[i]

                try:
                    for out, counter in session.infer_many(feed()):
                        i = taken.popleft()
                        if device_log is not None:
                            device_log.append(i, crcs[i], counter, out)
                        outputs[i], counters[i] = out, counter
                        with lock:
                            done[0] += 1
                            if progress:
                                progress(done[0], len(inputs))
                finally:
                    for i in taken:  # taken, not answered: another board or the rerun does them
                        todo.put(i)
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(err)
            stop.set()

    t0 = time.monotonic()
    if pending:
        threads = [threading.Thread(target=worker, args=(u,), daemon=True) for u in urls]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            raise
    seconds = time.monotonic() - t0
    if not pending:  # all from the log: still ask the board who it is (name, counter unit, model)
        try:
            with open_transport(urls[0], baud) as link:
                session = BoardSession(
                    link,
                    expected_hash=expected_hash,
                    allow_mismatch=allow_mismatch,
                    **(session_kwargs or {}),
                )
                infos[urls[0]] = session.connect()
        except HostError as err:
            log.warning(
                "every crop came from the log; the board at %s did not answer: %s", urls[0], err
            )
    if errors:
        raise errors[0]
    missing = [i for i, o in enumerate(outputs) if o is None]
    if missing:
        raise SessionError(f"{len(missing)} crops got no answer (first index {missing[0]})")
    first = next(iter(infos.values()), None)
    return DeviceRun(
        outputs=list(outputs),
        counters=counters,
        crops_run=pending,
        seconds=seconds,
        board=first.board if first else "",
        counter_unit=first.counter_unit if first else "",
        urls=list(urls),
    )


def inference_stats(counters: np.ndarray, unit: str) -> dict:
    """metrics.json["device"]["inference"] from the per-crop counter deltas."""
    kind, out_unit, factor = COUNTER_UNITS.get(unit, ("wallclock", unit, 1.0))
    vals = np.asarray(counters, np.float64) * factor
    if vals.size == 0:
        return {"counter": kind, "unit": out_unit, "mean": None, "min": None, "max": None}
    conv = (lambda v: int(v)) if factor == 1.0 and kind != "wallclock" else float
    return {
        "counter": kind,
        "unit": out_unit,
        "mean": float(vals.mean()),
        "min": conv(vals.min()),
        "max": conv(vals.max()),
    }


def int8_model_of(cfg: Any, run: Any) -> Path:
    """The int8 `.tflite`: `model.model_path` if it is one, else the run's quantized model."""
    from toolchain.evaluation.evaluator import cfg_value

    for key in ("model.model_path", "general.model_path"):
        value = cfg_value(cfg, key)
        if value not in (None, "", "None") and str(value).endswith(".tflite"):
            path = Path(value)
            if not path.is_file():
                raise ConfigError(f"{key}: {path} does not exist")
            return path
    candidates = sorted(Path(run.quantized_models_dir).glob("*_int8.tflite"))
    if candidates:
        return candidates[0]
    raise ConfigError(
        "on-device evaluation needs an int8 .tflite: set model.model_path to one, or "
        "quantize first "
        f"(no *_int8.tflite in {run.quantized_models_dir})"
    )


def _board_urls(cfg: Any, ports: Sequence[str] | None, board_url: str | None) -> list[str]:
    from toolchain.evaluation.evaluator import cfg_value

    if ports:
        return [str(p) for p in ports]
    cfg_ports = cfg_value(cfg, "evaluation.ports")
    if cfg_ports:
        return [str(p) for p in cfg_ports]
    port = cfg_value(cfg, "evaluation.port")
    if port:
        return [str(port)]
    return [board_url] if board_url else []


def _start_board(cfg: Any, run: Any, model: Path):
    """Generate, build and start `deployment.board` from the run's firmware project."""
    from toolchain.evaluation.evaluator import cfg_value

    try:
        from toolchain.boards import BOARDS
        from toolchain.boards.build import build_project
        from toolchain.boards.project import generate_project
    except ImportError as err:
        raise ConfigError(
            f"cannot start a board here ({err}); give --port URL of a running board"
        ) from err
    name = str(cfg_value(cfg, "deployment.board", "qemu-m55"))
    project = Path(run.firmware_dir)
    copied = project / "model.tflite"
    if not (copied.is_file() and copied.read_bytes() == model.read_bytes()):
        generate_project(model, project, board=name)
    build_project(project)
    entry = BOARDS.get(name)
    board = entry() if isinstance(entry, type) else entry
    url = board.start(project)
    return board, url


def _log_progress(done: int, total: int) -> None:
    """One log line per tenth of the crops."""
    step = max(1, total // 10)
    if done == total or done % step == 0:
        log.info("device: %d/%d crops", done, total)


def hil_eval(
    loaded: Any,
    ports: Sequence[str] | None = None,
    baud: int | None = None,
    allow_mismatch: bool | None = None,
    board_url: str | None = None,
    session_kwargs: dict | None = None,
) -> dict:
    """Evaluate the run's int8 model on a board; write and return metrics.json["device"].

    Args:
        loaded: `LoadedConfig` (`.cfg`, `.run`).
        ports: board URLs (`--port`, several = a board farm sharding the crops); default
            `evaluation.ports` / `evaluation.port`, else `board_url`, else the harness
            generates, builds and starts `deployment.board` itself and stops it afterwards.
        baud: line rate (default `evaluation.baud`, 921600).
        allow_mismatch: do not fail when the board's bytes differ from the oracle's
            (default `evaluation.allow_mismatch`).
        board_url: a board already started by the caller.
        session_kwargs: `BoardSession` options (timeouts, retries).

    Returns:
        The `device` block (CONTRACTS §3).

    Raises:
        ReidtoolError: the board's outputs differ from the oracle's (exit 1) and mismatch is not
            allowed; the block is written first so the figures are there to read.
    """
    from toolchain.evaluation.evaluator import (
        cfg_value,
        evaluate_embeddings,
        input_fn_for,
        load_test_records,
    )
    from toolchain.evaluation.sources import TFLiteSource

    cfg, run = loaded.cfg, loaded.run
    baud = int(baud or cfg_value(cfg, "evaluation.baud", DEFAULT_BAUD))
    if allow_mismatch is None:
        allow_mismatch = bool(cfg_value(cfg, "evaluation.allow_mismatch", False))
    model = int8_model_of(cfg, run)
    source = TFLiteSource(model, reference=True)
    oracle = source.oracle
    query, gallery = load_test_records(cfg)
    input_fn = input_fn_for(cfg, source.input_shape)
    crops = np.stack([input_fn(Path(r.path)) for r in (*query, *gallery)])
    tensors = np.ascontiguousarray(source.model_input(crops))
    inputs = [t.tobytes() for t in tensors]
    out_dtype = oracle.output_dtype
    out_count = int(np.prod(oracle.output_shape[1:]))
    output_size = out_count * out_dtype.itemsize
    quant = oracle.output_quantization if out_dtype != np.float32 else None
    digest = model_hash(model)

    urls = _board_urls(cfg, ports, board_url)
    board = None
    if not urls:
        board, url = _start_board(cfg, run, model)
        urls = [url]
    try:
        with EmbeddingLog.open(run.device_log_path, digest, output_size) as device_log:
            dev = run_on_boards(
                inputs,
                urls,
                expected_hash=digest,
                output_size=output_size,
                device_log=device_log,
                baud=baud,
                allow_mismatch=allow_mismatch,
                session_kwargs=session_kwargs,
                progress=_log_progress,
            )
    finally:
        if board is not None:
            board.stop()

    device_raw = np.stack([np.frombuffer(o, out_dtype) for o in dev.outputs])
    host_raw = oracle.run(tensors).reshape(len(tensors), -1)
    agree = agreement(device_raw, host_raw, quant)
    emb = dequantize(device_raw, quant)
    nq = len(query)
    metric = str(cfg_value(cfg, "evaluation.reid_distance_metric", "cosine"))
    re_ranking = bool(cfg_value(cfg, "evaluation.re_ranking", False))
    result = evaluate_embeddings(emb[:nq], emb[nq:], query, gallery, metric, re_ranking)
    block = dict(result.metrics)
    block.update(
        {
            "board": dev.board or None,
            "link": {"url": urls[0] if len(urls) == 1 else urls, "baud": baud},
            "crops_per_s": (dev.crops_run / dev.seconds)
            if dev.crops_run and dev.seconds > 0
            else None,
            **agree,
            "inference": inference_stats(dev.counters, dev.counter_unit),
            "model": str(model),
            "model_hash": digest.hex(),
            "crops": len(inputs),
            "crops_from_log": len(inputs) - dev.crops_run,
        }
    )
    run.update_metrics("device", block)
    perfect = agree["exact_match_fraction"] == 1.0 and agree["max_abs_diff"] == 0
    if not perfect:
        msg = (
            "board outputs differ from the oracle's: "
            f"exact_match_fraction={agree['exact_match_fraction']}, "
            f"max_abs_diff={agree['max_abs_diff']}, mean_cosine={agree['mean_cosine']:.6f} "
            f"(expected 1.0 / 0 / 1.0)"
        )
        if not allow_mismatch:
            raise ReidtoolError(msg + "; --allow-mismatch accepts it")
        log.warning("%s (allowed)", msg)
    return block
