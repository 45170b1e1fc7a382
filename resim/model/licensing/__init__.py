"""Export licensing: the authority (who needs a licence, decisions), the
licences in force (general licences per pair, shipment licences filed on
order), how each kind is filed and used, and the review office (stages,
reviewers, rework)."""

from .authority import Authority, licence_columns
from .licences import GeneralLicence, LicenceBook, OrderLicence
from .office import Application, ReviewOffice

__all__ = ["Application", "Authority", "GeneralLicence", "LicenceBook", "OrderLicence", "ReviewOffice",
           "licence_columns"]
