"""Preparing the inputs (no TF model code, no TFDS): keyframes, class
semantics, video feature files, the image resize."""
