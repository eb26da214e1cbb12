"""Training, export and evaluation of the VAE the page runs."""

# The files `python -m training` ships in models/, each hashed in the model card.
ARTIFACTS = (
    "encoder.onnx",
    "decoder.onnx",
    "latent_map.bin",
    "latent_map.json",
    "presets.bin",
    "presets.json",
    "first_view.json",
)
