"""The training run: validation of the config (``validation``), the loop (``train``), what it needs around
the jitted step (``jitting``, ``parallel``, ``signals``) and what it writes (``checkpoints``, ``workdir``,
``outputs``, ``metric_writers``, ``figures``, ``images``; a bucket workdir's staging copy and lease:
``storage``), the saturation-trap warning (``collapse``), and
the offline ``--mode=evaluate``/``--mode=sample`` over a run's workdir (``evaluation``), its two-set metrics
at the end of a run (``final_eval``); GMMN+AE's second
stage reads its autoencoder run (``autoencoder``).

The top room: imports every other one; nothing in gan_jax imports it but ``launch.py``."""
