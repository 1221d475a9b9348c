"""Which URLs the Lambda workers can read: a loopback or private-network address is this
machine's or this network's, and a function running in AWS cannot open it.

Where the workers run is read from the Lambda endpoint the coordinator talks to, not from a
flag: AWS's own endpoint means AWS's network; an endpoint on this machine (a local stand-in of
the Invoke API, as the tests run) means workers on this machine, which do reach its loopback;
an endpoint on a private network (a LocalStack box on the LAN) means workers there, which reach
that network but not this machine's loopback. A switch the stand-in sets would be a second
source of truth that could disagree with where the invocations actually go.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import urlsplit

from sprocket_cli.errors import JobFailedError


class Scope(IntEnum):
    """How far an address is seen from; workers see their own scope and every wider one."""

    LOOPBACK = 0
    LINK_LOCAL = 1
    PRIVATE = 2
    PUBLIC = 3


#: What each scope is, for the message.
WHAT = {
    Scope.LOOPBACK: "a loopback address (this machine's own)",
    Scope.LINK_LOCAL: "a link-local address (this network segment's)",
    Scope.PRIVATE: "a private-network address",
    Scope.PUBLIC: "a public address",
}


class UnreachableInputError(JobFailedError):
    """A URL the workers would read is on a network they are not on."""

    exit_code = 4  # an input problem, as InputError: the job itself did nothing wrong


def address_scope(host: str) -> Scope | None:
    """The scope of a literal IP address or of ``localhost``; None for other names."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return Scope.LOOPBACK
    try:
        ip = ipaddress.ip_address(name.split("%")[0])  # an IPv6 zone id names a link
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:  # 0.0.0.0 and :: reach this machine
        return Scope.LOOPBACK
    if ip.is_link_local:
        return Scope.LINK_LOCAL
    if ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10"):  # RFC 6598 carrier NAT too
        return Scope.PRIVATE
    return Scope.PUBLIC


def host_scope(host: str) -> Scope:
    """The scope of ``host``: a literal address as it is, a name as what it resolves to here
    (the narrowest of its addresses: a name that resolves to one private address is not
    reachable from AWS). A name that does not resolve here is left to the workers (public)."""
    known = address_scope(host)
    if known is not None:
        return known
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return Scope.PUBLIC
    scopes = [address_scope(str(info[4][0])) for info in infos]
    return min((s for s in scopes if s is not None), default=Scope.PUBLIC)


def endpoint_scope(endpoint_url: str | None) -> Scope:
    """Where workers invoked through ``endpoint_url`` run: AWS's endpoints are public."""
    host = urlsplit(endpoint_url or "").hostname or ""
    if not host or host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws")):
        return Scope.PUBLIC  # no DNS lookup for AWS's own names
    return host_scope(host)


def workers_reach(endpoint_url: str | None) -> Reach:
    """What workers invoked through ``endpoint_url`` can read, and how a refusal says where
    they run."""
    scope = endpoint_scope(endpoint_url)
    host = urlsplit(endpoint_url or "").hostname
    return Reach(scope, "from AWS" if scope == Scope.PUBLIC else f"from {host}'s network, where they run")


@dataclass
class Reach:
    """Checks the URLs handed to workers that run in ``workers`` scope (each host once)."""

    workers: Scope
    where: str = "from AWS"
    """How the message says where the workers run."""

    def __post_init__(self) -> None:
        self._seen: dict[str, Scope] = {}

    def check(self, url: str) -> None:
        """:class:`UnreachableInputError` naming the host and why, if the workers cannot read ``url``."""
        if self.workers == Scope.LOOPBACK or "://" not in url:
            return  # workers on this machine see what it sees; a path is not a network read
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            return
        scope = self._seen.get(host)
        if scope is None:
            scope = self._seen[host] = host_scope(host)
        # Workers on a private network reach it (and wider), never this machine's loopback.
        if scope >= self.workers and scope != Scope.LOOPBACK:
            return
        shown = f"{parts.scheme}://{parts.netloc}{parts.path}"  # never a presigned query
        raise UnreachableInputError(
            f"{shown}: the Lambda workers cannot reach {host}, {WHAT[scope]}, {self.where}; "
            "give the file's path (it is uploaded for them), an s3:// object or a public URL"
        )
