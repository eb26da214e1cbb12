"""The Source panel: the page's own Python in an editor, with Apply."""
