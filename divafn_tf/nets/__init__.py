"""The networks: CNN-F, the keras.applications backbones, EfficientNet-Lite0,
the video MLP, their weight readers and the frozen-layer cut."""
