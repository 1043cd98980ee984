"""toolchain.data.images: file → model input bytes (CONTRACTS §5)."""

from __future__ import annotations

import types

import numpy as np
import pytest
from data_helpers import real_photos, write_png_header_only, write_rgb, write_truncated_jpeg
from PIL import Image

from toolchain.data import images
from toolchain.errors import ConfigError, DatasetError


def test_rgb_png_fit_nearest_is_exact_subsampling(tmp_path):
    # Nearest-neighbour halving of a 40x20 image picks every other pixel (TF's half-pixel rule).
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(40, 20, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a_1.png")
    out = images.load_input_bytes(tmp_path / "a_1.png", (20, 10, 3), interpolation="nearest")
    assert out.dtype == np.uint8 and out.shape == (20, 10, 3)
    np.testing.assert_array_equal(out, pixels[1::2, 1::2])


def test_same_size_bilinear_is_identity(tmp_path):
    path = write_rgb(tmp_path / "a_1.png", 32, 16)
    out = images.load_input_bytes(path, (32, 16, 3))
    np.testing.assert_array_equal(out, np.asarray(Image.open(path)))


@pytest.mark.parametrize("interpolation", images.INTERPOLATIONS)
def test_every_interpolation_gives_uint8_close_to_area_mean(tmp_path, interpolation):
    # A smooth gradient: every method must land within a few levels of the exact average.
    y = np.linspace(0, 255, 64)[:, None, None]
    x = np.linspace(0, 255, 32)[None, :, None]
    pixels = np.broadcast_to(((y + x) / 2).round(), (64, 32, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "g_1.png")
    out = images.load_input_bytes(tmp_path / "g_1.png", (32, 16, 3), interpolation=interpolation)
    area = pixels.reshape(32, 2, 16, 2, 3).astype(float).mean((1, 3))
    assert out.dtype == np.uint8 and out.shape == (32, 16, 3)
    assert np.abs(out.astype(float) - area).max() <= 6


def test_crop_takes_the_centre_and_padding_letterboxes(tmp_path):
    # 40 high x 100 wide; target 64x32 (aspect 2:1 tall). Crop keeps columns 40..59.
    pixels = np.zeros((40, 100, 3), dtype=np.uint8)
    pixels[:, :, 0] = 200
    pixels[:, 40:60] = (0, 200, 0)
    Image.fromarray(pixels).save(tmp_path / "w_1.png")
    crop = images.load_input_bytes(
        tmp_path / "w_1.png", (64, 32, 3), interpolation="nearest", aspect_ratio="crop"
    )
    assert (crop == np.array([0, 200, 0], dtype=np.uint8)).all()
    pad = images.load_input_bytes(
        tmp_path / "w_1.png", (64, 32, 3), interpolation="nearest", aspect_ratio="padding"
    )
    # 100x40 scaled to width 32 is ~13 rows high, centred: black rows above and below.
    assert (pad[:20] == 0).all() and (pad[-20:] == 0).all()
    assert pad[32, :, 0].max() == 200


def test_grayscale_palette_rgba_and_16bit_are_converted(tmp_path):
    gray = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    Image.fromarray(gray, "L").save(tmp_path / "g_1.png")
    out = images.load_input_bytes(tmp_path / "g_1.png", (16, 16, 3))
    assert out.shape == (16, 16, 3)
    np.testing.assert_array_equal(out[..., 0], gray)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])

    rgba = np.zeros((16, 16, 4), dtype=np.uint8)
    rgba[..., 1] = 120
    rgba[..., 3] = 7
    Image.fromarray(rgba, "RGBA").save(tmp_path / "r_1.png")
    out = images.load_input_bytes(tmp_path / "r_1.png", (16, 16, 3))
    assert (out == np.array([0, 120, 0], dtype=np.uint8)).all()  # alpha dropped, colour kept
    out4 = images.load_input_bytes(tmp_path / "r_1.png", (16, 16, 4), color_mode="rgba")
    np.testing.assert_array_equal(out4, rgba)

    Image.fromarray(gray, "L").convert("P").save(tmp_path / "p_1.png")
    np.testing.assert_array_equal(
        images.load_input_bytes(tmp_path / "p_1.png", (16, 16, 1), color_mode="grayscale")[..., 0],
        gray,
    )

    wide = np.array([[0, 257 * 128, 65535, 257 * 7]], dtype=np.uint16)
    Image.fromarray(wide).save(tmp_path / "w_1.png")  # a real 16-bit grayscale PNG
    assert Image.open(tmp_path / "w_1.png").mode.startswith("I")
    out = images.decode_image(tmp_path / "w_1.png", "grayscale")
    assert out[0, :, 0].tolist() == [0, 128, 255, 7]  # scaled, not clipped at 255


