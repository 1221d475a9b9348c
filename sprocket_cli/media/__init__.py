"""Media layer: the ffmpeg binary, probing with PyAV, chunk planning, fMP4 boxes."""
