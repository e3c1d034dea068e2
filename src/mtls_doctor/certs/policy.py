"""The knobs of the certificate checks, and how durations and times are written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    """`now` is the clock every validity check uses (tests pass a fixed one)."""

    now: datetime
    workload_margin: timedelta = timedelta(hours=1)
    ca_margin: timedelta = timedelta(days=30)
    max_workload_ttl: timedelta = timedelta(hours=72)

    def margin_for(self, kind: str, lifetime: timedelta) -> timedelta:
        """The expiry margin of a certificate: its kind's margin, but never more than a third of
        its lifetime (short-lived SPIRE or cert-manager certificates renew at about that point)."""
        margin = self.ca_margin if kind in ("root", "intermediate") else self.workload_margin
        return min(margin, lifetime / 3)

    @classmethod
    def at(cls, now: datetime | None = None, **kw: timedelta) -> CheckPolicy:
        return cls(now=(now or datetime.now(UTC)), **kw)


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `1h`, `30d`, `2w` (a bare number is hours). Raises ValueError."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 1h, 30d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2) or "h"])


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC. Raises ValueError."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human(d: timedelta) -> str:
    """A duration the way a person says it: `3d 4h`, `45m`, `12s`."""
    seconds = int(abs(d.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days >= 365:
        return f"{days // 365}y {days % 365}d"
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"
