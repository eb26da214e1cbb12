"""What every story shares: the one app state and its URL, SVG markup, the checked readers of the shipped files, the
code panel, the first view drawn before Python starts, and the Python snapshot.
"""
