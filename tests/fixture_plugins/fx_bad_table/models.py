from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base


class Widget(Base):
    __tablename__ = "widgets"  # should be "fx_bad_table_widget"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
