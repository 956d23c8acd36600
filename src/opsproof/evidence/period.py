"""The period a pack covers: one month (YYYY-MM) or one year (YYYY), in the platform's time zone."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from opsproof.errors import ConfigError

TZ = ZoneInfo("Asia/Shanghai")
PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>0[1-9]|1[0-2]))?$")


@dataclass(frozen=True)
class Period:
    name: str
    start: dt.datetime  # inclusive, Asia/Shanghai
    end: dt.datetime  # exclusive

    @classmethod
    def parse(cls, text: str) -> Period:
        m = PATTERN.match(text.strip())
        if not m:
            raise ConfigError(
                f"PERIOD={text!r} is not a month or a year",
                fix="use PERIOD=YYYY-MM (e.g. 2026-12) or PERIOD=YYYY",
            )
        year = int(m["year"])
        if m["month"]:
            month = int(m["month"])
            start = dt.datetime(year, month, 1, tzinfo=TZ)
            end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=TZ)
        else:
            start = dt.datetime(year, 1, 1, tzinfo=TZ)
            end = dt.datetime(year + 1, 1, 1, tzinfo=TZ)
        return cls(text.strip(), start, end)

    @classmethod
    def current(cls, now: dt.datetime | None = None) -> Period:
        moment = (now or dt.datetime.now(TZ)).astimezone(TZ)
        return cls.parse(f"{moment:%Y-%m}")

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment.astimezone(TZ) < self.end

    def months(self, until: dt.datetime | None = None) -> list[str]:
        """YYYY-MM of every month of the period that began before `until` (default: all)."""
        out: list[str] = []
        cursor = self.start
        limit = min(self.end, until.astimezone(TZ)) if until else self.end
        while cursor < self.end and (cursor < limit or not out):
            out.append(f"{cursor:%Y-%m}")
            cursor = cursor.replace(
                year=cursor.year + (cursor.month == 12), month=cursor.month % 12 + 1
            )
        return out

    def days(self, until: dt.datetime | None = None) -> list[dt.date]:
        """Every calendar day of the period up to and including `until`'s day (default: all)."""
        last = self.end - dt.timedelta(days=1)
        if until is not None:
            last = max(min(last, until.astimezone(TZ)), self.start)
        first = self.start.date()
        return [first + dt.timedelta(days=n) for n in range((last.date() - first).days + 1)]


def month_of(moment: dt.datetime) -> str:
    return f"{moment.astimezone(TZ):%Y-%m}"


def day_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TZ).date()
