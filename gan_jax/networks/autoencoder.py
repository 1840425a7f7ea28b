"""GMMN+AE's networks (Li, Swersky & Zemel 2015; yujiali/gmmn): the MNIST autoencoder trained first
(encoder 784 -> 1024 -> 32, decoder 32 -> 1024 -> 784, every unit a sigmoid, dropout on the encoder's
inputs) and the generator of codes whose samples that autoencoder's frozen decoder turns into images.

``Autoencoder(code)`` decodes (so a run's sampler draws images of codes); ``reconstruct(x)`` gives the
decoder's logits of x's code, ``encode(x)`` the code. ``CodeGenerator(z)`` is decode(g(z)), g the
ReLU MLP ending in a sigmoid code; ``code(z)`` is g(z). The decoder it uses is not a parameter: it is the
``autoencoder`` collection (``DECODER``), the trained autoencoder's decoder copied in once and kept in
the run's state (``TrainState.g_state``), so no optimizer moves it and the run's checkpoints hold it.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.networks import mlp

COLLECTION, DECODER = "autoencoder", "decoder"
DECODER_LAYERS = ("dec_hidden", "dec_out")  # the Autoencoder's decoder params, copied into the collection


class Autoencoder(nn.Module):
    """GMMN's MNIST autoencoder; dropout drops ``input_drop`` of the pixels and ``hidden_drop`` of the
    hidden units of the encoder in training (pynn's ``dropout``: the probability of dropping an input)."""

    data_dim: int = 784
    hidden: int = 1024
    code_dim: int = 32
    input_drop: float = 0.2
    hidden_drop: float = 0.5

    def setup(self):
        self.drop_in, self.drop_hidden = nn.Dropout(self.input_drop), nn.Dropout(self.hidden_drop)
        self.enc_hidden, self.enc_code = nn.Dense(self.hidden), nn.Dense(self.code_dim)
        self.dec_hidden, self.dec_out = nn.Dense(self.hidden), nn.Dense(self.data_dim)

    def encode(self, x: jax.Array, train: bool = False) -> jax.Array:
        h = nn.sigmoid(self.enc_hidden(self.drop_in(x, deterministic=not train)))
        return nn.sigmoid(self.enc_code(self.drop_hidden(h, deterministic=not train)))

    def decode_logits(self, code: jax.Array) -> jax.Array:
        return self.dec_out(nn.sigmoid(self.dec_hidden(code)))

    def reconstruct(self, x: jax.Array, train: bool = False) -> jax.Array:
        """The decoder's logits of x's code (the binary cross-entropy's input)."""
        return self.decode_logits(self.encode(x, train))

    def __call__(self, code: jax.Array, *, train: bool = False) -> jax.Array:
        if self.is_initializing():  # (every layer's params at init)
            self.encode(jnp.zeros((1, self.data_dim)))
        return nn.sigmoid(self.decode_logits(code))


class CodeGenerator(nn.Module):
    """x = decode(g(z)): GMMN+AE's generator, g a ReLU MLP with a sigmoid code of ``code_dim``."""

    hidden: tuple = (64, 256, 256, 1024)
    code_dim: int = 32
    ae_hidden: int = 1024
    data_dim: int = 784
    init_std: float = 0.0

    def setup(self):
        self.g = mlp.MLPGenerator(self.hidden, self.code_dim, init_std=self.init_std, output="sigmoid")
        self.decoder = self.variable(COLLECTION, DECODER, self._zero_decoder)

    def _zero_decoder(self):
        ae = Autoencoder(self.data_dim, self.ae_hidden, self.code_dim, parent=None)  # (unbound)
        params = jax.eval_shape(ae.init, jax.random.PRNGKey(0), jnp.zeros((1, self.code_dim)))["params"]
        return {k: jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params[k]) for k in DECODER_LAYERS}

    def code(self, z: jax.Array, train: bool = False) -> jax.Array:
        return self.g(z, train=train)

    def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
        ae = Autoencoder(self.data_dim, self.ae_hidden, self.code_dim, parent=None)  # (unbound)
        logits = ae.apply({"params": self.decoder.value}, self.code(z, train), method="decode_logits")
        return nn.sigmoid(logits)
