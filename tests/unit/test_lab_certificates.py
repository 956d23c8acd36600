"""The lab certificates check on the control node (plugins/lookup/lab_certificates.py, used by the
nginx and log_server roles): "ok" only for a CA and certificates as their tls steps make them."""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
from pathlib import Path
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/lookup/lab_certificates.py"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lab_certificates", PLUGIN)
    assert spec
    assert spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, data: bytes, mode: int) -> None:
    path.write_bytes(data)
    path.chmod(mode)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class Lab:
    """A lab CA directory as the nginx and log_server roles make it."""

    def __init__(self, root: Path) -> None:
        self.dir = root
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(_name("lab CA"))
            .issuer_name(_name("lab CA"))
            .public_key(self.ca_key.public_key())
            .serial_number(1)
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        _write(root / "ca.key", _pem_key(self.ca_key), 0o600)
        _write(root / "ca.crt", self.ca.public_bytes(serialization.Encoding.PEM), 0o644)
        (root / "logs").mkdir(mode=0o700)

    def issue(
        self,
        name: str,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName],
        days: int = 365,
        signer: ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + days * DAY)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(signer or self.ca_key, hashes.SHA256())
        )
        _write(self.dir / "logs" / f"{name}.key", _pem_key(key), 0o600)
        _write(
            self.dir / "logs" / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM), 0o644
        )


STORE = {"name": "logs", "usage": "serverAuth", "sans": ["DNS:logs", "IP:10.0.0.5"]}
CLIENT = {"name": "web01", "usage": "clientAuth", "sans": ["DNS:web01"]}
RENEW = 30 * 86400


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab(tmp_path)
    lab.issue(
        "logs",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("logs"), x509.IPAddress(ipaddress.ip_address("10.0.0.5"))],
    )
    lab.issue("web01", ExtendedKeyUsageOID.CLIENT_AUTH, [x509.DNSName("web01")])
    return lab


def test_certificates_as_made_are_ok(lab: Lab) -> None:
    assert _module().check(lab.dir, "logs", RENEW, [STORE, CLIENT], NOW) == "ok"


@pytest.mark.parametrize(
    ("specs", "problem"),
    [
        ([STORE, {**CLIENT, "name": "app01", "sans": ["DNS:app01"]}], "missing"),
        ([{**STORE, "sans": ["DNS:logs"]}], "logs SANs"),
        ([{**CLIENT, "usage": "serverAuth"}], "web01 usage"),
        ([{**CLIENT, "cn": "www.example"}], "web01 subject CN=web01"),
    ],
)
def test_what_the_run_wants_differs(lab: Lab, specs: list[dict[str, object]], problem: str) -> None:
    assert _module().check(lab.dir, "logs", RENEW, specs, NOW).startswith(problem)


def test_expiring_wrong_mode_foreign_signer_and_no_ca(lab: Lab, tmp_path: Path) -> None:
    mod = _module()
    lab.issue("web01", ExtendedKeyUsageOID.CLIENT_AUTH, [x509.DNSName("web01")], days=10)
    assert mod.check(lab.dir, "logs", RENEW, [CLIENT], NOW) == "web01 expires"
    lab.issue(
        "web01",
        ExtendedKeyUsageOID.CLIENT_AUTH,
        [x509.DNSName("web01")],
        signer=ec.generate_private_key(ec.SECP256R1()),
    )
    assert mod.check(lab.dir, "logs", RENEW, [CLIENT], NOW) == "web01 not signed by the CA"
    (lab.dir / "logs" / "logs.key").chmod(0o644)
    assert mod.check(lab.dir, "logs", RENEW, [STORE], NOW) == "modes of logs"
    assert mod.check(tmp_path / "nowhere", "logs", RENEW, [STORE], NOW).startswith("no lab CA")


def test_not_yet_valid_ca_modes_and_a_foreign_ca_key(lab: Lab) -> None:
    mod = _module()
    early = NOW - 2 * DAY  # the certificates start at NOW - 1 day
    assert mod.check(lab.dir, "logs", RENEW, [CLIENT], early) == "web01 not yet valid"
    lab.dir.chmod(0o755)
    assert mod.check(lab.dir, "logs", RENEW, [CLIENT], NOW) == f"mode of {lab.dir}"
    lab.dir.chmod(0o700)
    _write(lab.dir / "ca.key", _pem_key(ec.generate_private_key(ec.SECP256R1())), 0o600)
    assert mod.check(lab.dir, "logs", RENEW, [CLIENT], NOW) == "CA key"
    assert mod.check(lab.dir, "servers", RENEW, [CLIENT], NOW).startswith("missing")


def test_the_lookup_answers_one_line_and_never_fails(lab: Lab) -> None:
    # Loaded as Ansible loads it (its options come from its DOCUMENTATION).
    from ansible.plugins.loader import lookup_loader

    lookup_loader.add_directory(str(PLUGIN.parent))
    lookup = lookup_loader.get("lab_certificates")
    got = lookup.run(
        [], {}, ca_dir=str(lab.dir), folder="logs", renew_seconds=RENEW, certificates=[CLIENT]
    )
    assert got == ["ok"]
    bad = lookup.run(
        [], {}, ca_dir=str(lab.dir), folder="logs", renew_seconds=RENEW, certificates=[{}]
    )
    assert len(bad) == 1
    assert bad[0].startswith("unreadable:")
