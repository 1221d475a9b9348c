"""Planning a job before it runs: what a filter chain needs to give plain ffmpeg's result."""
