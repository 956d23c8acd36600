# opsproof: a read-only check, on the control node, of the lab CA and the certificates the
# nginx role (servers/) and the log_server role (logs/) issue with it.
from __future__ import annotations

DOCUMENTATION = """
    name: lab_certificates
    short_description: whether the lab CA and its certificates are as the roles make them
    description:
      - >-
        Returns C(ok) when the lab CA and every certificate named are as the roles' tls-lab-ca
        steps make them, else the first thing that is not (a short phrase naming the file or
        certificate). It never fails; anything unreadable is returned as C(unreadable <why>),
        which the roles read as "differs", so they make the files again.
      - >-
        The CA is checked for ca.key and ca.crt present, the directory and the certificates'
        folder 0700, the key 0600, the certificate 0644, and the key matching the certificate.
      - >-
        Each certificate (<folder>/<name>.key and <name>.crt) is checked for modes 0600 and 0644,
        validity now and beyond the renewal window, the CA's signature, its key, subject
        CN=<cn>, exactly the SANs named, and the extended key usage named.
      - >-
        One process with the controller's cryptography (community.crypto's own dependency);
        the shell versions it replaces started ~12 (nginx) and ~35 (log_server) openssl
        processes per host and run.
    options:
      ca_dir:
        description: the lab CA's directory (ca.key, ca.crt)
        type: path
        required: true
      folder:
        description: the folder under ca_dir that holds the certificates (servers, logs)
        type: str
        required: true
      renew_seconds:
        description: a certificate that expires within this many seconds is reported
        type: int
        required: true
      certificates:
        description: >-
          each certificate as a mapping with name (file stem), cn (subject common name, default the
          name), usage (serverAuth or clientAuth) and sans (DNS:<name> and IP:<address> items)
        type: list
        elements: dict
        required: true
"""

RETURN = """
  _raw:
    description: one string, C(ok) or the first difference found
    type: list
    elements: str
"""

import datetime
import ipaddress
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ansible.plugins.lookup import LookupBase
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

USAGES = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _public(key: Any) -> bytes:
    return key.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _private_public(path: Path) -> bytes:
    return _public(
        serialization.load_pem_private_key(path.read_bytes(), password=None).public_key()
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
    ca: x509.Certificate,
    folder: Path,
    spec: Mapping[str, Any],
    renew_s: int,
    now: datetime.datetime,
) -> str:
    """'' when the certificate named by spec is as the role makes it, else what differs."""
    name = str(spec["name"])
    key_path, crt_path = folder / f"{name}.key", folder / f"{name}.crt"
    if not (key_path.is_file() and crt_path.is_file()):
        return f"missing {crt_path}"
    if (_mode(key_path), _mode(crt_path)) != (0o600, 0o644):
        return f"modes of {name}"
    cert = x509.load_pem_x509_certificate(crt_path.read_bytes())
    if cert.not_valid_after_utc <= now + datetime.timedelta(seconds=renew_s):
        return f"{name} expires"
    if cert.not_valid_before_utc > now:
        return f"{name} not yet valid"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):  # issuer, key type or signature
        return f"{name} not signed by the CA"
    if _public(cert.public_key()) != _private_public(key_path):
        return f"{name} key"
    cn = str(spec.get("cn") or name)
    if cert.subject.rfc4514_string() != f"CN={cn}":
        return f"{name} subject {cert.subject.rfc4514_string()}"
    have = _sans(cert)
    if have != {str(s) for s in spec.get("sans") or []}:
        return f"{name} SANs {' '.join(sorted(have))}"
    usage = USAGES.get(str(spec.get("usage")))
    if usage is None or usage not in _usages(cert):
        return f"{name} usage"
    return ""


def check(
    ca_dir: Path,
    folder: str,
    renew_s: int,
    certificates: Sequence[Mapping[str, Any]],
    now: datetime.datetime | None = None,
) -> str:
    """'ok', or the first thing that differs from what the roles make."""
    ca_key, ca_crt, where = ca_dir / "ca.key", ca_dir / "ca.crt", ca_dir / folder
    if not (ca_key.is_file() and ca_crt.is_file()):
        return f"no lab CA in {ca_dir}"
    if not where.is_dir():
        return f"missing {where}"
    for path, mode in ((ca_dir, 0o700), (where, 0o700), (ca_key, 0o600), (ca_crt, 0o644)):
        if _mode(path) != mode:
            return f"mode of {path}"
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    if _public(ca.public_key()) != _private_public(ca_key):
        return "CA key"
    when = now or datetime.datetime.now(datetime.UTC)
    for spec in certificates:
        if problem := check_one(ca, where, spec, renew_s, when):
            return problem
    return "ok"


class LookupModule(LookupBase):
    def run(
        self, terms: list[Any], variables: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[str]:
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return [
                check(
                    Path(self.get_option("ca_dir")),
                    self.get_option("folder"),
                    int(self.get_option("renew_seconds")),
                    self.get_option("certificates"),
                )
            ]
        except Exception as exc:  # the role reads anything but "ok" as "differs"
            return [f"unreadable: {exc!r}"]
