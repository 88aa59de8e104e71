"""Shared pieces of the resources: JSON bodies, paging, and the generic CRUD resource."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import falcon
import orjson
from falcon.routing.converters import IntConverter

from ..cache import json_bytes
from ..domain.schemas import MAX_ID, UNSAFE_CHARS, parse
from .roles import require_role

MAX_LIMIT = 500
# The only pages a list caches: these sizes (the API's default 50, the UI's 200), at an
# offset on their grid, and with at least one item. Any other limit/offset combination,
# or an empty page, is read from the database, so a client walking every combination
# mints no cache keys: what can be cached is bounded by the data, not by the requests.
CACHED_PAGE_SIZES = frozenset({10, 20, 25, 50, 100, 200, 500})
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")


def _require_json(req) -> None:
    if not req.content_type or not req.content_type.startswith("application/json"):
        raise falcon.HTTPUnsupportedMediaType(description="send the body as application/json")


async def json_body(req):
    """The decoded JSON body (Falcon answers 400 on malformed JSON)."""
    _require_json(req)
    return await req.get_media()


async def bounded_body(req, limit: int, setting: str) -> bytes:
    """The raw JSON body, refused with 413 above ``limit`` bytes (named by ``setting``)
    before any of it is read, or as soon as a body without Content-Length passes it."""
    _require_json(req)
    if req.content_length is not None and req.content_length > limit:
        raise falcon.HTTPContentTooLarge(
            description=(
                f"the document is {req.content_length} bytes; the limit is {limit} ({setting})"
            )
        )
    data = await req.stream.read(limit + 1)
    if len(data) > limit:
        raise falcon.HTTPContentTooLarge(
            description=(f"the document is larger than the limit of {limit} bytes ({setting})")
        )
    return data


def paging(req) -> tuple[int, int]:
    limit = req.get_param_as_int("limit", min_value=1, max_value=MAX_LIMIT, default=50)
    offset = req.get_param_as_int("offset", min_value=0, max_value=MAX_ID, default=0)
    return limit, offset


class BoundedInt(IntConverter):
    """``{id:int}`` in routes: ids fit the INTEGER keys, so a larger one is a 404, not a
    database error."""

    def __init__(self, num_digits=None, min=1, max=MAX_ID):
        super().__init__(num_digits, min, max)


@dataclass(frozen=True)
class Filter:
    """A list filter from the query string; ``kind`` is str, int or bool."""

    name: str
    kind: type = str
    description: str = ""
    choices: tuple = ()

    @property
    def schema(self) -> dict:
        if self.choices:
            return {"type": "string", "enum": list(self.choices)}
        if self.kind is int:
            return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        if self.kind is bool:
            return {"type": "boolean"}
        return {"type": "string", "pattern": f"^[^{UNSAFE_CHARS}]*$"}

    def read(self, req):
        if self.kind is int:
            return req.get_param_as_int(self.name, min_value=1, max_value=MAX_ID)
        if self.kind is bool:
            return req.get_param_as_bool(self.name)
        value = req.get_param(self.name)
        if value is not None and _UNSAFE.search(value):
            # No stored name has them, and PostgreSQL refuses NUL outright (a 500).
            raise falcon.HTTPInvalidParam("must not contain control characters", self.name)
        if value is not None and self.choices and value not in self.choices:
            raise falcon.HTTPInvalidParam(f"must be one of {', '.join(self.choices)}", self.name)
        return value


@dataclass(frozen=True, kw_only=True)
class Crud:
    """The storage functions and input model of one resource family."""

    kind: str  # "rack"
    plural: str  # "racks" (OpenAPI tag)
    model: type
    list: Callable
    create: Callable
    get: Callable
    update: Callable
    delete: Callable
    filters: tuple[Filter, ...] = field(default_factory=tuple)
    patch_model: type | None = None  # when PATCH takes another document than POST
    cache: str | None = None  # cache namespace of the reads (None: not cached)
    invalidates: tuple[str, ...] = ()  # cache namespaces a write makes stale
    # Output models of domain.schemas for the OpenAPI document.
    out_model: type | None = None  # what POST, PATCH and (by default) GET /{id} answer
    list_model: type | None = None  # a list item (default: out_model)
    item_model: type | None = None  # what GET /{id} answers (default: out_model)


# Cache namespaces. Rack details and device lists show brand names, brand logos and
# model dimensions, so catalog writes (a logo upload or removal included) make the
# rack reads stale too.
CATALOG_WRITE = ("catalog", "racks")
RACKS_WRITE = ("racks",)
EVERY_NAMESPACE = ("catalog", "racks")  # what a write of unknown outcome makes stale


def cache_key(*parts) -> str:
    return hashlib.blake2b(orjson.dumps(parts), digest_size=12).hexdigest()


class CrudResource:
    """``/api/<kind>`` (list, create) and ``/api/<kind>/{id}`` (get, patch, delete).
    Viewers read; writes need the editor role."""

    def __init__(self, run, cache, crud: Crud):
        self.run = run  # a unit of work on the DB pool (Runtime.run)
        self.cache = cache
        self.crud = crud
        # Free-text filters: a read that uses one is not cached (any client could mint
        # endless keys and crowd out the useful entries).
        self._free_text = tuple(f.name for f in crud.filters if f.kind is str and not f.choices)

    async def _read(self, key: tuple, fn, *args, keep=None, **kwargs) -> bytes:
        """The JSON document of ``fn``'s result: from the cache when the resource has one
        (the stored bytes, not decoded and encoded again), else from the database."""
        if self.crud.cache is None or any(kwargs.get(name) for name in self._free_text):
            return json_bytes(await self.run(fn, *args, **kwargs))
        return await self.cache.get_or_load_json(
            self.crud.cache,
            cache_key(self.crud.kind, *key),
            lambda: self.run(fn, *args, **kwargs),
            keep,
        )

    async def _write(self, fn, *args):
        result = await self.run(fn, *args)
        await self.cache.invalidate(*self.crud.invalidates)  # after the commit
        return result

    async def on_get(self, req, resp) -> None:
        limit, offset = paging(req)
        filters = {f.name: f.read(req) for f in self.crud.filters}
        if limit not in CACHED_PAGE_SIZES or offset % limit:
            resp.media = await self.run(self.crud.list, limit, offset, **filters)
            return
        resp.data = await self._read(
            ("list", limit, offset, filters),
            self.crud.list,
            limit,
            offset,
            keep=_has_items,
            **filters,
        )
        resp.content_type = falcon.MEDIA_JSON

    @require_role("editor")
    async def on_post(self, req, resp) -> None:
        data = parse(self.crud.model, await json_body(req))
        item = await self._write(self.crud.create, data)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.path}/{item['id']}"
        resp.media = item

    async def on_get_item(self, req, resp, id: int) -> None:
        resp.data = await self._read(("item", id), self.crud.get, id)
        resp.content_type = falcon.MEDIA_JSON

    @require_role("editor")
    async def on_patch_item(self, req, resp, id: int) -> None:
        resp.media = await self._write(self.crud.update, id, await json_body(req))

    @require_role("editor")
    async def on_delete_item(self, req, resp, id: int) -> None:
        await self._write(self.crud.delete, id)
        resp.status = falcon.HTTP_204

    @property
    def openapi(self) -> dict:
        c = self.crud
        params = [
            {
                "name": f.name,
                "in": "query",
                "required": False,
                "description": f.description,
                "schema": f.schema,
            }
            for f in c.filters
        ]

        def answers(model) -> dict:
            return {"response": model}

        return {
            "on_get": {
                "summary": f"List {c.plural.replace('_', ' ')}",
                "tags": [c.plural],
                "list": True,
                "parameters": params,
                "item": c.list_model or c.out_model,
            },
            "on_post": {
                "summary": f"Create a {c.kind}",
                "tags": [c.plural],
                "body": c.model,
                "responses": {"201": f"the new {c.kind}"},
                **answers(c.out_model),
            },
            "on_get_item": {
                "summary": f"Get a {c.kind}",
                "tags": [c.plural],
                **answers(c.item_model or c.out_model),
            },
            "on_patch_item": {
                "summary": f"Change fields of a {c.kind}",
                "tags": [c.plural],
                "body": c.patch_model or c.model,
                "partial": True,
                **answers(c.out_model),
            },
            "on_delete_item": {
                "summary": f"Delete a {c.kind}",
                "tags": [c.plural],
                "responses": {"204": "deleted"},
            },
        }


def _has_items(page: dict) -> bool:
    return bool(page["items"])


def crud_routes(base: str, resource: CrudResource) -> list[tuple]:
    return [(base, resource, None), (base + "/{id:int}", resource, "item")]
