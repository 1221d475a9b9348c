"""The AWS side of Sprocket: settings written by ``sprocket setup``, deployment, and checks.

``settings`` is the public API the Lambda executor reads (which function, bucket, region);
``deploy`` plans and applies setup and teardown as lists of AWS calls; ``doctor`` checks that
a deployment works. boto3 is imported lazily inside functions, never at module import.
"""
