"""Drawing the synthetic clips and images: a stick figure, its object, two styles.

A stick figure performs one of five motions (wave, swing, walk, jump, lift)
with an object; videos (style A) and still images (style B) are drawn with
different backgrounds, cameras and colours: the image-to-video domain shift
of the synthetic configs (README.md in this folder). Every figure is drawn
at ``SUPERSAMPLING`` times the size and area-downsampled.
"""
from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

SUPERSAMPLING = 4          # figures are drawn at 4x and area-downsampled
# In videos the object's grey level is pulled to the background's, keeping
# this fraction of its natural contrast: visible in colour, faint in grey.
OBJECT_CONTRAST = 0.1


@dataclasses.dataclass(frozen=True)
class SyntheticClass:
    """One action: its directory name, phrase, motion and object."""
    name: str
    phrase: str
    motion: str           # wave | swing | walk | jump | lift
    prop: str | None      # object drawn with the figure, None for none
    hue: float = 0.0      # object hue in degrees


_SKIN_TONES = ((235, 200, 170), (200, 150, 110), (150, 100, 70),
               (95, 65, 45))


# --------------------------------------------------------------- figure --

def _direction(angle_deg: float) -> np.ndarray:
    """Unit vector of a limb: 0 deg points down, 90 forward, 180 up."""
    a = math.radians(angle_deg)
    return np.array([math.sin(a), -math.cos(a)])


def _pose(motion: str, phase: float) -> dict[str, np.ndarray]:
    """Joint positions, in body units (height ~1, y up, facing +x).

    The feet rest on the ground line y = -0.48 (raised while jumping).
    """
    s, c = math.sin(phase), math.cos(phase)
    lean, lift = 0.0, 0.0
    if motion == "wave":
        arms = ((150, 180 + 40 * s), (10, 5))
        legs = ((6, 6), (-6, -6))
    elif motion == "swing":
        a = 90 + 75 * s
        arms = ((a, a + 15), (a - 8, a + 7))
        legs = ((18, 10), (-18, -10))
        lean = 6 * s
    elif motion == "walk":
        arms = ((-20 * s, 15 - 20 * s), (20 * s, 15 + 20 * s))
        legs = ((25 * s, 25 * s - 25 * max(0.0, -c)),
                (-25 * s, -25 * s - 25 * max(0.0, c)))
    elif motion == "jump":
        lift = 0.12 * max(0.0, s)
        bend = 35 * max(0.0, -s)
        arms = ((40 + 25 * s, 80 + 25 * s), (30 + 25 * s, 70 + 25 * s))
        legs = ((bend + 5, 5 - bend), (bend - 5, -5 - bend))
    elif motion == "lift":
        u = (1 - c) / 2                      # 0 squatting, 1 arms overhead
        arms = ((15 + 160 * u, 15 + 165 * u),) * 2
        legs = ((75 * (1 - u), -40 * (1 - u)), (70 * (1 - u), -45 * (1 - u)))
        lean = 30 * (1 - u)
    else:
        raise ValueError(f"unknown motion {motion!r}")
    up = np.array([math.sin(math.radians(lean)), math.cos(math.radians(lean))])
    j = {"hip": np.zeros(2)}
    j["neck"] = 0.33 * up
    j["head"] = j["neck"] + 0.10 * up
    for side, (upper, lower) in zip(("f", "b"), arms):
        j["elbow_" + side] = j["neck"] + 0.17 * _direction(upper)
        j["hand_" + side] = j["elbow_" + side] + 0.16 * _direction(lower)
    for side, (thigh, shin) in zip(("f", "b"), legs):
        j["knee_" + side] = 0.24 * _direction(thigh)
        j["foot_" + side] = j["knee_" + side] + 0.24 * _direction(shin)
    dy = -0.48 + lift - min(j["foot_f"][1], j["foot_b"][1])
    return {k: v + (0.0, dy) for k, v in j.items()}


# A drawing is a list of shapes in body units, each
# ("line", points [n, 2], width, rgb) or ("fill", polygon [n, 2], rgb).
Shape = tuple


def _ellipse(centre, axes, angle_deg: float = 0.0, start: float = 0.0,
             end: float = 360.0, n: int = 24) -> np.ndarray:
    t = np.radians(np.linspace(start, end, n))
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = np.stack([axes[0] * np.cos(t), axes[1] * np.sin(t)], axis=1)
    return np.asarray(centre) + pts @ rot.T


def _bezier(p0, p1, p2, n: int = 12) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


