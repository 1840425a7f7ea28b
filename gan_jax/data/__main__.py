"""``python -m gan_jax.data`` (``make data``): fetch and verify MNIST and Fashion-MNIST into the cache."""

from gan_jax.data import fashion_mnist, mnist


def main():
    path = mnist.fetch_mnist()
    splits = mnist.load_hub()
    sizes = {k: v[0].shape[0] for k, v in splits.items()}
    print(f"MNIST ready at {path}: {sizes}")
    path = fashion_mnist.fetch()
    sizes = {k: v[0].shape[0] for k, v in fashion_mnist.load().items()}
    print(f"Fashion-MNIST ready at {path}: {sizes}")


if __name__ == "__main__":
    main()
