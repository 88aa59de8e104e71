"""Rack layout routes: the placement optimizer, the cable BOM (JSON and CSV) and the SVG
elevation."""

from __future__ import annotations

import re
import time
from typing import Any

import falcon

from ..domain import bom, optimizer
from ..domain.choices import OBJECTIVE_TERMS
from ..domain.elevation import render_svg
from ..domain.errors import Problem, ValidationFailed
from ..domain.schemas import MAX_ID, BomReport, OptimizeIn, Proposal, parse
from ..metrics import OPTIMIZER_RUNS, OPTIMIZER_SECONDS
from ..storage import layout
from .common import RACKS_WRITE, json_body
from .roles import check_role, require_role

# Opened straight in a browser, the SVG may not run anything (names are escaped anyway).
_SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
# <device id>:<unit 1-60>, comma-separated, spaces and empty items allowed: ASCII
# digits only (isdigit() also takes "²", which int() refuses) and few of them.
_ITEM = r"[1-9][0-9]{0,9}:(?:[1-9]|[1-5][0-9]|60)"
POSITIONS_PATTERN = f"^ *(?:{_ITEM} *)?(?:, *(?:{_ITEM} *)?)*$"
_POSITIONS = re.compile(POSITIONS_PATTERN)


def _score(s: optimizer.Score | None) -> dict | None:
    if s is None:
        return None
    return {
        "score": round(s.score, 6),
        "cost": round(s.cost, 6),
        "terms": {t: round(getattr(s, t), 6) for t in OBJECTIVE_TERMS},
    }


def proposal(plan: layout.Plan, result: optimizer.Result, weights: optimizer.Weights) -> dict:
    """The response document of an optimizer run (placements listed top first)."""
    placements: list[dict[str, Any]] = []
    names = {d.id: d.name for d in plan.devices}
    for d in plan.devices:
        new = result.positions[d.stored_id]
        placements.append(
            {
                "device_id": d.id,
                "name": d.name,
                "model": d.model,
                "position_u": new,
                "top_u": new + d.u_height - 1,
                "previous_u": d.position_u,
                "moved": new != d.position_u,
                "added": d.id in plan.added_ids,
                "locked": d.locked,
            }
        )
    placements.sort(key=lambda p: -p["position_u"])
    return {
        "rack_id": plan.rack_id,
        "placements": placements,
        "score": {"proposed": _score(result.score), "current": _score(result.current)},
        "weights": weights.as_dict(),
        "proof": {
            "optimal": result.proof.optimal,
            "lower_bound": (
                None if result.proof.lower_bound is None else round(result.proof.lower_bound, 6)
            ),
            "method": result.method,
        },
        "elapsed_ms": round(result.elapsed_ms, 1),
        "explanations": [
            {"device_id": i, "name": names[i], "text": text}
            for i, text in sorted(
                result.explanations.items(), key=lambda kv: -result.positions[kv[0]]
            )
        ],
    }


def _positions_param(req) -> dict[int, int]:
    """``?positions=12:5,13:7`` (device id: lowest unit) for drawing a proposal."""
    raw = req.get_param("positions") or ""
    if not _POSITIONS.fullmatch(raw):
        raise falcon.HTTPInvalidParam(
            "use <device id>:<unit>, comma-separated (a device id and a unit from 1 to 60)",
            "positions",
        )
    out: dict[int, int] = {}
    for item in filter(None, (i.strip(" ") for i in raw.split(","))):
        ident, unit = map(int, item.split(":"))
        if ident > MAX_ID:  # no such device, like any id not in the rack
            raise ValidationFailed.one("positions", f"device {ident} is not in this rack")
        out[ident] = unit
    return out


