"""Certificates and keys for a throwaway control plane on loopback, made with the `openssl` command.

One CA signs the API server's serving certificate and an administrator's
client certificate (group `system:masters`); a separate RSA key signs service
account tokens. Everything lives in the cluster's temporary directory and dies
with it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "2"
API_SERVER_NAMES = ("DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default.svc", "IP:127.0.0.1", "IP:10.0.0.1")


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    admin_cert: Path
    admin_key: Path
    service_account_key: Path
    service_account_public: Path


def _openssl(*args: str | Path, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the `openssl` command is needed to make the cluster's certificates (Debian: openssl)")
    completed = subprocess.run([openssl, *(str(a) for a in args)], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(str(a) for a in args)}: {completed.stderr.strip()}")


def _signed(directory: Path, name: str, subject: str, extensions: str, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    key, request, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.crt"
    ext = directory / f"{name}.ext"
    ext.write_text(extensions)
    _openssl("genrsa", "-out", key, "2048", cwd=directory)
    _openssl("req", "-new", "-key", key, "-subj", subject, "-out", request, cwd=directory)
    _openssl(
        "x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
        "-days", DAYS, "-sha256", "-extfile", ext, "-out", cert, cwd=directory,
    )  # fmt: skip
    request.unlink()
    return cert, key


def make(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert,
        "-days", DAYS, "-subj", "/CN=mcp-adapters-test-ca", cwd=directory,
    )  # fmt: skip
    ca = (ca_cert, ca_key)
    server = _signed(
        directory,
        "apiserver",
        "/CN=kube-apiserver",
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        f"subjectAltName={','.join(API_SERVER_NAMES)}\n",
        ca,
    )
    admin = _signed(
        directory,
        "admin",
        "/O=system:masters/CN=mcp-adapters-admin",
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
        ca,
    )
    sa_key, sa_public = directory / "sa.key", directory / "sa.pub"
    _openssl("genrsa", "-out", sa_key, "2048", cwd=directory)
    _openssl("rsa", "-in", sa_key, "-pubout", "-out", sa_public, cwd=directory)
    for path in directory.iterdir():
        path.chmod(0o600)
    return Pki(ca_cert, ca_key, *server, *admin, sa_key, sa_public)
