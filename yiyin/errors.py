"""One error hierarchy for the whole product.

Every message is written for the clerk or operator who reads it: it names the field or the thing,
the rule that was broken, and, where it helps, what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass


class YiyinError(Exception):
    """Base of every error yiyin raises on purpose."""

    #: exit status the command line uses for this kind of error
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    """One offending field: where it is, which rule it broke, in words."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class InvalidData(YiyinError):
    """Input data broke one or more rules; every offending field is listed."""

    exit_code = 2

    def __init__(self, problems: list[FieldProblem], context: str = "data") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{context}: {len(problems)} field(s) invalid\n{lines}")


class MissingGlyph(InvalidData):
    """Text contains a character that no configured font can draw."""


class ConfigurationError(YiyinError):
    """The installation (data directory, fonts, keys, samples) is not usable as configured."""

    exit_code = 2


class AuthorityError(YiyinError):
    """The bureau may not issue this document for this item on this date."""


class SealingError(YiyinError):
    """The seal could not be applied; nothing was issued."""


class RegistryError(YiyinError):
    """The registry refused or could not complete an operation."""


class NotFound(RegistryError):
    """A record that was asked for does not exist."""


class UnreadableDocument(YiyinError):
    """A file given for verification is not a readable PDF."""

    exit_code = 2


class Unauthenticated(YiyinError):
    """No valid staff login or API token came with the request."""


class PermissionDenied(YiyinError):
    """The staff member's roles do not allow this act."""


class SeparationOfDuties(PermissionDenied):
    """The act would let one person hold two duties the bureau keeps apart (接件、审批、发证三分离)."""


class WorkflowError(YiyinError):
    """The act does not fit the case's current state (e.g. approving an item not yet accepted)."""
