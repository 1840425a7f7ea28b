"""The data sources: MNIST, StackedMNIST, CIFAR-10/CelebA from TFDS and the low-dimensional toys, the
registry that loads any of them by name (``datasets``), and the on-device batch order (``batches``);
also the Inception FID weights, fetched and converted once (``inception_weights``).

Imports only ``gan_jax.errors``: every other room may use the data, the data uses none of them."""
