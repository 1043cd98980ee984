"""The tiny int8 model the stedgeai tests generate from (converter-made, seconds to build)."""

from __future__ import annotations

import pytest
from stedgeai_testlib import make_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """See `stedgeai_testlib.make_tiny_model`."""
    pytest.importorskip("tensorflow")
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny_int8.tflite")
