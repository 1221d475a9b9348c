"""What a job produces: a growing HLS/DASH stream, then one MP4 assembled by stream copy."""