def _figure_shapes(j: dict[str, np.ndarray], clothes, skin) -> list[Shape]:
    """The stick figure: back limbs, torso, head, front limbs, hands."""
    back = tuple(0.75 * np.asarray(clothes))

    def limb(a: str, b: str, c: str, colour) -> Shape:
        return ("line", np.stack([j[a], j[b], j[c]]), 0.05, colour)

    return [limb("neck", "elbow_b", "hand_b", back),
            limb("hip", "knee_b", "foot_b", back),
            ("line", np.stack([j["hip"], j["neck"]]), 0.075, clothes),
            ("fill", _ellipse(j["head"], (0.07, 0.07)), skin),
            limb("hip", "knee_f", "foot_f", clothes),
            limb("neck", "elbow_f", "hand_f", clothes),
            ("fill", _ellipse(j["hand_b"], (0.03, 0.03), n=8), skin),
            ("fill", _ellipse(j["hand_f"], (0.03, 0.03), n=8), skin)]


def _prop_shapes(prop: str | None, j: dict[str, np.ndarray], phase: float,
                 colour, dark) -> tuple[list[Shape], list[Shape]]:
    """The object, in a main and a detail colour.

    Returns:
      (shapes drawn behind the figure, shapes drawn in front of it).
    """
    if prop is None:
        return [], []
    hand = j["hand_f"]
    hands = (j["hand_f"] + j["hand_b"]) / 2
    arm = hand - j["elbow_f"]
    arm = arm / np.linalg.norm(arm)
    ground = min(j["foot_f"][1], j["foot_b"][1])
    if prop == "flag":
        tip = hand + 0.28 * arm
        side = np.array([arm[1], -arm[0]])
        side = side if side[0] < 0 else -side            # flag trails behind
        cloth = np.stack([tip, tip + 0.18 * side, tip + 0.18 * side - 0.12 * arm,
                          tip - 0.12 * arm])
        return [], [("line", np.stack([hand, tip]), 0.02, dark),
                    ("fill", cloth, colour)]
    if prop == "bat":
        rot = _direction(math.degrees(math.atan2(arm[0], -arm[1])) + 10)
        return [], [("line", np.stack([hand, hand + 0.38 * rot]), 0.045, colour)]
    if prop == "racket":
        angle = math.degrees(math.atan2(arm[1], arm[0]))
        return [], [("line", np.stack([hand, hand + 0.16 * arm]), 0.025, dark),
                    ("fill", _ellipse(hand + 0.25 * arm, (0.1, 0.065), angle),
                     colour)]
    if prop == "dog":
        body = np.array([j["hip"][0] + 0.32, ground + 0.13])
        head = body + (0.14, 0.06)
        legs = [("line", np.stack([body + (dx, -0.03),
                                   (body[0] + dx + 0.04 * math.sin(2 * phase + k),
                                    ground + 0.01)]), 0.025, colour)
                for k, dx in zip((0, math.pi, math.pi, 0),
                                 (-0.09, -0.06, 0.06, 0.09))]
        return [], legs + [
            ("line", np.stack([body - (0.12, -0.02), body - (0.19, -0.08)]),
             0.02, colour),
            ("fill", _ellipse(body, (0.13, 0.06)), colour),
            ("fill", _ellipse(head, (0.05, 0.045)), colour),
            ("line", np.stack([hand, head]), 0.01, dark)]
    if prop == "umbrella":
        top = hand + (0.0, 0.45)
        return [], [("line", np.stack([hand, top]), 0.02, dark),
                    ("fill", _ellipse(top - (0, 0.02), (0.24, 0.11), 0, 0, 180),
                     colour)]
    if prop == "rope":
        turn = phase - math.pi / 2            # rope under the feet at the top
        far = j["hip"] + (0.12 * math.sin(turn), 0.02 - 0.62 * math.cos(turn))
        return [], [("line", _bezier(j["hand_f"], (far + j["hand_f"]) / 2
                                     + (0.15, 0), far), 0.025, colour),
                    ("line", _bezier(j["hand_b"], (far + j["hand_b"]) / 2
                                     - (0.15, 0), far), 0.025, colour)]
    if prop == "trampoline":
        x, y = j["hip"][0], -0.48
        bed = np.array([[x - 0.3, y], [x + 0.3, y], [x + 0.3, y - 0.04],
                        [x - 0.3, y - 0.04]])
        return [("line", np.array([[x - 0.26, y], [x - 0.26, y - 0.12]]), 0.03,
                 dark),
                ("line", np.array([[x + 0.26, y], [x + 0.26, y - 0.12]]), 0.03,
                 dark),
                ("fill", bed, colour)], []
    if prop == "barbell":
        return [], [("line", np.stack([hands - (0.05, 0), hands + (0.05, 0)]),
                     0.03, dark),
                    ("fill", _ellipse(hands, (0.1, 0.1)), colour),
                    ("fill", _ellipse(hands, (0.025, 0.025), n=8), dark)]
    if prop == "box":
        c = hands + (0.07, 0.0)
        box = np.array([c + (-0.11, -0.08), c + (0.11, -0.08), c + (0.11, 0.08),
                        c + (-0.11, 0.08)])
        return [], [("fill", box, colour), ("line", np.vstack([box, box[:1]]),
                                            0.015, dark)]
    raise ValueError(f"unknown prop {prop!r}")


