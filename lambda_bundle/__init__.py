"""The AWS Lambda deployment: a thin handler over :func:`sprocket_cli.worker.run_task`."""
