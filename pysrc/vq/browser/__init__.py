"""The VQ-VAE view in the page, loaded when it is first opened: the grid, the details and the prior."""
