#!/usr/bin/env python3
"""W1 from Python: LeNet-5 on Fashion-MNIST for one epoch, then the test accuracy, which equals
what `cnnkit train --model fashion-lenet --epochs 1` prints with the same seed (both run the
library's trainer on the same data in the same order).

Usage: python3 examples/python/train_fashion.py [--epochs N] [--seed S] [--out model.safetensors]
Needs Fashion-MNIST (Debian: apt-get install dataset-fashion-mnist) and the installed package
(make python-install)."""

import argparse

import cnnkit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", help="save the trained model here (a safetensors model file)")
    args = parser.parse_args()

    (x, y, names), (test_x, test_y, _) = cnnkit.load_fashion_mnist()
    model = cnnkit.Model("fashion-lenet", seed=args.seed)
    model.classes = names
    history = model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(test_x, test_y))
    if args.out:
        model.save(args.out)
    print(f"test accuracy {history['val_accuracy'][-1]:.4f} after epoch {args.epochs}")


if __name__ == "__main__":
    main()
