"""The VAE pipeline in the page: onnxruntime-web's two sessions, and one view per part of the story."""
