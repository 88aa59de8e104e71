"""ASGI entry point: ``homerack.asgi:app`` (Gunicorn with uvicorn workers, or uvicorn)."""

from .api.app import create_app

app = create_app()
