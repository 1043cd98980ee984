"""Image file → model input bytes: THE host function of CONTRACTS §5.

Host float evaluation, host int8 evaluation, quantization calibration, the training pipeline and
the board path all turn a file into pixels here, so the wire to the board carries exactly the
bytes the model saw in training. Decoding uses PIL (safe, bounded: only JPEG/PNG/BMP/GIF are
opened, and the pixel count is checked from the header before any decoding); resizing uses
`tf.image.resize` through `resize_image`, which `toolchain.data.pipeline` calls inside its
`tf.data` graph, so eager and pipeline bytes are identical (a test checks it).

Example:
    pixels = load_input_bytes("crop.jpg", (64, 32, 3), interpolation="bilinear")
    pixels.shape, pixels.dtype          # (64, 32, 3), uint8
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from toolchain.errors import ConfigError, DatasetError
from toolchain.registry import Registry

#: File formats PIL may open. Anything else is rejected before a decoder runs.
ALLOWED_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
#: Largest image accepted, in pixels (decompression-bomb guard); 64 Mpx is ~8000x8000.
MAX_PIXELS = 64_000_000
#: `tf.image.resize` methods accepted as `preprocessing.resizing.interpolation`.
INTERPOLATIONS = (
    "bilinear",
    "nearest",
    "bicubic",
    "area",
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
)
#: PIL modes holding more than 8 bits per sample; they are scaled down to 8 bits.
WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")

COLOR_MODES: Registry[ColorMode] = Registry("color_mode")
ASPECT_RATIOS: Registry[Callable[..., Any]] = Registry("aspect_ratio")


@dataclass(frozen=True)
class ColorMode:
    """How one `preprocessing.color_mode` maps to a PIL mode and a channel count."""

    name: str
    pil_mode: str
    channels: int


for _mode in (
    ColorMode("rgb", "RGB", 3),
    ColorMode("grayscale", "L", 1),
    ColorMode("rgba", "RGBA", 4),
):
    COLOR_MODES.add(_mode.name, _mode)


@dataclass(frozen=True)
class ImageInfo:
    """What an image file's header says, read without decoding the pixels."""

    path: Path
    format: str
    width: int
    height: int
    mode: str

    @property
    def needs_conversion(self) -> bool:
        """True for anything but plain 8-bit RGB (grayscale, palette, alpha, 16-bit, CMYK...)."""
        return self.mode != "RGB"


def probe_image(path: str | os.PathLike) -> ImageInfo:
    """Read an image's header (format, size, mode) without decoding it.

    Raises `DatasetError` naming the file if it is missing, not an image of an allowed format,
    or larger than `MAX_PIXELS`.
    """
    path = Path(path)
    with _open(path) as im:
        return ImageInfo(path, im.format or "?", im.width, im.height, im.mode)


