"""ASGI entry point: ``homerack.asgi:app`` (Gunicorn with uvicorn workers, or uvicorn)."""

from . import logs
from .api.app import create_app

logs.configure()
app = create_app()