def test_corrupt_truncated_missing_and_huge_files_name_the_file(tmp_path):
    junk = tmp_path / "a_junk.jpg"
    junk.write_bytes(b"this is not a jpeg at all" * 10)
    with pytest.raises(DatasetError, match="a_junk.jpg.*not a readable image"):
        images.load_input_bytes(junk, (16, 8, 3))
    cut = write_truncated_jpeg(tmp_path / "a_cut.jpg")
    with pytest.raises(DatasetError, match="a_cut.jpg is corrupt or truncated"):
        images.load_input_bytes(cut, (16, 8, 3))
    with pytest.raises(DatasetError, match="a_missing.jpg does not exist"):
        images.load_input_bytes(tmp_path / "a_missing.jpg", (16, 8, 3))
    huge = write_png_header_only(tmp_path / "a_huge.png", 20000, 20000)
    with pytest.raises(DatasetError, match=r"a_huge.png.*(20000x20000|too large)"):
        images.load_input_bytes(huge, (16, 8, 3))
    assert images.probe_image(write_rgb(tmp_path / "a_ok.bmp", 9, 7)).format == "BMP"


def test_bad_settings_name_the_key(tmp_path):
    path = write_rgb(tmp_path / "a_1.png")
    with pytest.raises(ConfigError, match="preprocessing.resizing.interpolation.*'cubic'"):
        images.load_input_bytes(path, (16, 8, 3), interpolation="cubic")
    with pytest.raises(ConfigError, match="aspect_ratio.*Valid: crop, fit, padding"):
        images.load_input_bytes(path, (16, 8, 3), aspect_ratio="stretch")
    with pytest.raises(ConfigError, match="model.input_shape has 3 channels.*grayscale"):
        images.load_input_bytes(path, (16, 8, 3), color_mode="grayscale")


def test_from_config_matches_explicit_call_and_batch(tmp_path):
    paths = [write_rgb(tmp_path / f"a_{i}.jpg", 50 + i, 23, seed=i) for i in range(3)]
    cfg = types.SimpleNamespace(
        model=types.SimpleNamespace(input_shape=(24, 12, 3)),
        preprocessing=types.SimpleNamespace(
            color_mode="rgb",
            resizing=types.SimpleNamespace(interpolation="bicubic", aspect_ratio="crop"),
        ),
    )
    one = images.input_bytes_from_config(paths[0], cfg)
    np.testing.assert_array_equal(
        one,
        images.load_input_bytes(
            paths[0], (24, 12, 3), interpolation="bicubic", aspect_ratio="crop"
        ),
    )
    batch = images.load_input_batch(
        paths, (24, 12, 3), interpolation="bicubic", aspect_ratio="crop"
    )
    assert batch.shape == (3, 24, 12, 3)
    np.testing.assert_array_equal(batch[0], one)


def test_real_photos_load_at_model_size():
    photos = real_photos(3)
    if not photos:
        pytest.skip("tgc2020-reid not present at /work/shared/data/tgc2020-reid")
    batch = images.load_input_batch(photos, (256, 128, 3))
    assert batch.shape == (3, 256, 128, 3) and batch.dtype == np.uint8
    for path, got in zip(photos, batch, strict=True):
        # Against PIL's own bilinear resize of the same decoded pixels: same picture.
        ref = np.asarray(Image.open(path).convert("RGB").resize((128, 256), Image.BILINEAR))
        assert np.abs(got.astype(float) - ref).mean() < 6
