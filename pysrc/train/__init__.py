"""Train it yourself (issue 27): the small VAE of models/train/ trained by the page's own Python."""
