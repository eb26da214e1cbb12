"""The input: the drawing canvas (strokes with pointer, pen or finger; Undo, Clear), the ten preset digits, and
the 28×28 image the encoder sees, prepared the way MNIST was by the pure core (digit_input).

While a stroke is drawn only its newest piece is painted; the whole drawing is repainted, smoothed, when the
stroke ends or the input changes. The image for the encoder is made once per frame, from cached splines.
"""

import js

from page.state import CANVAS, canvas_point
from vae import digit_input

# Every surface that shows the drawing and takes strokes: step 1's, and the VQ-VAE view's, beside its codes
# (painted only while that view is open).
SURFACES = {"draw-canvas": None, "vq-draw-canvas": "vq"}
FULL = "This drawing is as large as a shareable link allows: Undo or Clear to draw more."


def surfaces(app):
    return tuple(surface for surface, panel in SURFACES.items() if panel is None or panel in app.state.panels)


def stroke_path(points):
    """One smoothed stroke as SVG path data for Path2D: a dot for a tap, else a polyline through the spline."""
    if len(points) == 1:
        x, y = points[0]
        return f"M{x} {y}h0.01"
    return "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in points)


def set_pen(ctx, canvas):
    """The pen, in drawing-canvas units: MNIST-like round strokes of PEN_WIDTH, however many pixels the canvas has."""
    scale = canvas.width / CANVAS
    ctx.setTransform(scale, 0, 0, scale, 0, 0)
    ctx.lineCap = ctx.lineJoin = "round"
    ctx.lineWidth = digit_input.PEN_WIDTH
    ctx.strokeStyle = "#111"


