"""A private CA and a server certificate for 127.0.0.1/localhost, made with the openssl command."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key), written in `directory`."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    subject = ["-newkey", "rsa:2048", "-nodes", "-subj"]
    openssl("req", "-x509", *subject, "/CN=omniinfer test CA", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2")
    openssl("req", *subject, "/CN=localhost", "-keyout", "srv.key", "-out", "srv.csr")
    (directory / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "srv.pem", "-days", "2", "-extfile", "ext")  # fmt: skip
    return directory / "ca.pem", directory / "srv.pem", directory / "srv.key"
