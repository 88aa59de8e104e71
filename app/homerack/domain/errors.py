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


# A broken document can have millions of problems: answers list the first MAX_LISTED,
# and bounded checks (the import) stop after STOP_AFTER, so neither the work nor the
# answer grows with the input.
MAX_LISTED = 100
STOP_AFTER = 1000


class ValidationFailed(DomainError):
    """The request is well-formed but breaks a rule (HTTP 422); nothing was written.

    ``problems`` holds at most MAX_LISTED of them; ``total`` counts all that were found,
    and ``exact`` is False when checking stopped before the end of the input."""

    def __init__(
        self, problems: list[Problem] | Problem, total: int | None = None, exact: bool = True
    ):
        problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.problems = problems[:MAX_LISTED]
        self.total = max(total or 0, len(problems))
        self.exact = exact
        text = "; ".join(str(p) for p in self.problems)
        if self.total > len(self.problems):
            text += f"; and {self.total - len(self.problems)} more problems not listed"
        if not exact:
            text += f" (checking stopped after {self.total} problems)"
        super().__init__(text)

    @classmethod
    def one(cls, field: str, reason: str) -> ValidationFailed:
        return cls(Problem(field, reason))


class Problems:
    """Collects the problems of one request: keeps the first MAX_LISTED, counts all."""

    def __init__(self):
        self.listed: list[Problem] = []
        self.total = 0
        self.stopped = False  # set by a check that gave up early (see ``full``)

    def append(self, problem: Problem) -> None:
        self.total += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append(problem)

    def extend(self, problems) -> None:
        for problem in problems:
            self.append(problem)

    @property
    def full(self) -> bool:
        """Enough found that a bounded check should stop looking."""
        return self.total >= STOP_AFTER

    def __bool__(self) -> bool:
        return self.total > 0

    def failure(self) -> ValidationFailed:
        return ValidationFailed(self.listed, self.total, exact=not self.stopped)


class Conflict(DomainError):
    """The request clashes with the stored state (HTTP 409): a duplicate, a record in use."""


class NotFound(DomainError):
    """The addressed record does not exist (HTTP 404)."""

    def __init__(self, kind: str, ident: object):
        super().__init__(f"{kind} {ident} does not exist")