class Drawing:
    def __init__(self):
        self.pointer = None  # pointerId of the stroke in progress
        self.pen_ready = set()  # the surfaces whose context is set up for paint_segment
        self.smooth_cache = {}  # id(stroke) → (stroke, its length, its smoothed points, its spline)
        self.shown_pixels = None  # the pixels last painted on the encoder-input canvas
        self.shown_preset = None  # (preset,) last shown pressed on the preset buttons
        self.painted = ()  # the surfaces the drawing was last painted on

    def bind(self, app):
        for surface in SURFACES:
            canvas = app.dom.el(surface)
            app.on(canvas, "pointerdown", lambda e: self.pointer_down(app, e))
            app.on(canvas, "pointermove", lambda e: self.pointer_move(app, e))
            for name in ("pointerup", "pointercancel"):
                app.on(canvas, name, lambda e: self.pointer_up(app, e))
        app.on(app.dom.el("clear-button"), "click", lambda e: self.edit(app, app.state.clear))
        app.on(app.dom.el("undo-button"), "click", lambda e: self.edit(app, app.state.undo))
        for button in js.document.querySelectorAll("[data-preset]"):
            app.on(
                button,
                "click",
                lambda e: self.edit(app, lambda: app.state.choose_preset(int(e.currentTarget.dataset.preset))),
            )
        buffer = js.document.createElement("canvas")
        buffer.id = "preset-buffer"
        buffer.width = buffer.height = 28
        buffer.hidden = True
        js.document.body.appendChild(buffer)
        self.take_early_input(app)

    # ---- events ----

    def take_early_input(self, app):
        """What the learner did before Python started (boot.mjs showed it at once), replayed into the state; a stroke
        still in progress goes on here. So nothing drawn, cleared, undone or picked while Python starts is lost."""
        early = js.vaeEarlyInput.take()  # boot.mjs stops listening: from here on, the handlers above take every event
        actions = early.actions.to_py()
        if not actions:
            return
        if not app.state.replay(actions):
            app.message(FULL)
        elif actions[-1][0] == "stroke":
            self.pointer = early.pointer  # None unless the pen is still down
        self.paint(app)
        app.write_hash()

    @staticmethod
    def canvas_point(event):
        rect = event.currentTarget.getBoundingClientRect()
        return canvas_point((event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height)

    def pointer_down(self, app, event):
        if not event.isPrimary or self.pointer is not None:
            return
        event.preventDefault()
        if not app.state.begin_stroke(self.canvas_point(event)):
            app.message(FULL)
            return
        self.pointer = event.pointerId
        event.currentTarget.setPointerCapture(event.pointerId)
        app.input_changed()

    def pointer_move(self, app, event):
        if event.pointerId != self.pointer:
            return
        point = self.canvas_point(event)
        previous = app.state.strokes[-1][-1]
        if app.state.move_pen(point):
            self.paint_segment(app, previous, point)  # cheap while drawing; the whole stroke is smoothed on release
            app.request(encode=True)

    def pointer_up(self, app, event):
        if event.pointerId == self.pointer:
            self.pointer = None
            self.paint(app)
            app.write_hash()

    def edit(self, app, action):
        action()
        app.input_changed()
        app.write_hash()

    def choose_preset(self, app, preset):
        self.edit(app, lambda: app.state.choose_preset(preset))

    # ---- painting the canvas ----

    def paint(self, app):
        """Every drawing surface in view from state: the preset scaled up, or the strokes as one smooth path (made
        once, for every surface)."""
        self.painted = surfaces(app)
        path = None
        if app.state.preset is not None and app.presets:  # decoded once into a 28×28 buffer each surface scales up
            app.put_image("preset-buffer", digit_input.from_bytes(app.presets[app.state.preset]))
        else:
            path = "".join(stroke_path(self.smoothed(app, s)) for s in app.state.strokes)
        for surface in self.painted:
            self.paint_surface(app, surface, path)

    def paint_surface(self, app, surface, path):
        """One surface cleared, then the preset buffer scaled up (path None) or the strokes' path stroked."""
        ctx = app.canvas(surface)
        canvas = app.dom.el(surface)
        self.pen_ready.discard(surface)
        ctx.setTransform(1, 0, 0, 1, 0, 0)
        ctx.fillStyle = "#fff"
        ctx.fillRect(0, 0, canvas.width, canvas.height)
        if path is None:
            ctx.imageSmoothingEnabled = True
            ctx.drawImage(app.dom.el("preset-buffer"), 0, 0, canvas.width, canvas.height)
        elif path:
            set_pen(ctx, canvas)
            ctx.stroke(js.Path2D.new(path))

    def paint_segment(self, app, a, b):
        """One new piece of the stroke in progress, drawn on every surface without repainting the rest."""
        for surface in self.painted:
            ctx = app.canvas(surface)
            if surface not in self.pen_ready:  # the pen's settings stay in the context until paint changes them
                self.pen_ready.add(surface)
                set_pen(ctx, app.dom.el(surface))
            ctx.beginPath()
            ctx.moveTo(*a)
            ctx.lineTo(*b)
            ctx.stroke()

    # ---- what the encoder sees ----

    def pixels(self, app):
        """The 28×28 image for the encoder: the preset's, or the strokes prepared the way MNIST was."""
        if app.state.preset is not None and app.presets:
            return digit_input.from_bytes(app.presets[app.state.preset])
        return digit_input.preprocess([self.smoothed(app, s) for s in app.state.strokes])

    def smoothed(self, app, stroke):
        """A stroke through its spline, cached: only the stroke being drawn changes from frame to frame, and its
        spline is extended by the pieces its new points change rather than made again."""
        key = id(stroke)
        cached = self.smooth_cache.get(key)
        if cached is None or cached[0] is not stroke or cached[1] != len(stroke):
            spline = cached[3] if cached is not None and cached[0] is stroke else digit_input.Spline()
            cached = self.smooth_cache[key] = (stroke, len(stroke), spline.update(stroke), spline)
        if len(self.smooth_cache) > 4 * len(app.state.strokes) + 8:
            live = {id(s) for s in app.state.strokes}
            self.smooth_cache = {k: v for k, v in self.smooth_cache.items() if k in live}
        return cached[2]

    def render(self, app):
        if surfaces(app) != self.painted:  # a surface came into view (its panel opened): it shows the drawing too
            self.paint(app)
        if self.shown_pixels is not app.pixels:  # a new encoding brings a new list; hover frames keep it
            self.shown_pixels = app.pixels
            app.put_image("encoder-input", app.pixels)
        if self.shown_preset != (app.state.preset,):  # ten buttons' worth of DOM calls, only when it changed
            self.shown_preset = (app.state.preset,)
            for button in js.document.querySelectorAll("[data-preset]"):
                pressed = "true" if str(app.state.preset) == button.dataset.preset else "false"
                if button.getAttribute("aria-pressed") != pressed:
                    button.setAttribute("aria-pressed", pressed)
