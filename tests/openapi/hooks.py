"""schemathesis hooks for fuzzing a secure-api service (schemathesis.toml).

A secure-api service counts failed credentials and requests per client address, as it must:
one client that sends a few dozen bad tokens is told to wait (429). A fuzzer sends thousands,
on purpose, from one address, and would soon be testing nothing but that throttle. So the
service under test trusts loopback as a proxy (SECURE_API_TRUSTED_PROXIES=127.0.0.1/32) and
each request names a client address of its own in X-Forwarded-For, from 198.18.0.0/15 (the
range set aside for benchmarking, RFC 2544): the fuzzer is a crowd of clients, each of which
reaches the operation's logic. The throttles themselves are tested in tests/suite/abuse.rs.
"""

import ipaddress
import itertools

import schemathesis

_CROWD = ipaddress.ip_network("198.18.0.0/15")
_next_client = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    client = _CROWD[next(_next_client) % _CROWD.num_addresses]
    case.headers = {**(case.headers or {}), "X-Forwarded-For": str(client)}
