"""On-device evaluation and validate over the real firmware application on pty boards.

The firmware runs a stand-in network (tests/host/c/fake_network.c), not the model, so its
bytes differ from the oracle's: the tests check the mismatch is caught, that `--reference`
bytes match exactly, and that resuming and sharding give the very same metrics. The run with
the generated network on qemu-m55/host boards is the integrator's end-to-end test.
"""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pytest
from host_testlib import FirmwareProcess, build_firmware, fake_network, have_gcc, tiny_int8_model

from host.device_eval import hil_eval
from host.errors import ModelMismatchError
from host.validate import validate
from toolchain.errors import ReidtoolError
from toolchain.rundir import RunDir

pytestmark = pytest.mark.skipif(not have_gcc(), reason="gcc not installed")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from toolchain.data.synthetic import make_dataset

    root = tmp_path_factory.mktemp("deval")
    model = tiny_int8_model(root / "tiny_int8.tflite")
    digest = hashlib.sha256(model.read_bytes()).digest()
    exe = build_firmware(root / "fw", model_hash=digest)
    data = root / "data"
    make_dataset(
        data,
        identities=8,
        images_per_id=4,
        query_per_id=1,
        test_fraction=0.5,
        seed=1,
        height=64,
        width=32,
    )
    return SimpleNamespace(root=root, model=model, digest=digest, exe=exe, data=data)


def loaded_for(setup, run_root, **evaluation):
    cfg = {
        "model": {"model_path": str(setup.model), "input_shape": [32, 16, 3]},
        "dataset": {
            "test_query_path": str(setup.data / "reid_test" / "query"),
            "test_gallery_path": str(setup.data / "reid_test" / "gallery"),
        },
        "preprocessing": {
            "color_mode": "rgb",
            "resizing": {"interpolation": "bilinear", "aspect_ratio": "fit"},
        },
        "evaluation": {"reid_distance_metric": "cosine", **evaluation},
    }
    return SimpleNamespace(cfg=cfg, run=RunDir(run_root).create())


FAST = {"timeout": 0.5, "infer_timeout": 2.0}


