"""The paper's experiments: methods × training ratios × repeats, sweeps.

    python -m divafn_tf.experiments --flagfile=flags/a2u.cfg \\
        --methods=svm,baseline,finetuned,kvc,diva,divf,divafn \\
        --ratios=0.1,0.2,0.3,0.4,0.5 --repeats=5 --output_dir=runs/a2u_tables

Every (ratio, repeat) draws one split (seed ``--seed`` + repeat, the same for
every method) and evaluates each method with a linear SVM on the training
videos, scored on the test videos. Methods (docs/design.md §6; "untrained" means
the networks as DIVAFN starts them, with the same seed: ImageNet layers if
``--image_weights`` is given, fc8 random):

* ``svm``: the video feature alone.
* ``baseline``: the image network's penultimate feature (fc7 of CNN-F, the
  pooled feature of a keras.applications backbone) of the paired image with
  the video feature for training; the same feature of the keyframes with the
  video feature for testing.
* ``finetuned``: the image network fine-tuned as a C-class classifier on the
  training keyframes only (the paper: "use the keyframes as the input"; the
  images do not join), ``--epochs`` epochs; its fc8 output of the keyframes,
  alone (as the paper's eighth-layer features).
* ``kvc``: [untrained keyframe fc8 feature; video feature].
* ``diva``: DIVAFN trained with β = λ = 0; [h; g].
* ``divf``: the autoencoders alone: W_H, W_G, W_E solved (eqs. 18-24) on the
  untrained keyframe features and the raw video features (standardised as
  DIVAFN's features are, ``--standardize``), fused by eq. (25).
* ``divafn``: the full method, eq. (25).
* ``divafn_no_images``: DIVAFN with the image network and its two
  likelihoods removed (a = b = 0, no AE_F, ``--noimages``), everything else
  equal: ``divafn`` minus ``divafn_no_images`` answers "do images help?",
  a question the paper does not ask.
* ``tca``, ``gfk``, ``jda``, ``tjm``, ``coral``, ``jgsa``, ``meda`` (Table XI):
  source = the untrained image network's fc8 features of the training
  images (labelled), target = the same network's fc8 features of every
  video's keyframes (unlabelled). The paper names "the video feature" as
  the target, but these methods need one feature space for both domains and
  the SVM one feature per video: the keyframes give both. The SVM is trained
  on [adapted keyframe feature; video feature] (the paper's "concatenation").
  Each method runs with its own default hyper-parameters
  (``divafn_tf/domain_adaptation/``, one module per method); MEDA
  contributes its classifier's decision values, since its GFK features
  alone would repeat the ``gfk`` row.

Sweeps (``--sweep``; DIVAFN only, each setting × ratio × repeat):
``beta_lambda`` (Fig. 5: a = b = c = 1, β and λ in {0.001, 0.01, 0.1, 1,
10}), ``abc`` (Table VIII's eight (a, b, c), β = 0.1, λ = 0.01) and ``d``
(512, 1024, 2048, 4096).

Outputs in ``--output_dir``: ``results.csv`` (one row per method or setting ×
ratio × repeat, replaced whole (atomically) after each row, so a killed
run leaves whole rows; a re-run skips the rows already there), ``table.md`` (mean ± std in %, the paper's layout: ratios down,
methods across) or ``table_<sweep>.md``, a figure beside it (``plots.py``;
on one of the paper's pairs with the paper's numbers of ``paper.py``):
``accuracy.png`` (accuracy against ratio, one line per method, std as error
bars, the paper's Tables IV-VII, IX, X dashed), ``beta_lambda.png`` (Fig. 5's
grid as a heat map, the values in the cells), ``d.png`` (accuracy against d,
Tables IV-VII's d columns dashed) or ``abc.png`` (Table VIII's settings as
bars), and TensorBoard HParams runs under ``hparams/``. ``--plot_only``
with the run's flags redraws the figure from ``results.csv``, computing
nothing.

Code: `methods` (how each method is evaluated on one split), `runner` (the
jobs, ``results.csv`` with resume, HParams), `tables` (the markdown tables),
`figures` (the figure of a run), `paper` (the paper's numbers);
the command's flags and ``main`` are in `divafn_tf.cli.experiments`.
"""
from divafn_tf.experiments.methods import METHODS, SplitFeatures
from divafn_tf.experiments.runner import (CSV_FIELDS, SETTING_FIELDS, SWEEPS,
                                          Job, plan, read_results, rows_of,
                                          run_jobs)
from divafn_tf.experiments.tables import grid_table, table, write_tables

__all__ = ["CSV_FIELDS", "METHODS", "SETTING_FIELDS", "SWEEPS", "Job",
           "SplitFeatures", "grid_table", "plan", "read_results",
           "rows_of", "run_jobs", "table", "write_tables"]
