"""The optional detached signature of SHA256SUMS with the operator's SSH key (ssh-keygen -Y).

`ssh-keygen -Y sign -n opsproof-evidence` writes SHA256SUMS.sig; an auditor checks it with an
allowed-signers file they trust (`ssh-keygen -Y verify`). The pack also carries an
`allowed_signers` line for the key it was signed with: a convenience to compare, never the
trust anchor.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from opsproof.errors import ConfigError, PreconditionError

NAMESPACE = "opsproof-evidence"
SIG = "SHA256SUMS.sig"


def _keygen() -> str:
    tool = shutil.which("ssh-keygen")
    if tool is None:
        raise PreconditionError("ssh-keygen not found", fix="apt-get install openssh-client")
    return tool


def public_key(key: Path) -> str:
    """The public key line of a private key file (key.pub beside it, or derived)."""
    pub = Path(f"{key}.pub")
    if pub.is_file():
        return pub.read_text(encoding="utf-8").strip()
    proc = subprocess.run(
        [_keygen(), "-y", "-f", str(key)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ConfigError(
            f"{key}: not a readable SSH private key: {proc.stderr.strip()}",
            fix="pass SIGN_KEY=<private key file without a passphrase>",
        )
    return proc.stdout.strip()


def fingerprint(key: Path) -> str:
    """SHA256:… fingerprint of the key, as `ssh-keygen -l` prints it."""
    proc = subprocess.run(
        [_keygen(), "-l", "-f", "/dev/stdin"],
        input=public_key(key) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ConfigError(f"{key}: no fingerprint: {proc.stderr.strip()}", fix="check the key")
    parts = proc.stdout.split()
    return f"{parts[1]} ({parts[-1].strip('()')})"


def allowed_signers_line(key: Path, principal: str) -> str:
    kind, blob = public_key(key).split()[:2]
    return f'{principal} namespaces="{NAMESPACE}" {kind} {blob}\n'


def sign(root: Path, key: Path) -> Path:
    sums = root / "SHA256SUMS"
    target = root / SIG
    target.unlink(missing_ok=True)
    proc = subprocess.run(
        [_keygen(), "-Y", "sign", "-q", "-f", str(key), "-n", NAMESPACE, str(sums)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ConfigError(
            f"signing with {key} failed: {proc.stderr.strip()}",
            fix="use a key without a passphrase, or an ssh-agent",
        )
    return target


def verify(root: Path, allowed_signers: Path) -> str | None:
    """None when SHA256SUMS.sig is a good signature by a key in allowed_signers; else why not."""
    sig = root / SIG
    if not sig.is_file():
        return f"{SIG} is missing"
    tool = _keygen()
    found = subprocess.run(
        [tool, "-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers)],
        capture_output=True,
        text=True,
        check=False,
    )
    principal = found.stdout.split("\n")[0].strip()
    if found.returncode != 0 or not principal:
        return f"{SIG} was not made by a key in {allowed_signers}"
    with (root / "SHA256SUMS").open("rb") as data:
        proc = subprocess.run(
            [
                tool,
                "-Y",
                "verify",
                "-f",
                str(allowed_signers),
                "-I",
                principal,
                "-n",
                NAMESPACE,
                "-s",
                str(sig),
            ],
            stdin=data,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        return f"{SIG} does not match SHA256SUMS: {proc.stderr.strip() or proc.stdout.strip()}"
    return None
