"""Training, export and evaluation of the VAE and the VQ-VAE the page runs."""

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

# The files `python -m training` ships in models/vq/ for the VQ-VAE, each hashed in its model card.
VQ_DIR = "vq"
VQ_ARTIFACTS = ("encoder.onnx", "decoder.onnx", "codebook.bin", "codebook.json")
# The VQ-VAE's prior over its codes (training/pixelcnn.py), hashed in the prior's part of that card: it belongs to
# the codes of the files above, so retraining the VQ-VAE leaves it out of the card until it is trained again.
PRIOR_ARTIFACT = "pixelcnn.onnx"