@dataclasses.dataclass(frozen=True)
class _Camera:
    """Body units -> pixels: pixel = origin + scale * R(roll) (flip*x, -y)."""
    origin: tuple[float, float]
    scale: float
    roll_deg: float = 0.0
    flip: bool = False

    def apply(self, pts: np.ndarray) -> np.ndarray:
        a = math.radians(self.roll_deg)
        x = -pts[:, 0] if self.flip else pts[:, 0]
        y = -pts[:, 1]
        u = math.cos(a) * x - math.sin(a) * y
        v = math.sin(a) * x + math.cos(a) * y
        return np.stack([self.origin[0] + self.scale * u,
                         self.origin[1] + self.scale * v], axis=1)


def _composite(background: np.ndarray, shapes: list[Shape],
               camera: _Camera) -> np.ndarray:
    """Draws shapes (antialiased by supersampling) over a float RGB image."""
    h, w = background.shape[:2]
    k = SUPERSAMPLING
    colour = np.zeros((h * k, w * k, 3), np.float32)
    alpha = np.zeros((h * k, w * k), np.float32)
    for kind, pts, *rest in shapes:
        px = np.round(camera.apply(pts) * k * 8).astype(np.int32)  # 3 bits
        if kind == "fill":
            fill = rest[0]
            cv2.fillPoly(colour, [px], tuple(map(float, fill)), cv2.LINE_8, 3)
            cv2.fillPoly(alpha, [px], 1.0, cv2.LINE_8, 3)
        else:
            width, fill = rest
            thick = max(1, round(width * camera.scale * k))
            cv2.polylines(colour, [px], False, tuple(map(float, fill)), thick,
                          cv2.LINE_8, 3)
            cv2.polylines(alpha, [px], False, 1.0, thick, cv2.LINE_8, 3)
    colour = cv2.resize(colour, (w, h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)[..., None]
    return background * (1 - alpha) + colour


# --------------------------------------------------------------- styles --

def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    """RGB in [0, 255] of a hue in degrees, saturation and value in [0, 1]."""
    h = (h % 360) / 60
    c = v * s
    x = c * (1 - abs(h % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c),
           (c, 0, x)][int(h) % 6]
    return tuple(255 * (v - c + e) for e in rgb)


def _luma(rgb) -> float:
    return float(np.dot(rgb, (0.299, 0.587, 0.114)))


def _with_luma(rgb, target: float, contrast: float) -> tuple[float, ...]:
    """Shifts a colour's grey level to ``target + contrast * (luma - target)``."""
    luma = _luma(rgb)
    shift = target + contrast * (luma - target) - luma
    return tuple(np.clip(np.asarray(rgb) + shift, 0, 255))


def _skin(rng: np.random.Generator) -> tuple[float, ...]:
    tone = np.asarray(_SKIN_TONES[rng.integers(len(_SKIN_TONES))], float)
    return tuple(np.clip(tone * rng.uniform(0.9, 1.1), 0, 255))


def _video_background(rng, h: int, w: int, ground_v: float) -> np.ndarray:
    """Style A: a pale beige-grey wall and floor, 0-2 faint static blobs."""
    hue, sat, val = rng.uniform(20, 60), rng.uniform(0.03, 0.15), rng.uniform(
        0.72, 0.88)
    rows = np.linspace(-0.04, 0.04, h)[:, None, None]
    bg = np.asarray(_hsv(hue, sat, val), np.float32) * (1 + rows)
    bg = np.broadcast_to(bg, (h, w, 3)).copy()
    bg[int(round(ground_v)):] *= 0.88
    for _ in range(rng.integers(0, 3)):
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, ground_v)))
        axes = (int(rng.uniform(0.05, 0.15) * w), int(rng.uniform(0.05, 0.15) * h))
        cv2.ellipse(bg, centre, axes, 0, 0, 360,
                    tuple(map(float, bg[centre[1], centre[0]]
                              * rng.uniform(0.92, 1.08))), -1)
    return bg


