"""The game and its updates: the losses as functions of D's logits (``games``), regularisers and options,
the one train state (``state``), the optimizers, one player's update (``updates``), the update schemes
built from them (``steps``), several seeds trained as one program (``replicas``), and the MMD (``mmd``)
with the moment-matching games GMMN and MMD-GAN in the one state (``moment_matching``).

Pure functions over pytrees; imports the data and the networks, never the training loop."""
