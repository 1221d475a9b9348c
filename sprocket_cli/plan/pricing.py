"""What Lambda time costs: published prices, and the arithmetic over a job's usage."""

from __future__ import annotations

from dataclasses import dataclass

#: AWS Lambda on-demand prices, us-east-1, from aws.amazon.com/lambda/pricing as of 2025
#: (dollars per GB-second of billed duration, by architecture). No network here to re-check:
#: update both the numbers and this date together.
PRICE_DATE = "2025"
PRICE_PER_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
#: Lambda's CPU grows with memory: one vCPU per 1,769 MB (AWS docs), at most six.
MB_PER_VCPU, MAX_VCPUS = 1769, 6
#: Dollars per invocation ($0.20 per million requests).
PRICE_PER_REQUEST = 0.20 / 1_000_000


@dataclass(frozen=True)
class Cost:
    gb_seconds: float
    requests: int
    dollars: float


def lambda_cost(worker_seconds: float, requests: int, memory_mb: int, arch: str = "x86_64") -> Cost:
    """Cost of ``worker_seconds`` of billed duration at ``memory_mb`` plus ``requests`` invocations."""
    gb_seconds = worker_seconds * memory_mb / 1024
    dollars = gb_seconds * PRICE_PER_GB_SECOND[arch] + requests * PRICE_PER_REQUEST
    return Cost(gb_seconds=gb_seconds, requests=requests, dollars=dollars)
