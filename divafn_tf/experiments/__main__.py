# ``python -m divafn_tf.experiments``: the command is `divafn_tf.cli.experiments`;
# ``--help`` prints the main module's docstring, here the package's (the
# methods, sweeps and outputs, written once in ``__init__.py``).
from divafn_tf import experiments
from divafn_tf.cli import experiments as command

__doc__ = experiments.__doc__

if __name__ == "__main__":
    command.run()
