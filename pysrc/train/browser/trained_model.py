"""The weights just trained, as the page's VAE ("Use this model"): the same interface as the shipped networks
(vae/browser/models.Models), so the pipeline, the plot, the loss panel, the presets and drawing run on them
unchanged. The encoder and decoder are models/train/'s graphs, fed the weights as inputs.
"""

import array

from pyodide.ffi import to_js

from train import loop
from vae import encoder
from vae.browser.models import Models

# What the details graph's encoder box says, and what the details say differs from the shipped conv net.
ENCODER_NOTE = "dense 256 · dense"
DIFFERS = (
    "Your trained model is in use. The code below trained the shipped model, a conv net; yours is fully "
    "connected: the encoder is 784 → 256 (ReLU) → μ and log σ² (two dense heads), and the decoder 2 → 256 (ReLU) "
    "→ 784 (sigmoid), with no convolutions. The log-var trick, the sampling of z and the loss are the same, and so "
    "is the graph on the right from μ and log σ² on."
)


class TrainedModels(Models):
    """The trained weights at the moment "Use this model" was pressed (training may go on without changing them)."""

    encoder_note = ENCODER_NOTE
    differs = DIFFERS

    def __init__(self, shipped, sessions, trainer, step, beta):
        super().__init__()
        self.ort = shipped.ort
        self.encoder, self.decoder = sessions["encoder"], sessions["decoder"]
        self.weights = {graph: trainer.parameters(graph) for graph in ("encoder", "decoder")}
        self.step, self.beta = step, beta

    def _run(self, name, feeds):
        return super()._run(name, self.weights[name] | feeds)

    def encode_run(self, pixels):
        """The MLP takes the 784 pixels flat, where the conv net takes them as a 28×28 image."""
        tensor = self.ort.Tensor.new("float32", to_js(memoryview(array.array("f", pixels))), to_js([1, loop.PIXELS]))
        return self._run("encoder", {encoder.INPUT_NAME: tensor})
