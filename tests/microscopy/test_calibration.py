"""Pixel size from vendor metadata, and the data bar."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.errors import FileFormatError
from sulfurscope.microscopy.calibration import (
    crop_data_bar,
    detect_data_bar,
    pixel_size_from_fei,
    pixel_size_from_hitachi,
    pixel_size_from_jeol,
    pixel_size_from_tescan,
    pixel_size_from_zeiss,
    uncalibrated,
)


def test_hitachi_sidecar_pixel_size():
    text = "[SemImageFile]\nInstructName=SU8200\nPixelSize=19.84375\nDataSize=1280x960\n"
    cal = pixel_size_from_hitachi(text)
    assert cal.pixel_size_nm == pytest.approx(19.84375)
    assert cal.source == "hitachi"


def test_fei_pixel_width_in_metres():
    cal = pixel_size_from_fei("[Scan]\nPixelWidth=1.2e-08\nPixelHeight=1.2e-08\n")
    assert cal.pixel_size_nm == pytest.approx(12.0)


@pytest.mark.parametrize("width, expected", [(1024, 5.825), (512, 11.65), (2048, 2.9125)])
def test_zeiss_ap_pixel_size_scales_with_width(width, expected):
    cal = pixel_size_from_zeiss({"ap_pixel_size": ("Pixel Size", 5.825, "nm")}, width_px=width)
    assert cal.pixel_size_nm == pytest.approx(expected)


def test_zeiss_image_pixel_size_wins():
    tags = {
        "ap_pixel_size": ("Pixel Size", 5.825, "nm"),
        "ap_image_pixel_size": ("Image Pixel Size", 11.65, "nm"),
    }
    assert pixel_size_from_zeiss(tags, width_px=512).pixel_size_nm == pytest.approx(11.65)


def test_zeiss_disagreeing_width_is_flagged():
    tags = {"ap_pixel_size": ("Pixel Size", 5.825, "nm"), "ap_width": ("Width", 3.0, "µm")}
    assert "DISAGREES" in pixel_size_from_zeiss(tags, width_px=512).note


def test_tescan_and_jeol_text():
    assert pixel_size_from_tescan("PixelSizeX=2.583e-009\n").pixel_size_nm == pytest.approx(2.583)
    cal = pixel_size_from_jeol("$CM_MAG 30000\n$$SM_MICRON_BAR 32\n$$SM_MICRON_MARKER 100nm\n")
    assert cal.pixel_size_nm == pytest.approx(3.125)
    cal = pixel_size_from_jeol("$$SM_MICRON_BAR 200\n$$SM_MICRON_MARKER 1um\n")
    assert cal.pixel_size_nm == pytest.approx(5.0)


@pytest.mark.parametrize(
    "func, text, match",
    [
        (pixel_size_from_hitachi, "[SemImageFile]\nDataSize=1x1\n", "PixelSize"),
        (pixel_size_from_fei, "[User]\nDate=1\n", "PixelWidth"),
        (pixel_size_from_tescan, "HV=20000\n", "PixelSizeX"),
        (pixel_size_from_jeol, "$CM_MAG 1000\n", "MICRON_BAR"),
        (pixel_size_from_hitachi, "[SemImageFile]\nPixelSize=-3\n", "positive"),
    ],
)
def test_metadata_errors(func, text, match):
    with pytest.raises(FileFormatError, match=match):
        func(text)


def test_uncalibrated_says_so():
    cal = uncalibrated()
    assert cal.pixel_size_nm is None and "pixels" in cal.note


@pytest.mark.parametrize("colour", [0, 255])
def test_data_bar_detected_black_or_white(colour):
    rng = np.random.default_rng(1)
    img = rng.uniform(40, 220, (300, 200))
    img[260:] = colour
    img[270:280, 20:80] = 255 - colour  # text
    bar = detect_data_bar(img)
    assert bar.row == 260 and bar.height_px == 40
    cropped, _ = crop_data_bar(img)
    assert cropped.shape == (260, 200)


def test_flat_dark_image_is_not_a_bar():
    img = np.full((200, 200), 5.0)
    img[80:120, 80:120] = 200
    assert detect_data_bar(img).row is None


def test_given_row_and_bad_row():
    img = np.zeros((50, 10))
    assert crop_data_bar(img, row=-10)[0].shape == (40, 10)
    with pytest.raises(ValueError, match="outside"):
        crop_data_bar(img, row=80)
