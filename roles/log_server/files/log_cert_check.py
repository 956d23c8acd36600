"""Read-only check on the control node, run by the log_server role through a pipe lookup.

Prints "ok" when the lab CA and every log certificate under CA_DIR/logs are as tls.yml makes
them (files and modes, signed by the CA, matching their key, subject CN=NAME, the SANs, the
extended key usage, valid beyond the renewal window), else the first thing that is not.
Always exits 0. One process with the controller's `cryptography` (community.crypto's own
dependency): the shell version started ~35 openssl processes, ~2 s of a no-change run.

Arguments: CA_DIR RENEW_SECONDS NAME|serverAuth|clientAuth|SAN,SAN ...
"""

from __future__ import annotations

import datetime
import ipaddress
import stat
import sys
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

_USAGE = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _public(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _sans(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)} | {
        f"IP:{ipaddress.ip_address(a)}" for a in ext.get_values_for_type(x509.IPAddress)
    }


def _usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def check_one(
    ca: x509.Certificate, logs: Path, spec: str, renew_s: int, now: datetime.datetime
) -> str:
    """'' when the certificate named by spec (NAME|USAGE|SAN,SAN) is as tls.yml makes it."""
    name, usage, sans = ([*spec.split("|", 2), "", ""])[:3]
    key_path, crt_path = logs / f"{name}.key", logs / f"{name}.crt"
    if not (key_path.is_file() and crt_path.is_file()):
        return f"missing {crt_path}"
    if (_mode(key_path), _mode(crt_path)) != (0o600, 0o644):
        return f"modes of {name}"
    cert = x509.load_pem_x509_certificate(crt_path.read_bytes())
    if cert.not_valid_after_utc <= now + datetime.timedelta(seconds=renew_s):
        return f"{name} expires"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):  # issuer, key type or signature
        return f"{name} not signed by the CA"
    if not cert.not_valid_before_utc <= now:
        return f"{name} not signed by the CA"
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if _public(cert.public_key()) != _public(key.public_key()):
        return f"{name} key"
    if cert.subject.rfc4514_string() != f"CN={name}":
        return f"{name} subject"
    have = _sans(cert)
    if have != {s for s in sans.split(",") if s}:
        return f"{name} SANs {' '.join(sorted(have))}"
    if _USAGE.get(usage, ExtendedKeyUsageOID.CLIENT_AUTH) not in _usages(cert):
        return f"{name} usage"
    return ""


def check(
    ca_dir: Path, renew_s: int, specs: list[str], now: datetime.datetime | None = None
) -> str:
    """'ok', or the first thing that differs from what tls.yml makes."""
    if not ((ca_dir / "ca.key").is_file() and (ca_dir / "ca.crt").is_file()):
        return f"no lab CA in {ca_dir}"
    logs = ca_dir / "logs"
    if not logs.is_dir() or _mode(logs) != 0o700:
        return f"mode of {logs}"
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    when = now or datetime.datetime.now(datetime.UTC)
    for spec in specs:
        if problem := check_one(ca, logs, spec, renew_s, when):
            return problem
    return "ok"


def main(argv: list[str]) -> int:
    try:
        print(check(Path(argv[1]), int(argv[2]), argv[3:]))
    except Exception as exc:  # always exit 0: the role reads anything but "ok" as "differs"
        print(f"unreadable: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
