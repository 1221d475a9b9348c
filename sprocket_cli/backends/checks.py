"""The lines of a ``sprocket doctor`` report, whichever backend it checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["pass", "fail", "warn", "skip"]


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str
    #: What to do about a failure: the one command or step that fixes it ("" when nothing).
    fix: str = ""
