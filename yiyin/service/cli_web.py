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
    host: Annotated[str, typer.Option(help="监听地址。\n\nAddress to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口。\n\nPort")] = 8000,
    workers: Annotated[int, typer.Option(help="工作进程数； 多于一个时， 须用 PostgreSQL。\n\n"
                                              "Worker processes (use PostgreSQL for more than one)")] = 1,
    forwarded_allow_ips: Annotated[str, typer.Option(
        help="受信任的反向代理： 采信其 X-Forwarded-For 中的客户端地址， 用于限流。\n\n"
             "Reverse proxies whose X-Forwarded-For is trusted for the client address (rate limiting)")] = "127.0.0.1",
    access_log: Annotated[bool, typer.Option(help="记录每个请求， 验证码已隐去。\n\n"
                                                  "Log every request (verification codes redacted)")] = True,
) -> None:
    """提供公开查验页（/v， 即二维码指向的网址）及其 API、 透明日志（瓦片、 检查点、 证明）、 状态列表， 以及 CA 的 CRL、 OCSP 和 TSA。

    Serve the public verification page (/v, the QR code's URL) and API, the transparency log
    (tiles, checkpoints, proofs), the status lists, and the CA's CRL, OCSP and TSA."""
    import uvicorn

    from yiyin.service.web import create_app
    from yiyin.service.web.lookup_protocol import protocol_for

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
                    forwarded_allow_ips=forwarded_allow_ips, log_level="info", access_log=access_log,
                    http=protocol_for())
    else:
        uvicorn.run(create_app(application), host=host, port=port, forwarded_allow_ips=forwarded_allow_ips,
                    log_level="info", access_log=access_log, http=protocol_for())


@app.command("public-answers")
def public_answers_command() -> None:
    """为答复缺失或过时的每份文书， 预先准备公开查验的答复（服务器也会在首次查验时逐份准备）： 用于恢复登记簿后、 更改 YIYIN_PUBLIC_URL 后， 或预计查验高峰前。

    Prepare the public lookup's answer for every document whose answer is missing or out of
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
