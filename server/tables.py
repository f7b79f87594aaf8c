"""Every context's tables on one metadata, for Alembic and the schema check."""

from broadcasts import tables as broadcasts_tables  # noqa: F401
from chat import tables as chat_tables  # noqa: F401
from orders import tables as orders_tables  # noqa: F401
from server.auth import tables as auth_tables  # noqa: F401
from server.db import Base

metadata = Base.metadata
