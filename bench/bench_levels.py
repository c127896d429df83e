"""Sealed documents per second on one core, by PAdES level, next to pyHanko's default sign_pdf.

Same rendered one-page licence every time, same key (ECDSA P-256), warm process:
  naive     pyhanko.sign.signers.sign_pdf with default settings (B-B, dry-run size estimate)
  pyHanko   yiyin Sealer through pyHanko's PdfSigner (reserved size, seal picture as appearance), B-B
  B-B       yiyin Sealer, lean path: CMS from the per-key template, prepared seal XObject,
            lean incremental update
  B-T       + RFC 3161 signature timestamp from the built-in TSA (in process)
  B-LTA     + DSS with chain and CRL, + document timestamp (pyHanko)

Every sealed document of the lean path is checked once, before timing, with yiyin's validator.

    .venv/bin/python bench/bench_levels.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import copy
import io
import os
import tempfile
import time
from collections.abc import Callable
from datetime import date

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from yiyin.config import Settings
from yiyin.registry import catalog
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.samples import load_json, resolve_dates, samples_dir
from yiyin.signing.pades import PadesLevel, SealPlacement, SealRequest
from yiyin.signing.validate import validate_pdf
from yiyin.templates.catalog import document_type
from yiyin.templates.render import IssueMeta


def rate(label: str, fn: Callable[[], object], seconds: float) -> float:
    fn()  # warm
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    per_second = n / (time.perf_counter() - start)
    print(f"{label:8s} {per_second:7.1f} documents/s   {1000 / per_second:6.1f} ms each   ({n} in {seconds:.0f} s)")
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    seconds = parser.parse_args().seconds
    os.sched_setaffinity(0, {0})  # one core
    app = App.open(Settings.from_env({"YIYIN_HOME": tempfile.mkdtemp(prefix="yiyin-bench-")}))
    entry = load_json(samples_dir() / "applications" / "kaiban_yaodian.json")["documents"][1]
    data = resolve_dates(copy.deepcopy(entry["data"]), date.today())
    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, APPROVAL_SEAL, app.now())
    sealer = app.sealer(seal, "台安县行政审批局")
    rendered = app.renderer.render(document_type(entry["type"]), data, IssueMeta(
        organ="台安县行政审批局", date=date.today(), number="辽EA032100001", verification_code="ABCD-EFGH-JKMN-PQRS",
        verify_url="http://localhost:8000/v?n=x&c=y"))
    pdf, a = rendered.pdf, rendered.anchor
    placement = SealPlacement(a.page, a.x, a.y)
    r = sealer.diameter_pt / 2
    box = (int(a.x - r), int(a.y - r), int(a.x + r), int(a.y + r))
    revocation = app.revocation_material()

    def naive() -> bytes:
        out = io.BytesIO()
        signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)),
                         signers.PdfSignatureMetadata(field_name="Seal1", subfilter=fields.SigSeedSubFilter.PADES),
                         signer=sealer.key.signer, new_field_spec=fields.SigFieldSpec("Seal1", on_page=a.page, box=box),
                         output=out)
        return out.getvalue()

    def request(lv: PadesLevel) -> SealRequest:
        return SealRequest(reason="bench", location="辽宁省鞍山市台安县", signer_name="台安县行政审批局行政审批专用章",
                           level=lv, final=True)

    def level(lv: PadesLevel) -> Callable[[], bytes]:
        return lambda: sealer.extend(sealer.seal(pdf, placement, request(lv)), lv, revocation)

    def through_pyhanko() -> bytes:
        return sealer.seal_with_pyhanko(pdf, placement, request(PadesLevel.B_B))

    for lv in (PadesLevel.B_B, PadesLevel.B_T, PadesLevel.B_LTA):
        check = validate_pdf(level(lv)(), app.trust_roots(), app.current_crls())
        assert check.ok, [s.problems for s in check.signatures]

    print(f"one-page 药品经营许可证 ({len(pdf) // 1024} KiB unsealed), one core, warm")
    base = rate("naive", naive, seconds)
    got = rate("pyHanko", through_pyhanko, seconds)
    print(f"{'':8s} {got / base:5.2f}x the naive rate")
    for lv in (PadesLevel.B_B, PadesLevel.B_T, PadesLevel.B_LTA):
        got = rate(lv.value, level(lv), seconds)
        print(f"{'':8s} {got / base:5.2f}x the naive rate")
    app.close()


if __name__ == "__main__":
    main()
