"""The JSON response of the hot endpoints."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class FastJSONResponse(Response):
    """JSON encoded by orjson (~10x the standard library's speed on an answer of ten places).

    FastAPI's own ORJSONResponse is deprecated (its constructor warns on every response); answers here are
    plain JSON types already, so FastAPI's pydantic serialisation would only add a validation pass."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
