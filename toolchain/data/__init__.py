"""The dataset layer: image files → records, splits, P×K batches, input bytes; synthetic data.

Modules: `images` (file → model input bytes, CONTRACTS §5), `dataset` (flat folder → records),
`splits` (the seed's path state machine), `sampler` (P×K batches), `pipeline` (tf.data),
`synthetic` (the built-in sports-player set of `reidtool make-dataset`). TensorFlow is imported
only where a function needs it.
"""

from __future__ import annotations

from toolchain.data.dataset import ImageRecord, scan_folder
from toolchain.data.images import input_bytes_from_config, load_input_batch, load_input_bytes
from toolchain.data.sampler import PKSampler
from toolchain.data.splits import Splits, build_splits, identity_labels

__all__ = [
    "ImageRecord",
    "PKSampler",
    "Splits",
    "build_splits",
    "identity_labels",
    "input_bytes_from_config",
    "load_input_batch",
    "load_input_bytes",
    "scan_folder",
]
