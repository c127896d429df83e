"""Building and checking one set of archives: the demo's 开办药店 case, its materials given
about 200 pages.

The matter: the case `yiyin demo` carries from intake to delivery through the real workflow
(17 application materials, 补正材料通知书, 受理通知书, the site inspection record, four
decisions, the licence, the 划转协议, the 送达回证: 26 documents), with each material replaced
by a scan of 11 or 12 pages (page images at 100 dpi, converted to PDF/A): about 200 pages. Timed,
each over --runs runs (median):

  gather    the dossier from the case (materials to PDF/A, inspection record, verification report
            per registry document, one checkpoint, proofs, the steps as process history)
  build     the package: volume (Typst front matter, pages, attachments), archive seal B-LTA, BagIt
  check     the four checks (seals, digests, metadata, rendering every page, ClamAV)
  offline   the four checks fifteen years on (--at), with only what the package carries
  naive     the volume the obvious other way: every page rasterised (pdftoppm, 150 dpi) and laid
            out again as PDF/A images, which Typst can embed where it cannot embed PDF pages

    .venv/bin/python bench/bench_archive.py [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import typst
from pypdf import PdfReader

from yiyin.archive.checks import _renders
from yiyin.archive.scan import virus_scan
from yiyin.signing.validate import validate_pdf
from yiyin.archive.dossier import DocumentKind
from yiyin.archive.materials import images_to_pdfa
from yiyin.archive.package import build_package
from yiyin.config import Settings
from yiyin.registry import catalog
from yiyin.service import archiving
from yiyin.service.app import App
from yiyin.service.case_dossier import CaseDossierSource
from yiyin.service.demo import run_demo



def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    work = Path(tempfile.mkdtemp(prefix="yiyin-bench-archive-"))
    app = App.open(Settings.from_env({"YIYIN_HOME": str(work / "home")}))
    demo = run_demo(app, work / "demo")
    case = str(demo.case_id)
    # page images of a real document stand in for scanned materials
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(demo.documents[0].path), str(work / "scan")], check=True)
    scans = sorted(work.glob("scan-*.png"))
    sizes = [12] * 7 + [11] * 10  # 17 materials, 194 pages
    materials = [images_to_pdfa([scans[i % len(scans)].read_bytes() for i in range(n)], f"申请材料{k + 1}", app.fonts)
                 for k, n in enumerate(sizes)]
    options = archiving.ArchiveOptions()
    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, archiving.ARCHIVE_SEAL, app.now())
    sealer = app.sealer(seal, "台安县行政审批局")

    gather_t, build_t, check_t, naive_t, offline_t = [], [], [], [], []
    render_t, clam_t, validate_t = [], [], []
    later = (datetime.now(timezone.utc) + timedelta(days=365 * 15 + 4)).date()
    for run in range(runs):
        t, base = timed(lambda: CaseDossierSource().dossier(app, case, options))
        gather_t.append(t)
        scanned = iter(materials)
        entries = tuple(replace(e, pdf=next(scanned)) if e.kind in (DocumentKind.material, DocumentKind.application_form) else e
                        for e in base.entries)
        dossier = replace(base, entries=entries)
        out = work / f"pkg-{run}"
        t, built = timed(lambda: build_package(dossier, out, fonts=app.fonts, sealer=sealer, revocation=app.revocation_material(),
                                               location="辽宁省鞍山市台安县", signer_name="台安县行政审批局档案专用章",
                                               created=datetime.now(timezone.utc)))
        build_t.append(t)
        t, report = timed(lambda: archiving.check(app, out))
        check_t.append(t)
        assert report.ok, report.render()
        t, report = timed(lambda: archiving.check_offline(out, later))
        offline_t.append(t)
        assert report.ok, report.render()
        volume = (out / "data" / "volume.pdf").read_bytes()
        render_t.append(timed(lambda: _renders(volume, len(PdfReader(io.BytesIO(volume)).pages)))[0])
        clam_t.append(timed(lambda: virus_scan(out))[0])
        anchors = app.trust_roots()
        validate_t.append(timed(lambda: [validate_pdf(p.read_bytes(), anchors, app.current_crls())
                                         for p in sorted((out / "data").rglob("*.pdf"))])[0])
        t, naive_size = timed(lambda: naive_volume(dossier, app, work / f"naive-{run}"))
        naive_t.append(t)
    volume_size = (work / "pkg-0" / "data" / "volume.pdf").stat().st_size
    print(f"matter: {built.documents} documents, {built.pages} pages, package {built.bytes / 1e6:.1f} MB in {built.files} files")
    print("| step | median s | min s | runs |\n| --- | ---: | ---: | ---: |")
    for label, values in (("gather dossier from the case", gather_t), ("build package (volume, seal B-LTA, BagIt)", build_t),
                          ("check (four checks, all items)", check_t), ("check offline 15 years on (--at)", offline_t),
                          ("  of which: render every volume page (pdftoppm, parallel page ranges)", render_t),
                          ("  of which: ClamAV over the package", clam_t),
                          (f"  of which: validate every seal (volume and {built.documents} documents)", validate_t), ("naive volume: rasterise every page, PDF/A of images", naive_t)):
        print(f"| {label} | {statistics.median(values):.2f} | {min(values):.2f} | {len(values)} |")
    print(f"volume: {volume_size / 1e6:.1f} MB (vector pages) vs naive {naive_size / 1e6:.1f} MB (images at 150 dpi, unsealed)")
    if os.environ.get("KEEP"):
        print("kept", work)
        return
    app.close()
    shutil.rmtree(work, ignore_errors=True)


def naive_volume(dossier, app: App, folder: Path) -> int:  # type: ignore[no-untyped-def]
    folder.mkdir()
    names = []
    for e in dossier.entries:
        src = folder / f"{e.seq:03d}.pdf"
        src.write_bytes(e.pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", str(src), str(folder / f"p{e.seq:03d}")], check=True)
    names = sorted(p.name for p in folder.glob("p*.png"))
    (folder / "v.typ").write_text("#set page(paper: \"a4\", margin: 0pt)\n" + "".join(
        f'#page(image("{n}", width: 100%, height: 100%))\n' for n in names), "utf-8")
    pdf = typst.compile(str(folder / "v.typ"), root=str(folder), font_paths=[str(d) for d in app.fonts.dirs],
                        ignore_system_fonts=True, pdf_standards=["a-3b"])
    return len(pdf)


if __name__ == "__main__":
    os.environ.setdefault("YIYIN_RATE_LIMIT", "0/1")
    main()
