"""Sample-quality metrics: Parzen windows, Fréchet distance, classifier score and precision/recall
(``sample_metrics``), the toys' mode metrics (``mode_metrics``), StackedMNIST's (``stacked_modes``), the
shipped MNIST classifier they use (``classifier``), Inception-v3 pool3 features on the TF FID weights
(``inception``), and the protocol that measures a generator (``evaluate``).

Imports the data, the networks and the game (to draw samples); never the training loop."""
