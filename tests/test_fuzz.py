"""API fuzzing: schemathesis against the app on PostgreSQL, from its own OpenAPI document.

Every operation goes through what ``schemathesis run`` does to it: the schema's
examples, the coverage phase (boundaries: empty, longest, NUL, out of range, wrong
type, missing field) and random fuzzing, each with schema-valid (positive) and
schema-violating (negative) requests. Then sequences follow the document's OpenAPI
links (create -> read -> change -> delete, a brand -> its device types -> their
devices, a rack's sub-resources) so that they reach the item routes with ids that
exist. Generation is deterministic (a fixed seed, derandomized Hypothesis): the same
code gives the same cases. Any 5xx or contract violation fails the run; the figures
(cases per phase, item routes reached) are printed by ``test_the_fuzzer_ran_enough_cases``
(``pytest -s`` shows them). ``HOMERACK_FUZZ_EXAMPLES`` scales the random part (default
25 per operation; sequences: 5 times as many, of up to 12 steps).

All of schemathesis's checks run, with these adjustments:

* ``positive_data_acceptance`` also accepts 422: a schema-valid request can still break
  rules no JSON Schema can state (a reference to a record that does not exist, a name
  already taken, a device that does not fit its rack or budget, the last admin). A 400
  or 415 for a schema-valid request remains a failure.
* Extra query parameters are not generated (``allow-extra-parameters = false``): the API
  ignores query parameters it does not know, as HTTP APIs commonly do, and the document
  cannot forbid them (OpenAPI has no additionalProperties for the query).
* Sequences send schema-valid requests only (the per-operation run sends the invalid
  ones), so that they build up records to follow, and follow the document's links only
  (schemathesis's inferred links would dilute them). Each starts from an empty
  database, so that Hypothesis, which replays sequences, gets the same answers.

The fuzzer acts as an admin whose id (FUZZ_ADMIN_ID) no generated request reaches in
practice, so it cannot revoke its own token (a password change would, by design).
Redis is left out (no cache, no rate limits): what is fuzzed is the API, whatever
caches its reads. The per-operation tests are built with the builder schemathesis's
own ``parametrize`` uses (its ``from_fixture`` loader does not run on pytest 9).
"""

from __future__ import annotations

import os
from collections import Counter

import psycopg2
import pytest
import schemathesis
from helpers import JWT_SECRET, TABLES
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from scratch_db import scratch_database

from homerack import security
from homerack.api.app import create_app
from homerack.config import Config
from homerack.storage.database import upgrade

FUZZ_ADMIN_ID = 1_234_567_891
TOKEN = security.issue_token(JWT_SECRET, FUZZ_ADMIN_ID, "fuzzer", "admin", 3600)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = int(os.environ.get("HOMERACK_FUZZ_EXAMPLES", "25"))
MIN_CASES = 1000
CONFIG = {
    "seed": 20261130,
    "generation": {
        "allow-extra-parameters": False,
        "deterministic": True,
        "max-examples": EXAMPLES,
    },
    # Sequences: valid requests, along the document's own links (see above).
    "phases": {"stateful": {"generation": {"mode": "positive"}, "inference": {"algorithms": []}}},
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
        }
    },
}
TALLY: Counter = Counter()  # cases sent, per phase
FOUND: Counter = Counter()  # failing operations (or sequences), per phase
REACHED: set[str] = set()  # item operations the linked sequences answered with 2xx


