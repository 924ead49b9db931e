"""The commands: the only modules that use absl ``app`` and ``flags``."""
