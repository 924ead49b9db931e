"""TensorFlow Datasets builders of divafn_tf."""
