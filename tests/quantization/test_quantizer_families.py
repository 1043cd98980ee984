"""Every backbone family of the model zoo, exported as reidtool's edge embedder at a small
input, converts to a builtin-int8-only TFLite model with the raw-byte uint8 input."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from toolchain.oracle import Oracle
from toolchain.quantization.calibration import representative_dataset
from toolchain.quantization.inspect import check_builtin_int8, float_ops, io_types, read_ops
from toolchain.quantization.quantizer import (
    all_layer_names,
    check_raw_bytes_input,
    convert,
    make_converter,
    output_layer_name,
)

# One representative per family, at the smallest input its architecture accepts (OSNet and
# ResNet50V2 take ~20 s each to convert on one core: marked slow).
FAMILIES = [
    pytest.param("tinynet", (32, 16, 3), id="tinynet"),
    pytest.param("mobilenetv1_a025", (32, 32, 3), id="mobilenetv1_a025"),
    pytest.param("mobilenetv2_a035", (32, 32, 3), id="mobilenetv2_a035"),
    pytest.param("osnet_a025", (32, 32, 3), id="osnet_a025", marks=pytest.mark.slow),
    pytest.param("resnet50v2", (32, 32, 3), id="resnet50v2", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name,shape", FAMILIES)
def test_family_quantizes_to_builtin_int8(name, shape):
    from toolchain.models.embedder import build_training_model
    from toolchain.models.export import export_embedder

    model_cfg = NS(
        model_name=name,
        model_path=None,
        pretrained=False,
        input_shape=shape,
        embedding_dim=None,
        bnneck=False,
        pretrained_weights=None,
    )
    embedder = export_embedder(build_training_model(model_cfg, shape, 10))
    crops = np.random.default_rng(0).integers(0, 256, size=(4, *shape), dtype=np.uint8)
    data = convert(make_converter(embedder, representative_dataset(crops), "uint8", "int8"))

    ops = read_ops(data)
    assert float_ops(ops) == []
    check_builtin_int8(ops, all_layer_names(embedder), name, output_layer_name(embedder))
    assert io_types(data) == ("UINT8", "INT8")
    assert check_raw_bytes_input(data, "uint8", True, name)["raw_bytes"] is True
    oracle = Oracle(data)
    assert oracle.input_shape == (1, *shape)
    out = oracle.run(crops[:1])
    assert out.dtype == np.int8 and out.shape[0] == 1
