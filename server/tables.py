"""Every context's tables on one metadata, for Alembic and the schema check."""

from server.auth import tables as auth_tables  # noqa: F401
from server.db import Base

metadata = Base.metadata
