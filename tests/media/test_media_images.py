"""Image reading/writing, provenance tags in images, atomic output and the watermark."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from faceforge.errors import InputError, OutputError, UnsupportedFormatError
from faceforge.media import (
    add_watermark,
    atomic_output,
    is_image_path,
    make_tag,
    read_image,
    read_tag,
    write_image,
)

STILLS = [
    "face_aligned_112.png",
    "face_darkskin_i.jpg",
    "face_frontal_a.jpg",
    "face_frontal_b.jpg",
    "face_glasses_e.png",
    "face_grayscale_d.jpg",
    "face_lookup_g.jpg",
    "face_lowkey_c.jpg",
    "face_profile_f.jpg",
    "face_roll_h.png",
    "group_3faces.jpg",
    "group_6faces_dinner.jpg",
    "group_collage_many.jpg",
]


def _gradient(height: int = 48, width: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 4 % 256, y * 5 % 256, (x + y) * 2 % 256], axis=2).astype(np.uint8)


@pytest.mark.parametrize("name", STILLS)
def test_read_every_still(testdata: Path, name: str) -> None:
    rgb = read_image(testdata / name)
    with Image.open(testdata / name) as image:
        width, height = image.size
    assert rgb.shape == (height, width, 3)
    assert rgb.dtype == np.uint8
    assert rgb.flags.c_contiguous


def test_rgba_png_drops_alpha(testdata: Path) -> None:
    with Image.open(testdata / "face_glasses_e.png") as image:
        assert image.mode == "RGBA"
        expected = np.asarray(image)[:, :, :3]
    np.testing.assert_array_equal(read_image(testdata / "face_glasses_e.png"), expected)


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("L", 200, (200, 200, 200)),
        ("LA", (90, 10), (90, 90, 90)),
        ("P", 0, (12, 34, 56)),
        ("I;16", 65535, (255, 255, 255)),
        ("I;16", 32896, (128, 128, 128)),
        ("CMYK", (0, 0, 0, 0), (255, 255, 255)),
    ],
)
def test_modes_convert_to_rgb(
    tmp_path: Path, mode: str, value: object, expected: tuple[int, int, int]
) -> None:
    image = Image.new(mode, (5, 4), value)
    if mode == "P":
        image.putpalette([12, 34, 56] + [0] * 765)
    path = tmp_path / ("img.tif" if mode == "CMYK" else "img.png")
    image.save(path)
    rgb = read_image(path)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert tuple(int(v) for v in rgb[0, 0]) == expected


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: displays rotated 90 degrees clockwise
    path = tmp_path / "rotated.jpg"
    Image.new("RGB", (40, 20), (200, 10, 10)).save(path, exif=exif)
    assert read_image(path).shape == (40, 20, 3)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(InputError, match="folder"):
        read_image(tmp_path)


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"noise\.png"):
        read_image(path)


def test_truncated_jpeg(testdata: Path, tmp_path: Path) -> None:
    data = (testdata / "face_frontal_a.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.jpg"):
        read_image(path)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_huge_png_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(InputError, match=r"bomb\.png"):
        read_image(path)


def test_pixel_limit_checked_before_decoding(testdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(InputError, match="over the limit"):
        read_image(testdata / "face_frontal_a.jpg", max_pixels=1000)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".tiff"])
def test_lossless_write_round_trip(tmp_path: Path, suffix: str) -> None:
    rgb = _gradient()
    write_image(tmp_path / f"out{suffix}", rgb, tag=None)
    np.testing.assert_array_equal(read_image(tmp_path / f"out{suffix}"), rgb)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".webp"])
def test_lossy_write_round_trip(tmp_path: Path, suffix: str) -> None:
    rgb = _gradient()
    write_image(tmp_path / f"out{suffix}", rgb, tag=None, quality=95)
    back = read_image(tmp_path / f"out{suffix}")
    assert back.shape == rgb.shape
    assert np.abs(back.astype(int) - rgb.astype(int)).mean() < 4


def test_write_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"out\.xyz"):
        write_image(tmp_path / "out.xyz", _gradient(), tag=None)
    assert list(tmp_path.iterdir()) == []


def test_write_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_image(tmp_path / "missing" / "out.png", _gradient(), tag=None)


def test_write_errors_name_their_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An errno error gives its text without the temporary file's path; one of Pillow's (no errno) its
    message."""

    def failing(error: OSError):
        def save(self, fp, *args, **kwargs) -> None:
            raise error

        return save

    pixels = np.zeros((4, 4, 3), np.uint8)
    monkeypatch.setattr(Image.Image, "save", failing(OSError(28, "No space left on device", "/x/.tmp")))
    with pytest.raises(OutputError) as full:
        write_image(tmp_path / "a.png", pixels)
    assert str(full.value) == f"Cannot write {tmp_path / 'a.png'}: No space left on device."
    monkeypatch.setattr(Image.Image, "save", failing(OSError("encoder error -2")))
    with pytest.raises(OutputError) as pillow:
        write_image(tmp_path / "a.png", pixels)
    assert str(pillow.value) == f"Cannot write {tmp_path / 'a.png'}: encoder error -2."
    assert list(tmp_path.iterdir()) == []


