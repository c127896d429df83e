"""One set of archives of a granted case, on two paths an archivist meets:

- the licence was changed (变更) after issuance, by the batch re-issue and by `yiyin licence amend`
  under the change application's own reference: the dossier holds the licence in force and every
  earlier version, each with its own title, number and date in the 卷内文件目录; a package that
  lacks an earlier version fails 2-9 (应归档文件齐全性检测);
- the applicant's scans were handed in as multi-page TIFF files (one from a scanner that detects
  colour page by page: bilevel, grey and colour pages; one in 16-bit grey): every page is a page of
  the volume, in order and legible, and the files as received are kept as the originals.

Each case runs through the real workflow: intake, acceptance, review, decision, issuance by the
lead section, delivery; the package is built and checked with `yiyin archive build|check`."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from yiyin.archive.dossier import Dossier
from yiyin.config import Settings
from yiyin.registry import documents
from yiyin.service import archiving, cases, staff
from yiyin.service.app import App
from yiyin.service.case_dossier import CaseDossierSource
from yiyin.service.samples import load_json, resolve_dates, samples_dir
from yiyin.service.staff import Principal

from .conftest import run_cli

pytestmark = pytest.mark.slow

ITEM = "210321-XK-0412"   # 药品零售企业许可, by 医药器械审批科; it produces the 药品经营许可证
HOLDER = "台安县康宁大药房有限公司"
LICENCE = "药品经营许可证"
CHANGE_REF = "台审批变〔2026〕0031号"   # the change application, received at the window on its own
STAFF = {  # username: (name, roles, sections)
    "kn.intake": ("张敏", ["intake"], []),
    "kn.accept": ("刘洋", ["reviewer"], ["医药器械审批科"]),
    "kn.review": ("王芳", ["reviewer"], ["医药器械审批科"]),
    "kn.lead": ("黄磊", ["lead"], ["医药器械审批科"]),
    "kn.window": ("钱敏", ["window"], []),
}


@dataclass(frozen=True)
class Bureau:
    app: App
    home: Path
    who: dict[str, Principal]


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bureau]:
    home = tmp_path_factory.mktemp("case-paths-home")
    app = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    who = {}
    for username, (name, roles, sections) in STAFF.items():
        staff.add_user(app, username, name, roles, sections, None, "test")
        who[username] = Principal(username, name, frozenset(roles), frozenset(sections))
    yield Bureau(app, home, who)
    app.close()


def granted_case(b: Bureau, materials: dict[str, tuple[str, bytes, str]]) -> dict:
    """A 药品零售企业许可 case from intake to delivery (its detail as staff see it); ``materials``:
    name -> (file name, bytes, media type) for the required materials not handed in as a PDF."""
    app, who = b.app, b.who
    spec = load_json(samples_dir() / "applications" / "kaiban_yaodian.json")
    decision_spec, licence_spec = spec["documents"][0], spec["documents"][1]
    case_id = cases.open_case(app, who["kn.intake"], cases.Application(
        applicant=HOLDER, applicant_code=decision_spec["data"]["applicant_code"], item_code=ITEM, contact="王淑芬",
        phone="0412-4812345"))
    for m in cases.case_detail(app, case_id)["required_materials"]:
        cases.add_material(app, who["kn.intake"], case_id, m["name"], *materials.get(m["name"], (f"{m['name']}.pdf", _pdf(m["name"]),
                                                                                                   "application/pdf")))
    assert cases.check_completeness(app, who["kn.intake"], case_id) == []
    cases.accept(app, who["kn.accept"], case_id)
    item = cases.case_detail(app, case_id)["items"][0]
    reviewer = who["kn.review"]
    cases.claim(app, reviewer, item["id"])
    today = app.today()
    decision = resolve_dates(copy.deepcopy(decision_spec["data"]), today)
    prefill = cases.prefill(app, item["id"], "decision_grant")
    decision.update({k: prefill[k] for k in ("applicant", "acceptance_number", "item_name", "application_date") if k in prefill})
    cases.save_draft(app, reviewer, item["id"], "decision_grant", decision)
    cases.save_draft(app, reviewer, item["id"], licence_spec["type"], resolve_dates(copy.deepcopy(licence_spec["data"]), today))
    cases.decide(app, reviewer, item["id"], "准予")
    cases.issue(app, who["kn.lead"], case_id)
    cases.deliver(app, who["kn.window"], case_id, "window", "王淑芬")
    detail = cases.case_detail(app, case_id)
    assert detail["status"] == "已送达"
    return detail


def _pdf(title: str) -> bytes:
    """A material handed in as a PDF (a plain one: the volume keeps its pages as pictures)."""
    page = Image.new("L", (620, 877), 255)
    ImageDraw.Draw(page).rectangle((60, 60, 560, 120), outline=0, width=3)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=75.0, title=title)
    return out.getvalue()


def _yiyin(b: Bureau, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(*args, home=b.home)
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


def _check(b: Bureau, package: Path) -> dict:
    """`yiyin archive check PACKAGE --json`: the report an archivist reads."""
    result = run_cli("archive", "check", str(package), "--json", home=b.home)
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["passed"] else 1), result.stderr
    return report


def _items(report: dict) -> dict[str, dict]:
    return {i["code"]: i for i in report["items"]}


def _catalogue(package: Path) -> list[dict[str, str]]:
    """The rows of the 卷内文件目录 as the metadata records them."""
    volume = ET.fromstring((package / "data/metadata.xml").read_bytes()).find("案卷")
    rows = []
    for d in volume.findall("卷内文件/文件"):
        row = {t: d.findtext(t) or "" for t in ("件号", "责任者", "题名", "文件编号", "日期", "起始页号", "页数")}
        row["类别"] = d.find("文件类别").get("代码")
        row["文件"] = d.findtext("计算机文件/计算机文件名")
        row["原件"] = d.findtext("原件/计算机文件名") or ""
        rows.append(row)
    return rows


def _acts(package: Path) -> list[tuple[str, str, str]]:
    volume = ET.fromstring((package / "data/metadata.xml").read_bytes()).find("案卷")
    return [(a.get("件号") or "", a.findtext("行为名称"), a.findtext("行为描述")) for a in volume.findall("业务行为/行为")]


# -- a licence changed after issuance (变更) -------------------------------------------------------


@dataclass(frozen=True)
class Changed:
    case_ref: str
    versions: list[str]           # the licence's numbers, first version first; the last is in force
    issued_on: dict[str, str]     # number -> 颁证日期, as the registry gives it
    package: Path


@pytest.fixture(scope="module")
def changed(bureau: Bureau, tmp_path_factory: pytest.TempPathFactory) -> Changed:
    """The licence of a delivered case is changed twice: the window's batch re-issue (new
    supervising authority, under the case's reference), then `yiyin licence amend` for a new
    business address, received as a change application of its own (CHANGE_REF)."""
    case = granted_case(bureau, {})
    ref, first = case["ref"], next(d["number"] for d in case["documents"] if d["title"] == LICENCE)

    def show(number: str) -> dict:
        return json.loads(_yiyin(bureau, "licence", "show", number).stdout)

    _yiyin(bureau, "batch", "reissue", "--type", "licence_drug_retail", "--number", first,
           "--set", "supervising_authority=台安县市场监督管理局（机构改革后）",
           "--reason", "日常监管机构调整", "--basis", "《药品经营和使用质量监督管理办法》第二十六条")
    second = show(first)["后一版本"]["证照编号"]
    with bureau.app.db.session() as s:
        data = dict(documents.by_number(s, second).public_data)
    data["business_address"] = "辽宁省鞍山市台安县台安镇平安路90号1-3层"
    new_data = bureau.home / "amend.json"
    new_data.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    amended = _yiyin(bureau, "licence", "amend", second, "licence_drug_retail", str(new_data), "--item", ITEM, "--case", CHANGE_REF,
                     "--reason", "经营地址变更", "--basis", "《药品经营和使用质量监督管理办法》第二十六条", "--actor", "kn.window",
                     "--out", str(tmp_path_factory.mktemp("amended")))
    third = show(second)["后一版本"]["证照编号"]
    assert third in amended.stdout
    versions = [v["证照编号"] for v in show(third)["版本"]]
    assert versions == [first, second, third]
    package = tmp_path_factory.mktemp("changed") / "pkg"
    built = run_cli("archive", "build", ref, "--out", str(package), home=bureau.home)
    assert built.returncode == 0, built.stderr[-3000:]
    return Changed(ref, versions, {n: show(n)["颁证日期"] for n in versions}, package)


def test_the_dossier_holds_the_licence_in_force_and_every_earlier_version(bureau: Bureau, changed: Changed) -> None:
    first, second, third = changed.versions
    rows = _catalogue(changed.package)
    licences = [r for r in rows if r["类别"] in ("licence", "earlier_licence")]
    # the licence in force first, then the versions it replaced, oldest first; each its own row
    assert [(r["类别"], r["文件编号"], r["题名"], r["日期"], r["责任者"], r["页数"]) for r in licences] == [
        ("licence", third, f"{LICENCE}（{HOLDER}，第3版）", changed.issued_on[third], "台安县行政审批局", "1"),
        ("earlier_licence", first, f"{LICENCE}（{HOLDER}，第1版，已变更）", changed.issued_on[first], "台安县行政审批局", "1"),
        ("earlier_licence", second, f"{LICENCE}（{HOLDER}，第2版，已变更）", changed.issued_on[second], "台安县行政审批局", "1"),
    ]
    # in the volume's order: the decision before them, the delivery receipt after them
    kinds = [r["类别"] for r in rows]
    assert kinds.index("decision") < kinds.index("licence") < kinds.index("earlier_licence") < kinds.index("delivery_receipt")
    assert [int(r["件号"]) for r in rows] == list(range(1, len(rows) + 1))
    # each row's file is that version, as the registry recorded it when the package was built
    for row, status in zip(licences, ("有效", "变更", "变更")):
        seq = row["文件"].removeprefix("documents/").removesuffix(".pdf")
        report = json.loads((changed.package / f"data/evidence/registry/{seq}-verification.json").read_text("utf-8"))
        assert (report["document"]["number"], report["document"]["status"]) == (row["文件编号"], status)
    # the printed 卷内文件目录 (after the cover, before the first numbered page) lists them in that order
    front = len(PdfReader(changed.package / "data/volume.pdf").pages) - sum(int(r["页数"]) for r in rows)
    catalogue = subprocess.run(["pdftotext", "-f", "2", "-l", str(front), str(changed.package / "data/volume.pdf"), "-"],
                               capture_output=True, text=True, check=True).stdout.replace(" ", "").replace("\n", "")
    assert catalogue.index(third) < catalogue.index(first) < catalogue.index(second)
    # the process history has each change, on the version it replaced
    seq_of = {r["文件编号"]: r["件号"] for r in licences}
    acts = _acts(changed.package)
    assert (seq_of[first], "变更", f"{LICENCE} {first}：日常监管机构调整（由{second}替代）") in acts
    assert (seq_of[second], "变更", f"{LICENCE} {second}：经营地址变更（由{third}替代）") in acts
    assert any(a[:2] == (seq_of[third], "签发") for a in acts)


def test_the_changed_case_passes_every_check_item(bureau: Bureau, changed: Changed) -> None:
    report = _check(bureau, changed.package)
    assert report["passed"] and report["failed"] == [], [i for i in report["items"] if i["status"] == "fail"]
    items = _items(report)
    assert items["2-9"]["status"] == "pass" and "1 个变更过的许可证，其以前各版均已归档" in items["2-9"]["detail"], items["2-9"]
    assert {code for code, i in items.items() if i["status"] == "n/a"} == {"4-4", "4-5", "4-6"}


class _Without(CaseDossierSource):
    """The case's dossier with some licence versions left out, as a package assembled without them
    would be: the rest renumbered, consistent, sealed and manifested like any other."""

    def __init__(self, numbers: set[str]) -> None:
        self.numbers = numbers

    def dossier(self, app: App, case: str, options: archiving.ArchiveOptions) -> Dossier:
        full = super().dossier(app, case, options)
        kept = [e for e in full.entries if e.doc_number not in self.numbers]
        seq = {e.seq: n for n, e in enumerate(kept, start=1)}
        return replace(full, entries=tuple(replace(e, seq=seq[e.seq]) for e in kept),
                       history=tuple(replace(ev, seq=seq[ev.seq] if ev.seq is not None else None)
                                     for ev in full.history if ev.seq is None or ev.seq in seq))


@pytest.mark.parametrize("left_out", ["every earlier version", "the first version"])
def test_a_package_without_an_earlier_version_fails_2_9(bureau: Bureau, changed: Changed, left_out: str,
                                                       tmp_path: Path) -> None:
    first, second, third = changed.versions
    missing = {first, second} if left_out == "every earlier version" else {first}
    package = tmp_path / "pkg"
    archiving.build(bureau.app, changed.case_ref, package, archiving.ArchiveOptions(actor="吴静（kn.archivist）"),
                    source=_Without(missing))
    assert not missing & {r["文件编号"] for r in _catalogue(package)}
    report = _check(bureau, package)
    assert report["failed"] == ["2-9"], [i for i in report["items"] if i["status"] == "fail"]
    # the finding names the licence in force and the versions missing before it
    findings = _items(report)["2-9"]["findings"]
    lacks = "1、2" if left_out == "every earlier version" else "1"
    assert len(findings) == 1 and f"{third} 是许可证" in findings[0] and "的第 3 版" in findings[0], findings
    assert f"卷内缺少被它取代的第 {lacks} 版" in findings[0], findings


# -- scans handed in as multi-page TIFF --------------------------------------------------------------


def _bands(n: int) -> int:
    return n % 3


def _scan_page(n: int, mode: str) -> Image.Image:
    """An A4 page at 150 dpi: ruled lines, and a dark block in the top, middle or bottom third (by
    page number), so that a page shows where it came from."""
    page = Image.new("L", (1240, 1754), 235)
    draw = ImageDraw.Draw(page)
    top = 120 + _bands(n) * 560
    draw.rectangle((180, top, 1060, top + 320), fill=25)   # printed black, as a scanner sees it
    for y in range(100, 1650, 50):
        draw.line((120, y, 1120 - 30 * ((y // 50 + n) % 9), y), fill=50, width=4)
    if mode == "1":
        return page.convert("1", dither=Image.Dither.NONE)
    if mode == "RGB":
        rgb = page.convert("RGB")
        ImageDraw.Draw(rgb).ellipse((800, 1350, 1100, 1650), outline=(200, 20, 20), width=12)   # a red seal
        return rgb
    if mode == "I;16":
        deep = Image.new("I;16", page.size)
        deep.putdata([v * 257 for v in page.get_flattened_data()])
        return deep
    return page


def _tiff(modes: list[str]) -> bytes:
    pages = [_scan_page(n, mode) for n, mode in enumerate(modes)]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw", dpi=(150, 150))
    return out.getvalue()


def _legible(png: Path) -> tuple[float, int]:
    """Share of dark pixels on a rendered page, and the third (0, 1, 2) holding the most of them."""
    with Image.open(png) as im:
        grey = im.convert("L")
        w, h = grey.size
        dark = [sum(1 for v in grey.crop((0, h * k // 3, w, h * (k + 1) // 3)).get_flattened_data() if v < 100) for k in range(3)]
        return sum(dark) / (w * h), max(range(3), key=dark.__getitem__)


def test_an_accepted_case_with_multi_page_tiff_scans(bureau: Bureau, tmp_path: Path) -> None:
    scans = {
        "营业执照": ("营业执照（扫描件）.tif", _tiff(["1", "L", "RGB"])),        # colour detected page by page
        "经营场所和仓库的产权或使用证明及平面布置图": ("平面布置图.tiff", _tiff(["I;16", "I;16"])),  # 16-bit grey
    }
    ref = granted_case(bureau, {name: (file, data, "image/tiff") for name, (file, data) in scans.items()})["ref"]
    package = tmp_path / "pkg"
    _yiyin(bureau, "archive", "build", ref, "--out", str(package))
    report = _check(bureau, package)
    assert report["passed"], [i for i in report["items"] if i["status"] == "fail"]
    items = _items(report)
    for code in ("1-9", "1-13", "2-6", "2-8", "3-3", "3-7"):
        assert items[code]["status"] == "pass", items[code]

    rows = {r["题名"]: r for r in _catalogue(package)}
    volume = package / "data/volume.pdf"
    pages = len(PdfReader(volume).pages)
    front = pages - sum(int(r["页数"]) for r in rows.values())
    assert front == 2   # cover and catalogue, then the numbered pages
    for name, (file, data) in scans.items():
        row, frames = rows[name], Image.open(io.BytesIO(data)).n_frames
        # one volume page per page of the TIFF
        assert row["类别"] == "material" and int(row["页数"]) == frames
        assert len(PdfReader(package / "data" / row["文件"]).pages) == frames
        # the file as received, kept byte for byte as the original, in the package and sealed into the volume
        xml = ET.fromstring((package / "data/metadata.xml").read_bytes())
        record = next(d for d in xml.iter("文件") if d.findtext("题名") == name)
        assert (record.findtext("原件/媒体类型"), record.findtext("原件/原文件名")) == ("image/tiff", file)
        assert row["原件"].endswith(".tif") and (package / "data" / row["原件"]).read_bytes() == data
        assert PdfReader(volume).attachments[row["原件"]][0] == data
        # every page renders, shows the scan (not a blank page) and comes in the scan's order
        for n in range(frames):
            page = front + int(row["起始页号"]) + n
            stem = tmp_path / f"{row['件号']}-{n}"
            done = subprocess.run(["pdftoppm", "-r", "50", "-f", str(page), "-l", str(page), "-png", "-singlefile", str(volume),
                                   str(stem)], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0 and not done.stderr.strip(), done.stderr
            share, third = _legible(stem.with_suffix(".png"))
            assert share > 0.04 and third == _bands(n), (name, n + 1, share, third)
