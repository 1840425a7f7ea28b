"""Analysis tools no training path uses: the Dirac-GAN (``dirac``), the game Jacobian's spectrum
(``spectrum``) and the paper's Proposition 1 / Theorem 1 on 1-D densities (``theory``)."""
