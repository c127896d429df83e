"""Time per issued document, warm in one process, next to the naive way.

Warm: one App (fonts loaded, one Typst compiler per type, seal key and appearance ready, CMS size
reserved from the chain). Naive: a fresh renderer per document and pyHanko's ``sign_pdf`` with
default settings (which builds the CMS twice to estimate its size).

    .venv/bin/python bench/bench_issue.py [--n 40]
"""

from __future__ import annotations

import argparse
import copy
import io
import resource
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from yiyin.config import Settings
from yiyin.registry import catalog
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import load_json, resolve_dates, samples_dir
from yiyin.signing.pades import SealPlacement, SealRequest
from yiyin.templates.catalog import document_type
from yiyin.templates.fonts import FontSet
from yiyin.templates.render import IssueMeta, Renderer


def ms(samples: list[float]) -> str:
    s = sorted(samples)
    return f"median {statistics.median(s) * 1000:7.1f} ms   p90 {s[int(len(s) * 0.9) - 1] * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    n = parser.parse_args().n
    home = Path(tempfile.mkdtemp(prefix="yiyin-bench-"))
    app = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    entry = load_json(samples_dir() / "applications" / "kaiban_yaodian.json")["documents"][1]
    data = resolve_dates(copy.deepcopy(entry["data"]), date.today())
    doc_type = document_type(entry["type"])
    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, APPROVAL_SEAL, app.now())
    sealer = app.sealer(seal, "台安县行政审批局")
    meta = IssueMeta(organ="台安县行政审批局", date=date.today(), number="辽EA032100001",
                     verification_code="ABCD-EFGH-JKMN-PQRS", verify_url="http://localhost:8000/v?n=x&c=y")
    request = SealRequest(reason="bench", location="辽宁省鞍山市台安县", signer_name="台安县行政审批局行政审批专用章")
    issuer = Issuer(app)
    issuer.issue(IssueRequest(entry["type"], data, entry["item"], "BENCH"))  # warm-up: compiler and key loaded

    render_w, seal_w, e2e_w = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        rendered = app.renderer.render(doc_type, data, meta)
        t1 = time.perf_counter()
        sealer.seal(rendered.pdf, SealPlacement(rendered.anchor.page, rendered.anchor.x, rendered.anchor.y), request)
        t2 = time.perf_counter()
        issuer.issue(IssueRequest(entry["type"], data, entry["item"], "BENCH"))
        t3 = time.perf_counter()
        render_w.append(t1 - t0)
        seal_w.append(t2 - t1)
        e2e_w.append(t3 - t2)

    render_n, seal_n = [], []
    fonts = FontSet.from_settings(app.settings.font_dirs, app.settings.body_fonts, app.settings.title_fonts)
    naive_n = max(5, n // 4)
    for _ in range(naive_n):
        t0 = time.perf_counter()
        rendered = Renderer(FontSet(fonts.dirs, fonts.body, fonts.title)).render(doc_type, data, meta)
        t1 = time.perf_counter()
        a = rendered.anchor
        r = sealer.diameter_pt / 2
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(rendered.pdf)),
            signers.PdfSignatureMetadata(field_name="Seal1", subfilter=fields.SigSeedSubFilter.PADES),
            signer=sealer.key.signer,
            new_field_spec=fields.SigFieldSpec("Seal1", on_page=a.page, box=(int(a.x - r), int(a.y - r), int(a.x + r), int(a.y + r))),
            output=io.BytesIO(),
        )
        t2 = time.perf_counter()
        render_n.append(t1 - t0)
        seal_n.append(t2 - t1)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"one-page 药品经营许可证, {n} warm / {naive_n} naive documents, 1 process")
    print(f"render  warm   {ms(render_w)}")
    print(f"render  naive  {ms(render_n)}   (fresh renderer: fonts and layout loaded again)")
    print(f"seal    warm   {ms(seal_w)}")
    print(f"seal    naive  {ms(seal_n)}   (pyHanko default: CMS built twice to size it)")
    print(f"issue   warm   {ms(e2e_w)}   (validate, number, render, seal, store, record, log)")
    print(f"peak RSS {rss:.0f} MiB")
    app.close()


if __name__ == "__main__":
    main()
