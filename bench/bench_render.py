"""Rendering one one-page licence, warm in one process, next to a fresh renderer per document and
next to the route most bureaus use today: a Word template filled in and converted to PDF by
LibreOffice.

    .venv/bin/python bench/bench_render.py [--n 200] [--naive 10] [--office 10]

Warm: one Renderer (fonts loaded, the licence layout parsed once), timed per document: schema and
glyph check, content, QR code, Typst compile to PDF/A-3b and the seal-position query. Fresh: a new
Renderer per document (Typst loads the CJK fonts and parses the layout again). LibreOffice: the
same licence written as DOCX (python-docx, timed too) and converted by `soffice --headless
--convert-to pdf`, one process per document as a script around a template does, and a batch of
documents in one soffice call. LibreOffice is needed only here (apt-get install
libreoffice-writer-nogui); the row is left out when soffice is not installed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from yiyin.config import Settings
from yiyin.service.samples import resolve_dates, samples_dir
from yiyin.templates.catalog import document_type
from yiyin.templates.fonts import FontSet
from yiyin.templates.qr import qr_svg
from yiyin.templates.render import IssueMeta, Renderer

TYPE = "licence_printing"
URL = "http://localhost:8000/v?n=%EF%BC%88%E8%BE%BD%EF%BC%89%E5%8D%B0%E8%AF%81%E5%AD%972103210001%E5%8F%B7&c=7Q4K-M2XP-9D3F"


CPU: list[float] = []  # CPU seconds of this process per run of the last timed(): less moved by a loaded machine


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    CPU.clear()
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - t0)
        CPU.append(time.process_time() - c0)
    return out


def row(label: str, samples: list[float], means: str, cpu: bool = True) -> str:
    s = sorted(samples)
    p90 = s[max(0, int(len(s) * 0.9) - 1)]
    cpu_ms = f"{statistics.median(CPU) * 1000:.1f} ms" if cpu and CPU else "—"
    return f"| {label} | {statistics.median(s) * 1000:.1f} ms | {p90 * 1000:.1f} ms | {cpu_ms} | {len(s)} | {means} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--naive", type=int, default=10)
    parser.add_argument("--office", type=int, default=10)
    args = parser.parse_args()

    settings = Settings.from_env()
    fonts = FontSet.from_settings(settings.font_dirs, settings.body_fonts, settings.title_fonts)
    doc_type = document_type(TYPE)
    data = resolve_dates(json.loads((samples_dir() / "documents" / f"{TYPE}.json").read_text("utf-8")), date.today())
    meta = IssueMeta(organ="台安县行政审批局", date=date.today(), number="（辽）印证字2103210001号",
                     verification_code="7Q4K-M2XP-9D3F", verify_url=URL, public_url="http://localhost:8000")
    renderer = Renderer(fonts)
    model = renderer.validate(doc_type, data)
    first = renderer.render(doc_type, data, meta)  # warm-up: fonts, layout
    for _ in range(20):
        renderer.render(doc_type, data, meta)
    rows = [
        row("warm render, one Renderer (data as JSON: schema, glyph check, content, QR, Typst PDF/A-3b, seal position)",
            timed(lambda: renderer.render(doc_type, data, meta), args.n), "the hot path of batch issuance"),
        row("warm render, data already validated (the pipeline passes the model it checked before numbering)",
            timed(lambda: renderer.render(doc_type, model, meta), args.n), ""),
        row("QR code alone (zxing-cpp)", timed(lambda: qr_svg(URL), args.n), "replaces the pure-Python `qrcode` package (next row)"),
    ]
    try:  # the package yiyin used before, for comparison, when it is still installed
        import io

        import qrcode
        import qrcode.image.svg

        def pure_python_qr() -> None:
            code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=1,
                                 image_factory=qrcode.image.svg.SvgPathImage)
            code.add_data(URL)
            code.make(fit=True)
            code.make_image().save(io.BytesIO())

        rows.append(row("QR code alone (`qrcode`, pure Python, all eight masks)", timed(pure_python_qr, max(20, args.n // 4)), "before"))
    except ImportError:
        pass
    rows.append(row("naive: a fresh Renderer per document", timed(lambda: Renderer(FontSet(fonts.dirs, fonts.body, fonts.title))
                                                                   .render(doc_type, data, meta), args.naive),
                    "Typst loads the CJK fonts and parses the layout each time"))
    docx_times = timed(lambda: renderer.render_docx(doc_type, data, meta), args.n // 2)
    rows.append(row("DOCX of the same licence (python-docx, warm)", docx_times, "the drafting copy"))

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice and args.office:
        work = Path(tempfile.mkdtemp(prefix="yiyin-bench-office-"))
        profile = f"-env:UserInstallation=file://{work}/profile"
        docx_bytes = renderer.render_docx(doc_type, data, meta)
        convert = [soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(work / "out")]
        subprocess.run([*convert, _write(work, "warmup", docx_bytes)], check=True, capture_output=True)  # profile created

        def one_by_one() -> None:
            subprocess.run([*convert, _write(work, "one", renderer.render_docx(doc_type, data, meta))], check=True, capture_output=True)

        rows.append(row("today's route: DOCX filled in, then `soffice --convert-to pdf`, one process per document",
                        timed(one_by_one, args.office), "fill + convert; LibreOffice starts for every document", cpu=False))
        batch = [_write(work, f"b{i}", docx_bytes) for i in range(args.office)]
        t0 = time.perf_counter()
        subprocess.run([*convert, *batch], check=True, capture_output=True)
        per_doc = (time.perf_counter() - t0) / len(batch)
        rows.append(row(f"today's route, batch: {len(batch)} DOCX in one soffice call (per document)", [per_doc],
                        "conversion only, start-up shared", cpu=False))
        shutil.rmtree(work, ignore_errors=True)

    header = ["| path | median (wall) | p90 (wall) | median CPU of this process | runs | note |",
              "| --- | ---: | ---: | ---: | ---: | --- |"]
    print(f"One-page {doc_type.title} ({len(first.pdf) // 1024} KiB PDF/A-3b with QR code), {date.today().isoformat()}")
    print("\n".join(header + rows))


def _write(folder: Path, name: str, data: bytes) -> str:
    path = folder / f"{name}.docx"
    path.write_bytes(data)
    return str(path)


if __name__ == "__main__":
    main()
