"""Domain errors. The API maps them to HTTP statuses (422, 409, 404)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a request is invalid: the field it concerns and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class DomainError(Exception):
    """Base class of the errors that callers are expected to show to users."""


class ValidationFailed(DomainError):
    """The request is well-formed but breaks a rule (HTTP 422); nothing was written."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, field: str, reason: str) -> ValidationFailed:
        return cls(Problem(field, reason))


class Conflict(DomainError):
    """The request clashes with the stored state (HTTP 409): a duplicate, a record in use."""


class NotFound(DomainError):
    """The addressed record does not exist (HTTP 404)."""

    def __init__(self, kind: str, ident: object):
        super().__init__(f"{kind} {ident} does not exist")
