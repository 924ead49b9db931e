"""Train DIVAFN, report video accuracy, export a SavedModel.

    python -m divafn_tf.main --flagfile=flags/demo.cfg

Outputs under --model_dir: ``logs/`` (TensorBoard: every term of J, J,
learning rate, W solve time and residual, test accuracy, bank histograms),
``results.json`` (accuracies and the flags used) and ``export/`` (the
SavedModel, signature ``serving_default``). The command is
`divafn_tf.cli.train`; its flags are in `divafn_tf.cli.flags`.
"""
from divafn_tf.cli import train

if __name__ == "__main__":
    train.run()
