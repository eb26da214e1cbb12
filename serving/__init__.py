"""What serve.py does besides answering requests: the site map, vendoring npm's files, the Python snapshot, brotli
and the static build. Stdlib only, like serve.py; each module is one of those jobs."""
