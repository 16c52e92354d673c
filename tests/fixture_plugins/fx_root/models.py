from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from voronka.core.db import Base


class RootItem(Base):
    __tablename__ = "fx_root_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
