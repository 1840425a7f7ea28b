"""The networks G and D: the 2014 paper's MLPs and the other families by name (``models``, the registry),
the DCGAN convolutional pairs (``dcgan``), the plain MLPs (``mlp``), GMMN+AE's autoencoder and code
generator (``autoencoder``), and the layers they share (``layers``, ``convolution``).

Pure Flax modules; imports only ``gan_jax.errors``."""
