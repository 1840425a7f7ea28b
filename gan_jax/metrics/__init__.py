"""Sample-quality metrics: Parzen windows, Fréchet distance, classifier score and precision/recall
(``sample_metrics``), the toys' mode metrics (``mode_metrics``), StackedMNIST's (``stacked_modes``), the
shipped classifiers they use (``classifier``), Inception-v3 pool3 features on the TF FID weights
(``inception``), KID (``kid``), the protocol that measures a generator (``evaluate``), and metrics between
any two image sets with their protocol (``set_metrics``, on sets read by ``image_sets``, through a
feature network of ``feature_extractors``, with a dataset's reference features cached by
``reference_cache``).

Imports the data, the networks and the game (to draw samples); never the training loop."""
