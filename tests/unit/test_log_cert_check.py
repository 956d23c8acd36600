"""log_server's control-node certificate check: "ok" only for certificates as tls.yml makes them."""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SCRIPT = Path(__file__).resolve().parents[2] / "roles/log_server/files/log_cert_check.py"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("log_cert_check", SCRIPT)
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


STORE = "logs|serverAuth|DNS:logs,IP:10.0.0.5"
CLIENT = "web01|clientAuth|DNS:web01"
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
    assert _module().check(lab.dir, RENEW, [STORE, CLIENT], NOW) == "ok"


@pytest.mark.parametrize(
    ("specs", "problem"),
    [
        ([STORE, "app01|clientAuth|DNS:app01"], "missing"),
        (["logs|serverAuth|DNS:logs"], "logs SANs"),
        (["web01|serverAuth|DNS:web01"], "web01 usage"),
    ],
)
def test_what_the_run_wants_differs(lab: Lab, specs: list[str], problem: str) -> None:
    assert _module().check(lab.dir, RENEW, specs, NOW).startswith(problem)


def test_expiring_wrong_mode_foreign_signer_and_no_ca(lab: Lab, tmp_path: Path) -> None:
    mod = _module()
    lab.issue("web01", ExtendedKeyUsageOID.CLIENT_AUTH, [x509.DNSName("web01")], days=10)
    assert mod.check(lab.dir, RENEW, [CLIENT], NOW) == "web01 expires"
    lab.issue(
        "web01",
        ExtendedKeyUsageOID.CLIENT_AUTH,
        [x509.DNSName("web01")],
        signer=ec.generate_private_key(ec.SECP256R1()),
    )
    assert mod.check(lab.dir, RENEW, [CLIENT], NOW) == "web01 not signed by the CA"
    (lab.dir / "logs" / "logs.key").chmod(0o644)
    assert mod.check(lab.dir, RENEW, [STORE], NOW) == "modes of logs"
    assert mod.check(tmp_path / "nowhere", RENEW, [STORE], NOW).startswith("no lab CA")


def test_the_script_always_exits_0_and_prints_one_line(lab: Lab) -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(lab.dir), "not-a-number", STORE],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("unreadable:")
    assert out.stdout.count("\n") == 1
