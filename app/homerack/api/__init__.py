"""The HTTP API: a thin Falcon ASGI layer over the storage units of work."""
