"""Video features from raw videos (issue 15): the kinds (`kinds`) and the
resumable command's engine (`runner`); the command is `divafn_tf.features`."""