def test_hil_eval_resume_and_farm_give_identical_metrics(setup, tmp_path):
    with FirmwareProcess(setup.exe) as a, FirmwareProcess(setup.exe) as b:
        one = loaded_for(setup, tmp_path / "one")
        block = hil_eval(one, ports=[a.path], allow_mismatch=True, session_kwargs=FAST)
        saved = json.loads(one.run.metrics_path.read_text())["device"]
        assert saved["rank1"] == block["rank1"] and saved["board"] == "test-pty"
        for key in (
            "rank1",
            "rank5",
            "rank10",
            "mAP",
            "mINP",
            "cmc",
            "num_query",
            "num_gallery",
            "crops_per_s",
            "exact_match_fraction",
            "max_abs_diff",
            "mean_cosine",
        ):
            assert key in block
        assert block["link"] == {"url": a.path, "baud": 921600}
        assert block["inference"]["counter"] == "wallclock" and block["inference"]["unit"] == "s"
        assert (
            0 < block["inference"]["min"] <= block["inference"]["mean"] <= block["inference"]["max"]
        )
        n = block["crops"]
        assert n == block["num_query"] + block["num_gallery"] and block["crops_from_log"] == 0
        # The stand-in network is not the model: caught, and refused without --allow-mismatch.
        assert block["exact_match_fraction"] < 1.0
        with pytest.raises(ReidtoolError, match="differ from the oracle"):
            hil_eval(loaded_for(setup, tmp_path / "strict"), ports=[a.path], session_kwargs=FAST)

        # Interrupted run: keep 5 records and half of the 6th, then rerun.
        log_path = one.run.device_log_path
        data = log_path.read_bytes()
        header, record = 44, 4 + 4 + 8 + 2 + 64 + 4
        assert len(data) == header + n * record
        resumed = loaded_for(setup, tmp_path / "resumed")
        resumed.run.device_log_path.write_bytes(data[: header + 5 * record + record // 2])
        again = hil_eval(resumed, ports=[a.path], allow_mismatch=True, session_kwargs=FAST)
        assert again["crops_from_log"] == 5
        assert resumed.run.device_log_path.read_bytes() != data[: header + 5 * record + record // 2]

        farm = loaded_for(setup, tmp_path / "farm")
        sharded = hil_eval(farm, ports=[a.path, b.path], allow_mismatch=True, session_kwargs=FAST)

    for other in (again, sharded):
        for key in (
            "rank1",
            "rank5",
            "mAP",
            "mINP",
            "cmc",
            "exact_match_fraction",
            "max_abs_diff",
            "mean_cosine",
        ):
            assert other[key] == block[key], key


def test_hil_eval_refuses_a_board_running_another_model(setup, tmp_path):
    exe = build_firmware(tmp_path / "other_fw")  # default hash 00 01 02 ...
    with FirmwareProcess(exe) as fw:
        with pytest.raises(ModelMismatchError, match=setup.digest.hex()):
            hil_eval(
                loaded_for(setup, tmp_path / "r"),
                ports=[fw.path],
                allow_mismatch=False,
                session_kwargs=FAST,
            )


def test_validate_with_reference_and_against_the_oracle(setup, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "model.tflite").write_bytes(setup.model.read_bytes())
    xs = np.random.default_rng(5).integers(0, 256, (6, 32, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "x.npy", xs)
    ref = np.stack([np.frombuffer(fake_network(x), np.int8) for x in xs]).reshape(6, 64)
    np.save(tmp_path / "ref.npy", ref)
    with FirmwareProcess(setup.exe) as fw:
        report = validate(
            project,
            port=fw.path,
            inputs=tmp_path / "x.npy",
            outputs=tmp_path / "y.npy",
            reference=tmp_path / "ref.npy",
            session_kwargs=FAST,
        )
        assert report["exact_match_fraction"] == 1.0 and report["max_abs_diff"] == 0
        assert report["mean_cosine"] == pytest.approx(1.0)
        y = np.load(tmp_path / "y.npy", allow_pickle=False)
        assert y.dtype == np.int8 and y.shape == (6, 64) and np.array_equal(y, ref)
        assert json.loads((project / "validation.json").read_text())["exact_match_fraction"] == 1.0
        # Against the oracle (random inputs): the stand-in network differs, exit-1 error.
        with pytest.raises(ReidtoolError, match="differ from the reference"):
            validate(project, port=fw.path, session_kwargs=FAST)
        assert json.loads((project / "validation.json").read_text())["exact_match_fraction"] < 1.0
        bad = tmp_path / "bad.npy"
        np.save(bad, xs.astype(np.float32))
        with pytest.raises(ReidtoolError, match="expected \\(N, 32, 16, 3\\) uint8"):
            validate(project, port=fw.path, inputs=bad)


def test_board_source_is_an_embedding_source(setup):
    from host.device_eval import BoardSource
    from host.session import BoardSession
    from host.transport import open_transport

    xs = np.random.default_rng(2).integers(0, 256, (3, 32, 16, 3), dtype=np.uint8)
    with FirmwareProcess(setup.exe) as fw, open_transport(fw.path) as link:
        source = BoardSource(
            BoardSession(link, expected_hash=setup.digest, **FAST),
            output_quantization=(0.0078125, 0),
        )
        emb = source.embed(xs)
        assert source.describe()["board"] == "test-pty" and len(source.counters) == 3
    raw = np.stack([np.frombuffer(fake_network(x), np.int8) for x in xs])
    assert emb.dtype == np.float32 and np.array_equal(
        emb, raw.astype(np.float32) * np.float32(0.0078125)
    )


def test_device_metrics_equal_host_int8_metrics_when_the_bytes_agree(setup, tmp_path):
    """A log holding the oracle's own outputs (as a bit-exact board gives) resumes to the very
    metrics of host int8 evaluation, and passes the bit-exact check without a board."""
    from host.embedding_log import EmbeddingLog
    from host.protocol import crc32
    from toolchain.evaluation.evaluator import evaluate, input_fn_for, load_test_records
    from toolchain.oracle import Oracle

    loaded = loaded_for(setup, tmp_path / "exact")
    host_block = evaluate(loaded.cfg, loaded.run, setup.model, plots=False)
    query, gallery = load_test_records(loaded.cfg)
    input_fn = input_fn_for(loaded.cfg, (32, 16, 3))
    xs = np.stack([input_fn(r.path) for r in (*query, *gallery)])
    ys = Oracle(setup.model).run(xs).reshape(len(xs), -1)
    with EmbeddingLog.open(loaded.run.device_log_path, setup.digest, ys.shape[1]) as log:
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            log.append(i, crc32(x.tobytes()), 1000 + i, y.tobytes())
    with FirmwareProcess(setup.exe) as fw:  # asked only who it is: every crop is in the log
        block = hil_eval(loaded, ports=[fw.path], session_kwargs=FAST)
    assert block["board"] == "test-pty" and block["inference"]["unit"] == "s"
    assert block["crops_from_log"] == len(xs) and block["crops_per_s"] is None
    assert (block["exact_match_fraction"], block["max_abs_diff"], block["mean_cosine"]) == (
        1.0,
        0,
        1.0,
    )
    for key in (
        "rank1",
        "rank5",
        "rank10",
        "mAP",
        "mINP",
        "cmc",
        "num_query",
        "num_gallery",
        "match_threshold",
    ):
        assert block[key] == host_block[key], key
    inf = block["inference"]
    assert inf["min"] == pytest.approx(1e-6) and inf["max"] == pytest.approx((999 + len(xs)) * 1e-9)
