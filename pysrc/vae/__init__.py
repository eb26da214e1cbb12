"""The VAE pipeline, pure: a drawing becomes 28×28 pixels, the encoder gives μ and log σ², z = μ + σ·ε is sampled, the
decoder draws it back, and the loss scores it.
"""
