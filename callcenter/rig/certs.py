"""A local certificate authority for the demo and the tests: a CA, and server/client certificates it signs.

A site supplies its own certificate and key (TransportSettings.cert_file/key_file); for the embedded demo
and for tests, `local_ca()` makes one with the `openssl` command line (Debian's openssl package, present on
every host) instead of hand-written ASN.1. Keys are written with mode 0600. Certificates carry the server's
IP addresses as subjectAltName, which is what SIP phones (baresip, Linphone) and browsers check.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from callcenter.rig.build import RigError


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RigError(f"openssl {args[0]} failed: {result.stderr[-800:]}")


def _private(path: Path) -> None:
    os.chmod(path, 0o600)


def local_ca(folder: Path, name: str = "12319 热线本地 CA", days: int = 825) -> Issued:
    """A self-signed CA under `folder` (ca.crt, ca.key), reused when it already exists."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "ca.crt", folder / "ca.key"
    if cert.is_file() and key.is_file():
        return Issued(cert, key)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", str(days), "-subj", f"/CN={name}", "-utf8",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", str(key), "-out", str(cert))
    _private(key)
    return Issued(cert, key)


def issue(ca: Issued, folder: Path, stem: str, addresses: list[str], *, names: list[str] | None = None,
          client: bool = False, days: int = 397) -> Issued:
    """A certificate for `addresses` (IP SANs) and `names` (DNS SANs) signed by `ca`: stem.crt, stem.key."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key, csr = folder / f"{stem}.crt", folder / f"{stem}.key", folder / f"{stem}.csr"
    sans = [f"IP:{a}" for a in addresses] + [f"DNS:{n}" for n in names or []]
    if not sans:
        raise RigError("a certificate needs at least one address or name")
    usage = "clientAuth" if client else "serverAuth"
    ext = folder / f"{stem}.ext"
    ext.write_text(f"subjectAltName={','.join(sans)}\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature,keyEncipherment\n", encoding="utf-8")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", f"/CN={(names or addresses)[0]}", "-keyout", str(key), "-out", str(csr))
    _private(key)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key), "-CAcreateserial",
             "-days", str(days), "-extfile", str(ext), "-out", str(cert))
    csr.unlink()
    ext.unlink()
    return Issued(cert, key)
