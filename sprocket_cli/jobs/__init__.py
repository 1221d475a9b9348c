"""Jobs as records: job.json, the journal, and requests to a running job (cancel, pause)."""
