"""A synthetic sports-player ReID dataset (`reidtool make-dataset`).

Drawn with numpy and PIL only, so the quickstart runs anywhere, fast and byte-reproducible. It
is built to be hard in the ways real player ReID is hard: identities are grouped in teams that
share a kit (shirt, pattern, shorts and socks colours), so colour alone cannot tell team-mates
apart; what separates them is the shirt number (large on the back, small on the chest),
skin tone, hair, body proportions and boots. Each image adds nuisances scaled by `difficulty`:
pose (arm and leg swing), scale, crop offset, camera-specific lighting and background, pitch
clutter (ad boards, lines, far players), blur, sensor noise and partial occlusion by another
player. A mean-colour nearest-neighbour baseline scores far below a perfect mAP (a test checks).

Layout (the seed's): `OUT/reid_train`, `OUT/reid_test/query`, `OUT/reid_test/gallery`, file
names `<identity>_c<camera>_<n>.jpg`; test identities are disjoint from training identities and
every query has gallery images from other cameras. Same seed → byte-identical folders (each
image has its own RNG seeded from (seed, identity, image); JPEG quality fixed; no metadata).

Example:
    summary = make_dataset("data/synth", identities=100, seed=0)
    summary["train_images"]     # 700
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from toolchain.errors import UsageError

log = logging.getLogger(__name__)

JPEG_QUALITY = 90
NUM_CAMERAS = 4
TEAM_SIZE = 6
SUBFOLDERS = ("reid_train", "reid_test/query", "reid_test/gallery")

#: Kit colours (RGB). Few on purpose: different teams often share a shirt or shorts colour.
KIT_COLORS = (
    (200, 30, 40),
    (30, 60, 170),
    (245, 245, 245),
    (20, 20, 25),
    (250, 200, 30),
    (30, 140, 60),
    (120, 30, 120),
    (250, 120, 20),
    (110, 180, 230),
    (140, 20, 40),
)
SKIN_TONES = (
    (255, 220, 190),
    (235, 190, 150),
    (200, 150, 110),
    (160, 110, 75),
    (120, 80, 55),
    (85, 55, 40),
)
HAIR_COLORS = ((20, 15, 10), (70, 45, 25), (150, 100, 50), (220, 190, 120), (120, 120, 120))
BOOT_COLORS = ((15, 15, 15), (240, 240, 240), (230, 60, 30), (40, 200, 230), (250, 230, 40))
PATTERNS = ("plain", "stripes", "hoops", "sash", "halves")
#: Per-camera look: grass tone, light colour cast and brightness.
CAMERAS = (
    dict(grass=(60, 130, 55), cast=(1.00, 1.00, 1.00), gain=1.00),
    dict(grass=(75, 145, 60), cast=(1.08, 1.00, 0.90), gain=1.10),
    dict(grass=(45, 110, 60), cast=(0.90, 0.98, 1.10), gain=0.80),
    dict(grass=(85, 125, 50), cast=(1.05, 1.05, 0.95), gain=0.92),
)

# Seven-segment digits: segments a b c d e f g.
_SEGMENTS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abdeg",
    "3": "abcdg",
    "4": "bcfg",
    "5": "acdfg",
    "6": "acdefg",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
}


@dataclass(frozen=True)
class Kit:
    """A team's kit: shirt colours and pattern, shorts, socks."""

    shirt: tuple[int, int, int]
    trim: tuple[int, int, int]
    pattern: str
    shorts: tuple[int, int, int]
    socks: tuple[int, int, int]


