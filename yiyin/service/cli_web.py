"""`yiyin serve`: the public verification page, its JSON API, the transparency log, the status
lists and the development CA's CRL, OCSP and TSA, with uvicorn."""

from __future__ import annotations

import logging
import re
from typing import Annotated

import typer

from yiyin.errors import YiyinError
from yiyin.service.cli import app
from yiyin.service.cli_common import fail, open_app

_CODE_PARAM = re.compile(r"([?&]c=)[^&\s]*")


class RedactCodes(logging.Filter):
    """Verification codes travel in the query string (/v?n=…&c=…): keep them out of access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            record.args = (*record.args[:2], _CODE_PARAM.sub(r"\1…", record.args[2]), *record.args[3:])
        return True


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes (use PostgreSQL for more than one)")] = 1,
    forwarded_allow_ips: Annotated[str, typer.Option(
        help="reverse proxies whose X-Forwarded-For is trusted for the client address (rate limiting)")] = "127.0.0.1",
    access_log: Annotated[bool, typer.Option(help="log every request (verification codes redacted)")] = True,
) -> None:
    """Serve the public verification page (/v, the QR code's URL) and API, the transparency log
    (tiles, checkpoints, proofs), the status lists, and the CA's CRL, OCSP and TSA."""
    import uvicorn

    from yiyin.service.web import create_app

    try:
        application = open_app()  # creates the data directory on first run, reports bad settings
    except YiyinError as exc:
        fail(exc)
    logging.getLogger("uvicorn.access").addFilter(RedactCodes())
    typer.echo(f"一印 公开查验页 public verification on http://{host}:{port}/v  "
               f"（二维码指向 QR codes point to {application.settings.public_url}/v）")
    if workers > 1:
        application.close()
        uvicorn.run("yiyin.service.web:create_app", factory=True, host=host, port=port, workers=workers,
                    forwarded_allow_ips=forwarded_allow_ips, log_level="info", access_log=access_log)
    else:
        uvicorn.run(create_app(application), host=host, port=port, forwarded_allow_ips=forwarded_allow_ips,
                    log_level="info", access_log=access_log)


@app.command("public-answers")
def public_answers_command() -> None:
    """Prepare the public lookup's answer for every document whose answer is missing or out of
    date (the server also prepares each as it is first looked up): after restoring a registry,
    after changing YIYIN_PUBLIC_URL, or before a crowd is expected."""
    from yiyin.registry.public_read import PublicReader
    from yiyin.service.web.answers import prepare_all
    from yiyin.service.web.readdb import read_engine

    try:
        application = open_app()
        url = application.settings.public_url
        done = prepare_all(application, PublicReader(read_engine(application)), url,
                           progress=lambda n: typer.echo(f"  {n:,} …") if n % 10_000 < 200 else None)
    except YiyinError as exc:
        fail(exc)
    typer.echo(f"已准备查验答复 {done:,} 份 answers prepared for {url}/v")
