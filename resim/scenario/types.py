"""Value types of scenario files: the units and ranges every table shares.

One place decides what a fraction, a whole number, an element symbol or a
reviewer count is, so every key of the same kind accepts the same spellings
and rejects the same mistakes (with the same message).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticUndefined

from .units import parse_date

ISODate = Annotated[date, BeforeValidator(parse_date)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
#: A share that cannot be nothing (a recovery rate, an element's share of a product).
Share = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
#: A period in days between duties (rounded to whole days when used).
Period = Annotated[float, Field(ge=1.0, allow_inf_nan=False)]

_SYMBOL = re.compile(r"^[A-Z][a-z]?$")


def _element_symbol(key: str) -> str:
    if not _SYMBOL.match(key):
        raise ValueError('element symbols look like "Nd" or "Dy"')
    return key


Element = Annotated[str, AfterValidator(_element_symbol)]
Jurisdiction = Annotated[str, Field(min_length=1, max_length=32)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _reviewers(value: Any) -> float:
    """Finite reviewer pools are integers >= 1; "inf" is an infinite-server stage."""
    if _means_infinite(value):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError('must be >= 1 or "inf"')
    if isinstance(value, float) and not value.is_integer():  # fractions, NaN, -inf
        raise ValueError('must be a whole number >= 1 or "inf"')
    if value < 1:
        raise ValueError('must be >= 1 or "inf"')
    return float(value)


def _means_infinite(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("inf", "infinite")
    return isinstance(value, float) and value == math.inf


Reviewers = Annotated[float, BeforeValidator(_reviewers)]


def _whole(value: Any) -> Any:
    """A whole float (``3.0``, from a ``--grid LO:HI:N``) is the integer it names;
    anything else goes on to the strict integer check (no ``true`` or ``"3"``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


Whole = Annotated[int, BeforeValidator(_whole)]


class Frozen(BaseModel):
    """Base for every scenario table: immutable, unknown keys are errors.

    Strict: TOML values are typed, so ``true`` or ``"10"`` where a number belongs
    is an error rather than a silent 1 or 10 (ints are still accepted as floats,
    and whole floats as ints: see ``Whole``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)



def param(default: Any = PydanticUndefined, *, doc: str | None = None, unit: str | None = None, **kw: Any) -> Any:
    """A pydantic ``Field`` that documents itself: ``doc`` is what the key
    means and ``unit`` what its numbers count (``"t concentrate / day"``).
    Both go into the JSON Schema (for editors) and into the reference tables
    of docs/scenario-format.md (``reference.py`` writes them from here)."""
    extra = {"unit": unit} if unit else None
    return Field(default, description=doc, json_schema_extra=extra, **kw)


def repeated(names: list[str]) -> str | None:
    """The first (alphabetically) of the names given more than once, if any."""
    dup = sorted({n for n in names if names.count(n) > 1})
    return dup[0] if dup else None
