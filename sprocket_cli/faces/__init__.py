"""Face detection and recognition providers (``sprocket.faces`` entry points): local dlib, Rekognition.

This package imports nothing heavy; each provider imports its engine (dlib, boto3) when built.
"""

from __future__ import annotations

from sprocket_cli.faces.base import Box, Face, FaceProvider, Frame, LabelledImage, Match, PersonRef

__all__ = ["Box", "Face", "FaceProvider", "Frame", "LabelledImage", "Match", "PersonRef"]