@dataclass(frozen=True)
class Player:
    """One identity: a kit (shared with team-mates) and what is its own."""

    identity: str
    team: int
    kit: Kit
    number: int
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_long: bool
    boots: tuple[int, int, int]
    height: float  # fraction of the image height
    build: float  # width factor
    legs: float  # leg length fraction
    head: float  # head size factor


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _make_players(identities: int, seed: int) -> list[Player]:
    """Identities in teams of `TEAM_SIZE`, kits and personal traits drawn from the seed."""
    rng = np.random.default_rng([seed, 0])
    num_teams = -(-identities // TEAM_SIZE)
    kits = []
    for _ in range(num_teams):
        shirt, trim, shorts, socks = (
            tuple(KIT_COLORS[i]) for i in rng.choice(len(KIT_COLORS), 4, replace=True)
        )
        if trim == shirt:
            trim = KIT_COLORS[(KIT_COLORS.index(shirt) + 3) % len(KIT_COLORS)]
        kits.append(Kit(shirt, trim, _pick(rng, PATTERNS), shorts, socks))
    teams = rng.permutation(np.arange(identities) % num_teams)
    numbers: dict[int, list[int]] = {
        t: list(rng.permutation(np.arange(1, 100))) for t in range(num_teams)
    }
    players = []
    for i in range(identities):
        team = int(teams[i])
        players.append(
            Player(
                identity=f"{i + 1:04d}",
                team=team,
                kit=kits[team],
                number=int(numbers[team].pop()),
                skin=_pick(rng, SKIN_TONES),
                hair=_pick(rng, HAIR_COLORS),
                hair_long=bool(rng.random() < 0.3),
                boots=_pick(rng, BOOT_COLORS),
                height=float(rng.uniform(0.80, 0.94)),
                build=float(rng.uniform(0.82, 1.18)),
                legs=float(rng.uniform(0.42, 0.52)),
                head=float(rng.uniform(0.85, 1.15)),
            )
        )
    return players


# --------------------------------------------------------------------------- drawing


def _shade(color, factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * factor))) for c in color)


def _contrast(color) -> tuple[int, int, int]:
    luma = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    return (15, 15, 15) if luma > 140 else (245, 245, 245)


def _draw_number(
    draw: ImageDraw.ImageDraw, number: int, cx: float, cy: float, h: float, color
) -> None:
    """The number in seven-segment digits centred at (cx, cy), digit height h."""
    text = str(number)
    w = h * 0.55
    gap = h * 0.18
    t = max(1.0, h * 0.16)
    total = len(text) * w + (len(text) - 1) * gap
    x0 = cx - total / 2
    for ch in text:
        y0, x1, ym, y1 = cy - h / 2, x0 + w, cy, cy + h / 2
        seg = {
            "a": (x0, y0, x1, y0 + t),
            "d": (x0, y1 - t, x1, y1),
            "g": (x0, ym - t / 2, x1, ym + t / 2),
            "f": (x0, y0, x0 + t, ym),
            "b": (x1 - t, y0, x1, ym),
            "e": (x0, ym, x0 + t, y1),
            "c": (x1 - t, ym, x1, y1),
        }
        for s in _SEGMENTS[ch]:
            draw.rectangle(seg[s], fill=color)
        x0 += w + gap


def _limb(draw, start, angle_deg: float, length: float, width: float, color) -> tuple[float, float]:
    a = np.deg2rad(angle_deg)
    end = (start[0] + length * np.sin(a), start[1] + length * np.cos(a))
    draw.line([start, end], fill=color, width=max(1, int(round(width))))
    return end


