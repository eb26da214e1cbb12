"""The VQ-VAE, pure: the quantiser (distances, nearest code, lookup), the code grid and codebook markup, the PixelCNN
prior's sampler, and the details graph.
"""
