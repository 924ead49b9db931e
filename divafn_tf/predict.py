"""Recognise the actions of videos with an exported DIVAFN SavedModel.

    python -m divafn_tf.predict --saved_model=run/export \\
        --video=clip.avi --video_feature=clip.npy
    python -m divafn_tf.predict --saved_model=run/export \\
        --video_dir=videos/ --feature_dir=features/ --output=predictions.csv

The command (flags, printed lines, CSV layout) is `divafn_tf.cli.predict`;
the library it calls is `divafn_tf.serving`.
"""
from divafn_tf.cli import predict

if __name__ == "__main__":
    predict.run()