def _draw_player(
    img: Image.Image,
    p: Player,
    cx: float,
    feet: float,
    size: float,
    rng: np.random.Generator,
    jitter: float,
    back_view: bool,
) -> None:
    """Draw player `p` standing on `feet` (y), centred on `cx`, `size` pixels tall."""
    draw = ImageDraw.Draw(img)
    k = p.kit
    head_r = size * 0.065 * p.head
    top = feet - size
    neck = top + 2 * head_r
    hip = feet - size * p.legs
    shorts_bottom = hip + size * 0.11
    half_sh = size * 0.15 * p.build
    half_w = size * 0.12 * p.build
    lean = rng.normal(0, 2.5 * jitter) * size / 100

    # legs (behind the shorts): skin, socks on the lower half, boots
    leg_len = feet - shorts_bottom
    leg_w = size * 0.055 * p.build
    swing = rng.normal(0, 14 * jitter)
    for side, sign in ((-1, 1), (1, -1)):
        start = (cx + side * half_w * 0.5, shorts_bottom - 1)
        angle = sign * swing + side * 3
        knee = _limb(draw, start, angle, leg_len * 0.45, leg_w, p.skin)
        foot = _limb(draw, knee, angle * 0.6, leg_len * 0.55, leg_w, k.socks)
        draw.ellipse(
            [
                foot[0] - leg_w * 1.1,
                foot[1] - leg_w * 0.6,
                foot[0] + leg_w * 1.4,
                foot[1] + leg_w * 0.6,
            ],
            fill=p.boots,
        )

    # arms: sleeve then forearm
    arm_swing = rng.normal(0, 18 * jitter)
    arm_len = size * 0.34
    for side, sign in ((-1, 1), (1, -1)):
        shoulder = (cx + lean + side * half_sh * 0.92, neck + size * 0.03)
        angle = side * 12 + sign * arm_swing
        elbow = _limb(draw, shoulder, angle, arm_len * 0.45, size * 0.06 * p.build, k.shirt)
        _limb(draw, elbow, angle * 0.7 + side * 8, arm_len * 0.55, size * 0.045, p.skin)

    # torso: a trapezoid, patterned through a mask
    torso = [
        (cx + lean - half_sh, neck),
        (cx + lean + half_sh, neck),
        (cx + half_w, hip),
        (cx - half_w, hip),
    ]
    box = [
        int(min(x for x, _ in torso)) - 1,
        int(neck) - 1,
        int(max(x for x, _ in torso)) + 2,
        int(hip) + 2,
    ]
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).polygon(torso, fill=255)
    layer = Image.new("RGB", img.size, k.shirt)
    ld = ImageDraw.Draw(layer)
    bw, bh = box[2] - box[0], box[3] - box[1]
    if k.pattern == "stripes":
        step = max(2, bw // 5)
        for x in range(box[0], box[2], 2 * step):
            ld.rectangle([x, box[1], x + step - 1, box[3]], fill=k.trim)
    elif k.pattern == "hoops":
        step = max(2, bh // 6)
        for y in range(box[1], box[3], 2 * step):
            ld.rectangle([box[0], y, box[2], y + step - 1], fill=k.trim)
    elif k.pattern == "sash":
        ld.line([(box[0], box[1]), (box[2], box[3])], fill=k.trim, width=max(2, bw // 4))
    elif k.pattern == "halves":
        ld.rectangle([int(cx), box[1], box[2], box[3]], fill=k.trim)
    img.paste(layer, (0, 0), mask)
    number_color = _contrast(k.shirt) if k.pattern == "plain" else k.trim
    if k.pattern != "plain":
        number_color = _contrast(k.trim) if k.pattern in ("stripes", "hoops") else number_color
    if back_view:
        _draw_number(
            draw, p.number, cx + lean * 0.5, (neck + hip) / 2, (hip - neck) * 0.5, number_color
        )
    else:
        _draw_number(
            draw,
            p.number,
            cx + lean * 0.7 + half_w * 0.4,
            neck + (hip - neck) * 0.28,
            (hip - neck) * 0.2,
            number_color,
        )

    # shorts
    draw.polygon(
        [
            (cx - half_w * 1.05, hip),
            (cx + half_w * 1.05, hip),
            (cx + half_w * 1.15, shorts_bottom),
            (cx - half_w * 1.15, shorts_bottom),
        ],
        fill=k.shorts,
    )

    # head and hair (a back view shows more hair)
    hx, hy = cx + lean * 1.2, top + head_r
    draw.ellipse([hx - head_r, hy - head_r, hx + head_r, hy + head_r], fill=p.skin)
    hair_bottom = hy + (head_r * 0.9 if back_view else -head_r * 0.15)
    draw.chord(
        [
            hx - head_r * 1.05,
            hy - head_r * 1.1,
            hx + head_r * 1.05,
            hy + head_r * (1.1 if back_view else 0.6),
        ],
        180,
        360,
        fill=p.hair,
    )
    if back_view or p.hair_long:
        draw.rectangle(
            [hx - head_r * 1.0, hy - head_r * 0.2, hx + head_r * 1.0, hair_bottom], fill=p.hair
        )


def _draw_background(img: Image.Image, cam: dict, rng: np.random.Generator, clutter: float) -> None:
    """Pitch: mowing stripes in the camera's grass tone, ad boards, lines, far players."""
    w, h = img.size
    draw = ImageDraw.Draw(img)
    grass = np.array(cam["grass"], dtype=float) * rng.uniform(0.85, 1.15)
    stripe = max(4, int(h * rng.uniform(0.12, 0.25)))
    phase = int(rng.integers(stripe * 2))
    for i, y in enumerate(range(-phase, h, stripe)):
        draw.rectangle([0, y, w, y + stripe - 1], fill=_shade(grass, 1.0 if i % 2 else 0.88))
    n_clutter = int(rng.poisson(3 * clutter))
    if rng.random() < min(0.9, 0.6 * clutter):  # advertising boards at the top
        board_h = int(h * rng.uniform(0.08, 0.2))
        y0 = int(h * rng.uniform(0.0, 0.15))
        x = -int(rng.integers(w // 2 + 1))
        while x < w:
            bw = int(w * rng.uniform(0.3, 0.9))
            draw.rectangle([x, y0, x + bw, y0 + board_h], fill=_pick(rng, KIT_COLORS))
            x += bw + 1
    for _ in range(n_clutter):
        kind = rng.random()
        if kind < 0.4:  # pitch line
            y = rng.uniform(0, h)
            draw.line(
                [(0, y), (w, y + rng.uniform(-h * 0.2, h * 0.2))],
                fill=(235, 235, 235),
                width=max(1, int(h * 0.015)),
            )
        elif kind < 0.8:  # far player: a small blob in some kit colour
            bx, by, bs = rng.uniform(0, w), rng.uniform(0, h * 0.6), h * rng.uniform(0.1, 0.3)
            draw.rectangle(
                [bx - bs * 0.15, by, bx + bs * 0.15, by + bs * 0.5], fill=_pick(rng, KIT_COLORS)
            )
            draw.ellipse(
                [bx - bs * 0.08, by - bs * 0.16, bx + bs * 0.08, by], fill=_pick(rng, SKIN_TONES)
            )
        else:  # ball or cone
            r = h * rng.uniform(0.02, 0.05)
            bx, by = rng.uniform(0, w), rng.uniform(h * 0.5, h)
            draw.ellipse(
                [bx - r, by - r, bx + r, by + r], fill=_pick(rng, ((245, 245, 245), (250, 120, 20)))
            )


def render_image(
    player: Player,
    others: list[Player],
    camera: int,
    height: int,
    width: int,
    difficulty: float,
    rng: np.random.Generator,
) -> Image.Image:
    """One crop of `player` seen by `camera`, nuisances scaled by `difficulty`."""
    d = float(difficulty)
    cam = CAMERAS[camera % len(CAMERAS)]
    img = Image.new("RGB", (width, height))
    _draw_background(img, cam, rng, clutter=d)

    size = height * player.height * (1.0 + rng.uniform(-0.12, 0.08) * min(d, 2.0))
    cx = width / 2 + rng.normal(0, 0.07 * width * d)
    feet = height * 0.97 + rng.normal(0, 0.04 * height * d)
    back_view = bool(rng.random() < 0.5)
    _draw_player(img, player, cx, feet, size, rng, jitter=0.3 + d, back_view=back_view)

    if others and rng.random() < min(0.85, 0.35 * d):  # occluded by another player in front
        other = others[int(rng.integers(len(others)))]
        side = 1 if rng.random() < 0.5 else -1
        ox = cx + side * width * rng.uniform(0.45, 0.75)
        _draw_player(
            img,
            other,
            ox,
            feet + height * rng.uniform(0.0, 0.08),
            size * rng.uniform(0.95, 1.15),
            rng,
            jitter=0.3 + d,
            back_view=bool(rng.random() < 0.5),
        )

    pixels = np.asarray(img, dtype=np.float32)
    cast = np.array(cam["cast"], dtype=np.float32) ** min(d, 2.0)
    gain = (cam["gain"] ** min(d, 2.0)) * (1.0 + rng.normal(0, 0.12 * d))
    tint = 1.0 + rng.normal(0, 0.04 * d, size=3)
    pixels = pixels * (cast * tint * gain)[None, None, :]
    if d > 0:
        pixels += rng.normal(0, 4.0 * d, size=pixels.shape)
    img = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")
    radius = max(0.0, rng.normal(0.4, 0.4) * d)
    if radius > 0.15:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(radius)))
    return img


# --------------------------------------------------------------------------- the dataset


def _check_args(
    identities: int,
    images_per_id: int,
    query_per_id: int,
    test_fraction: float,
    height: int,
    width: int,
    difficulty: float,
) -> int:
    """Validate `make_dataset` arguments; return the number of test identities."""
    checks = [
        (identities >= 2, "--identities", "at least 2", identities),
        (images_per_id >= 2, "--images-per-id", "at least 2", images_per_id),
        (
            1 <= query_per_id < images_per_id,
            "--query-per-id",
            f"between 1 and images_per_id - 1 = {images_per_id - 1}",
            query_per_id,
        ),
        (0.0 < test_fraction < 1.0, "--test-fraction", "strictly between 0 and 1", test_fraction),
        (height >= 32 and width >= 16, "--height/--width", "at least 32x16", f"{height}x{width}"),
        (0.0 <= difficulty <= 3.0, "--difficulty", "between 0 and 3", difficulty),
    ]
    for ok, name, expected, got in checks:
        if not ok:
            raise UsageError(f"make-dataset {name}: expected {expected}. Received: {got}")
    return min(identities - 1, max(1, int(round(identities * test_fraction))))


def make_dataset(
    out: str | os.PathLike,
    identities: int = 100,
    images_per_id: int = 10,
    query_per_id: int = 1,
    test_fraction: float = 0.3,
    seed: int = 0,
    height: int = 128,
    width: int = 64,
    difficulty: float = 1.0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the synthetic player set under `out` and return a summary.

    Args:
        out: output folder; gets `reid_train/`, `reid_test/query/`, `reid_test/gallery/` and
            `synthetic_dataset.json` (the arguments and counts).
        identities: players in total (train + test).
        images_per_id: images per player (for test players: queries + gallery).
        query_per_id: query images per test player.
        test_fraction: share of players held out for the test set (disjoint from training).
        seed: everything is drawn from it: same seed, byte-identical files.
        height, width: image size in pixels.
        difficulty: 0 = clean renders; 1 = default nuisances; up to 3.
        overwrite: replace existing output folders (else a non-empty one is an error).

    Returns:
        dict with out, the arguments, and train/query/gallery image and identity counts.

    Raises:
        UsageError: an argument is out of range, or the output folders exist and hold files.
    """
    out = Path(out)
    n_test = _check_args(
        int(identities),
        int(images_per_id),
        int(query_per_id),
        float(test_fraction),
        int(height),
        int(width),
        float(difficulty),
    )
    folders = [out / sub for sub in SUBFOLDERS]
    busy = [f for f in folders if f.is_dir() and any(f.iterdir())]
    if busy and not overwrite:
        raise UsageError(
            f"make-dataset: {busy[0]} already holds files; choose an empty OUT or "
            "pass overwrite=True to replace the dataset."
        )
    for f in folders:
        if f.exists():
            shutil.rmtree(f)
        f.mkdir(parents=True)

    players = _make_players(int(identities), int(seed))
    order = np.random.default_rng([seed, 1]).permutation(len(players))
    test_ids = {int(i) for i in order[:n_test]}
    counts = dict(train_images=0, query_images=0, gallery_images=0)
    for index, player in enumerate(players):
        others = [q for q in players if q.identity != player.identity]
        plan = _camera_plan(
            index, index in test_ids, int(images_per_id), int(query_per_id), int(seed)
        )
        for n, (folder, camera) in enumerate(plan):
            rng = np.random.default_rng([seed, 2, index, n])
            img = render_image(
                player, others, camera, int(height), int(width), float(difficulty), rng
            )
            name = f"{player.identity}_c{camera + 1}_{n}.jpg"
            img.save(
                out / folder / name,
                format="JPEG",
                quality=JPEG_QUALITY,
                subsampling=0,
                optimize=False,
            )
            counts[_COUNT_KEY[folder]] += 1

    summary = dict(
        out=str(out),
        identities=int(identities),
        images_per_id=int(images_per_id),
        query_per_id=int(query_per_id),
        test_fraction=float(test_fraction),
        seed=int(seed),
        height=int(height),
        width=int(width),
        difficulty=float(difficulty),
        train_identities=len(players) - n_test,
        test_identities=n_test,
        cameras=NUM_CAMERAS,
        **counts,
    )
    (out / "synthetic_dataset.json").write_text(
        json.dumps(summary | {"out": None}, indent=2, sort_keys=True) + "\n"
    )
    log.info("synthetic dataset written to %s: %s", out, counts)
    return summary


_COUNT_KEY = {
    "reid_train": "train_images",
    "reid_test/query": "query_images",
    "reid_test/gallery": "gallery_images",
}


def _camera_plan(
    index: int, is_test: bool, images_per_id: int, query_per_id: int, seed: int
) -> list[tuple[str, int]]:
    """(folder, camera) per image of one player; queries' cameras differ from the gallery's."""
    rng = np.random.default_rng([seed, 3, index])
    if not is_test:
        return [("reid_train", int(c)) for c in rng.integers(NUM_CAMERAS, size=images_per_id)]
    query_cams = [int(rng.integers(NUM_CAMERAS))] * query_per_id
    others = [c for c in range(NUM_CAMERAS) if c not in query_cams]
    gallery = [int(c) for c in rng.choice(others, images_per_id - query_per_id, replace=True)]
    return [("reid_test/query", c) for c in query_cams] + [
        ("reid_test/gallery", c) for c in gallery
    ]
