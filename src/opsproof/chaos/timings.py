"""Time to detect and time to recover, from the monitor's series of health rounds.

Pure functions over (timestamp, ok) samples, so the arithmetic is unit-tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds the round (or request) started
    ok: bool


@dataclass(frozen=True)
class Timings:
    time_to_detect_s: float | None  # first failed sample after injection; None: never seen
    time_to_recover_s: float | None  # first sample of the final passing run after the fault
    # ended; None: a failure was still the last sample (it did not recover while watched)
    window_end: float  # end of the disturbance: recovery, or the fault's end if later


def compute(samples: Sequence[Sample], injected_at: float, cleared_at: float) -> Timings:
    """Timings of one fault. `cleared_at` is when the fault itself ended (equal to
    `injected_at` for an instant fault such as a kill)."""
    cleared_at = max(cleared_at, injected_at)
    after = sorted((s for s in samples if s.at >= injected_at), key=lambda s: s.at)
    first_fail = next((s for s in after if not s.ok), None)
    if first_fail is None:
        return Timings(None, None, cleared_at)
    detect = first_fail.at - injected_at
    # Recovery: the start of the last unbroken run of passing samples, not before the
    # fault ended and not before the last failure.
    last_fail = max((s.at for s in after if not s.ok), default=injected_at)
    recovered = next((s for s in after if s.ok and s.at > last_fail and s.at >= cleared_at), None)
    if recovered is None:
        return Timings(detect, None, max(cleared_at, after[-1].at))
    return Timings(detect, recovered.at - cleared_at, max(cleared_at, recovered.at))


def in_window(samples: Sequence[Sample], start: float, end: float) -> tuple[int, int]:
    """(requests, errors) among samples that started within [start, end]."""
    inside = [s for s in samples if start <= s.at <= end]
    return len(inside), sum(1 for s in inside if not s.ok)
