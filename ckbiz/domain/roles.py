"""Who may do what in a merchant's cabinet: the roles of DESIGN.md and their permissions.

The one place the rules live: the web checks every view against `can`. An API key acts
as the owner's organisation: the owner alone makes and revokes keys.
"""
from flask_babel import lazy_gettext as _l

OWNER, ACCOUNTANT, VIEWER = "owner", "accountant", "viewer"
ROLES = {OWNER: _l("Владелец"), ACCOUNTANT: _l("Бухгалтер"), VIEWER: _l("Наблюдатель")}

# permission: (the roles that have it, what a refusal says)
PERMISSIONS = {
    "read": ((OWNER, ACCOUNTANT, VIEWER), _l("Просматривать счета может любой сотрудник.")),
    "dashboard": ((OWNER, ACCOUNTANT, VIEWER), _l("«Сводку» может смотреть любой сотрудник.")),
    "account": ((OWNER, ACCOUNTANT, VIEWER), _l("Свой пароль и сеансы доступны любому сотруднику.")),
    "issue": ((OWNER, ACCOUNTANT), _l("Выставлять счета могут владелец и бухгалтер.")),
    "act": ((OWNER, ACCOUNTANT), _l("Напоминать, отменять, отмечать оплату и повторять счета могут "
                                    "владелец и бухгалтер.")),
    "statements": ((OWNER, ACCOUNTANT), _l("Загружать выписки могут владелец и бухгалтер.")),
    "settings": ((OWNER,), _l("Настройки кабинета меняет только владелец.")),
    "team": ((OWNER,), _l("Сотрудников приглашает и удаляет только владелец.")),
    "webhooks": ((OWNER,), _l("Webhooks настраивает только владелец.")),
    "refund": ((OWNER,), _l("Вернуть платеж может только владелец.")),
    "api": ((OWNER,), _l("Ключи API создает и отзывает только владелец.")),
}


def can(role, permission):
    """True when the role has the permission."""
    return role in PERMISSIONS[permission][0]


def refusal(permission):
    """What a refused request is told, in Russian."""
    return str(PERMISSIONS[permission][1])

