"""What each face detector choice costs per frame: the line ``sprocket plan`` and find-face's
summary print ("detector: hog x2 upsampling, ~N ms/frame per worker; ...").

Not measured per job: a constant table, measured once on the development machine (2 cores of
an x86_64 VM, one core per run, dlib-bin 20.0.1 without BLAS, PyAV 18; /tmp profiling scripts
and bench/faces.py's ``sizes`` rows), scaled by the pixels a detector scans. HOG's cost grows
with the pixels scanned (4x per doubling, a quarter per halving), the CNN's likewise; an
embedding costs the same for any face size (a 150x150 chip through a ResNet).
"""

from __future__ import annotations

#: HOG on the gray frame, ms per megapixel scanned: 130 ms for a 1920x1080 frame, 465 ms doubled.
HOG_MS_PER_MP = 63.0
#: dlib's MMOD CNN, ms per megapixel scanned: ~8 s for a 1280x720 frame.
CNN_MS_PER_MP = 8700.0
#: One face's 128-d embedding (landmarks, chip, ResNet), ms.
EMBED_MS = 75.0
#: Per sampled frame besides detection, ms per megapixel: the RGB conversion for the embedding
#: (8 ms at 1080p) and the gray one and halvings for HOG (~5 ms).
SAMPLE_MS_PER_MP = 6.3
#: Every frame, sampled or not, ms per megapixel: decoding (PyAV, ~5 ms at 1080p), the gray
#: picture and the tracker's update (~4 ms each), when the box is drawn.
FRAME_MS_PER_MP = 6.3
#: Samples per fresh embedding of a face that stays put (stages/faces.py's REFRESH).
EMBED_EVERY = 4


def scale_words(doublings: int) -> str:
    """``x2 upsampling``, ``no upsampling``, ``at 1/4 size``."""
    if doublings > 0:
        return f"x{2**doublings} upsampling"
    return "no upsampling" if doublings == 0 else f"at 1/{2**-doublings} size"


def _scanned_mp(size: tuple[int, int], doublings: int) -> float:
    return size[0] * size[1] / 1e6 * 4.0**doublings


def hog_ms(size: tuple[int, int], doublings: int, every: int) -> float:
    """ms per frame of video, one worker: HOG and one face's embedding on every ``every``-th
    frame, decoding and tracking on all."""
    mp = size[0] * size[1] / 1e6
    sample = HOG_MS_PER_MP * _scanned_mp(size, doublings) + SAMPLE_MS_PER_MP * mp + EMBED_MS / EMBED_EVERY
    return sample / every + FRAME_MS_PER_MP * mp


def cnn_ms(size: tuple[int, int], doublings: int, every: int) -> float:
    """ms per frame of video, one worker, for the CNN on every ``every``-th frame."""
    return CNN_MS_PER_MP * _scanned_mp(size, doublings) / every


def detector_line(detector: str, doublings: int, size: tuple[int, int], every: int) -> str:
    """``detector: hog x2 upsampling, ~N ms/frame per worker; cnn second pass ...``."""
    scale = scale_words(doublings)
    cnn = cnn_ms(size, doublings, every)
    if detector == "cnn":
        return f"detector: cnn {scale}, ~{cnn:,.0f} ms/frame per worker"
    line = f"detector: hog {scale}, ~{hog_ms(size, doublings, every):,.0f} ms/frame per worker"
    if detector == "auto":
        line += f"; cnn second pass on frames where HOG found nothing, ~{cnn:,.0f} ms/frame"
    return line


def plan_lines(size: tuple[int, int], every: int) -> list[str]:
    """Each choice's cost on frames of ``size``, for ``sprocket plan`` (no first pass there:
    the job's own picks one of the HOG scales when it starts)."""
    from sprocket_cli.faces.local import face_floor

    hog = ", ".join(
        f"{scale_words(d)} (faces from ~{face_floor(d)} px) ~{hog_ms(size, d, every):,.0f}"
        for d in (-2, -1, 0, 1)
    )
    return [
        f"find_faces, a sample every {every} frames: hog ms/frame per worker: {hog}; "
        "the job's first pass picks the scale from the faces it sees",
        f"--detector auto adds the cnn on frames where HOG found nothing, ~{cnn_ms(size, 0, every):,.0f} "
        f"ms/frame there; --detector cnn ~{cnn_ms(size, 0, every):,.0f} ms/frame",
    ]
