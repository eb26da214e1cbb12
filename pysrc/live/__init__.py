"""Live code, pure: the learner's edits to the page's own maths, checked and run under a budget."""