class LayoutResource:
    openapi = {
        "on_post_optimize": {
            "summary": "Propose (or apply) the best placement of the rack's devices",
            "tags": ["layout"],
            "body": OptimizeIn,
            "response": Proposal,
            "responses": {
                "200": "placements, scores, proof and explanations",
                "409": "apply refused: the layout changed meanwhile",
                "429": "you already have HOMERACK_OPTIMIZER_PER_USER runs going (see Retry-After)",
                "503": "the optimizer is busy with other runs, or its process "
                "was stopped (see Retry-After)",
                "422": "invalid request, no layout satisfies the rules (every "
                "reason listed), or the run needs more memory than "
                "HOMERACK_OPTIMIZER_MEMORY_MB",
            },
        },
        "on_get_bom": {
            "summary": "Cable bill of materials of the rack",
            "tags": ["layout"],
            "description": "Viewers may read it.",
            "response": BomReport,
        },
        "on_get_bom_csv": {
            "summary": "Cable bill of materials of the rack as a CSV download",
            "tags": ["layout"],
            "content_type": "text/csv",
            "description": (
                "The lines of the JSON bill of materials, then a subtotal row per cable "
                "type and stock length and a total row; columns: "
                + ", ".join(bom.CSV_COLUMNS)
                + ". UTF-8, CRLF line ends, every cell "
                "quoted; text starting with = + - @, a tab or a carriage return gets a "
                "leading apostrophe so spreadsheets never run it as a formula. Viewers "
                "may read it."
            ),
            "responses": {"200": "the CSV file (text/csv; charset=utf-8)"},
            "headers": {"Content-Disposition": 'attachment; filename="<rack-name-slug>-bom.csv"'},
        },
        "on_get_elevation": {
            "summary": "Front elevation of the rack as SVG",
            "tags": ["layout"],
            "content_type": "image/svg+xml",
            "parameters": [
                {
                    "name": "positions",
                    "in": "query",
                    "required": False,
                    "description": "draw these positions instead of the stored "
                    "ones: <device id>:<unit>, comma-separated",
                    "schema": {"type": "string", "pattern": POSITIONS_PATTERN},
                }
            ],
        },
    }

    def __init__(self, run, cache, optimizer_pool):
        self.run = run
        self.cache = cache
        self.optimizer = optimizer_pool  # the worker's optimizer processes

    # A proposal only reads: viewers may ask for one. Saving it (``apply``, in the body)
    # needs the editor role.
    @require_role("viewer")
    async def on_post_optimize(self, req, resp, id: int) -> None:
        body = parse(OptimizeIn, await json_body(req))
        if body.apply:
            check_role(
                req.context.user, "editor", "applying a layout (send apply: false for a proposal)"
            )
        plan = await self.run(layout.load_plan, id, body.add_device_ids)
        weights = optimizer.Weights(**body.weights.model_dump())
        started = time.perf_counter()
        try:
            result = await self.optimizer.run(
                req.context.user["sub"],
                body.time_limit_ms,
                optimizer.optimize,
                plan.rack,
                plan.devices,
                plan.links,
                weights,
                body.time_limit_ms,
                body.seed,
            )
        except optimizer.Infeasible as exc:
            OPTIMIZER_RUNS.labels("infeasible").inc()
            raise ValidationFailed([Problem("", r) for r in exc.reasons]) from None
        OPTIMIZER_SECONDS.observe(time.perf_counter() - started)
        OPTIMIZER_RUNS.labels("optimal" if result.proof.optimal else "heuristic").inc()
        doc = proposal(plan, result, weights)
        doc["layout_version"] = plan.version
        doc["applied"] = False
        if body.apply:
            doc["layout_version"] = await self.run(
                layout.apply_plan, plan, result.positions, body.layout_version
            )
            await self.cache.invalidate(*RACKS_WRITE)
            doc["applied"] = True
        if body.include_svg:
            doc["elevation_svg"] = render_svg(plan.rack, plan.devices, result.positions)
        resp.media = doc

    async def on_get_bom(self, req, resp, id: int) -> None:
        resp.media = await self.run(layout.rack_bom, id)

    async def on_get_bom_csv(self, req, resp, id: int) -> None:
        filename, text = await self.run(layout.rack_bom_csv, id)
        resp.content_type = "text/csv; charset=utf-8"
        resp.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        resp.text = text

    async def on_get_elevation(self, req, resp, id: int) -> None:
        positions = _positions_param(req)
        rack, devices = await self.run(layout.rack_elevation, id, list(positions))
        resp.content_type = "image/svg+xml"
        resp.set_header("Content-Security-Policy", _SVG_CSP)
        resp.text = render_svg(rack, devices, positions or None)


def routes(rt) -> list[tuple]:
    resource = LayoutResource(rt.run, rt.cache, rt.optimizer)
    return [
        ("/api/racks/{id:int}/optimize", resource, "optimize"),
        ("/api/racks/{id:int}/bom", resource, "bom"),
        ("/api/racks/{id:int}/bom.csv", resource, "bom_csv"),
        ("/api/racks/{id:int}/elevation.svg", resource, "elevation"),
    ]
