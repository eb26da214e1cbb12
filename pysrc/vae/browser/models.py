"""The VAE's encoder and decoder in onnxruntime-web: the sessions boot.mjs started while Python booted, checked,
and run the cheap way (one JS promise per run, one copy of the outputs into Python).

Every view that needs the VAE's networks goes through these methods, so their outputs are checked in one place.
"""

import array
import asyncio

import js
from pyodide.ffi import to_js

from page.browser.views import LoadError, Runner, jsobj
from vae import decoder, encoder, graph


class Models:
    """The two ONNX sessions. Either may be missing; the page then says so and keeps what still works."""

    encoder_note = graph.ENCODER_NOTE  # the encoder's layers, as the details graph names them
    differs = ""  # what the details say differs from the code they show (another model in use)

    def __init__(self):
        self.ort = None  # onnxruntime-web's module, loaded by boot.mjs while Pyodide booted
        self.encoder = None
        self.decoder = None
        self.runners = {}  # session name → its Runner

    @staticmethod
    async def _session(name):
        """The session boot.mjs started while Pyodide booted, or a LoadError that says what went wrong."""
        result = await getattr(js.vaeWarmStart, name)
        path = result.path
        if result.session is not None:
            return result.session
        if result.status is not None:
            raise LoadError(f"{path} is missing (the server answered {result.status})")
        reason = str(result.error)[:300]
        if "backend" in reason:  # the runtime failed, not the model: say so, or the model gets the blame
            raise LoadError(f"onnxruntime-web could not start (vendor/ort/ missing or broken): {reason}")
        if result.size is None:
            raise LoadError(f"{path} {reason}")
        raise LoadError(f"{path} is not a valid ONNX model ({result.size} bytes): {reason}")

    async def load(self):
        try:
            self.ort = await js.vaeWarmStart.ort
        except Exception as error:
            return [f"onnxruntime-web could not be loaded (vendor/ort/ort.wasm.min.mjs): {error}"]
        results = await asyncio.gather(self._session("encoder"), self._session("decoder"), return_exceptions=True)
        errors = []
        for name, result in zip(("encoder", "decoder"), results, strict=True):
            if isinstance(result, Exception):
                errors.append(str(result))
            else:
                setattr(self, name, result)
        js.performance.mark("vae:models-ready")
        return errors

    def _run(self, name, feeds):
        runner = self.runners.get(name)
        if runner is None:
            runner = self.runners[name] = Runner(getattr(self, name))
        return runner.run(jsobj(feeds))

    def encode_run(self, pixels):
        """Start the encoder on 784 pixels: onnxruntime's promise of its outputs (encode_result reads them)."""
        tensor = self.ort.Tensor.new("float32", to_js(memoryview(array.array("f", pixels))), to_js(encoder.INPUT_SHAPE))
        return self._run("encoder", {encoder.INPUT_NAME: tensor})

    @staticmethod
    def encode_result(out):
        mu_out, log_var_out = (getattr(out, name) for name in encoder.OUTPUT_NAMES)
        mu = encoder.check_vector(mu_out.data.to_py().tolist(), "μ")
        log_var = encoder.check_vector(log_var_out.data.to_py().tolist(), "log σ²")
        return mu, log_var

    async def encode(self, pixels):
        return self.encode_result(await self.encode_run(pixels))

    def decode_run(self, zs):
        """Start decoding a batch of z in one call: one promise, one copy, however many images."""
        flat = array.array("f", [v for z in zs for v in z])
        tensor = self.ort.Tensor.new("float32", to_js(memoryview(flat)), to_js([len(zs), 2]))
        return self._run("decoder", {decoder.INPUT_NAME: tensor})

    @staticmethod
    def decode_result(out, count):
        return decoder.split_images(getattr(out, decoder.OUTPUT_NAME).data.to_py().tolist(), count)

    async def decode(self, zs):
        return self.decode_result(await self.decode_run(zs), len(zs))
