"""Counts kept for the figures once a day has settled: aggregate numbers only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base


class FigureDay(Base):
    """One count of a settled day (UTC) on one line, written once by ivr/insight/figures.py:

    - figure "reached", key a step: callers who reached it;
    - figure "outcome", key "outcome:step": calls that ended so (the step for a
      caller who hung up in the flow);
    - figure "wait_all" / "wait_answered", key seconds: queued callers (all, or
      answered) who waited that long, rounded down to the histogram's step.

    Nothing here is about one call: the step events these are counted from
    are erased by `ivr purge`, the counts stay.
    """

    __tablename__ = "figure_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    line: Mapped[str] = mapped_column(String(64), primary_key=True)
    figure: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(140), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class CountedDay(Base):
    """A day whose figures are in FigureDay (a day without calls has no FigureDay row)."""

    __tablename__ = "figure_days_counted"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
