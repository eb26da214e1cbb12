"""App state: everything the page shows is derived from this one object, and it round-trips through the URL hash.

The hash is `#v1.` + base64url(zlib(compact JSON)). Decoding trusts nothing: a garbage or hostile hash raises
StateError with a gentle message, and edited code from a hash is only ever offered, never run, until Apply.
"""

import base64
import json
import math
import zlib
from dataclasses import dataclass, field

from live import edits as live_code
from vae.latent_plot import MAX_ZOOM

PANELS = ("details", "loss", "source", "manifold", "prior", "samples", "interpolate", "kl", "vq", "train")
KL_MODES = ("replay", "beta")  # the "Why the KL term?" view: the training replay, or the KL weight β
TRAIN_BETAS = (0.0, 0.5, 1.0, 2.0, 4.0)  # "Train it yourself": the KL weights offered
TRAIN_RATES = (1e-3, 3e-3, 1e-2, 1.0)  # its learning rates; 1 is there to show what a rate too large does
MAX_EPOCH = 10_000
MAX_BETA = 1_000.0
VQ_CELLS = 49  # the VQ-VAE's 7×7 code grid
VQ_MAX_CODES = 256  # a link may name codes up to this; the page checks them against the codebook it loads
EDITABLE_MODULES = live_code.MODULES
CANVAS = 280  # drawing-canvas size, in CSS pixels
MAX_POINTS = 20_000
MAX_STROKES = 500
MAX_CODE = 50_000
MAX_HASH = 200_000
MAX_JSON = 2_000_000
MAX_SEED = 2**31 - 1
Z_LIMIT = 50.0
PREFIX = "v1."
FIRST_PRESET = 3  # the first view, also drawn before Python starts (models/first_view.json)
FIRST_SEED = 1


class StateError(ValueError):
    """A URL hash that cannot be trusted; the message says why in plain words."""


@dataclass
class AppState:
    strokes: list = field(default_factory=list)  # [[(x, y), ...], ...] in canvas pixels
    preset: int | None = FIRST_PRESET  # a preset digit replaces the drawing
    seed: int = FIRST_SEED  # ε ~ N(0, I) is drawn from this seed
    pinned_z: list | None = None  # z set by a click; ε then follows as (z − μ)/σ
    panels: set = field(default_factory=set)
    code: dict = field(default_factory=dict)  # module name → edited source
    interpolate: list | None = None  # [μ_A, μ_B]
    plot_view: list | None = None  # the latent plot zoomed: [centre z₁, centre z₂, zoom]; None is the whole map
    kl_mode: str = "replay"
    kl_epoch: int | None = None  # a checkpoint of the replay; None is the last one
    kl_beta: float = 1.0  # the KL weight of the model compared
    vq_edits: list | None = None  # the VQ-VAE view: 49 codes painted by the learner, None where the encoder chose
    vq_brush: int = 0  # the code the learner paints with
    vq_details: bool = False  # the VQ-VAE view's "Explain VQ-VAE details": the quantiser's code and live graph
    vq_seed: int = 1  # the VQ-VAE view's prior: the seed of the last sample drawn (or of the next, before any)
    train_beta: float = 1.0  # "Train it yourself": the settings of the run (its weights are never in the link)
    train_rate: float = 3e-3  # separates the digits sooner than 1e-3 (docs/train.md)
    train_seed: int = 0
    undo_stack: list = field(default_factory=list, repr=False, compare=False)

    # Input actions. Each one that changes the drawing saves the old drawing for Undo.

    def _save(self):
        self.undo_stack.append((self.preset, [list(s) for s in self.strokes]))
        del self.undo_stack[:-100]

    def begin_stroke(self, point):
        """Start a stroke; False when the drawing is already as large as a shareable link allows."""
        if len(self.strokes) >= MAX_STROKES or sum(len(s) for s in self.strokes) >= MAX_POINTS:
            return False
        self._save()
        if self.preset is not None:
            self.preset = None
        self.strokes.append([point])
        self.pinned_z = None
        return True

    def extend_stroke(self, point):
        if self.strokes and sum(len(s) for s in self.strokes) < MAX_POINTS:
            self.strokes[-1].append(point)

    def move_pen(self, point):
        """The pen of the stroke in progress moved to `point`: the stroke grows, unless `point` is its last point again
        (the input's precision makes many small moves one). True if it was a new point."""
        if point == self.strokes[-1][-1]:
            return False
        self.extend_stroke(point)
        return True

    def replay(self, actions):
        """What the learner did before Python started, which boot.mjs showed at once and kept, applied in order:
        ["stroke", [x0, y0, x1, y1, …]] (places as canvas_point takes them), ["clear"], ["undo"] and ["preset", n].
        False if a stroke found the drawing as large as a shareable link allows (what follows is dropped)."""
        for kind, *args in actions:
            if kind == "stroke":
                places = args[0]
                if not self.begin_stroke(canvas_point(places[0], places[1])):
                    return False
                for i in range(2, len(places), 2):
                    self.move_pen(canvas_point(places[i], places[i + 1]))
            elif kind == "clear":
                self.clear()
            elif kind == "undo":
                self.undo()
            elif kind == "preset":
                self.choose_preset(int(args[0]))
            else:
                raise ValueError(f"unknown input before Python: {kind!r}")
        return True

    def choose_preset(self, digit):
        self._save()
        self.preset, self.strokes, self.pinned_z = digit, [], None

    def clear(self):
        self._save()
        self.preset, self.strokes, self.pinned_z = None, [], None

    def undo(self):
        """Back to the drawing before the last stroke, preset or clear; False when there is nothing to undo."""
        if not self.undo_stack:
            return False
        self.preset, self.strokes = self.undo_stack.pop()
        self.pinned_z = None
        return True

    @property
    def is_blank(self):
        return self.preset is None and not self.strokes

    def toggle(self, panel, on=None):
        on = panel not in self.panels if on is None else on
        (self.panels.add if on else self.panels.discard)(panel)
        return on


