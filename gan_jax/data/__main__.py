"""``python -m gan_jax.data`` (``make data``): fetch and verify MNIST into the cache."""

from gan_jax.data import mnist


def main():
    path = mnist.fetch_mnist()
    splits = mnist.load_hub()
    sizes = {k: v[0].shape[0] for k, v in splits.items()}
    print(f"MNIST ready at {path}: {sizes}")


if __name__ == "__main__":
    main()
