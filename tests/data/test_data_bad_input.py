"""Issue 2 item 5 end to end: every kind of bad dataset input, run through `reidtool run`.

The unit tests of `dataset`, `images` and `pipeline` check each check; these check what a user
sees: `reidtool run configs/quickstart.yaml` with DATA_DIR on a broken copy of a small synthetic
set ends with one `error:` line naming the file (exit 1 or 2), never a TensorFlow traceback;
files that are converted (grayscale, RGBA, 16-bit) give a warning naming them and the run goes
on. The truncated file (found only while decoding) goes through a real subprocess; the other
cases call the same `main` in-process, which keeps the module within the suite's time budget.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from data_helpers import write_png_header_only, write_truncated_jpeg
from PIL import Image

from toolchain.data.synthetic import make_dataset

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
REIDTOOL = [sys.executable, "-m", "toolchain.cli"]
TRAIN = "reid_train"


@pytest.fixture(scope="module")
def clean_set(tmp_path_factory) -> Path:
    return make_dataset(
        tmp_path_factory.mktemp("clean") / "data",
        identities=12,
        images_per_id=5,
        test_fraction=0.3,
        seed=4,
        height=64,
        width=32,
    )["out"]


def _copy(clean_set, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(clean_set, data)
    return data


def _first(data: Path, sub: str = TRAIN, n: int = 0) -> Path:
    return sorted((data / sub).glob("*.jpg"))[n]


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory) -> Path:
    """One MLflow store for the module (creating its database is most of a failed run's time)."""
    return tmp_path_factory.mktemp("mlruns")


def _args(tmp_path: Path, mlruns: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(QUICKSTART),
        "operation_mode=training",
        "training.epochs=1",
        "training.batch_size=16",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"mlflow.uri={mlruns}",
        *extra,
    ]


def _check_one_line(output: str, rc: int, *names: str) -> None:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert rc in (1, 2), output
    assert len(errors) == 1, output
    for name in names:
        assert name in errors[0], errors[0]
    assert "Traceback" not in output and "tensorflow" not in errors[0].lower()


# ----------------------------------------------------------------- broken folders


def _truncated(data: Path) -> list[str]:
    # The header reads fine, so only decoding (while loading the training set) finds it.
    path = write_truncated_jpeg(_first(data))
    return [str(path), "corrupt or truncated"]


def _unreadable(data: Path) -> list[str]:
    path = _first(data, n=3)
    path.write_bytes(b"GIF89a? not really" * 10)
    return [path.name, "not a readable image"]


def _huge(data: Path) -> list[str]:
    path = write_png_header_only(data / TRAIN / "0001_c1_77.png", 12000, 9000)
    return [path.name, "pixels"]


def _no_underscore(data: Path) -> list[str]:
    path = _first(data, n=2)
    path.rename(path.with_name("player7.jpg"))
    return ["player7.jpg", "no identity prefix"]


def _empty(data: Path) -> list[str]:
    shutil.rmtree(data / TRAIN)
    (data / TRAIN).mkdir()
    return [str(data / TRAIN), "holds no image files"]


def _single_images(data: Path) -> list[str]:
    # Every training image gets its own identity (the camera token is kept).
    names = []
    for n, path in enumerate(sorted((data / TRAIN).glob("*.jpg"))):
        camera = path.name.split("_")[1]
        path.rename(path.with_name(f"{9000 + n}_{camera}_0.jpg"))
        names.append(f"{9000 + n}_{camera}_0.jpg")
    return [names[0], "single image"]


def _query_not_in_gallery(data: Path) -> list[str]:
    names = []
    for path in sorted((data / "reid_test" / "query").glob("*.jpg")):
        path.rename(path.with_name("8" + path.name[1:]))
        names.append("8" + path.name[1:])
    return [names[0], "test_gallery_path"]


IN_PROCESS_CASES = {
    "unreadable": _unreadable,
    "huge": _huge,
    "truncated": _truncated,
    "no_underscore": _no_underscore,
    "empty_folder": _empty,
    "single_image_identities": _single_images,
    "query_not_in_gallery": _query_not_in_gallery,
}


def test_cli_subprocess_prints_one_line_naming_the_file(clean_set, tmp_path, mlruns):
    data = _copy(clean_set, tmp_path)
    names = _truncated(data)
    env = {**os.environ, "DATA_DIR": str(data), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [*REIDTOOL, *_args(tmp_path, mlruns)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
    )
    _check_one_line(done.stdout + done.stderr, done.returncode, *names)


@pytest.mark.parametrize("case", sorted(IN_PROCESS_CASES))
def test_cli_in_process_prints_one_line_naming_the_file(
    clean_set, tmp_path, mlruns, monkeypatch, capsys, case
):
    from toolchain.cli import main

    data = _copy(clean_set, tmp_path)
    names = IN_PROCESS_CASES[case](data)
    monkeypatch.setenv("DATA_DIR", str(data))
    rc = main(_args(tmp_path, mlruns))
    out = capsys.readouterr()
    _check_one_line(out.out + out.err, rc, *names)


def test_converted_files_warn_by_name_and_the_run_goes_on(
    clean_set, tmp_path, mlruns, monkeypatch, capsys
):
    from toolchain.cli import main

    data = _copy(clean_set, tmp_path)
    gray, alpha, deep = (_first(data, n=n) for n in (0, 5, 10))
    rgb = {path: np.asarray(Image.open(path).convert("RGB")) for path in (gray, alpha, deep)}
    for path in rgb:
        path.unlink()
    Image.fromarray(rgb[gray]).convert("L").save(gray.with_suffix(".png"))
    opacity = np.full(rgb[alpha].shape[:2], 200, np.uint8)
    Image.fromarray(np.dstack([rgb[alpha], opacity]), "RGBA").save(alpha.with_suffix(".png"))
    wide = np.asarray(Image.fromarray(rgb[deep]).convert("L")).astype(np.uint16) * 257
    Image.fromarray(wide).save(deep.with_suffix(".png"))
    assert Image.open(deep.with_suffix(".png")).mode.startswith("I")
    monkeypatch.setenv("DATA_DIR", str(data))
    with pytest.warns(UserWarning) as caught:
        rc = main(_args(tmp_path, mlruns, "training.dryrun=1"))
    out = capsys.readouterr()
    assert rc == 0, out.out + out.err
    text = "\n".join(str(w.message) for w in caught)
    assert re.search(rf"grayscale, not 8-bit RGB: {gray.stem}\.png", text), text
    assert re.search(rf"alpha channel \(dropped\), not 8-bit RGB: {alpha.stem}\.png", text), text
    assert re.search(
        rf"16-bit or wider \(scaled to 8 bits\), not 8-bit RGB: {deep.stem}\.png", text
    ), text
