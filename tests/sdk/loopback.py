"""Name resolution for the SDK scripts: tenant domains in tests are `{slug}.localhost:PORT`, and
this machine's resolver does not map `*.localhost` to loopback (RFC 6761 says it should).
Importing this module wraps socket.getaddrinfo so any `*.localhost` name resolves to 127.0.0.1;
the HTTP Host header still carries the tenant domain, which is how Gatehouse finds the tenant.
Nothing else is touched."""

import socket

_real_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo
