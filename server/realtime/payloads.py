"""Payloads the hub's own Socket.IO events accept, validated at the edge."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.errors import Invalid

# Ids are µs timestamps: below 2**53 so JavaScript numbers hold them exactly.
MAX_ID = 2**53 - 1
MAX_SHOW_ID = 2**53 - 1

M = TypeVar("M", bound=BaseModel)


class _Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class JoinIn(_Payload):
    """`join`: the show to enter and, to resume, the last event id seen."""

    show_id: int = Field(gt=0, le=MAX_SHOW_ID)
    after: int | None = Field(default=None, ge=0, le=MAX_ID)


class LeaveIn(_Payload):
    """`leave`: optionally the show being left (it must be the joined one)."""

    show_id: int | None = Field(default=None, gt=0, le=MAX_SHOW_ID)


class HeartIn(_Payload):
    """`heart`: how many hearts this tap sends (a client batches its taps)."""

    count: int = Field(ge=1, le=50)


def parse(model: type[M], data: Any) -> M:
    """Validate a payload or raise Invalid("invalid_payload") naming the bad fields."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid("invalid_payload", "the payload must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) or "(payload)"
                         for err in exc.errors()})
        raise Invalid("invalid_payload", "bad fields: " + ", ".join(fields),
                      fields=fields) from None
