"""A real task to hand to any worker path: decode, gray, encode one chunk of a clip."""

from __future__ import annotations

from pathlib import Path

from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.probe import probe
from sprocket_cli.tasks import ChunkRef, Fault, StageCall, Task


def gray_task(clip: Path, index: int = 0, fault: Fault | None = None, *, job_id: str = "test") -> Task:
    """Chunk ``index`` of ``clip`` (2 s chunks) through decode -> hue=s=0 -> encode."""
    chunk = plan_chunks(probe(str(clip)), 2.0).chunks[index]
    return Task(
        job_id=job_id,
        task_id=f"gray/c{index:05d}",
        group="decode+filter+encode",
        chunk=ChunkRef.of(chunk),
        stages=(
            StageCall("decode", "decode", {}),
            StageCall("filter", "filter", {"vf": "hue=s=0"}),
            StageCall("encode", "encode", {"preset": "ultrafast", "crf": 30}),
        ),
        output_key=f"stream/seg_{index:05d}.m4s",
        output_type="chunks",
        source=str(clip),
        fault=fault,
    )
