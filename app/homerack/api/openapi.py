"""The OpenAPI 3.1 document, built from the routes and the pydantic input models.

Each resource describes its responders in an ``openapi`` mapping (responder name
-> summary, tags, body model, response model, ...). A route without a description, or
a JSON answer without a schema, is an error when the document is built, so the
document cannot silently miss a route or describe an answer as just "an object".

Creating operations link to the operations on the record they created (OpenAPI
links), so a client, or a fuzzer, can follow create -> read -> change -> delete.
"""

from __future__ import annotations

import re
from copy import deepcopy

from .. import __version__
from ..domain.errors import MAX_LISTED
from ..domain.schemas import MAX_ID
from .common import MAX_LIMIT

_METHODS = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
_ERROR = {"$ref": "#/components/responses/Error"}
_DEFAULT_RESPONSES = {
    "on_get": {"200": "OK"},
    "on_post": {"200": "OK"},
    "on_put": {"200": "OK"},
    "on_patch": {"200": "the changed record"},
    "on_delete": {"200": "OK"},
}
# What any operation may answer (rate limit, validation, the database unavailable, ...),
# and what authenticated ones and ones with a body add.
_COMMON_ERRORS = ("400", "404", "409", "422", "429", "503")
_AUTH_ERRORS = ("401", "403")
_BODY_ERRORS = ("415",)
# A token is optional: the route answers trusted networks without one.
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


class _Builder:
    def __init__(self):
        self.schemas: dict = {
            "Error": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "maxItems": MAX_LISTED,
                        "description": (
                            f"422: the problems, the first {MAX_LISTED} when there are more"
                        ),
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string"},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                    "error_count": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "422: how many problems were found",
                    },
                    "error_count_exact": {
                        "type": "boolean",
                        "description": (
                            "422: false when checking stopped early (a document with very many "
                            "problems): there are at least error_count"
                        ),
                    },
                },
            },
            "Page": {
                "type": "object",
                "required": ["items", "total", "limit", "offset"],
                "properties": {
                    "items": {"type": "array", "items": {"type": "object"}},
                    "total": {"type": "integer", "minimum": 0},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                },
            },
        }

    def model(self, model, partial: bool = False, mode: str = "validation") -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
        name = model.__name__
        if partial:  # PATCH: any subset of the fields
            schema = deepcopy(schema)
            schema.pop("required", None)
            name += "Patch"
        for key, value in {**schema.pop("$defs", {}), name: schema}.items():
            # A model used both ways (the inventory: import body, export answer) must have
            # one schema, or one name would describe two documents.
            if self.schemas.setdefault(key, value) != value:
                raise ValueError(f"two different schemas are named {key}")
        return {"$ref": f"#/components/schemas/{name}"}

    def response(self, model) -> dict:
        """The schema of a response document (an output model of domain.schemas)."""
        return self.model(model, mode="serialization")

    def page(self, item) -> dict:
        """A list answer, its items described by ``item`` (an output model)."""
        name = f"{item.__name__}Page"
        self.schemas[name] = {
            "allOf": [
                {"$ref": "#/components/schemas/Page"},
                {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": self.response(item)}},
                },
            ]
        }
        return {"$ref": f"#/components/schemas/{name}"}

    def operation(self, template: str, fname: str, spec: dict) -> dict:
        """The operation of ``fname`` on a Falcon route ``template`` (``{id:int}``: an
        integer path parameter)."""
        path = _PARAM.sub(r"{\1}", template)
        op: dict = {
            "summary": spec["summary"],
            "tags": spec.get("tags", []),
            "operationId": re.sub(r"\W+", "_", f"{fname[3:]}{path}").strip("_"),
        }
        if "description" in spec:
            op["description"] = spec["description"]
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": (
                    {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                    if conv == "int"
                    else {"type": "string"}
                ),
            }
            for name, conv in _PARAM.findall(template)
        ]
        if spec.get("list"):
            params += [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": 50,
                    },
                },
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0},
                },
            ]
        params += spec.get("parameters", [])
        if params:
            op["parameters"] = params
        if "body" in spec:
            op["requestBody"] = {
                "required": True,
                "content": _json(self.model(spec["body"], spec.get("partial", False))),
            }
        elif spec.get("binary_body"):
            op["requestBody"] = {
                "required": True,
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}}
                    for t in ("image/png", "image/jpeg", "image/webp")
                },
            }
        base = fname.split("_")[0] + "_" + fname.split("_")[1]
        given = spec.get("responses", {})
        responses = {**_DEFAULT_RESPONSES[base], **given}
        if ("201" in given or "204" in given) and "200" not in given:
            del responses["200"]  # the operation answers 201 or 204, never 200
        op["responses"] = {}
        for code, description in responses.items():
            op["responses"][code] = {
                "description": description,
                **self._answer(op["operationId"], code, spec),
            }
        public = spec.get("security") == []
        for code in (
            *_COMMON_ERRORS,
            *(() if public else _AUTH_ERRORS),
            *(_BODY_ERRORS if "body" in spec or spec.get("binary_body") else ()),
        ):
            op["responses"].setdefault(code, _ERROR)
        op["responses"] = dict(sorted(op["responses"].items()))
        if "security" in spec:
            op["security"] = spec["security"]
        return op

    def _answer(self, operation: str, code: str, spec: dict) -> dict:
        """The content (and headers) of response ``code``."""
        if code == "204" or int(code) >= 300:
            return {}
        if spec.get("list"):
            body = {"content": _json(self.page(spec["item"]))}
        elif "content_type" in spec:
            body = {"content": {spec["content_type"]: {"schema": {"type": "string"}}}}
        elif "response_schema" in spec:
            body = {"content": _json(spec["response_schema"])}
        elif "response" in spec:
            body = {"content": _json(self.response(spec["response"]))}
        else:
            raise LookupError(f"{operation}: answer {code} has no schema (give 'response')")
        if "headers" in spec:
            body["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in spec["headers"].items()
            }
        return body


