"""Where a webhook may go: its URL resolved, and every address it resolves to checked against
the ranges a request from our server must never reach (SSRF) — loopback, private, link-local,
cloud metadata, unique-local, multicast, reserved — unless WEBHOOK_ALLOW_PRIVATE.

The checked address is the one connected to (delivery.webhook pins it): no second DNS lookup
can swap in another address between the check and the connection.
"""
import ipaddress
import socket
from typing import NamedTuple
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

MAX_URL_LENGTH = 255  # the outbox row's recipient column
# Named beside the ipaddress properties, so no interpreter's idea of "private" can let them through.
FORBIDDEN_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96", "2001:db8::/32"))


class UnsafeTarget(ValueError):
    """A webhook URL we will not call; the message says why, in Russian."""


class Target(NamedTuple):
    """A checked URL: where to connect (an address that passed the check) and what to ask for."""

    scheme: str
    host: str  # the name, for the Host header and TLS SNI
    port: int
    address: str  # the checked IP to connect to
    path: str


def forbidden(address):
    """True when an IP address is one a webhook must not reach."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global or any(ip in net for net in FORBIDDEN_NETWORKS))


def parse(url):
    """(scheme, host, port, path) of an http(s) URL; UnsafeTarget for anything else."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(_l("Адрес длиннее %(n)s символов.", n=MAX_URL_LENGTH))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(_l("Это не адрес: укажите его полностью, например https://shop.example/ckbiz.")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget(_l("Адрес должен начинаться с https:// (или http://) и называть сервер."))
    if parts.username or parts.password:
        raise UnsafeTarget(_l("Адрес не должен содержать имя и пароль."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url, allow_private):
    """The URL checked after DNS resolution: every address the name has must be allowed (a name
    with one public and one private address is refused), and the first is the one to connect to."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(_l("Сервер %(host)s не найден.", host=host)) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeTarget(_l("Сервер %(host)s не найден.", host=host))
    if not allow_private and any(forbidden(address) for address in addresses):
        raise UnsafeTarget(_l("Адрес %(host)s ведет во внутреннюю сеть (локальный, частный или служебный адрес): "
                              "webhook туда не отправляется.", host=host))
    return Target(scheme, host, port, addresses[0], path)
