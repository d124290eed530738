"""The series colours stay apart where users see them: rounded by a 256-colour terminal, in a
16-colour one, and for the two common red-green colour-vision deficiencies.

Colour science written out here with numpy alone (no colour library): sRGB -> CIELAB (D65),
the CIEDE2000 difference (Sharma, Wu & Dalal 2005), and the colour-vision simulation of
Machado, Oliveira & Fernandes (2009) at severity 1.0, applied in linear RGB.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from rich.color import Color, ColorSystem

from trainmon.ui.palette import MIN_DELTA_E, SERIES_PALETTE, TESTED, Rgb

PROTANOPIA = np.array(
    [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]
)
DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
D65 = np.array([0.95047, 1.0, 1.08883])


def linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, dtype=float) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def gamma(lin: np.ndarray) -> np.ndarray:
    c = np.clip(lin, 0.0, 1.0)
    return 255.0 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def simulate(rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return gamma(matrix @ linear(rgb))


def lab(rgb: np.ndarray) -> np.ndarray:
    xyz = SRGB_TO_XYZ @ linear(rgb) / D65
    eps = (6 / 29) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    else:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + (360 if h1p + h2p < 360 else -360)) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    d_theta = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return float(
        np.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2 + r_t * dc / s_c * dhh / s_h)
    )


def in_256(rgb: Rgb) -> np.ndarray:
    """The colour a 256-colour terminal shows: Rich's rounding, as Textual uses it."""
    triplet = Color.from_rgb(*rgb).downgrade(ColorSystem.EIGHT_BIT).get_truecolor()
    return np.array(tuple(triplet), dtype=float)


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma, Wu & Dalal (2005), table 1, pairs 1, 7 and 17
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ],
)
def test_delta_e_2000_matches_the_published_test_data(
    lab1: tuple[float, ...], lab2: tuple[float, ...], expected: float
) -> None:
    assert delta_e_2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)


def test_the_simulations_merge_red_and_green_as_those_eyes_do() -> None:
    """A sanity check of the matrices: pure red and green, far apart for normal vision, come
    much closer under both simulations, while blue and yellow stay apart."""
    red, green = np.array([220.0, 40, 40]), np.array([40.0, 170, 40])
    normal = delta_e_2000(lab(red), lab(green))
    for matrix in (PROTANOPIA, DEUTERANOPIA):
        merged = delta_e_2000(lab(simulate(red, matrix)), lab(simulate(green, matrix)))
        assert merged < normal / 2
    blue, yellow = np.array([0.0, 114, 178]), np.array([240.0, 228, 66])
    assert delta_e_2000(lab(simulate(blue, DEUTERANOPIA)), lab(simulate(yellow, DEUTERANOPIA))) > 40


@pytest.mark.parametrize("vision", ["normal", "deuteranopia", "protanopia"])
def test_series_colours_differ_by_the_bound_in_the_256_palette(vision: str) -> None:
    matrix = {"deuteranopia": DEUTERANOPIA, "protanopia": PROTANOPIA}.get(vision)
    seen = [in_256(rgb) for rgb in SERIES_PALETTE[:TESTED]]
    if matrix is not None:
        seen = [simulate(rgb, matrix) for rgb in seen]
    for (i, a), (j, b) in itertools.combinations(enumerate(seen), 2):
        difference = delta_e_2000(lab(a), lab(b))
        assert difference >= MIN_DELTA_E, f"colours {i} and {j}: ΔE {difference:.1f} ({vision})"


def test_series_colours_differ_in_truecolour_and_fall_on_different_16_colours() -> None:
    tested = SERIES_PALETTE[:TESTED]
    for a, b in itertools.combinations(tested, 2):
        assert delta_e_2000(lab(np.array(a)), lab(np.array(b))) >= MIN_DELTA_E
    standard = {Color.from_rgb(*rgb).downgrade(ColorSystem.STANDARD).number for rgb in tested}
    assert len(standard) == TESTED
    assert len(set(SERIES_PALETTE)) == len(SERIES_PALETTE) >= 12
