"""toolchain.data.dataset: flat folder → (path, identity, camera) records, bad input named."""

from __future__ import annotations

import numpy as np
import pytest
from data_helpers import REAL_DATA, write_png_header_only, write_rgb, write_truncated_jpeg
from PIL import Image

from toolchain.data.dataset import (
    DatasetWarning,
    ImageRecord,
    check_query_gallery,
    check_training_identities,
    scan_folder,
)
from toolchain.errors import ConfigError, DatasetError


def _folder(tmp_path, names):
    for i, name in enumerate(names):
        write_rgb(tmp_path / name, 16, 8, seed=i)
    return tmp_path


def test_records_identity_camera_and_ignored_files(tmp_path):
    _folder(tmp_path, ["0002_c1_0.jpg", "0001_c2_1.PNG", "0001_c3_2.bmp", "0010_c1_x.jpeg"])
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden_1.jpg").write_bytes(b"junk")
    (tmp_path / "sub").mkdir()
    recs = scan_folder(tmp_path, camera_regex=r"_c(\d+)_")
    assert [r.path.name for r in recs] == [
        "0001_c2_1.PNG",
        "0001_c3_2.bmp",
        "0002_c1_0.jpg",
        "0010_c1_x.jpeg",
    ]
    assert [(r.identity, r.camera) for r in recs] == [
        ("0001", "2"),
        ("0001", "3"),
        ("0002", "1"),
        ("0010", "1"),
    ]
    assert scan_folder(tmp_path)[0] == ImageRecord(tmp_path / "0001_c2_1.PNG", "0001", None)
    # A pattern without a group: the whole match is the camera.
    assert scan_folder(tmp_path, camera_regex=r"c\d")[0].camera == "c2"


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset.training_path=.*nowhere does not exist"):
        scan_folder(tmp_path / "nowhere", key="dataset.training_path")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty holds no image files"):
        scan_folder(tmp_path / "empty")
    write_rgb(tmp_path / "perid" / "0001" / "a_1.jpg")
    with pytest.raises(DatasetError, match="sub-folders \\(0001\\).*not one folder per identity"):
        scan_folder(tmp_path / "perid")


def test_names_without_underscore_are_listed_first_ten_then_count(tmp_path):
    names = [f"img{i:02d}.jpg" for i in range(12)] + ["0001_ok.jpg", "_lead.jpg"]
    _folder(tmp_path, names)
    with pytest.raises(DatasetError) as err:
        scan_folder(tmp_path)
    msg = str(err.value)
    assert "13 file name(s) have no identity prefix" in msg
    assert "_lead.jpg, img00.jpg" in msg and "(and 3 more)" in msg
    assert "0001_ok.jpg" not in msg and "Rename them" in msg


def test_camera_regex_errors(tmp_path):
    _folder(tmp_path, ["0001_c1_0.jpg", "0001_cam_1.jpg"])
    with pytest.raises(DatasetError, match=r"does not match 1 file name\(s\): 0001_cam_1.jpg"):
        scan_folder(tmp_path, camera_regex=r"_c(\d)_")
    with pytest.raises(ConfigError, match="dataset.camera_regex: '_c\\(' is not a valid"):
        scan_folder(tmp_path, camera_regex="_c(")


def test_unreadable_huge_and_truncated_files_are_named(tmp_path):
    _folder(tmp_path, ["0001_a.jpg", "0001_b.jpg"])
    (tmp_path / "0002_junk.jpg").write_bytes(b"\x00" * 100)
    write_png_header_only(tmp_path / "0003_huge.png", 30000, 30000)
    with pytest.raises(DatasetError) as err:
        scan_folder(tmp_path)
    msg = str(err.value)
    assert "2 image file(s) cannot be used: 0002_junk.jpg, 0003_huge.png" in msg
    assert "Remove or replace" in msg

    good = tmp_path / "good"
    _folder(good, ["0001_a.jpg", "0001_b.jpg"])
    write_truncated_jpeg(good / "0004_cut.jpg")
    assert len(scan_folder(good)) == 3  # the header is fine: only a full decode finds it
    with pytest.raises(DatasetError, match="1 image file.*0004_cut.jpg.*truncated"):
        scan_folder(good, check_image_files=True)


def test_grayscale_rgba_and_16bit_files_warn_by_name(tmp_path):
    _folder(tmp_path, ["0001_rgb.jpg"])
    Image.fromarray(np.zeros((8, 4), np.uint8), "L").save(tmp_path / "0001_gray.png")
    Image.fromarray(np.zeros((8, 4, 4), np.uint8), "RGBA").save(tmp_path / "0002_alpha.png")
    Image.fromarray(np.zeros((8, 4), np.uint16)).save(tmp_path / "0002_deep.png")
    with pytest.warns(DatasetWarning) as caught:
        recs = scan_folder(tmp_path, check_image_files=True)
    assert len(recs) == 4
    text = "\n".join(str(w.message) for w in caught)
    assert "grayscale, not 8-bit RGB: 0001_gray.png" in text
    assert "alpha channel (dropped), not 8-bit RGB: 0002_alpha.png" in text
    assert "16-bit or wider (scaled to 8 bits), not 8-bit RGB: 0002_deep.png" in text
    assert "0001_rgb.jpg" not in text


def test_single_image_identities_and_query_without_gallery(tmp_path):
    recs = [
        ImageRecord(tmp_path / f"{i}_{n}.jpg", i, None) for i, n in [("a", 0), ("a", 1), ("b", 0)]
    ]
    with pytest.warns(DatasetWarning, match=r"1 identit.*single image: b_0.jpg"):
        check_training_identities(recs)
    with pytest.raises(DatasetError, match="Every identity in dataset.training_path.*b_0.jpg"):
        check_training_identities(recs[2:])

    gallery = recs[:2]
    query = [ImageRecord(tmp_path / "a_9.jpg", "a"), ImageRecord(tmp_path / "z_9.jpg", "z")]
    with pytest.warns(DatasetWarning, match="1 query image.*absent from.*z_9.jpg"):
        check_query_gallery(query, gallery)
    with pytest.raises(DatasetError, match="None of the 1 query identities.*z_9.jpg"):
        check_query_gallery(query[1:], gallery)


def test_real_folder_with_location_cameras():
    folder = REAL_DATA / "reid_test" / "query"
    if not folder.is_dir():
        pytest.skip("tgc2020-reid not present at /work/shared/data/tgc2020-reid")
    recs = scan_folder(folder, camera_regex=r"^[^_]+_([A-Za-z]+)_")
    assert len(recs) == 83
    assert {r.camera for r in recs} <= {
        "Arucas",
        "Ayagaures",
        "ParqueSur",
        "PresaDeHornos",
        "Teror",
    }
    assert all(r.path.name.startswith(r.identity + "_") for r in recs)
