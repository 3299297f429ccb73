"""Issuing invoices: what an invoice copies from its service, and the issue itself."""
from . import money

PAYEE_FIELDS = ("name", "inn", "kpp", "account", "bik", "bank_name", "corr_account", "recipient")


def snapshot(service):
    """What an invoice keeps of its service, so later edits never change a sent invoice."""
    org = service.organisation
    return {
        "payee": {name: getattr(org, name) for name in PAYEE_FIELDS},
        "service": {"title": service.title, "category": service.category,
                    "display_name": service.display_name},
        "commission": {"bp": service.commission_bp, "min_kop": service.commission_min_kop,
                       "max_kop": service.commission_max_kop},
    }


def estimate_commission(service, amount_kop):
    """The commission the payer will be charged on top of the amount, in kopecks."""
    return money.commission(amount_kop, service.commission_bp, service.commission_min_kop,
                            service.commission_max_kop)
