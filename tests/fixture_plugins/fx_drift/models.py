from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base


class DriftItem(Base):
    __tablename__ = "fx_drift_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    colour: Mapped[str] = mapped_column(String(20), default="")  # added to the model, no migration written