def test_make_tag() -> None:
    tag = make_tag("1.2.3", "face-swap", {"swapper": "mesh"})
    assert tag["synthetic"] is True and tag["generator"] == "faceforge"
    assert tag["version"] == "1.2.3" and tag["kind"] == "face-swap" and tag["swapper"] == "mesh"
    assert datetime.fromisoformat(tag["created"]).utcoffset().total_seconds() == 0
    with pytest.raises(ValueError, match="reserved"):
        make_tag("1", "face-swap", {"synthetic": False})


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
def test_provenance_round_trip(tmp_path: Path, suffix: str) -> None:
    tag = make_tag("0.1.0", "face-swap", {"swapper": "mesh", "note": 'quotes " & <xml>'})
    path = tmp_path / f"tagged{suffix}"
    write_image(path, _gradient(), tag=tag)
    assert read_tag(path) == tag


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_jpeg_and_webp_carry_both_xmp_and_exif(tmp_path: Path, suffix: str) -> None:
    tag = make_tag("0.1.0", "face-swap", {})
    path = tmp_path / f"tagged{suffix}"
    write_image(path, _gradient(), tag=tag)
    with Image.open(path) as image:
        xmp = image.info["xmp"]
        exif = image.getexif()
    xmp_text = xmp.decode() if isinstance(xmp, bytes) else xmp
    assert "faceforge:provenance" in xmp_text
    assert "Synthetic media (face swap) made with faceforge" in xmp_text
    assert '"synthetic":true' in exif[0x010E]
    assert b'"synthetic":true' in exif.get_ifd(0x8769)[0x9286]


def test_png_has_description(tmp_path: Path) -> None:
    write_image(tmp_path / "t.png", _gradient(), tag=make_tag("0.1.0", "face-swap", {}))
    with Image.open(tmp_path / "t.png") as image:
        assert image.text["Description"].startswith("Synthetic media")


def test_untagged_image_has_no_tag(testdata: Path) -> None:
    assert read_tag(testdata / "face_frontal_a.jpg") is None
    assert read_tag(testdata / "face_glasses_e.png") is None


def test_is_image_path() -> None:
    assert is_image_path(Path("a/B.JPG")) and is_image_path(Path("x.webp"))
    assert not is_image_path(Path("clip.mp4"))


def test_atomic_output_success_replaces(tmp_path: Path) -> None:
    final = tmp_path / "out.txt"
    final.write_text("old")
    with atomic_output(final) as temp:
        assert temp.parent == tmp_path and temp.suffix == ".txt" and temp.name.startswith(".faceforge-tmp-")
        temp.write_text("new")
        assert final.read_text() == "old"
    assert final.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_output_failure_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), atomic_output(tmp_path / "out.txt") as temp:
        temp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"), atomic_output(tmp_path / "no" / "out.txt"):
        pass


def test_watermark(testdata: Path) -> None:
    rgb = read_image(testdata / "face_frontal_a.jpg")
    marked = add_watermark(rgb)
    assert marked.shape == rgb.shape and marked.dtype == np.uint8
    assert marked is not rgb
    changed = np.argwhere((marked != rgb).any(axis=2))
    assert len(changed) > 100
    # bottom-right corner only
    assert changed[:, 0].min() > rgb.shape[0] * 0.8 and changed[:, 1].min() > rgb.shape[1] * 0.3
    np.testing.assert_array_equal(read_image(testdata / "face_frontal_a.jpg"), rgb)  # input untouched


def test_watermark_scales_with_size() -> None:
    small = add_watermark(np.zeros((360, 640, 3), np.uint8))
    large = add_watermark(np.zeros((1440, 2560, 3), np.uint8))
    rows_small = np.ptp(np.argwhere(small.any(axis=2))[:, 0])
    rows_large = np.ptp(np.argwhere(large.any(axis=2))[:, 0])
    assert rows_large > 3 * rows_small