def decode_image(path: str | os.PathLike, color_mode: str = "rgb") -> np.ndarray:
    """Decode an image file into uint8 (h, w, C) pixels in `color_mode`, at its own size.

    Grayscale, palette, alpha, CMYK and 16-bit files are converted (16-bit samples are scaled to
    8 bits, not clipped); EXIF orientation is ignored, as TensorFlow's decoders do.

    Raises:
        DatasetError: missing, unreadable, corrupt or truncated file, or a huge image.
    """
    path = Path(path)
    mode = COLOR_MODES.get(color_mode)
    with _open(path) as im:
        try:
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise DatasetError(
                f"Image file {path} is corrupt or truncated ({exc}). "
                "Re-export it or remove it from the dataset folder."
            ) from None
        if im.mode in WIDE_MODES:
            im = _to_8bit_gray(im)
        elif im.mode == "P" or im.mode == "PA":
            im = im.convert("RGBA")
        if im.mode != mode.pil_mode:
            im = im.convert(mode.pil_mode)
        pixels = np.asarray(im, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.ascontiguousarray(pixels)


def _open(path: Path) -> Image.Image:
    """`Image.open` restricted to `ALLOWED_FORMATS`, with typed errors and the pixel limit."""
    if not path.is_file():
        raise DatasetError(f"Image file {path} does not exist or is not a file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path, formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DatasetError(
            f"Image file {path} is too large to decode safely ({exc}). "
            f"Expected at most {MAX_PIXELS} pixels; downscale it first."
        ) from None
    except UnidentifiedImageError:
        raise DatasetError(
            f"Image file {path} is not a readable image (expected one of "
            f"{', '.join(ALLOWED_FORMATS)}). Replace or remove it."
        ) from None
    except OSError as exc:
        raise DatasetError(f"Image file {path} cannot be read: {exc}") from None
    if im.width * im.height > MAX_PIXELS:
        size = f"{im.width}x{im.height}"
        im.close()
        raise DatasetError(
            f"Image file {path} is {size} pixels; expected at most {MAX_PIXELS} pixels "
            "(decompression-bomb guard). Downscale it before using it."
        )
    return im


def _to_8bit_gray(im: Image.Image) -> Image.Image:
    """16-bit (or 32-bit) grayscale → 8-bit "L", scaling 0..65535 onto 0..255 with rounding."""
    wide = np.asarray(im).astype(np.float64)
    top = 65535.0 if im.mode != "F" else max(float(wide.max(initial=0.0)), 1.0)
    narrow = np.clip(np.rint(wide * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(narrow, "L")


# --------------------------------------------------------------------------- resizing (TF)


def _tf():
    import tensorflow as tf

    return tf


@ASPECT_RATIOS.register("fit")
def _fit(image, height: int, width: int, method: str):
    """Plain resize to (height, width): the aspect ratio is not kept (the seed's default)."""
    return _tf().image.resize(image, [height, width], method=method)


@ASPECT_RATIOS.register("crop")
def _crop(image, height: int, width: int, method: str):
    """Centre crop to the target aspect ratio, then resize."""
    tf = _tf()
    shape = tf.shape(image)
    h, w = shape[0], shape[1]
    crop_h = tf.maximum(1, tf.minimum(h, (w * height) // width))
    crop_w = tf.maximum(1, tf.minimum(w, (h * width) // height))
    image = tf.image.crop_to_bounding_box(
        image, (h - crop_h) // 2, (w - crop_w) // 2, crop_h, crop_w
    )
    return tf.image.resize(image, [height, width], method=method)


@ASPECT_RATIOS.register("padding")
def _padding(image, height: int, width: int, method: str):
    """Letterbox: resize keeping the aspect ratio, then pad with zeros to (height, width)."""
    return _tf().image.resize_with_pad(image, height, width, method=method)


def check_preprocessing(
    input_shape: Sequence[int], color_mode: str, interpolation: str, aspect_ratio: str
) -> tuple[int, int, int]:
    """Validate the resize settings and return (H, W, C).

    Raises `ConfigError` naming the key (`model.input_shape`, `preprocessing.color_mode`,
    `preprocessing.resizing.interpolation`, `preprocessing.resizing.aspect_ratio`).
    """
    mode = COLOR_MODES.get(color_mode)
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(
            f"preprocessing.resizing.interpolation: expected one of {', '.join(INTERPOLATIONS)}. "
            f"Received: {interpolation!r}"
        )
    ASPECT_RATIOS.get(aspect_ratio)
    shape = tuple(int(v) for v in input_shape)
    if len(shape) == 2:
        shape = (*shape, mode.channels)
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(
            "model.input_shape: expected (H, W, C) with positive ints. "
            f"Received: {tuple(input_shape)}"
        )
    if shape[2] != mode.channels:
        raise ConfigError(
            f"model.input_shape has {shape[2]} channels but "
            f"preprocessing.color_mode={color_mode!r} gives {mode.channels}. Make them agree."
        )
    return shape  # type: ignore[return-value]


def resize_image(
    image, height: int, width: int, *, interpolation: str = "bilinear", aspect_ratio: str = "fit"
):
    """Resize a uint8 (h, w, C) image tensor to uint8 (height, width, C), as a TF op.

    The one resize used everywhere (eagerly by `load_input_bytes`, in graph mode by the
    `tf.data` pipeline). Float results are rounded half-to-even and clipped to 0..255.
    """
    tf = _tf()
    resize = ASPECT_RATIOS.get(aspect_ratio)
    out = resize(image, int(height), int(width), interpolation)
    if out.dtype != tf.uint8:
        out = tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)
    return out


def load_input_bytes(
    path: str | os.PathLike,
    input_shape: Sequence[int],
    *,
    color_mode: str = "rgb",
    interpolation: str = "bilinear",
    aspect_ratio: str = "fit",
) -> np.ndarray:
    """Turn one image file into the model's input bytes: uint8 (H, W, C).

    Decode (PIL) → colour mode → resize per `preprocessing.resizing` → uint8. These are raw
    pixels: rescaling happens inside the model (CONTRACTS §5).

    Args:
        path: the image file.
        input_shape: (H, W, C) or (H, W) of the model input (no batch dimension).
        color_mode: rgb | grayscale | rgba.
        interpolation: one of `INTERPOLATIONS` (tf.image.resize methods).
        aspect_ratio: fit (plain resize) | crop (centre crop, then resize) | padding (letterbox).

    Returns:
        np.ndarray uint8 of shape (H, W, C).
    """
    height, width, _ = check_preprocessing(input_shape, color_mode, interpolation, aspect_ratio)
    pixels = decode_image(path, color_mode)
    resized = resize_image(
        _tf().constant(pixels),
        height,
        width,
        interpolation=interpolation,
        aspect_ratio=aspect_ratio,
    )
    return resized.numpy()


def load_input_batch(
    paths: Iterable[str | os.PathLike],
    input_shape: Sequence[int],
    *,
    color_mode: str = "rgb",
    interpolation: str = "bilinear",
    aspect_ratio: str = "fit",
) -> np.ndarray:
    """`load_input_bytes` for several files: uint8 (N, H, W, C)."""
    shape = check_preprocessing(input_shape, color_mode, interpolation, aspect_ratio)
    paths = list(paths)
    out = np.empty((len(paths), *shape), dtype=np.uint8)
    for i, path in enumerate(paths):
        out[i] = load_input_bytes(
            path,
            shape,
            color_mode=color_mode,
            interpolation=interpolation,
            aspect_ratio=aspect_ratio,
        )
    return out


def preprocessing_from_config(cfg: Any) -> dict[str, Any]:
    """The keyword arguments of `load_input_bytes` read from a `ReidConfig`.

    Reads `cfg.model.input_shape` (H, W, C), `cfg.preprocessing.color_mode` and
    `cfg.preprocessing.resizing.{interpolation, aspect_ratio}` (defaults rgb / bilinear / fit).
    """
    model = getattr(cfg, "model", None)
    input_shape = getattr(model, "input_shape", None) if model is not None else None
    if not input_shape:
        raise ConfigError("model.input_shape is required to turn images into input bytes.")
    pre = getattr(cfg, "preprocessing", None)
    resizing = getattr(pre, "resizing", None) if pre is not None else None
    color_mode = (getattr(pre, "color_mode", None) if pre is not None else None) or "rgb"
    interpolation = getattr(resizing, "interpolation", None) if resizing is not None else None
    aspect_ratio = getattr(resizing, "aspect_ratio", None) if resizing is not None else None
    kwargs = dict(
        color_mode=str(color_mode),
        interpolation=str(interpolation or "bilinear"),
        aspect_ratio=str(aspect_ratio or "fit"),
    )
    shape = check_preprocessing(input_shape, **kwargs)
    return dict(input_shape=shape, **kwargs)


def input_bytes_from_config(path: str | os.PathLike, cfg: Any) -> np.ndarray:
    """`load_input_bytes(path, ...)` with the settings of a `ReidConfig`."""
    kwargs = preprocessing_from_config(cfg)
    return load_input_bytes(path, kwargs.pop("input_shape"), **kwargs)