def canvas_point(fx, fy):
    """A pointer's place, as fractions of the drawing canvas's box, in canvas pixels: to the input's precision (0.1),
    and clamped, since a stroke may leave the canvas."""
    return round(min(CANVAS, max(0.0, fx * CANVAS)), 1), round(min(CANVAS, max(0.0, fy * CANVAS)), 1)


def _flatten(stroke):
    """A stroke as [x0, y0, dx1, dy1, …] in tenths of a pixel (the input's precision): small deltas compress well."""
    out, px, py = [], 0, 0
    for x, y in stroke:
        x, y = round(x * 10), round(y * 10)
        out += [x - px, y - py]
        px, py = x, y
    return out


def _unflatten(flat):
    points, x, y = [], 0, 0
    for i in range(0, len(flat), 2):
        x, y = x + flat[i], y + flat[i + 1]
        if not (-10 * CANVAS <= x <= 20 * CANVAS and -10 * CANVAS <= y <= 20 * CANVAS):
            raise StateError("a drawing point lies far outside the canvas")
        points.append((x / 10, y / 10))
    return points


def encode_hash(state):
    """The shareable part of the state as a compact URL hash (without the leading '#')."""
    data = {"e": state.seed}
    if state.strokes:
        data["s"] = [_flatten(s) for s in state.strokes]
    if state.preset is not None:
        data["p"] = state.preset
    if state.pinned_z is not None:
        data["z"] = [round(v, 5) for v in state.pinned_z]
    if state.panels:
        data["o"] = sorted(state.panels)
    if state.code:
        data["c"] = state.code
    if state.interpolate:
        data["i"] = [[round(v, 5) for v in mu] for mu in state.interpolate]
    if state.plot_view is not None:
        data["w"] = [round(v, 5) for v in state.plot_view]
    kl = {"m": state.kl_mode, "e": state.kl_epoch, "b": state.kl_beta}
    kl = {k: v for k, v in kl.items() if v != {"m": "replay", "e": None, "b": 1.0}[k]}
    if kl:
        data["k"] = kl
    train = {"b": state.train_beta, "l": state.train_rate, "s": state.train_seed}
    train = {k: v for k, v in train.items() if v != {"b": 1.0, "l": 3e-3, "s": 0}[k]}
    if train:
        data["t"] = train
    vq = {}
    if state.vq_edits is not None and any(k is not None for k in state.vq_edits):
        vq["e"] = [[cell, k] for cell, k in enumerate(state.vq_edits) if k is not None]  # sparse: cell, code
    if state.vq_brush:
        vq["b"] = state.vq_brush
    if state.vq_details:
        vq["d"] = 1
    if state.vq_seed != 1:
        vq["s"] = state.vq_seed
    if vq:
        data["v"] = vq
    raw = json.dumps(data, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_finite_number(x):
    """A JSON number that is a real, finite value (an int too large for a float counts, then fails the range)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and (isinstance(x, int) or math.isfinite(x))


def _vector(v, what):
    if not (isinstance(v, list) and len(v) == 2 and all(_is_finite_number(x) for x in v)):
        raise StateError(f"{what} must be two finite numbers")
    if any(abs(x) > Z_LIMIT for x in v):
        raise StateError(f"{what} lies far outside the latent space")
    return [float(x) for x in v]


def decode_hash(text):
    """Parse and validate a URL hash into a fresh AppState, or raise StateError saying what was wrong."""
    text = text.lstrip("#")
    if len(text) > MAX_HASH:
        raise StateError("the link is too long to be a VAE Explainer state")
    if not text.startswith(PREFIX):
        raise StateError("the link's state is not in a format this page knows")
    try:
        body = text[len(PREFIX) :]
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_JSON)
        if inflater.unconsumed_tail:
            raise StateError("the link's state unpacks to more data than any real state")
        data = json.loads(raw)
    except (ValueError, zlib.error, RecursionError) as error:
        if isinstance(error, StateError):
            raise
        raise StateError("the link's state is damaged (it may have been cut short when copied)") from None
    if not isinstance(data, dict):
        raise StateError("the link's state has the wrong shape")
    state = AppState()
    seed = data.get("e", FIRST_SEED)
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise StateError("the link's sampling seed is not a valid number")
    state.seed = seed
    strokes = data.get("s", [])
    if not isinstance(strokes, list) or len(strokes) > MAX_STROKES:
        raise StateError("the link's drawing has the wrong shape")
    if sum(len(s) // 2 for s in strokes if isinstance(s, list)) > MAX_POINTS:
        raise StateError("the link's drawing has too many points")
    for s in strokes:
        if not isinstance(s, list) or not s or len(s) % 2 or not all(_is_int(v) for v in s):
            raise StateError("the link's drawing has the wrong shape")
        state.strokes.append(_unflatten(s))
    preset = data.get("p")
    if preset is not None and (not _is_int(preset) or not 0 <= preset <= 9):
        raise StateError("the link names a preset digit that does not exist")
    state.preset = preset
    if data.get("z") is not None:
        state.pinned_z = _vector(data["z"], "the pinned z")
    panels = data.get("o", [])
    if not isinstance(panels, list) or not all(p in PANELS for p in panels):
        raise StateError("the link opens a panel this page does not have")
    state.panels = set(panels)
    code = data.get("c", {})
    if not isinstance(code, dict) or not all(
        live_code.module_key(m) in EDITABLE_MODULES and isinstance(src, str) and len(src) <= MAX_CODE
        for m, src in code.items()
    ):
        raise StateError("the link's edited code is not for a module this page can edit")
    state.code = {live_code.module_key(module): source for module, source in code.items()}
    interp = data.get("i")
    if interp is not None:
        if not isinstance(interp, list) or len(interp) != 2:
            raise StateError("the link's interpolation needs two endpoints")
        state.interpolate = [_vector(v, "an interpolation endpoint") for v in interp]
    view = data.get("w")
    if view is not None:
        if not isinstance(view, list) or len(view) != 3 or not _is_finite_number(view[2]):
            raise StateError("the link's plot view needs a centre and a zoom")
        if not 1 <= view[2] <= MAX_ZOOM:
            raise StateError(f"the link zooms the plot past ×1 to ×{MAX_ZOOM:g}")
        state.plot_view = [*_vector(view[:2], "the plot view's centre"), float(view[2])]
    kl = data.get("k", {})
    if not isinstance(kl, dict) or not set(kl) <= {"m", "e", "b"}:
        raise StateError("the link's KL view state has the wrong shape")
    state.kl_mode = kl.get("m", "replay")
    if state.kl_mode not in KL_MODES:
        raise StateError("the link's KL view shows something this page does not have")
    epoch = kl.get("e")
    if epoch is not None and (not _is_int(epoch) or not 0 <= epoch <= MAX_EPOCH):
        raise StateError("the link's training epoch is not a valid number")
    state.kl_epoch = epoch
    beta = kl.get("b", 1.0)
    if not _is_finite_number(beta) or not 0 <= beta <= MAX_BETA:
        raise StateError("the link's KL weight β is not a valid number")
    state.kl_beta = float(beta)
    state.vq_edits, state.vq_brush, state.vq_details, state.vq_seed = _vq(data.get("v", {}))
    state.train_beta, state.train_rate, state.train_seed = _train(data.get("t", {}))
    return state


def _train(train):
    """ "Train it yourself" in a link: β and the learning rate, each one the view offers, and the seed."""
    if not isinstance(train, dict) or not set(train) <= {"b", "l", "s"}:
        raise StateError("the link's training settings have the wrong shape")
    beta, rate, seed = train.get("b", 1.0), train.get("l", 3e-3), train.get("s", 0)
    if not _is_finite_number(beta) or float(beta) not in TRAIN_BETAS:
        raise StateError("the link's training β is not one the page offers")
    if not _is_finite_number(rate) or float(rate) not in TRAIN_RATES:
        raise StateError("the link's learning rate is not one the page offers")
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise StateError(f"the link's training seed is not a whole number from 0 to {MAX_SEED}")
    return float(beta), float(rate), seed


def _vq(vq):
    """The VQ-VAE view's part of a link: sparse [cell, code] edits of the 7×7 grid, the code painted with, whether
    its details are open, and the prior's seed."""
    if not isinstance(vq, dict) or not set(vq) <= {"e", "b", "d", "s"}:
        raise StateError("the link's VQ-VAE state has the wrong shape")
    details = vq.get("d", 0)
    if not (_is_int(details) and details in (0, 1)):
        raise StateError("the link's VQ-VAE details flag is neither 0 nor 1")
    seed = vq.get("s", 1)
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise StateError(f"the link's VQ-VAE prior seed is not a whole number from 0 to {MAX_SEED}")
    brush = vq.get("b", 0)
    if not _is_int(brush) or not 0 <= brush < VQ_MAX_CODES:
        raise StateError("the link's VQ-VAE paint code is not a valid code number")
    pairs = vq.get("e", [])
    if not isinstance(pairs, list) or len(pairs) > VQ_CELLS:
        raise StateError("the link's VQ-VAE edits have the wrong shape")
    edits = [None] * VQ_CELLS
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_int(v) for v in pair)):
            raise StateError("the link's VQ-VAE edits have the wrong shape")
        cell, code = pair
        if not 0 <= cell < VQ_CELLS or edits[cell] is not None:
            raise StateError("the link's VQ-VAE edits name a cell twice or one outside the 7×7 grid")
        if not 0 <= code < VQ_MAX_CODES:
            raise StateError("the link's VQ-VAE edits use a code number that is not valid")
        edits[cell] = code
    return (edits if pairs else None), brush, bool(details), seed
