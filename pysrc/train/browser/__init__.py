"""The browser adapter of "Train it yourself": onnxruntime-web behind the loop, and the view."""
