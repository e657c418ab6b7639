"""The record of one queued async inference request, shared by every queue back end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PENDING, IN_PROGRESS, COMPLETED, FAILED, EXPIRED = "Pending", "InProgress", "Completed", "Failed", "Expired"
TERMINAL = (COMPLETED, FAILED, EXPIRED)


@dataclass(frozen=True)
class AsyncRequest:
    """A queued inference request and its outcome (read-only view)."""

    id: str
    endpoint: str
    idempotency_key: str
    status: str
    input_digest: str
    content_type: str
    attempts: int
    max_attempts: int
    expires_at: datetime | None
    output_digest: str | None
    error: str | None
    created_at: datetime
    #: The caller's ``Accept`` and ``X-Amzn-SageMaker-Custom-Attributes`` at submission, sent to the model when
    #: a worker runs the request (the answer's content type; probabilities; the capture record).
    accept: str | None = None
    custom_attributes: str | None = None

    @property
    def output_location(self) -> str:
        """Where the result will be: the artifact digest once done, else this request's status route."""
        return f"cas:{self.output_digest}" if self.output_digest else f"/async-invocations/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {"inference_id": self.id, "status": self.status, "output_location": self.output_location,
                "attempts": self.attempts, "error": self.error, "idempotency_key": self.idempotency_key}