def _reset(url: str) -> None:
    """An empty inventory and the fuzzer's admin alone."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
            cur.execute(
                "INSERT INTO app_user (id, username, password_hash, role) "
                "VALUES (%s, 'fuzzer', '!', 'admin')",
                (FUZZ_ADMIN_ID,),
            )
    finally:
        conn.close()


@pytest.fixture(scope="module")
def fuzz_db(postgres_admin_dsn):
    with scratch_database(postgres_admin_dsn, "homerack_fuzz") as url:
        upgrade(url)
        _reset(url)
        yield url


@pytest.fixture(scope="module")
def api_schema(fuzz_db, tmp_path_factory):
    # token_check_seconds=0: each request reads the token's user, so a sequence that
    # changed the fuzzer's own account (links lead there from /api/auth/me) does not
    # leave a stale token state to the next one, which starts from a reset database.
    config = Config(
        database_url=fuzz_db,
        jwt_secret=JWT_SECRET,
        db_pool_size=4,
        token_check_seconds=0,
        upload_dir=tmp_path_factory.mktemp("fuzz") / "uploads",
    )
    return schemathesis.openapi.from_asgi(
        "/api/openapi.json", create_app(config), config=SchemathesisConfig.from_dict(CONFIG)
    )


def _settings(examples: int, **kw) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        **kw,
    )


def test_every_operation_holds_its_contract(api_schema):
    """What ``schemathesis run`` does per operation: the schema's examples, the coverage
    phase (boundaries: empty, longest, NUL, out of range, wrong type, missing field) and
    random fuzzing, each with valid and invalid data."""
    failures = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        def fuzz(case):
            TALLY[f"{case.meta.phase.name.value}/{case.meta.generation.mode.value}"] += 1
            case.call_and_validate(headers=AUTH)

        test = build_operation_test(
            config=api_schema.config,
            operation=operation,
            test_func=fuzz,
            given_kwargs={},
            feedback=FeedbackSources(),
        )
        try:
            test()
        # Every failing operation is reported, not just the first (schemathesis's
        # FailureGroup is a BaseExceptionGroup).
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = str(exc)
    FOUND["operations"] = len(failures)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_linked_sequences_hold_the_contract(api_schema, fuzz_db):
    machine = api_schema.as_state_machine()

    class Sequences(machine):
        def setup(self):
            # Each sequence starts from the same (empty) data, so replaying one gives the
            # same answers, which hypothesis relies on.
            _reset(fuzz_db)

        def before_call(self, case):
            TALLY["stateful"] += 1

        def after_call(self, response, case):
            super().after_call(response, case)
            if response.status_code < 300 and "{id}" in case.operation.path:
                REACHED.add(case.operation.label)  # an item route, with an id that exists

        def get_call_kwargs(self, case):
            return {"headers": AUTH}

        def validate_response(self, response, case, **kwargs):
            try:
                super().validate_response(response, case, **kwargs)
            except (Exception, BaseExceptionGroup) as exc:
                seen.append(f"{case.operation.label}: {exc}")
                raise

    seen: list[str] = []
    try:
        # No shrinking: the database keeps what earlier steps wrote, so a replayed
        # sequence meets other data (hypothesis calls that a flaky strategy).
        Sequences.run(
            settings=_settings(
                EXAMPLES * 5, stateful_step_count=12, phases=[Phase.explicit, Phase.generate]
            )
        )
    except (Exception, BaseExceptionGroup):
        FOUND["stateful"] += 1
        # The first failure, not hypothesis's complaint when it replays the sequence
        # against a database that has moved on.
        if seen:
            pytest.fail(seen[0], pytrace=False)
        raise


def test_the_fuzzer_ran_enough_cases():
    if "operations" not in FOUND or "stateful" not in TALLY:
        pytest.skip("run with the fuzzing tests above")
    total = sum(TALLY.values())
    print(
        f"\nfuzzer: {total} cases ({dict(TALLY)}), failing: {dict(FOUND) or 0}; "
        f"item routes reached by links: {len(REACHED)}: {', '.join(sorted(REACHED))}"
    )
    assert total >= MIN_CASES * EXAMPLES // 25
    # The links take sequences through a record's whole life (and a rack's sub-resources).
    assert {
        "GET /api/racks/{id}",
        "PATCH /api/racks/{id}",
        "DELETE /api/racks/{id}",
        "GET /api/racks/{id}/elevation.svg",
        "POST /api/racks/{id}/optimize",
        "GET /api/brands/{id}",
        "PATCH /api/brands/{id}",
        "PUT /api/brands/{id}/logo",
        "GET /api/users/{id}",
        "DELETE /api/users/{id}",
    } <= REACHED
