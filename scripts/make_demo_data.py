"""Generate the menu-review demo dataset: synthetic food photos and Korean menu texts with labelled faults.

Everything is drawn here (numpy + OpenCV shapes, Pillow for overlay text), seeded, so a re-run gives the same
files byte for byte on the same library versions. Overlay text needs a Korean font at generation time only
(Debian: `apt-get install -y fonts-nanum`); the committed JPEGs need no font to use.

    .venv/bin/python scripts/make_demo_data.py [--out src/andon/demo/data]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

SEED = 20261124
W, H = 480, 360
JPEG_QUALITY = 72
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
    "/usr/share/fonts/truetype/nanum/NanumSquareB.ttf",
    "/usr/share/fonts/truetype/nanum/NanumBarunGothicBold.ttf",
)

Img = np.ndarray[Any, np.dtype[np.uint8]]
Color = tuple[int, int, int]  # BGR, as OpenCV draws


# ---------------------------------------------------------------- drawing helpers


def u8(array: Any) -> Img:
    """The array as 8-bit pixels (OpenCV's results are typed loosely)."""
    return np.asarray(array, dtype=np.uint8)


def jitter(rng: np.random.Generator, color: Color, amount: int = 18) -> Color:
    """A colour near ``color`` so repeated pieces don't look stamped."""
    b, g, r = (int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)
    return (b, g, r)


def noise(rng: np.random.Generator, img: Img, sigma: float) -> Img:
    """Sensor-like grain: gives every surface some texture, as real photos have."""
    out = img.astype(np.float32) + np.asarray(rng.normal(0.0, sigma, img.shape), dtype=np.float32)
    return np.asarray(np.clip(out, 0, 255), dtype=np.uint8)


def background(rng: np.random.Generator) -> Img:
    """A table: wood grain, linen or stone."""
    kind = rng.choice(["wood", "linen", "stone"])
    img = np.zeros((H, W, 3), np.uint8)
    if kind == "wood":
        base = np.array(jitter(rng, (60, 100, 150), 25), np.float32)
        ys = np.arange(H, dtype=np.float32)[:, None]
        xs = np.arange(W, dtype=np.float32)[None, :]
        grain = np.sin(ys / rng.uniform(3, 7) + np.sin(xs / rng.uniform(40, 90)) * 2.5) * 14
        img = np.clip(base[None, None, :] + grain[:, :, None], 0, 255).astype(np.uint8)
        img = noise(rng, img, 5)
    elif kind == "linen":
        img[:] = jitter(rng, (215, 222, 228), 20)
        step = int(rng.integers(18, 30))
        line = jitter(rng, (150, 120, 190), 40)
        for k in range(0, max(W, H), step):
            cv2.line(img, (k, 0), (k, H), line, 2)
            cv2.line(img, (0, k), (W, k), line, 2)
        img = noise(rng, img, 7)
    else:
        img[:] = jitter(rng, (120, 125, 128), 20)
        img = noise(rng, img, 12)
        img = u8(cv2.GaussianBlur(img, (0, 0), 1.2))
        img = noise(rng, img, 4)
    return img


@dataclass
class Dish:
    """Where the food sits: the centre and radii of the plate's or bowl's inner ellipse."""

    cx: int
    cy: int
    ax: int
    ay: int


def plate(rng: np.random.Generator, img: Img, bowl: bool = False) -> Dish:
    """Draw a plate (white, rimmed) or a bowl (dark stone or steel) with a soft shadow; return its inside."""
    cx, cy = W // 2 + int(rng.integers(-25, 26)), H // 2 + 10 + int(rng.integers(-12, 13))
    ax, ay = int(rng.integers(150, 185)), int(rng.integers(112, 132))
    shadow = img.copy()
    cv2.ellipse(shadow, (cx + 8, cy + 12), (ax + 4, ay + 4), 0, 0, 360, (20, 20, 20), -1)
    img[:] = cv2.addWeighted(cv2.GaussianBlur(shadow, (0, 0), 9), 0.45, img, 0.55, 0)
    if bowl:
        outer = jitter(rng, rng.choice([(40, 40, 45), (170, 170, 175), (30, 50, 80)]).tolist(), 10)
        cv2.ellipse(img, (cx, cy), (ax, ay), 0, 0, 360, outer, -1)
        cv2.ellipse(img, (cx, cy - 4), (ax - 8, ay - 8), 0, 0, 360, jitter(rng, outer, 25), 3)
        return Dish(cx, cy - 4, ax - 16, ay - 14)
    cv2.ellipse(img, (cx, cy), (ax, ay), 0, 0, 360, jitter(rng, (238, 240, 242), 8), -1)
    cv2.ellipse(img, (cx, cy), (ax - 22, ay - 17), 0, 0, 360, jitter(rng, (215, 218, 222), 8), 2)
    return Dish(cx, cy, ax - 26, ay - 20)


def point_in(rng: np.random.Generator, d: Dish, scale: float = 1.0) -> tuple[int, int]:
    """A random point inside the dish (uniform over the ellipse scaled by ``scale``)."""
    r = np.sqrt(rng.uniform(0, 1)) * scale
    t = rng.uniform(0, 2 * np.pi)
    return int(d.cx + r * d.ax * np.cos(t)), int(d.cy + r * d.ay * np.sin(t))


def blob(rng: np.random.Generator, img: Img, center: tuple[int, int], radius: int, color: Color) -> None:
    """An irregular filled polygon: a piece of meat, a kimchi leaf, a chicken piece."""
    n = int(rng.integers(7, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.65, 1.15, n)
    pts = np.stack([center[0] + radii * np.cos(angles), center[1] + radii * np.sin(angles) * 0.8], axis=1)
    cv2.fillPoly(img, [pts.astype(np.int32)], color, lineType=cv2.LINE_AA)


def speckle(rng: np.random.Generator, img: Img, d: Dish, n: int, color: Color, size: int = 2) -> None:
    """Small dots over the dish: sesame, pepper flakes, crumbs."""
    for _ in range(n):
        x, y = point_in(rng, d, 0.95)
        cv2.ellipse(img, (x, y), (size, max(1, size // 2)), float(rng.uniform(0, 180)), 0, 360, color, -1)


def fill_dish(img: Img, d: Dish, color: Color, scale: float = 1.0) -> None:
    """A sauce, broth or base layer covering the dish's inside."""
    cv2.ellipse(img, (d.cx, d.cy), (int(d.ax * scale), int(d.ay * scale)), 0, 0, 360, color, -1, cv2.LINE_AA)


def rice_grains(rng: np.random.Generator, img: Img, d: Dish, scale: float, n: int) -> None:
    """A mound of rice: off-white base and many small grains with a faint outline."""
    fill_dish(img, d, jitter(rng, (225, 235, 240), 6), scale)
    for _ in range(n):
        x, y = point_in(rng, d, scale * 0.97)
        ang = float(rng.uniform(0, 180))
        cv2.ellipse(img, (x, y), (5, 2), ang, 0, 360, (185, 195, 200), -1)
        cv2.ellipse(img, (x, y), (4, 2), ang, 0, 360, jitter(rng, (240, 248, 252), 5), -1)


def green_onion(rng: np.random.Generator, img: Img, d: Dish, n: int) -> None:
    """Chopped green onion rings."""
    for _ in range(n):
        x, y = point_in(rng, d, 0.9)
        cv2.circle(img, (x, y), int(rng.integers(3, 6)), jitter(rng, (60, 170, 80), 20), 2)


def noodles(rng: np.random.Generator, img: Img, d: Dish, color: Color, n: int, thick: int) -> None:
    """Wavy strands crossing the bowl."""
    for _ in range(n):
        x0, y0 = point_in(rng, d, 0.8)
        ang = rng.uniform(0, np.pi)
        length = rng.uniform(0.6, 1.4) * d.ax
        ts = np.linspace(-0.5, 0.5, 40) * length
        wave = np.sin(ts / rng.uniform(8, 16) + rng.uniform(0, 6)) * rng.uniform(3, 8)
        xs = x0 + ts * np.cos(ang) - wave * np.sin(ang)
        ys = y0 + (ts * np.sin(ang) + wave * np.cos(ang)) * 0.8
        inside = ((xs - d.cx) / d.ax) ** 2 + ((ys - d.cy) / d.ay) ** 2 < 0.92
        pts = np.stack([xs[inside], ys[inside]], axis=1).astype(np.int32)
        if len(pts) > 2:
            cv2.polylines(img, [pts], False, jitter(rng, color, 15), thick, cv2.LINE_AA)


def glossy(rng: np.random.Generator, img: Img, d: Dish, n: int) -> None:
    """Specular highlights: sauce shine."""
    for _ in range(n):
        x, y = point_in(rng, d, 0.9)
        cv2.ellipse(img, (x, y), (int(rng.integers(2, 6)), 1), float(rng.uniform(0, 180)), 0, 360, (235, 240, 250), -1)


# ---------------------------------------------------------------- dishes


def draw_rice_bowl(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=bool(rng.integers(0, 2)))
    rice_grains(rng, img, d, 1.0, 520)
    top = jitter(rng, rng.choice([(40, 70, 170), (40, 60, 110)]).tolist(), 12)
    for _ in range(45):
        x, y = point_in(rng, d, 0.6)
        blob(rng, img, (x + d.ax // 5, y), int(rng.integers(8, 16)), jitter(rng, top, 18))
    glossy(rng, img, d, 30)
    green_onion(rng, img, d, 14)
    speckle(rng, img, d, 60, (170, 215, 235), 2)


def draw_bibimbap(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=True)
    rice_grains(rng, img, d, 1.0, 200)
    colors = [(40, 120, 40), (30, 120, 230), (150, 215, 230), (30, 60, 100), (215, 225, 230), (40, 160, 110)]
    start = float(rng.uniform(0, 60))
    for k, col in enumerate(colors):
        a0 = start + k * 60
        cv2.ellipse(img, (d.cx, d.cy), (d.ax - 6, d.ay - 6), 0, a0, a0 + 56, jitter(rng, col, 12), -1)
        for _ in range(40):
            t = np.deg2rad(a0 + rng.uniform(3, 53))
            r = rng.uniform(0.35, 0.9)
            x, y = int(d.cx + r * d.ax * np.cos(t)), int(d.cy + r * d.ay * np.sin(t))
            dx, dy = int(9 * np.cos(t)), int(7 * np.sin(t))
            cv2.line(img, (x - dx, y - dy), (x + dx, y + dy), jitter(rng, col, 30), 2, cv2.LINE_AA)
    cv2.ellipse(img, (d.cx, d.cy), (38, 30), float(rng.uniform(0, 90)), 0, 360, (240, 245, 248), -1)
    cv2.circle(img, (d.cx + 3, d.cy - 2), 14, jitter(rng, (20, 170, 250), 8), -1)
    cv2.circle(img, (d.cx - 2, d.cy - 6), 4, (170, 235, 255), -1)
    cv2.circle(img, (d.cx + 45, d.cy + 30), 14, (30, 40, 190), -1)


def draw_fried_rice(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    fill_dish(img, d, jitter(rng, (90, 150, 215), 12), 0.92)
    for _ in range(700):
        x, y = point_in(rng, d, 0.9)
        cv2.ellipse(img, (x, y), (4, 2), float(rng.uniform(0, 180)), 0, 360, jitter(rng, (80, 140, 220), 25), -1)
    for col, n in (((140, 150, 240), 40), ((40, 70, 200), 50), ((60, 170, 80), 25)):
        for _ in range(n):
            x, y = point_in(rng, d, 0.85)
            s = int(rng.integers(3, 7))
            cv2.rectangle(img, (x, y), (x + s, y + s), jitter(rng, col, 15), -1)
    cv2.ellipse(img, (d.cx + 10, d.cy - 10), (45, 34), 10, 0, 360, (238, 244, 248), -1)
    cv2.circle(img, (d.cx + 12, d.cy - 12), 15, (30, 180, 250), -1)


def draw_jjajang(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=True)
    fill_dish(img, d, (150, 200, 225), 1.0)
    noodles(rng, img, d, (140, 205, 235), 90, 5)
    sauce = (20, 40, 60)
    cv2.ellipse(img, (d.cx - 10, d.cy - 5), (int(d.ax * 0.55), int(d.ay * 0.5)), 0, 0, 360, sauce, -1, cv2.LINE_AA)
    inner = Dish(d.cx - 10, d.cy - 5, int(d.ax * 0.55), int(d.ay * 0.5))
    for _ in range(40):
        x, y = point_in(rng, inner, 0.9)
        col = jitter(rng, rng.choice([(30, 60, 90), (150, 180, 190)]).tolist(), 12)
        cv2.rectangle(img, (x, y), (x + int(rng.integers(4, 9)), y + int(rng.integers(4, 9))), col, -1)
    glossy(rng, img, inner, 25)
    for _ in range(14):
        x, y = point_in(rng, inner, 0.5)
        cv2.line(img, (x, y), (x + int(rng.integers(10, 22)), y + int(rng.integers(-6, 6))), (60, 160, 90), 2)


def draw_cold_noodles(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=True)
    fill_dish(img, d, jitter(rng, (120, 160, 185), 10), 1.0)
    noodles(rng, img, d, (95, 110, 125), 80, 3)
    for _ in range(8):
        x, y = point_in(rng, d, 0.6)
        cv2.ellipse(img, (x, y), (16, 4), float(rng.uniform(0, 180)), 0, 360, (90, 170, 110), -1)
    cv2.ellipse(img, (d.cx, d.cy - 8), (26, 20), 0, 0, 360, (240, 245, 248), -1)
    cv2.circle(img, (d.cx, d.cy - 8), 10, (40, 190, 250), -1)
    cv2.ellipse(img, (d.cx + 40, d.cy + 10), (20, 9), 20, 0, 360, (200, 235, 245), -1)
    for _ in range(30):
        x, y = point_in(rng, d, 0.9)
        cv2.rectangle(img, (x, y), (x + 6, y + 6), (235, 240, 245), 1)  # ice shards catch light


def draw_red_soup(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=True)
    fill_dish(img, d, jitter(rng, (30, 70, 200), 12), 1.0)
    for _ in range(60):
        x, y = point_in(rng, d, 0.95)
        cv2.circle(img, (x, y), int(rng.integers(2, 7)), jitter(rng, (40, 110, 230), 15), -1)
    for _ in range(10):
        x, y = point_in(rng, d, 0.75)
        s = int(rng.integers(14, 22))
        box = cv2.boxPoints(((float(x), float(y)), (float(s), float(s * 0.8)), float(rng.uniform(0, 90))))
        cv2.fillPoly(img, [box.astype(np.int32)], jitter(rng, (225, 235, 240), 8))
    for _ in range(18):
        x, y = point_in(rng, d, 0.8)
        blob(rng, img, (x, y), int(rng.integers(8, 14)), jitter(rng, (40, 90, 190), 20))
    green_onion(rng, img, d, 20)
    glossy(rng, img, d, 40)


def draw_clear_soup(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=True)
    fill_dish(img, d, jitter(rng, (185, 210, 225), 10), 1.0)
    for _ in range(16):
        x, y = point_in(rng, d, 0.75)
        blob(rng, img, (x, y), int(rng.integers(10, 18)), jitter(rng, (120, 140, 175), 15))
        cv2.line(img, (x - 8, y), (x + 8, y + 2), (220, 230, 240), 1)
    for _ in range(80):
        x, y = point_in(rng, d, 0.95)
        cv2.circle(img, (x, y), int(rng.integers(1, 4)), (140, 185, 215), -1)
    green_onion(rng, img, d, 30)
    speckle(rng, img, d, 40, (40, 40, 40), 1)


def draw_fried_chicken(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    style = str(rng.choice(["fried", "yangnyeom", "soy"]))
    base = {"fried": (40, 120, 200), "yangnyeom": (30, 40, 170), "soy": (25, 55, 100)}[style]
    for _ in range(12):
        x, y = point_in(rng, d, 0.55)
        r = int(rng.integers(28, 42))
        blob(rng, img, (x, y), r, jitter(rng, base, 14))
        lighter = (min(255, base[0] + 35), min(255, base[1] + 35), min(255, base[2] + 35))
        blob(rng, img, (x - r // 5, y - r // 5), r // 2, jitter(rng, lighter, 10))
        for _ in range(70):  # crispy coating or sauce texture on the piece only
            a, rr = rng.uniform(0, 2 * np.pi), r * np.sqrt(rng.uniform(0, 0.7))
            px, py = int(x + rr * np.cos(a)), int(y + rr * np.sin(a) * 0.8)
            cv2.circle(img, (px, py), int(rng.integers(1, 3)), jitter(rng, base, 45), -1)
    inner = Dish(d.cx, d.cy, int(d.ax * 0.6), int(d.ay * 0.6))
    glossy(rng, img, inner, 40 if style != "fried" else 12)
    if style != "fried":
        speckle(rng, img, inner, 60, (190, 225, 240), 2)


def draw_tteokbokki(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    rose = bool(rng.integers(0, 3) == 0)
    fill_dish(img, d, (120, 120, 230) if rose else (30, 45, 200), 0.95)
    for _ in range(22):
        x, y = point_in(rng, d, 0.8)
        ang = rng.uniform(0, np.pi)
        dx, dy = int(16 * np.cos(ang)), int(12 * np.sin(ang))
        cv2.line(img, (x - dx, y - dy), (x + dx, y + dy), (150, 185, 230), 15, cv2.LINE_AA)
        cv2.line(img, (x - dx, y - dy - 3), (x + dx, y + dy - 3), (200, 220, 245), 4, cv2.LINE_AA)
    for _ in range(6):
        x, y = point_in(rng, d, 0.7)
        tri = np.array([[x, y - 14], [x - 14, y + 10], [x + 14, y + 10]], np.int32)
        cv2.fillPoly(img, [tri], jitter(rng, (120, 175, 215), 12))
    cv2.ellipse(img, point_in(rng, d, 0.5), (18, 14), 0, 0, 360, (235, 242, 248), -1)
    green_onion(rng, img, d, 16)
    glossy(rng, img, d, 50)


def draw_kimbap(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    rows = 2
    for row in range(rows):
        for k in range(6):
            x = d.cx - 5 * 24 + k * 48 + int(rng.integers(-3, 4))
            y = d.cy - 30 + row * 62 + int(rng.integers(-3, 4))
            cv2.circle(img, (x, y), 24, (25, 35, 25), -1)
            cv2.circle(img, (x, y), 21, (235, 242, 245), -1)
            for _ in range(30):
                a, r = rng.uniform(0, 2 * np.pi), rng.uniform(9, 20)
                cv2.ellipse(img, (int(x + r * np.cos(a)), int(y + r * np.sin(a))), (3, 1), 0, 0, 360, (200, 210, 215))
            for col in ((40, 200, 240), (30, 120, 230), (50, 140, 50), (150, 150, 230)):
                a, r = rng.uniform(0, 2 * np.pi), rng.uniform(0, 8)
                cv2.rectangle(img, (int(x + r * np.cos(a)) - 3, int(y + r * np.sin(a)) - 3),
                              (int(x + r * np.cos(a)) + 4, int(y + r * np.sin(a)) + 4), col, -1)  # fmt: skip
    speckle(rng, img, d, 40, (170, 215, 235), 2)


def draw_dumplings(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    fried = bool(rng.integers(0, 2))
    for _ in range(7):
        x, y = point_in(rng, d, 0.6)
        col = jitter(rng, (70, 150, 215) if fried else (190, 215, 230), 10)
        edge = (int(col[0] * 0.7), int(col[1] * 0.7), int(col[2] * 0.75))
        ang = float(rng.uniform(-30, 30))
        cv2.ellipse(img, (x, y), (42, 28), ang, 180, 360, col, -1, cv2.LINE_AA)
        cv2.ellipse(img, (x, y), (42, 8), ang, 0, 180, edge if fried else col, -1, cv2.LINE_AA)
        cv2.ellipse(img, (x, y), (42, 28), ang, 180, 360, edge, 2, cv2.LINE_AA)
        for k in range(6):
            t = np.deg2rad(195 + k * 28 + ang)
            cv2.line(img, (x, y - 4), (int(x + 36 * np.cos(t)), int(y + 24 * np.sin(t))), edge, 2, cv2.LINE_AA)
    cv2.circle(img, (d.cx + d.ax - 30, d.cy + d.ay - 25), 22, (20, 30, 45), -1)
    speckle(rng, img, d, 50, (60, 110, 160), 1)


def draw_pizza(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    cv2.ellipse(img, (d.cx, d.cy), (d.ax, d.ay), 0, 0, 360, (60, 130, 190), -1)
    cv2.ellipse(img, (d.cx, d.cy), (d.ax - 14, d.ay - 11), 0, 0, 360, (40, 60, 200), -1)
    inner = Dish(d.cx, d.cy, d.ax - 16, d.ay - 13)
    for _ in range(120):
        x, y = point_in(rng, inner, 0.95)
        blob(rng, img, (x, y), int(rng.integers(6, 12)), jitter(rng, (110, 210, 245), 15))
    pepperoni = bool(rng.integers(0, 2))
    for _ in range(16):
        x, y = point_in(rng, inner, 0.85)
        if pepperoni:
            cv2.circle(img, (x, y), 11, jitter(rng, (40, 50, 170), 10), -1)
        else:
            blob(rng, img, (x, y), 9, jitter(rng, (40, 60, 100), 12))
    for _ in range(10):
        x, y = point_in(rng, inner, 0.85)
        cv2.circle(img, (x, y), 6, (50, 150, 60), 2)
    for k in range(4):
        t = np.deg2rad(k * 45 + 10)
        cv2.line(img, (int(d.cx - d.ax * np.cos(t)), int(d.cy - d.ay * np.sin(t))),
                 (int(d.cx + d.ax * np.cos(t)), int(d.cy + d.ay * np.sin(t))), (40, 80, 150), 2)  # fmt: skip


def draw_salad(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=bool(rng.integers(0, 2)))
    for _ in range(60):
        x, y = point_in(rng, d, 0.9)
        ang = float(rng.uniform(0, 180))
        col = jitter(rng, rng.choice([(60, 170, 90), (40, 130, 60), (90, 200, 150), (60, 40, 110)]).tolist(), 15)
        cv2.ellipse(img, (x, y), (int(rng.integers(12, 22)), int(rng.integers(6, 10))), ang, 0, 360, col, -1)
        cv2.line(img, (x - 8, y), (x + 8, y), jitter(rng, col, 40), 1)
    red = bool(rng.integers(0, 2))
    for _ in range(8):
        x, y = point_in(rng, d, 0.7)
        if red:
            cv2.ellipse(img, (x, y), (12, 10), 0, 0, 360, (40, 50, 210), -1)
            cv2.ellipse(img, (x, y), (7, 5), 0, 0, 360, (90, 140, 240), -1)
        else:
            cv2.rectangle(img, (x, y), (x + 26, y + 10), jitter(rng, (170, 200, 225), 10), -1)
    speckle(rng, img, d, 50, (220, 235, 245), 2)


def draw_pork(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    for _ in range(10):
        x, y = point_in(rng, d, 0.8)
        cv2.ellipse(img, (x, y), (30, 18), float(rng.uniform(0, 180)), 0, 360, jitter(rng, (70, 150, 90), 18), -1)
    dark = bool(rng.integers(0, 2))
    for k in range(9):
        x = d.cx - 100 + k * 24 + int(rng.integers(-3, 4))
        y = d.cy - 10 + int(rng.integers(-6, 7))
        box = cv2.boxPoints(((float(x), float(y)), (22.0, 70.0), float(rng.uniform(-15, 15))))
        pts = box.astype(np.int32)
        cv2.fillPoly(img, [pts], jitter(rng, (40, 55, 90) if dark else (160, 175, 215), 12))
        cv2.line(img, tuple(pts[0]), tuple(pts[1]), (225, 232, 240), 4)
        cv2.line(img, tuple(pts[1]), tuple(pts[2]), jitter(rng, (60, 80, 150), 15), 2)
    glossy(rng, img, d, 30 if dark else 8)
    cv2.circle(img, (d.cx + d.ax - 40, d.cy + d.ay - 30), 24, (40, 60, 190), -1)


def draw_burger(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img)
    cx, cy = d.cx, d.cy + 10
    cv2.ellipse(img, (cx, cy + 34), (95, 22), 0, 0, 360, (70, 140, 200), -1)
    cv2.ellipse(img, (cx, cy + 14), (100, 16), 0, 0, 360, (30, 50, 70), -1)
    for k in range(10):
        cv2.ellipse(img, (cx - 90 + k * 20, cy + 2), (14, 8), 0, 0, 180, jitter(rng, (60, 180, 90), 15), -1)
    cv2.rectangle(img, (cx - 80, cy - 8), (cx + 80, cy), (40, 190, 245), -1)
    cv2.ellipse(img, (cx, cy - 12), (96, 62), 0, 180, 360, (50, 130, 210), -1)
    for _ in range(50):
        a = rng.uniform(np.pi * 1.1, np.pi * 1.9)
        r = rng.uniform(0.2, 0.9)
        x, y = int(cx + 96 * r * np.cos(a)), int(cy - 12 + 62 * r * np.sin(a))
        cv2.ellipse(img, (x, y), (3, 2), float(rng.uniform(0, 180)), 0, 360, (190, 230, 245), -1)
    for _ in range(16):
        x, y = point_in(rng, Dish(d.cx, d.cy + 60, 150, 30), 1.0)
        cv2.rectangle(img, (x, y), (x + 6, y + 26), jitter(rng, (70, 180, 235), 10), -1)


def draw_bottle(rng: np.random.Generator, img: Img) -> None:
    """A drink: bottle and a filled glass on the table (a menu photo of a drink)."""
    green = bool(rng.integers(0, 2))
    body = (60, 130, 50) if green else (30, 50, 90)
    x = W // 2 - 60 + int(rng.integers(-20, 21))
    cv2.rectangle(img, (x - 32, 120), (x + 32, 320), body, -1)
    cv2.rectangle(img, (x - 12, 40), (x + 12, 125), body, -1)
    cv2.ellipse(img, (x, 122), (32, 18), 0, 180, 360, body, -1)
    cv2.rectangle(img, (x - 14, 30), (x + 14, 45), (60, 60, 170), -1)
    cv2.rectangle(img, (x - 32, 180), (x + 32, 250), jitter(rng, (230, 220, 200), 15), -1)
    cv2.circle(img, (x, 215), 18, jitter(rng, (60, 80, 200), 30), -1)
    cv2.line(img, (x - 22, 130), (x - 22, 310), (210, 230, 220), 3)
    gx = x + 130
    liquid = (80, 190, 240) if green else (30, 60, 110)
    cv2.rectangle(img, (gx - 36, 200), (gx + 36, 320), (220, 225, 228), 2)
    cv2.rectangle(img, (gx - 34, 220), (gx + 34, 318), liquid, -1)
    for _ in range(40):
        cv2.circle(img, (int(gx + rng.integers(-30, 31)), int(rng.integers(225, 315))), 2, (235, 245, 250), -1)
    cv2.rectangle(img, (gx - 34, 205), (gx + 34, 222), (235, 240, 245), -1)


def draw_bingsu(rng: np.random.Generator, img: Img) -> None:
    d = plate(rng, img, bowl=True)
    cv2.ellipse(img, (d.cx, d.cy - 10), (d.ax, d.ay + 10), 0, 0, 360, (238, 240, 244), -1)
    for _ in range(1500):
        x, y = point_in(rng, d, 0.98)
        cv2.circle(img, (x, y - 10), 1, jitter(rng, (225, 230, 236), 14), -1)
    for _ in range(120):
        x, y = point_in(rng, d, 0.45)
        cv2.circle(img, (x, y - 10), int(rng.integers(3, 6)), jitter(rng, (30, 30, 90), 12), -1)
    for _ in range(10):
        x, y = point_in(rng, d, 0.7)
        cv2.rectangle(img, (x, y), (x + 12, y + 12), jitter(rng, (200, 215, 235), 8), -1)


DRAW: dict[str, Callable[[np.random.Generator, Img], None]] = {
    "rice_bowl": draw_rice_bowl,
    "bibimbap": draw_bibimbap,
    "fried_rice": draw_fried_rice,
    "jjajang": draw_jjajang,
    "cold_noodles": draw_cold_noodles,
    "red_soup": draw_red_soup,
    "clear_soup": draw_clear_soup,
    "chicken": draw_fried_chicken,
    "tteokbokki": draw_tteokbokki,
    "kimbap": draw_kimbap,
    "dumplings": draw_dumplings,
    "pizza": draw_pizza,
    "salad": draw_salad,
    "pork": draw_pork,
    "burger": draw_burger,
    "drink": draw_bottle,
    "bingsu": draw_bingsu,
}


# ---------------------------------------------------------------- non-food pictures


def draw_storefront(rng: np.random.Generator) -> Img:
    """A shop front: brick wall, striped awning, windows, a door and a blank sign board."""
    img = np.zeros((H, W, 3), np.uint8)
    for y in range(70):
        img[y, :] = (235 - y, 200 - y // 2, 150)
    img[70:, :] = jitter(rng, (70, 90, 150), 15)
    for y in range(70, H, 16):
        off = 0 if (y // 16) % 2 else 16
        for x in range(-off, W, 32):
            cv2.rectangle(img, (x, y), (x + 30, y + 14), jitter(rng, (60, 80, 140), 20), -1)
    cv2.rectangle(img, (40, 80), (440, 125), jitter(rng, (50, 50, 60), 20), -1)
    stripe = jitter(rng, (40, 40, 200), 40)
    for k, x in enumerate(range(30, 450, 30)):
        cv2.rectangle(img, (x, 130), (x + 30, 170), stripe if k % 2 else (240, 240, 240), -1)
        cv2.ellipse(img, (x + 15, 170), (15, 10), 0, 0, 180, stripe if k % 2 else (240, 240, 240), -1)
    for x0 in (50, 290):
        cv2.rectangle(img, (x0, 195), (x0 + 140, 320), (120, 100, 80), -1)
        cv2.rectangle(img, (x0 + 5, 200), (x0 + 135, 315), (200, 180, 150), -1)
        cv2.line(img, (x0 + 20, 310), (x0 + 60, 210), (240, 235, 225), 3)
    cv2.rectangle(img, (205, 190), (275, H), (40, 60, 90), -1)
    cv2.circle(img, (262, 280), 4, (200, 220, 230), -1)
    return noise(rng, img, 4)


def draw_logo_card(rng: np.random.Generator) -> Img:
    """A flat brand card: solid colour with a geometric emblem (no food in it)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = jitter(rng, rng.choice([(40, 40, 160), (150, 90, 30), (30, 120, 60)]).tolist(), 20)
    cx, cy = W // 2, H // 2 - 20
    cv2.circle(img, (cx, cy), 90, (245, 245, 245), 10, cv2.LINE_AA)
    cv2.circle(img, (cx, cy), 60, (245, 245, 245), -1, cv2.LINE_AA)
    pts = np.array([[cx - 40, cy + 30], [cx, cy - 45], [cx + 40, cy + 30]], np.int32)
    cv2.fillPoly(img, [pts], img[5, 5].tolist(), cv2.LINE_AA)
    cv2.line(img, (cx + 70, cy - 80), (cx + 120, cy + 70), (245, 245, 245), 6, cv2.LINE_AA)
    cv2.line(img, (cx + 85, cy - 85), (cx + 135, cy + 65), (245, 245, 245), 6, cv2.LINE_AA)
    return noise(rng, img, 3)


def draw_pattern(rng: np.random.Generator) -> Img:
    """Wallpaper: diagonal stripes and dots."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = jitter(rng, (200, 190, 230), 20)
    col = jitter(rng, (120, 80, 200), 40)
    for k in range(-H, W, 28):
        cv2.line(img, (k, 0), (k + H, H), col, 9, cv2.LINE_AA)
    for y in range(14, H, 28):
        for x in range(14, W, 28):
            cv2.circle(img, (x, y), 4, (250, 250, 250), -1, cv2.LINE_AA)
    return noise(rng, img, 4)


def draw_empty_plate(rng: np.random.Generator) -> Img:
    """An empty plate with cutlery: the photo does not show the dish."""
    img = background(rng)
    d = plate(rng, img)
    speckle(rng, img, d, 12, (150, 170, 190), 1)
    x = d.cx + d.ax + 45
    cv2.rectangle(img, (x, d.cy - 110), (x + 8, d.cy + 110), (190, 190, 195), -1)
    cv2.ellipse(img, (x + 4, d.cy - 110), (12, 26), 0, 0, 360, (190, 190, 195), -1)
    return img


NON_FOOD: dict[str, Callable[[np.random.Generator], Img]] = {
    "storefront": draw_storefront,
    "logo_card": draw_logo_card,
    "pattern": draw_pattern,
    "empty_plate": draw_empty_plate,
}


# ---------------------------------------------------------------- overlays and faults


def font(size: int) -> ImageFont.FreeTypeFont:
    """The first Korean font found; the generator cannot draw Hangul without one."""
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    raise SystemExit("no Korean font found: apt-get install -y fonts-nanum (needed only to generate the data)")


def overlay_text(rng: np.random.Generator, img: Img, text: str, style: str) -> Img:
    """Draw text the way shops add it: a stroked caption or a coloured sticker banner."""
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    f = font(int(rng.integers(24, 34)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=f)
    tw, th = int(right - left), int(bottom - top)
    x = int(rng.integers(12, max(13, W - tw - 12)))
    y = int(rng.choice([int(rng.integers(10, 40)), int(rng.integers(H - th - 40, H - th - 10))]))
    if style == "banner":
        fill = tuple(int(c) for c in rng.choice([(220, 40, 40), (250, 200, 40), (30, 30, 30)]))
        draw.rounded_rectangle((x - 10, y - 6, x + tw + 10, y + th + 14), radius=8, fill=fill)
        ink = (20, 20, 20) if fill == (250, 200, 40) else (255, 255, 255)
        draw.text((x - left, y - top), text, font=f, fill=ink)
    else:
        draw.text((x - left, y - top), text, font=f, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return u8(cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR))


def vignette(img: Img, strength: float) -> Img:
    """Darker corners, as a phone camera gives."""
    ys, xs = np.ogrid[:H, :W]
    r = np.sqrt(((xs - W / 2) / (W / 2)) ** 2 + ((ys - H / 2) / (H / 2)) ** 2)
    mask = 1.0 - strength * np.clip(r - 0.5, 0, None)
    return np.asarray(np.clip(img.astype(np.float32) * mask[:, :, None], 0, 255), dtype=np.uint8)


# ---------------------------------------------------------------- texts (all written for this dataset)

MENUS: dict[str, list[tuple[str, str]]] = {
    "rice_bowl": [
        ("제육덮밥", "매콤달콤한 고추장 양념에 재운 돼지고기를 센 불에 볶아 밥 위에 듬뿍 올렸습니다."),
        ("불고기덮밥", "간장 양념에 하룻밤 재운 소불고기를 양파와 함께 볶아 따뜻한 밥에 얹었어요."),
        ("오징어덮밥", "통통한 오징어를 채소와 함께 매콤하게 볶아 밥과 잘 어울립니다."),
    ],
    "bibimbap": [
        ("돌솥비빔밥", "뜨겁게 달군 돌솥에 제철 나물 다섯 가지와 계란 프라이를 올렸습니다."),
        ("산채비빔밥", "고사리, 도라지, 시금치 등 산나물을 듬뿍 넣은 건강한 한 그릇이에요."),
    ],
    "fried_rice": [
        ("김치볶음밥", "잘 익은 김치와 햄을 넣어 고슬고슬하게 볶고 반숙 계란을 올렸습니다."),
        ("새우볶음밥", "탱글한 새우와 계란, 대파를 넣어 불향 가득하게 볶았어요."),
    ],
    "jjajang": [
        ("짜장면", "춘장을 직접 볶아 만든 소스에 양파와 돼지고기를 듬뿍 넣었습니다."),
        ("간짜장", "주문 즉시 센 불에 볶은 짜장 소스를 따로 담아 드립니다."),
    ],
    "cold_noodles": [
        ("물냉면", "살얼음이 동동 뜬 시원한 육수에 쫄깃한 메밀면을 말았습니다."),
        ("비빔냉면", "새콤달콤한 양념장에 비벼 먹는 냉면으로, 육수는 따로 제공됩니다."),
    ],
    "red_soup": [
        ("김치찌개", "묵은지와 돼지고기 앞다리살을 넣고 오래 끓여 국물이 깊습니다."),
        ("순두부찌개", "부드러운 순두부에 바지락을 넣어 얼큰하게 끓였어요."),
        ("부대찌개", "햄, 소시지, 라면 사리를 넣어 푸짐하게 끓인 2인분 찌개입니다."),
    ],
    "clear_soup": [
        ("돼지국밥", "돼지 뼈를 열두 시간 우린 뽀얀 국물에 수육을 듬뿍 넣었습니다."),
        ("갈비탕", "푹 삶은 소갈비와 당면을 넣은 맑고 깔끔한 국물입니다."),
        ("설렁탕", "사골을 오래 고아 낸 진한 국물에 소면과 편육이 들어갑니다."),
    ],
    "chicken": [
        ("후라이드치킨", "국내산 닭을 염지해 두 번 튀겨 겉은 바삭하고 속은 촉촉합니다."),
        ("양념치킨", "바삭하게 튀긴 닭에 달콤한 특제 양념을 골고루 버무렸어요."),
        ("간장치킨", "마늘 간장 소스를 입혀 짭조름하고 달콤한 맛이 납니다."),
    ],
    "tteokbokki": [
        ("국물떡볶이", "쫄깃한 밀떡과 어묵을 넣고 국물 자작하게 끓였습니다."),
        ("로제떡볶이", "고추장 소스에 크림을 더해 부드럽고 살짝 매콤해요."),
    ],
    "kimbap": [
        ("참치김밥", "고소한 참치마요와 깻잎을 넣어 든든하게 말았습니다."),
        ("야채김밥", "단무지, 당근, 시금치, 계란을 넣은 기본 김밥이에요."),
    ],
    "dumplings": [
        ("군만두", "돼지고기와 부추로 속을 꽉 채워 노릇하게 구웠습니다."),
        ("고기만두", "직접 빚은 만두를 쪄서 간장 소스와 함께 드립니다."),
    ],
    "pizza": [
        ("페퍼로니 피자", "토마토 소스와 모차렐라 치즈 위에 페퍼로니를 가득 올렸어요."),
        ("불고기 피자", "달콤한 불고기와 양파, 피망을 올려 구운 라지 사이즈 피자입니다."),
    ],
    "salad": [
        ("닭가슴살 샐러드", "수비드 닭가슴살과 신선한 채소에 오리엔탈 드레싱을 곁들였어요."),
        ("리코타 샐러드", "직접 만든 리코타 치즈와 방울토마토, 어린잎 채소를 담았습니다."),
    ],
    "pork": [
        ("보쌈", "삼겹살을 된장과 향신채로 삶아 잡내 없이 부드럽습니다. 무김치가 함께 나가요."),
        ("족발", "한약재 육수에 오래 삶아 쫀득한 족발을 상추, 쌈장과 함께 드립니다."),
    ],
    "burger": [
        ("수제 치즈버거", "두툼한 소고기 패티와 체다 치즈, 양상추를 넣은 버거입니다."),
        ("불고기버거", "달콤한 불고기 패티에 마요 소스를 더했어요. 감자튀김이 함께 나갑니다."),
    ],
    "drink": [
        ("콜라 1.25L", "시원하게 보관한 콜라입니다."),
        ("수제 식혜", "매장에서 직접 엿기름으로 삭힌 식혜예요."),
    ],
    "bingsu": [
        ("팥빙수", "곱게 간 우유 얼음에 국산 팥과 인절미 떡을 올렸습니다."),
    ],
}

EXTRAS = [
    "맵기는 순한맛, 보통맛, 매운맛 중에서 고를 수 있어요.",
    "공기밥은 별도로 추가하실 수 있습니다.",
    "원산지: 돼지고기(국내산), 쌀(국내산).",
    "매일 아침 매장에서 재료를 직접 손질합니다.",
    "포장 용기는 전자레인지 사용이 가능한 용기예요.",
    "1인분 기준으로 준비됩니다.",
    "",
    "",
]


def phone_mobile(rng: np.random.Generator, sep: str = "-") -> str:
    return f"010{sep}{rng.integers(2000, 9999)}{sep}{rng.integers(1000, 9999)}"


def phone_landline(rng: np.random.Generator) -> str:
    area = str(rng.choice(["02", "031", "051", "053"]))
    mid = rng.integers(200, 999) if area == "02" else rng.integers(200, 9999)
    return f"{area}-{mid}-{rng.integers(1000, 9999)}"


# ---------------------------------------------------------------- case specs


@dataclass
class Spec:
    """One case to make: the photo's faults and the text's, plus any special text or photo."""

    image: list[str] = field(default_factory=list)  # image fault codes
    text: list[str] = field(default_factory=list)  # description fault codes
    kind: str | None = None  # dish drawn (None: random food)
    non_food: str | None = None  # draw this non-food picture instead
    menu: str | None = None  # menu name override
    description: str | None = None  # description override
    photo_text: str | None = None  # text drawn onto the photo
    photo_style: str = "caption"
    photo_mode: str | None = None  # "dim", "soft", "small_ok": photos that stay acceptable
    hard: bool = False
    reason: str | None = None  # reviewer's line when the generic one is not enough
    rules_miss: bool = False  # documented: the deterministic checks are not expected to catch it
    evidence: dict[str, str] = field(default_factory=dict)  # code -> offending words, for the reason


def phone_fault(template: str, number: str, **more: Any) -> Spec:
    """A case whose description carries ``number`` (put where ``template`` has ``{}``)."""
    evidence = {"phone_number": number}
    return Spec(text=["phone_number"], description=template.format(number), evidence=evidence, **more)


def specs(rng: np.random.Generator) -> list[Spec]:
    """The fixed composition of the dataset (see the module docstring of andon.demo.checks for codes)."""
    s: list[Spec] = []
    # clean approvals
    food_kinds = [k for k in MENUS if k != "drink"]
    for k in range(36):
        s.append(Spec(kind=food_kinds[k % len(food_kinds)]))
    s.append(Spec(kind="drink", menu="콜라 1.25L", description="시원하게 보관한 콜라 1.25L 한 병입니다."))
    # hard approvals: things that look like a fault but are not
    s += [
        Spec(kind="jjajang", menu="짜장면", hard=True,
             description="춘장을 직접 볶아 만든 짜장면입니다. 보통 7,000원, 곱빼기는 8,500원이에요.",
             reason="'7,000원'은 가격 표기로 전화번호가 아니며 사진과 설명 모두 문제없습니다."),
        Spec(kind="pork", menu="보쌈 세트 (2~3인분)", hard=True,
             description="수육 600g과 무김치, 쌈채소가 함께 나가는 세트로 가격은 32000원입니다.",
             reason="'32000원', '600g'은 가격과 중량이라 연락처가 아닙니다."),
        Spec(kind="burger", menu="010 버거", hard=True,
             description="가게 이름을 딴 시그니처 버거로, 소고기 패티 두 장과 치즈가 들어갑니다.",
             reason="메뉴명의 '010'은 번호 앞자리만 있는 이름일 뿐 전화번호가 아닙니다."),
        Spec(kind="rice_bowl", menu="제육덮밥", hard=True,
             description="영업시간 11:00~21:30 동안 주문 가능하며 1인분 450g, 약 720kcal입니다.",
             reason="시간·중량·열량 숫자는 전화번호나 홍보 문구가 아닙니다."),
        Spec(kind="salad", menu="닭가슴살 샐러드", hard=True,
             description="기름기 없이 담백한 닭가슴살과 채소를 듬뿍 담았어요.",
             reason="'담백한'은 담배와 무관한 맛 표현입니다."),
        Spec(kind="red_soup", menu="김치찌개", hard=True,
             description="남은 찌개는 전자레인지에 2분 데우면 처음처럼 맛있어요.",
             reason="'전자레인지'는 전자담배가 아니고 '처음처럼'은 표현일 뿐 주류 판매가 아닙니다."),
        Spec(kind="chicken", menu="맥주 반죽 피쉬앤칩스", hard=True,
             description="맥주를 넣은 반죽으로 튀겨 더 바삭한 대구살 튀김과 감자튀김입니다.",
             reason="맥주는 반죽 재료일 뿐 주류 단독 판매가 아닙니다."),
        Spec(kind="chicken", menu="치킨 + 생맥주 500cc 세트", hard=True,
             description="후라이드치킨 한 마리에 생맥주 500cc 한 잔이 함께 나가는 세트예요.",
             reason="주류가 음식과 함께 구성된 세트라 허용됩니다."),
        Spec(kind="salad", menu="골뱅이무침", hard=True,
             description="소주 안주로 딱 좋은 새콤달콤한 골뱅이무침에 소면을 곁들였습니다.",
             reason="설명에 소주가 언급되지만 판매하는 것은 음식입니다."),
        Spec(kind="chicken", menu="순살 후라이드", hard=True,
             description="무항생제 인증을 받은 국내산 닭 100%로 만든 순살치킨입니다.",
             reason="'100%'는 원재료 표기이고 '무항생제'는 의약품 판매가 아닙니다."),
        Spec(photo_mode="dim", hard=True, reason="조명이 약간 어둡지만 음식이 충분히 보입니다."),
        Spec(photo_mode="soft", hard=True, reason="살짝 부드러운 초점이지만 음식 형태가 분명합니다."),
        Spec(photo_mode="small_ok", hard=True, reason="사진이 400×300으로 작은 편이지만 기준 해상도 이상입니다."),
    ]  # fmt: skip
    # single image faults
    s += [Spec(image=["blurry"]) for _ in range(4)]
    s += [Spec(image=["too_dark"]) for _ in range(4)]
    s += [Spec(image=["too_small"]) for _ in range(4)]
    s += [
        Spec(image=["phone_number"], photo_text=phone_mobile(rng), photo_style="caption"),
        Spec(image=["phone_number"], photo_text=f"주문 {phone_landline(rng)}", photo_style="banner"),
        Spec(image=["phone_number"], photo_text=f"TEL {phone_mobile(rng)}", photo_style="banner"),
        Spec(image=["phone_number"], photo_text=f"0507-{rng.integers(1000, 9999)}-{rng.integers(1000, 9999)}"),
        Spec(image=["url"], photo_text="www.tasty-bowl.kr", photo_style="caption"),
        Spec(image=["url"], photo_text="open.kakao.com/o/sB7x9Qa", photo_style="banner"),
        Spec(image=["url"], photo_text="instagram.com/bapsang_kr", photo_style="caption"),
        Spec(image=["promo_text"], photo_text="50% 할인", photo_style="banner"),
        Spec(image=["promo_text"], photo_text="1+1 이벤트", photo_style="banner"),
        Spec(image=["promo_text"], photo_text="리뷰 이벤트", photo_style="caption"),
        Spec(image=["promo_text"], photo_text="오늘만 특가", photo_style="banner"),
        Spec(image=["not_food"], non_food="storefront"),
        Spec(image=["not_food"], non_food="storefront"),
        Spec(image=["not_food"], non_food="logo_card"),
        Spec(image=["not_food"], non_food="pattern"),
        Spec(image=["not_food"], non_food="empty_plate", hard=True,
             reason="빈 접시만 있어 메뉴 음식이 보이지 않습니다."),
    ]  # fmt: skip
    # single text faults
    s += [
        phone_fault("주문 문의는 {} 로 연락 주세요.", phone_mobile(rng)),
        phone_fault("단체 주문은 {}(매장)으로 전화 주세요.", phone_landline(rng)),
        phone_fault("문자로 주문하시려면 {} 번호로 보내 주세요.", phone_mobile(rng, "")),
        phone_fault("매장 전화 {}", f"031 {rng.integers(200, 999)} {rng.integers(1000, 9999)}"),
        phone_fault("예약은 {}", f"0507-{rng.integers(1000, 9999)}-{rng.integers(1000, 9999)}"),
        Spec(text=["url"], description="전체 메뉴와 영양 정보는 www.tasty-bowl.kr 에서 확인하세요.",
             evidence={"url": "www.tasty-bowl.kr"}),
        Spec(text=["url"], description="오픈채팅 open.kakao.com/o/gQ2wErT 으로 문의 주시면 빨리 답해 드려요.",
             evidence={"url": "카카오톡 오픈채팅"}),
        Spec(text=["url"], description="인스타그램 @bapsang_official 에서 매일 새 메뉴를 소개해요.",
             evidence={"url": "인스타그램 @bapsang_official"}),
        Spec(text=["promo_text"], description="리뷰 이벤트 참여하시면 치즈볼을 드립니다!",
             evidence={"promo_text": "리뷰 이벤트"}),
        Spec(text=["promo_text"], description="이번 주만 전 메뉴 20% 할인 중입니다.",
             evidence={"promo_text": "20% 할인"}),
        Spec(text=["promo_text"], description="첫 주문 고객님께 3,000원 쿠폰을 발급해 드려요.",
             evidence={"promo_text": "쿠폰 발급"}),
        Spec(text=["prohibited_item"], kind="drink", menu="소주 1병 (단품)",
             description="참이슬 360ml 한 병만 배달해 드립니다.",
             evidence={"prohibited_item": "음식 없는 주류 단품"}),
        Spec(text=["prohibited_item"], kind="drink", menu="생맥주 2000cc",
             description="시원한 생맥주만 단품으로 주문 가능합니다.",
             evidence={"prohibited_item": "음식 없는 주류 단품"}),
        Spec(text=["prohibited_item"], kind="pork", menu="족발 야식 세트",
             description="족발 소자에 일회용 전자담배 1개를 함께 보내드립니다.",
             evidence={"prohibited_item": "전자담배"}),
        Spec(text=["prohibited_item"], kind="salad", menu="다이어트 도시락",
             description="닭가슴살 도시락에 식욕억제제(처방약) 7일분을 함께 드려요.",
             evidence={"prohibited_item": "처방약 식욕억제제"}),
    ]  # fmt: skip
    # combined faults
    s += [
        Spec(image=["blurry", "too_dark"]),
        phone_fault("전화 주문 {} 환영합니다.", phone_mobile(rng), image=["too_small"]),
        Spec(image=["promo_text"], text=["promo_text"], photo_text="1+1 이벤트", photo_style="banner",
             description="지금 주문하시면 1+1 이벤트로 한 그릇 더 드려요.",
             evidence={"promo_text": "1+1 이벤트"}),
        phone_fault("주문 전 {} 으로 확인 전화 주세요.", phone_mobile(rng, " "), image=["url"],
                    photo_text="www.example-shop.kr"),
        Spec(text=["prohibited_item", "promo_text"], kind="chicken", menu="치킨 + 담배 세트",
             description="치킨 한 마리에 담배 한 갑을 묶은 세트, 오늘만 특가 할인!",
             evidence={"prohibited_item": "담배", "promo_text": "특가 할인"}),
        Spec(image=["not_food", "url"], non_food="logo_card", photo_text="www.bapsang-kitchen.co.kr",
             photo_style="caption"),
    ]  # fmt: skip
    # hard rejections the regexes are not written to catch (the model has to read them)
    s += [
        Spec(text=["phone_number"], hard=True, rules_miss=True,
             description="궁금한 점은 공일공 구팔칠육 오사삼이 로 문자 주세요.",
             reason="숫자를 한글로 풀어 쓴 휴대폰 번호(공일공-…)로 외부 연락을 유도합니다."),
        Spec(text=["promo_text"], hard=True, rules_miss=True,
             description="리뷰 남겨 주시면 콜라 한 캔 서비스로 드려요!",
             reason="리뷰 작성 대가로 서비스를 주는 리뷰 이벤트성 홍보 문구입니다."),
        Spec(text=["url"], hard=True, rules_miss=True,
             description="tasty-bowl 닷 co 닷 kr 에서 주문하시면 더 저렴해요.",
             reason="주소를 '닷'으로 풀어 쓴 외부 사이트 링크로 주문을 유도합니다."),
    ]  # fmt: skip
    return s


REASONS = {
    "not_food": "사진에 메뉴 음식이 보이지 않습니다",
    "phone_number": "전화번호{e}가 포함되어 외부 연락을 유도합니다",
    "url": "외부 링크{e}가 포함되어 있습니다",
    "promo_text": "홍보 문구{e}가 들어 있습니다",
    "blurry": "사진이 흐려 음식 형태를 알아보기 어렵습니다",
    "too_dark": "사진이 너무 어둡습니다",
    "too_small": "사진 해상도가 기준보다 작습니다",
    "prohibited_item": "판매 금지 품목{e}이 포함되어 있습니다",
}
GENERIC_EVIDENCE = {
    "phone_number": "",
    "url": "(URL·SNS·오픈채팅)",
    "promo_text": "(할인·이벤트 등)",
    "prohibited_item": "(담배·의약품·주류 단독)",
}
NOT_FOOD_REASONS = {
    "storefront": "가게 외관 사진이라 메뉴 음식이 보이지 않습니다",
    "logo_card": "로고 이미지라 메뉴 음식이 보이지 않습니다",
    "pattern": "무늬 이미지일 뿐 메뉴 음식 사진이 아닙니다",
}
PHOTO_ONLY = {"not_food", "blurry", "too_dark", "too_small"}
APPROVE_REASONS = [
    "음식이 선명하게 보이고 설명에 연락처나 홍보 문구가 없어 승인합니다.",
    "사진과 설명이 메뉴와 일치하며 정책 위반 사항이 없습니다.",
    "밝고 선명한 음식 사진이며 설명도 메뉴 소개에 충실합니다.",
]


def make_reason(spec: Spec, violations: list[str], where: dict[str, str], rng: np.random.Generator) -> str:
    """A reviewer's one-line reason in Korean."""
    if spec.reason:
        return spec.reason
    if not violations:
        return str(rng.choice(APPROVE_REASONS))
    # Photo-only codes already say "사진"; the others name where the reviewer saw them.
    parts = []
    for v in violations:
        if v == "not_food" and spec.non_food in NOT_FOOD_REASONS:
            parts.append(NOT_FOOD_REASONS[spec.non_food])
            continue
        if v in PHOTO_ONLY:
            parts.append(REASONS[v])
            continue
        evidence = GENERIC_EVIDENCE[v]
        if v in spec.image and spec.photo_text:
            evidence = f"('{spec.photo_text}')"
        elif v in spec.text and v in spec.evidence:
            evidence = f"({spec.evidence[v]})"
        parts.append(f"{where[v]} {REASONS[v].format(e=evidence)}")
    return " / ".join(parts) + "."


def render_photo(spec: Spec, kind: str, rng: np.random.Generator) -> Img:
    """Draw the case's photo with its faults applied in the order a phone and an editor would."""
    if spec.non_food:
        img = NON_FOOD[spec.non_food](rng)
    else:
        img = background(rng)
        DRAW[kind](rng, img)
        img = vignette(img, float(rng.uniform(0.15, 0.45)))
        img = noise(rng, img, 2.5)
    if "blurry" in spec.image:
        img = u8(cv2.GaussianBlur(img, (0, 0), float(rng.uniform(4.0, 7.0))))
    if spec.photo_mode == "soft":
        img = u8(cv2.GaussianBlur(img, (0, 0), 0.8))
    if spec.photo_text:  # shops add captions after shooting: the text is sharp even on a blurred photo
        img = overlay_text(rng, img, spec.photo_text, spec.photo_style)
    if "too_dark" in spec.image:
        img = np.asarray(img.astype(np.float32) * rng.uniform(0.12, 0.22), dtype=np.uint8)
    if spec.photo_mode == "dim":
        img = np.asarray(img.astype(np.float32) * 0.62, dtype=np.uint8)
    if "too_small" in spec.image:
        w = int(rng.choice([120, 160, 200]))
        img = u8(cv2.resize(img, (w, w * 3 // 4), interpolation=cv2.INTER_AREA))
    if spec.photo_mode == "small_ok":
        img = u8(cv2.resize(img, (400, 300), interpolation=cv2.INTER_AREA))
    return img


def build(out: Path, seed: int = SEED) -> list[dict[str, Any]]:
    """Write images/ and cases.jsonl under ``out``; return the cases."""
    rng = np.random.default_rng(seed)
    shuffle = random.Random(seed)
    all_specs = specs(rng)
    shuffle.shuffle(all_specs)  # interleave approvals and faults so a prefix of the file is a fair sample
    images = out / "images"
    if images.exists():
        shutil.rmtree(images)
    images.mkdir(parents=True)
    cases: list[dict[str, Any]] = []
    food_kinds = [k for k in MENUS if k != "drink"]
    for n, spec in enumerate(all_specs, start=1):
        case_id = f"m{n:03d}"
        kind = spec.kind or food_kinds[int(rng.integers(0, len(food_kinds)))]
        name, base = MENUS[kind][int(rng.integers(0, len(MENUS[kind])))]
        menu = spec.menu or name
        if spec.description is not None and spec.text:
            description = spec.description if spec.menu else f"{base} {spec.description}"
        elif spec.description is not None:
            description = spec.description
        else:
            extra = EXTRAS[int(rng.integers(0, len(EXTRAS)))]
            description = f"{base} {extra}".strip()
        img = render_photo(spec, kind, rng)
        path = images / f"{case_id}.jpg"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
        # Where the reviewer saw each fault, for the reason line.
        where = dict.fromkeys(spec.image, "사진에")
        for code in spec.text:
            if code in where:
                where[code] = "사진과 설명에"
            else:
                where[code] = "메뉴명/설명에" if code == "prohibited_item" else "설명에"
        order = ["not_food", "too_small", "too_dark", "blurry", "phone_number", "url", "promo_text", "prohibited_item"]
        violations = [c for c in order if c in where]
        decision = "reject" if violations else "approve"
        tags = list(violations)
        tags += ["image"] if spec.image else []
        tags += ["text"] if spec.text else []
        tags += ["hard"] if spec.hard else []
        tags += ["rules_miss"] if spec.rules_miss else []
        tags += [f"photo:{spec.non_food or kind}"]
        cases.append(
            {
                "id": case_id,
                "vars": {"menu_name": menu, "description": description, "photo": f"images/{case_id}.jpg"},
                "label": decision,
                "expected": {"decision": decision, "violations": violations},
                "tags": tags,
                "reason": make_reason(spec, violations, where, rng),
            }
        )
    with (out / "cases.jsonl").open("w", encoding="utf-8") as fh:
        for case in cases:
            fh.write(json.dumps(case, ensure_ascii=False) + "\n")
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = Path(__file__).resolve().parent.parent / "src" / "andon" / "demo" / "data"
    parser.add_argument("--out", type=Path, default=default)
    parser.add_argument("--seed", type=int, default=SEED, help="another seed: another draw, to test the checks on")
    args = parser.parse_args()
    cases = build(args.out, args.seed)
    size = sum(p.stat().st_size for p in (args.out / "images").iterdir())
    rejects = sum(c["label"] == "reject" for c in cases)
    print(f"{len(cases)} cases ({rejects} reject, {len(cases) - rejects} approve), images {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
