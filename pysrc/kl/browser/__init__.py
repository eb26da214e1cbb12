"""The KL view in the page, loaded when it is first opened."""