def _image_background(rng, h: int, w: int) -> np.ndarray:
    """Style B: two-colour gradient of any hues, stripes, 1-4 clutter shapes."""
    c0 = np.asarray(_hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.3),
                         rng.uniform(0.35, 0.9)), np.float32)
    c1 = np.asarray(_hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.3),
                         rng.uniform(0.35, 0.9)), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(a) * xx / w + math.sin(a) * yy / h)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    bg = c0 + ramp[..., None] * (c1 - c0)
    b = rng.uniform(0, 2 * math.pi)
    period = rng.uniform(0.08, 0.3) * min(h, w)
    stripes = np.sin((math.cos(b) * xx + math.sin(b) * yy) * 2 * math.pi / period)
    bg += rng.uniform(4, 12) * stripes[..., None]
    for _ in range(rng.integers(1, 5)):
        fill = _hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.3),
                    rng.uniform(0.35, 0.9))
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        axes = (int(rng.uniform(0.04, 0.15) * w), int(rng.uniform(0.04, 0.15) * h))
        if rng.random() < 0.5:
            cv2.ellipse(bg, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                        fill, -1)
        else:
            cv2.rectangle(bg, (centre[0] - axes[0], centre[1] - axes[1]),
                          (centre[0] + axes[0], centre[1] + axes[1]), fill, -1)
    return bg


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def render_video(cls: SyntheticClass, rng: np.random.Generator,
                 num_frames: int, size: tuple[int, int]) -> np.ndarray:
    """Style A clip: uint8 RGB [T, H, W, 3].

    Plain pale background, one side view (facing right, no roll), the figure
    0.55-0.62 of the frame height, dark clothes, the object in its class hue
    (+-8 deg) at nearly the background's grey level (``OBJECT_CONTRAST``),
    sensor noise of std 2. Random: position, speed (0.8-1.3 cycles per
    clip), starting phase, colours, faint background blobs.
    """
    h, w = size
    ground_v = h * rng.uniform(0.82, 0.88)
    scale = h * rng.uniform(0.55, 0.62)
    walking = cls.motion == "walk"
    hip_u = w * (rng.uniform(0.22, 0.32) if walking else rng.uniform(0.38, 0.55))
    camera = _Camera(origin=(hip_u, ground_v - 0.48 * scale), scale=scale)
    background = _video_background(rng, h, w, ground_v)
    clothes = _hsv(rng.uniform(0, 360), rng.uniform(0.2, 0.6),
                   rng.uniform(0.25, 0.45))
    skin = _skin(rng)
    obj = _hsv(cls.hue + rng.uniform(-8, 8), rng.uniform(0.65, 0.85),
               rng.uniform(0.75, 0.9))
    obj = _with_luma(obj, _luma(background.mean((0, 1))), OBJECT_CONTRAST)
    phase0 = rng.uniform(0, 2 * math.pi)
    cycles = rng.uniform(0.8, 1.3)
    frames = []
    for t in range(num_frames):
        phase = phase0 + 2 * math.pi * cycles * t / num_frames
        j = _pose(cls.motion, phase)
        if walking:                       # 0.45 body units per cycle
            j = {k: v + (0.45 * cycles * t / num_frames, 0) for k, v in j.items()}
        behind, front = _prop_shapes(cls.prop, j, phase, obj, obj)
        frame = _composite(background,
                           behind + _figure_shapes(j, clothes, skin) + front,
                           camera)
        frames.append(_to_uint8(frame + rng.normal(0, 2, frame.shape)))
    return np.stack(frames)


def render_image(cls: SyntheticClass, rng: np.random.Generator,
                 size: tuple[int, int]) -> np.ndarray:
    """Style B still image: uint8 RGB [H', W', 3], H', W' in [1, 1.5] x size.

    One pose at a random phase, on a textured cluttered background, the
    figure 0.6-0.75 of the shorter side anywhere near the centre, mirrored
    half of the time, rolled by up to 10 deg, in light greyish clothes, the
    object in its class hue (+-10 deg) at its natural grey level with a
    darker detail colour, a colour cast (+-10 % per channel), sensor noise
    (std 3-8) and blur.
    """
    h = int(round(size[0] * rng.uniform(1.0, 1.5)))
    w = int(round(size[1] * rng.uniform(1.0, 1.5)))
    scale = min(h, w) * rng.uniform(0.6, 0.75)
    centre = np.array([w, h]) * (0.5 + rng.uniform(-0.08, 0.08, 2))
    camera = _Camera(origin=(centre[0], centre[1]), scale=scale,
                     roll_deg=rng.uniform(-10, 10), flip=bool(rng.random() < 0.5))
    background = _image_background(rng, h, w)
    clothes = _hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.35),
                   rng.uniform(0.6, 0.95))
    skin = _skin(rng)
    obj = _hsv(cls.hue + rng.uniform(-10, 10), rng.uniform(0.45, 0.75),
               rng.uniform(0.7, 0.95))
    phase = rng.uniform(0, 2 * math.pi)
    j = _pose(cls.motion, phase)
    behind, front = _prop_shapes(cls.prop, j, phase, obj,
                                 tuple(0.5 * np.asarray(obj)))
    image = _composite(background,
                       behind + _figure_shapes(j, clothes, skin) + front, camera)
    image = image * rng.uniform(0.9, 1.1, 3) + rng.normal(0, rng.uniform(3, 8),
                                                           image.shape)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.8))
    return _to_uint8(image)
