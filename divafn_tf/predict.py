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

    clip.avi: jump (class 1) | wave 0.8123, jump 0.1201, ...

followed by the number of videos. With ``--output`` the predictions are also
written as CSV (atomically: a temporary file in the same folder, then a
rename). The CSV layout is::

    video,class_id,class_name,top1,top2,...,top<k>

where ``video`` is the video path as given, and ``top<i>`` is
``<class name>:<score>`` for the class with the i-th highest SVM decision
value (score printed with 6 decimals; a class name may itself contain ``:``,
so split on the last one). k is ``min(--top_k, number of classes)``.

Class names of the top-k list come from the SavedModel's ``class_names``
signature (the name of each column of ``scores``).

Any bad input (a video that cannot be decoded, a feature file that is
missing, unreadable, of the wrong shape or dtype, or not finite) stops the
run with a message naming the file on stderr and exit status 1.
"""
from divafn_tf.cli import predict

if __name__ == "__main__":
    predict.run()
