"""gan_jax: Generative Adversarial Nets (Goodfellow et al., 2014) in JAX/Flax."""
