"""Recognise the actions of videos with an exported DIVAFN SavedModel.

One video::

    python -m divafn_tf.predict --saved_model=run/export \\
        --video=clip.avi --video_feature=clip.npy

A folder (every ``<id>.<ext>`` video, ext one of
`keyframes.VIDEO_EXTENSIONS` -- avi/mp4/mpg/mpeg/mkv/webm/mov, the builders'
list -- case-insensitive, is paired with ``<feature_dir>/<id>.npy``)::

    python -m divafn_tf.predict --saved_model=run/export \\
        --video_dir=videos/ --feature_dir=features/ --output=predictions.csv

For every video the keyframes come from `keyframes.extract_keyframes` (the
histogram difference method, ``--num_keyframes`` of them) and the video
feature from its ``.npy`` file (loaded without pickle; it must be a finite
1-D float array of the length ``dv`` declared by the SavedModel's
``serving_default`` signature). Videos go through the signature in batches
of ``--batch_size``. One line per video is printed::

    clip.avi: jump (class 1) | SVM margins: jump 0.8123, wave 0.1201, ...

followed by the number of videos. The scores are the linear SVM's decision
values (one-vs-rest margins, higher is more confident), not probabilities:
they do not sum to 1 and may be negative.

With ``--output`` the predictions are also written (atomically: a temporary
file in the same folder, then a rename), in the format of its extension.
``.csv``::

    video,class_id,class_name,top1_class,top1_svm_margin,...,top<k>_class,top<k>_svm_margin

``.jsonl`` (JSON Lines), one object per video::

    {"video": "clip.avi", "feature": "clip.npy", "class_id": 1,
     "class_name": "jump", "top_k": [{"class_name": "jump", "svm_margin": 0.8123}, ...]}

``video`` is the video path as given; margins have 6 decimals; the top-k
list is best first, k = ``min(--top_k, number of classes)``, its class names
from the SavedModel's ``class_names`` signature (the name of each column of
``scores``).

Any bad input (a video that cannot be decoded, a feature file that is
missing, unreadable, of the wrong shape or dtype, or not finite) stops the
run before anything is printed or written, with a message naming the file
on stderr and exit status 1. With ``--skip_errors`` such a video is left
out instead: every other video is printed and written, then each failure is
listed on stderr (``failed: <video>: <reason>``) and a last line
``error: N of M video(s) could not be predicted …`` ends the run with exit
status 1.
"""
from divafn_tf.cli import predict

if __name__ == "__main__":
    predict.run()
