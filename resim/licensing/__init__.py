"""Export licensing: the authority (who needs a licence, decisions, licence
lifetimes), the licences in force and the review office (stages, reviewers,
rework)."""

from .authority import Authority, licence_columns
from .licences import GeneralLicence, LicenceBook
from .office import Application, ReviewOffice

__all__ = ["Application", "Authority", "GeneralLicence", "LicenceBook", "ReviewOffice", "licence_columns"]
