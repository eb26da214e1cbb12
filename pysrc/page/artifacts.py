"""The shipped data files (latent map, presets), checked against their JSON manifests before anything is drawn.

A mismatch names the file and what disagrees, so a half-deployed site says so instead of drawing garbage.
"""

import array
import json
import math
import sys


class ArtifactError(ValueError):
    """A data file that disagrees with its manifest, or a manifest that is not what the page expects."""


def _manifest(text, name):
    try:
        manifest = json.loads(text)
    except ValueError:
        raise ArtifactError(f"{name} is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{name} does not describe a data file")
    return manifest


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _floats(data):
    values = array.array("f")
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def parse_latent_map(manifest_text, data):
    """latent_map.json + latent_map.bin → (list of (μ₁, μ₂), list of labels, (mu_min, mu_max))."""
    m = _manifest(manifest_text, "models/latent_map.json")
    try:
        count = int(m["count"])
        mu_offset, label_offset = int(m["mu"]["offset"]), int(m["labels"]["offset"])
        declared = int(m["byte_length"])
        ranges = m["ranges"]["mu_min"], m["ranges"]["mu_max"]
    except (KeyError, TypeError, ValueError):
        raise ArtifactError("models/latent_map.json lacks count, offsets, byte_length or ranges") from None
    if m["mu"].get("dtype") != "float32" or m["labels"].get("dtype") != "uint8" or m["mu"].get("shape") != [count, 2]:
        raise ArtifactError("models/latent_map.json describes dtypes or shapes this page cannot read")
    if mu_offset != 0 or label_offset != count * 8:
        raise ArtifactError("models/latent_map.json declares offsets other than μ first, then the labels")
    if not all(isinstance(r, list) and len(r) == 2 and all(_is_number(v) for v in r) for r in ranges):
        raise ArtifactError("models/latent_map.json has ranges that are not two finite numbers each")
    if len(data) != declared or declared != count * 9:
        raise ArtifactError(
            f"models/latent_map.bin holds {len(data)} bytes, but its manifest declares {declared} "
            f"for {count} points (8 bytes of μ + 1 byte of label each): the two files do not belong together"
        )
    values = _floats(data[mu_offset : mu_offset + count * 8])
    if not all(math.isfinite(v) for v in values):
        raise ArtifactError("models/latent_map.bin contains non-finite μ values")
    labels = list(data[label_offset : label_offset + count])
    if any(label > 9 for label in labels):
        raise ArtifactError("models/latent_map.bin contains a label that is not a digit")
    mu = list(zip(values[0::2], values[1::2], strict=True))
    return mu, labels, ranges


def parse_presets(manifest_text, data):
    """presets.json + presets.bin → ten lists of 784 uint8 pixels, indexed by digit."""
    m = _manifest(manifest_text, "models/presets.json")
    if m.get("dtype") != "uint8" or m.get("shape") != [10, 28, 28] or m.get("labels") != list(range(10)):
        raise ArtifactError("models/presets.json does not describe ten 28×28 digits 0–9")
    if len(data) != 10 * 784:
        raise ArtifactError(f"models/presets.bin holds {len(data)} bytes, expected 7840 (ten 28×28 images)")
    return [bytes(data[i * 784 : (i + 1) * 784]) for i in range(10)]