def build(routes: list[tuple]) -> dict:
    """The document for ``routes``: (Falcon path template, resource, suffix) tuples."""
    builder = _Builder()
    paths: dict = {}
    for template, resource, suffix in routes:
        path = _PARAM.sub(r"{\1}", template)
        described = getattr(resource, "openapi", {})
        for method in _METHODS:
            fname = f"on_{method}" + (f"_{suffix}" if suffix else "")
            if not hasattr(resource, fname):
                continue
            if fname not in described:
                raise LookupError(
                    f"{type(resource).__name__}.{fname} ({path}) has no OpenAPI description"
                )
            paths.setdefault(path, {})[method] = builder.operation(
                template, fname, described[fname]
            )
    _link_created_records(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HomeRack API",
            "version": __version__,
            "description": "Plan homelab racks: catalog, racks, devices and cables.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": builder.schemas,
            "responses": {
                "Error": {
                    "description": "an error (see title and description)",
                    "content": _json({"$ref": "#/components/schemas/Error"}),
                }
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearerAuth": []}],
    }


# Records that others refer to: the new record's id goes into this field of the
# referring record's creation (with these fixed fields: a new device starts unplaced).
_REFERENCES = {
    "/api/brands": ("/api/device-types", "brand_id", {}),
    "/api/device-types": ("/api/devices", "device_type_id", {"rack_id": None, "position_u": None}),
}


def _link_created_records(paths: dict) -> None:
    """Links from each ``POST /x`` that answers 201 to every operation on ``/x/{id}``
    and below, the id taken from the new record, and to the creation of the records
    that refer to it."""
    for path, ops in paths.items():
        created = ops.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links = {}
        if path in _REFERENCES:
            target, field, fixed = _REFERENCES[path]
            links[f"create_{target.rsplit('/', 1)[1].replace('-', '_')}"] = {
                "operationId": paths[target]["post"]["operationId"],
                "requestBody": {field: "$response.body#/id", **fixed},
            }
        for item_path, item_ops in paths.items():
            if not item_path.startswith(path + "/{id}"):
                continue
            for method, op in item_ops.items():
                name = re.sub(r"\W+", "_", f"{method}{item_path[len(path) :]}").strip("_")
                links[name] = {
                    "operationId": op["operationId"],
                    "parameters": {"id": "$response.body#/id"},
                }
        if links:
            created["links"] = links


class OpenApiResource:
    public = True
    openapi = {
        "on_get": {
            "summary": "This OpenAPI document",
            "tags": ["meta"],
            "security": [],
            "response_schema": {
                "type": "object",
                "required": ["openapi", "info", "paths"],
                "properties": {"openapi": {"type": "string"}},
            },
        }
    }

    def __init__(self):
        self.document: dict = {}

    async def on_get(self, req, resp) -> None:
        resp.media = self.document
