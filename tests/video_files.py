"""Video files in real codecs for the tests: MPEG-4 Part 2 in an xvid AVI
(written by OpenCV) and H.264 in an MP4 (written by PyAV's libx264, since
OpenCV's wheels cannot encode H.264). Each writer checks the codec it got."""
import av
import cv2


def codec_of(path):
    """(FFmpeg codec name, container codec tag, OpenCV FOURCC) of a video."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        name, tag = stream.codec_context.name, stream.codec_tag
    capture = cv2.VideoCapture(str(path))
    try:
        assert capture.isOpened()
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little")
    finally:
        capture.release()
    return name, tag, fourcc.decode("ascii")


def write_xvid_avi(path, frames, fps=10):
    """Writes uint8 RGB frames as an xvid AVI (MPEG-4 Part 2) with OpenCV."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"XVID"), fps,
                             (w, h))
    assert writer.isOpened(), "OpenCV cannot write XVID"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    # FFmpeg's mpeg4 decoder is MPEG-4 Part 2; OpenCV names it FMP4.
    assert codec_of(path) == ("mpeg4", "XVID", "FMP4")
    return str(path)


def write_h264_mp4(path, frames, fps=10):
    """Writes uint8 RGB frames as an H.264 MP4 with PyAV's libx264."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for frame in frames:
            yuv = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                format="yuv420p")
            container.mux(stream.encode(yuv))
        container.mux(stream.encode())  # flush the encoder's delayed frames
    assert codec_of(path) == ("h264", "avc1", "h264")
    return str(path)


WRITERS = {"xvid": (write_xvid_avi, ".avi"), "h264": (write_h264_mp4, ".mp4")}
