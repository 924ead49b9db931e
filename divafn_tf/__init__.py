"""DIVAFN: Deep Image-to-Video Adaptation and Fusion Networks (TF/Keras)."""
