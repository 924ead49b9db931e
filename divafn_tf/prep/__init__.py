"""Preparing the inputs (no TF model code, no TFDS): keyframes, class
semantics, video feature files, IDT + LLC video features, the image resize."""
