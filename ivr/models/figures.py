"""Counts kept for the figures once a day has passed: aggregate numbers only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base


class FunnelDay(Base):
    """How many callers reached each step of a line's flow on a day (UTC), and how
    many hung up there. Written once per settled day (ivr/figures.py): the step
    events it is counted from are erased by `ivr purge`, these counts are not.
    A row with line "" and step "" marks the day as counted (reached = its calls)."""

    __tablename__ = "funnel_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    line: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(64), primary_key=True)
    reached: Mapped[int] = mapped_column(Integer, default=0)
    hung_up: Mapped[int] = mapped_column(Integer, default=0)
