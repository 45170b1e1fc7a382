"""Export licensing: the authority (who needs a licence, decisions, licence
lifetimes) and the review office (stages, reviewers, rework)."""

from .authority import Authority, licence_columns
from .office import Application, ReviewOffice

__all__ = ["Application", "Authority", "ReviewOffice", "licence_columns"]
