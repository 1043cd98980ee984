"""evaluate() and predict() end to end on the tiny synthetic set: a Keras model and its int8
TFLite twin (quantized here), metrics.json blocks, plots, determinism."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace as NS

import numpy as np
import pytest

from toolchain.errors import ConfigError
from toolchain.evaluation.evaluator import (
    evaluate,
    evaluate_source,
    input_fn_for,
    load_test_records,
)
from toolchain.evaluation.metrics import compute_metrics
from toolchain.evaluation.predict import predict
from toolchain.evaluation.sources import KerasSource, TFLiteSource
from toolchain.rundir import RunDir

SHAPE = (64, 32, 3)


def _tiny_model(path):
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inp = keras.Input(SHAPE, batch_size=1, name="image")
    x = layers.Rescaling(1 / 127.5, -1, name="rescaling")(inp)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c1")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", name="dw")(x)
    x = layers.Conv2D(16, 1, name="pw")(x)
    x = layers.GlobalAveragePooling2D(keepdims=True, name="gap")(x)
    x = layers.Reshape((16,), name="flatten")(x)
    keras.Model(inp, x, name="evalnet").save(path)
    return path


def _cfg(data, model_path, **evaluation):
    return NS(
        general=NS(project_name="evalnet"),
        model=NS(model_path=str(model_path), input_shape=SHAPE),
        dataset=NS(
            training_path=str(data / "reid_train"),
            validation_split=None,
            seed=1,
            quantization_split=0.3,
            test_query_path=str(data / "reid_test" / "query"),
            test_gallery_path=str(data / "reid_test" / "gallery"),
            camera_regex=r"_c(\d+)_",
            prediction_query_path=str(data / "reid_test" / "query"),
            prediction_gallery_path=str(data / "reid_test" / "gallery"),
        ),
        quantization=NS(),
        preprocessing=NS(),
        evaluation=NS(**{"visualize_queries": 2, **evaluation}),
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_dataset):
    from toolchain.quantization.quantizer import quantize

    root = tmp_path_factory.mktemp("evalmodels")
    keras_path = _tiny_model(root / "evalnet.keras")
    result = quantize(_cfg(tiny_dataset, keras_path), RunDir(root / "qrun").create())
    return keras_path, result.int8_path


def test_evaluate_keras_then_tflite_writes_blocks_and_plots(tmp_path, tiny_dataset, models):
    keras_path, int8_path = models
    cfg = _cfg(tiny_dataset, keras_path)
    run = RunDir(tmp_path / "run").create()
    fm = evaluate(cfg, run)
    im = evaluate(cfg, run, int8_path)
    metrics = json.loads(run.metrics_path.read_text())
    assert metrics["float"]["mAP"] == fm["mAP"] and metrics["int8"]["mAP"] == im["mAP"]
    for block in (metrics["float"], metrics["int8"]):
        for key in (
            "rank1",
            "rank5",
            "rank10",
            "mAP",
            "mINP",
            "cmc",
            "num_query",
            "num_gallery",
            "num_query_skipped",
            "match_threshold",
        ):
            assert key in block
        assert 0.0 <= block["rank1"] <= block["rank5"] <= block["rank10"] <= 1.0
        assert block["num_query"] == len(list((tiny_dataset / "reid_test" / "query").iterdir()))
    assert metrics["int8"]["interpreter"] == {
        "package": "ai-edge-litert",
        "version": "2.3.0",
        "kernels": "reference",
    }
    assert "interpreter" not in metrics["float"]
    assert abs(fm["mAP"] - im["mAP"]) < 0.1  # same network, int8 vs float
    for name in ("cmc_curve.png", "distance_histogram.png"):
        assert (run.root / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((run.root / "ranked" / "int8").glob("*.png"))) == 2

    # The evaluator's figures are compute_metrics on the source's embeddings, nothing else.
    query, gallery = load_test_records(cfg)
    src = TFLiteSource(int8_path)
    fn = input_fn_for(cfg, SHAPE)
    q = src.embed(np.stack([fn(r.path) for r in query]))
    g = src.embed(np.stack([fn(r.path) for r in gallery]))
    direct = compute_metrics(
        q,
        [r.identity for r in query],
        g,
        [r.identity for r in gallery],
        query_cams=[r.camera for r in query],
        gallery_cams=[r.camera for r in gallery],
    )
    assert direct["mAP"] == im["mAP"] and direct["cmc"] == im["cmc"]


def test_same_tflite_twice_gives_identical_metrics(tmp_path, tiny_dataset, models):
    _, int8_path = models
    cfg = _cfg(tiny_dataset, int8_path)
    query, gallery = load_test_records(cfg)
    fn = input_fn_for(cfg, SHAPE)
    a = evaluate_source(TFLiteSource(int8_path), query, gallery, fn)
    b = evaluate_source(TFLiteSource(int8_path), query, gallery, fn)
    assert a == b


def test_fast_interpreter_is_recorded(tmp_path, tiny_dataset, models):
    _, int8_path = models
    run = RunDir(tmp_path / "run").create()
    m = evaluate(_cfg(tiny_dataset, int8_path, fast_interpreter=True, visualize_queries=0), run)
    assert m["interpreter"]["kernels"] == "optimized"
    assert not (run.root / "ranked").exists()


def test_re_ranking_option(tmp_path, tiny_dataset, models):
    keras_path, _ = models
    run = RunDir(tmp_path / "run").create()
    m = evaluate(_cfg(tiny_dataset, keras_path, re_ranking=True, visualize_queries=0), run)
    assert m["re_ranking"] is True and 0.0 < m["mAP"] <= 1.0


def test_missing_test_paths_is_a_config_error(tmp_path, tiny_dataset, models):
    keras_path, _ = models
    cfg = _cfg(tiny_dataset, keras_path)
    cfg.dataset.test_gallery_path = None
    with pytest.raises(ConfigError, match="test_gallery_path"):
        evaluate(cfg, RunDir(tmp_path / "run").create())


def test_predict_writes_top5_pictures_and_csv(tmp_path, tiny_dataset, models):
    keras_path, _ = models
    cfg = _cfg(tiny_dataset, keras_path)
    run = RunDir(tmp_path / "run").create()
    rows = predict(cfg, run)
    queries = sorted((tiny_dataset / "reid_test" / "query").glob("*.jpg"))
    assert len(rows) == 5 * len(queries)
    written = list(csv.DictReader((run.root / "predictions.csv").open()))
    assert [r["gallery"] for r in written] == [r["gallery"] for r in rows]
    assert len(list((run.root / "predictions").glob("*.png"))) == len(queries)
    # Ranks are sorted by distance, and rank 1 is the true nearest gallery image.
    first = [r for r in rows if r["query"] == queries[0].name]
    assert [r["rank"] for r in first] == [1, 2, 3, 4, 5]
    assert all(a["distance"] <= b["distance"] for a, b in zip(first, first[1:], strict=False))
    src = KerasSource(keras_path)
    fn = input_fn_for(cfg, SHAPE)
    gal = sorted((tiny_dataset / "reid_test" / "gallery").glob("*.jpg"))
    q = src.embed(fn(queries[0])[None])
    g = src.embed(np.stack([fn(p) for p in gal]))
    from toolchain.evaluation.metrics import distance_matrix

    nearest = gal[int(np.argmin(distance_matrix(q, g)[0]))].name
    assert first[0]["gallery"] == nearest
