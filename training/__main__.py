"""`python -m training`: train the VAE, export it to ONNX, measure it, and write the model card; then the KL
evidence in models/kl/ (training/kl.py): checkpoints of that run, and the same model trained with other KL weights;
then the VQ-VAE (training/vqvae.py) and its card in models/vq/, and the PixelCNN prior over its codes
(training/pixelcnn.py).

Run it with the `train` extra installed (`make models`). It shows a progress bar and one line of losses per epoch.
`--no-extras` skips models/kl/ (the VAE then takes a third of the time); `--only vae` or `--only vqvae` trains one
model of the two (the VQ-VAE with its prior), `--only pixelcnn` just the prior over the shipped VQ-VAE's codes;
`--beta B` trains only the VAE with KL weight B and adds it to the existing models/kl/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.mnist import DEFAULT_DATA_DIR, REPO, IdxError, load_split
from training.train_kl import train_beta, write_kl_evidence
from training.train_vae import train_vae
from training.train_vq import train_pixelcnn, train_vqvae


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="folder holding the four MNIST IDX files")
    parser.add_argument("--out", type=Path, default=REPO / "models", help="where the artifacts go")
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the epochs (30 VAE, 20 VQ-VAE, 6 PixelCNN; smoke runs only)"
    )
    parser.add_argument("--seed", type=int, default=None, help="override the seed in training/vae.py and vqvae.py")
    parser.add_argument("--no-extras", action="store_true", help="train only the shipped VAE, not models/kl/")
    parser.add_argument(
        "--only",
        choices=("vae", "vqvae", "pixelcnn"),
        help="train one model: the VAE (and models/kl/), the VQ-VAE (and its prior) or the prior alone",
    )
    parser.add_argument("--weights", type=Path, default=None, help="where Keras weights go (build/weights-seedN)")
    parser.add_argument(
        "--beta",
        type=float,
        default=None,
        help="train only the model with this KL weight, with the recipe of the existing <out>/kl/index.json, and add "
        "it there (finishes or extends the KL evidence without training the rest again)",
    )
    args = parser.parse_args(argv)

    try:
        train_split, test_split = load_split("train", args.data), load_split("test", args.data)
    except IdxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from training import kl

    command = " ".join(["python -m training", *(argv if argv is not None else sys.argv[1:])])
    if args.only == "pixelcnn":
        return train_pixelcnn(args.out, command, train_split, test_split, args.epochs, args.seed)
    if args.only == "vqvae":
        train_vqvae(args.out, command, args.data, train_split, test_split, args.epochs, args.seed)
        return train_pixelcnn(args.out, command, train_split, test_split, args.epochs, args.seed)
    if args.beta is not None:
        try:
            index = kl.read_index(args.out / "kl")
        except kl.KlError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        weights = args.weights or REPO / "build" / f"weights-seed{index['seed']}"
        train_beta(args.out / "kl", weights, index, args.beta, train_split, test_split)
        return 0
    run = train_vae(
        args.out, command, args.data, train_split, test_split, args.epochs, args.seed, args.weights, not args.no_extras
    )
    if not args.no_extras:
        write_kl_evidence(args.out, command, args.data, run, train_split, test_split)
    if args.only != "vae":
        train_vqvae(args.out, command, args.data, train_split, test_split, args.epochs, args.seed)
        return train_pixelcnn(args.out, command, train_split, test_split, args.epochs, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
