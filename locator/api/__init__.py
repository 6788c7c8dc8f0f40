"""The HTTP layer: `locator.api:app` is the ASGI app."""

from locator.api.factory import create_app

app = create_app()

__all__ = ["app", "create_app"]
