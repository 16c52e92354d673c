import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base
from voronka.core.types import UTCDateTime


class Effect(Base):
    __tablename__ = "jobtest_effect"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    handler: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))


class Run(Base):
    __tablename__ = "jobtest_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(120))
    owner: Mapped[str] = mapped_column(String(120))
    item: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
