"""One set of archives: a matter's package is built, passes the four checks of DA/T 70-2018, and a
package changed in any way fails a named check item."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import bagit
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from yiyin.archive.checks import ITEMS, check_package
from yiyin.archive.digests import digest
from yiyin.archive.dossier import (ArchivalCode, Dossier, DossierEntry, DocumentKind, Evidence, Matter, Original,
                                   ProcessEvent, Retention)
from yiyin.archive.materials import images_to_pdfa
from yiyin.archive.package import build_package
from yiyin.config import Settings
from yiyin.errors import InvalidData
from yiyin.registry import catalog
from yiyin.service import archiving
from yiyin.service.app import App
from yiyin.service.demo import run_demo
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import load_json, resolve_dates, samples_dir

from .conftest import run_cli

pytestmark = pytest.mark.slow
CASE = "台审批受〔2026〕0815号"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _issue_under_reference(app: App) -> None:
    """The sample decision and licence issued straight through the pipeline under the case
    reference CASE, as documents that no case of the service holds (the registry source)."""
    spec = load_json(samples_dir() / "applications" / "kaiban_yaodian.json")
    for entry in spec["documents"]:
        Issuer(app).issue(IssueRequest(doc_type=entry["type"], data=resolve_dates(entry["data"], app.today()), item_code=entry["item"],
                                       case_ref=CASE, actor="test", issue_date=app.today()))


@pytest.fixture(scope="module")
def archive_app(tmp_path_factory: pytest.TempPathFactory) -> App:
    home = tmp_path_factory.mktemp("archive-home")
    application = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    run_demo(application, tmp_path_factory.mktemp("archive-demo"))  # the agreement carries CASE
    _issue_under_reference(application)
    yield application
    application.close()


@pytest.fixture(scope="module")
def package(archive_app: App, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packages") / "pkg"
    archiving.build(archive_app, CASE, out)
    return out


def _failed(app: App, path: Path) -> set[str]:
    return set(archiving.check(app, path).failed())


def test_package_passes_every_check_item(archive_app: App, package: Path) -> None:
    report = archiving.check(archive_app, package)
    assert report.ok, report.render()
    assert [i.code for i in report.items] == list(ITEMS)
    assert {i.code for i in report.items if i.status == "n/a"} == {"4-4", "4-5", "4-6"}
    assert (package / "bagit.txt").read_text().startswith("BagIt-Version: 1.0")
    assert bagit.Bag(str(package)).is_valid()
    for name in ("manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"):
        assert (package / name).exists()
    xml = (package / "data/metadata.xml").read_text("utf-8")
    licence = (package / "data/documents/002.pdf").read_bytes()
    assert digest("SM3", licence) in xml and '算法="SM3"' in xml
    assert "<办件编号>" + CASE in xml and "<档号>Z109-ZW·" in xml


def test_volume_has_cover_catalogue_page_numbers_and_archive_seal(archive_app: App, package: Path) -> None:
    volume = (package / "data/volume.pdf").read_bytes()
    reader = PdfReader(package / "data/volume.pdf")
    assert len(reader.pages) == 2 + 2 + 1 + 3  # cover, catalogue, decision, licence, agreement
    text = lambda first, last: subprocess.run(["pdftotext", "-f", str(first), "-l", str(last), str(package / "data/volume.pdf"), "-"],  # noqa: E731
                                              capture_output=True, text=True, check=True).stdout
    cover, catalogue, licence_page = text(1, 1), text(2, 2), text(5, 5)
    assert "行政审批档案" in cover.replace(" ", "") and CASE in cover.replace(" ", "")
    assert "卷内文件目录" in catalogue.replace(" ", "") and "辽EA0321" in catalogue.replace(" ", "") and "4-6" in catalogue
    assert licence_page.split()[0] == "3" and "药品经营许可证" in licence_page.replace(" ", "")
    assert set(reader.attachments) >= {"metadata.xml", "documents/001.pdf", "evidence/log/checkpoint.txt"}
    signed = subprocess.run(["pdfsig", str(package / "data/volume.pdf")], capture_output=True, text=True).stdout
    assert "档案专用章" in signed and "Signature is Valid" in signed
    assert volume.startswith(b"%PDF-")


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x01
    path.write_bytes(bytes(data))


def _rebag(root: Path) -> None:
    """What a forger does after changing the payload: recompute every manifest."""
    bagit.Bag(str(root)).save(manifests=True)


def _swap_for_other_case(app: App) -> Callable[[Path], None]:
    spec = load_json(samples_dir() / "applications" / "kaiban_yaodian.json")["documents"][1]
    data = resolve_dates(spec["data"], app.today()) | {"enterprise_name": "台安县百草堂大药房有限公司"}
    other = Issuer(app).issue(IssueRequest(doc_type=spec["type"], data=data, item_code=spec["item"],
                                           case_ref="台审批受〔2026〕0999号", actor="test"))

    def swap(root: Path) -> None:
        shutil.copyfile(other.path, root / "data/documents/002.pdf")
        _rebag(root)
    return swap


def _drop_line(name: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        lines = (root / name).read_text("utf-8").splitlines(keepends=True)
        (root / name).write_text("".join(lines[1:]), "utf-8")
    return change


def _edit_metadata(root: Path) -> None:
    xml = root / "data/metadata.xml"
    xml.write_text(xml.read_text("utf-8").replace("台安县康宁大药房有限公司", "台安县宁康大药房有限公司"), "utf-8")


MUTATIONS: dict[str, tuple[Callable[..., None], set[str]]] = {
    "a byte of a document": (lambda root: _flip(root / "data/documents/002.pdf"), {"1-1", "1-13", "2-7"}),
    "a byte of a document, manifests recomputed": (lambda root: (_flip(root / "data/documents/002.pdf"), _rebag(root)), {"1-1", "1-13"}),
    "a byte of the volume": (lambda root: _flip(root / "data/volume.pdf", 0.3), {"1-1", "2-7"}),
    "a manifest line removed": (_drop_line("manifest-sha256.txt"), {"2-7", "2-10"}),
    "the metadata edited, manifests recomputed": (lambda root: (_edit_metadata(root), _rebag(root)), {"1-13"}),
    "a file added": (lambda root: (root / "data/evidence/note.txt").write_text("x"), {"1-13", "2-11"}),
    "a file removed, manifests recomputed": (lambda root: ((root / "data/evidence/ocsp/01.ocsp").unlink(), _rebag(root)), {"1-10", "1-13", "2-11"}),
    "the log checkpoint replaced": (lambda root: ((root / "data/evidence/log/checkpoint.txt").write_text("x\n1\nAAAA\n"), _rebag(root)), {"1-1", "1-13"}),
}


@pytest.mark.parametrize("what", list(MUTATIONS))
def test_a_changed_package_fails_a_named_check(archive_app: App, package: Path, tmp_path: Path, what: str) -> None:
    change, expected = MUTATIONS[what]
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    change(copy)
    failed = _failed(archive_app, copy)
    assert expected <= failed, (what, failed)


def test_a_document_swapped_for_another_genuinely_sealed_one_fails(archive_app: App, package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    _swap_for_other_case(archive_app)(copy)
    report = archiving.check(archive_app, copy)
    assert {"1-1", "1-13"} <= set(report.failed())
    findings = next(i for i in report.items if i.code == "1-1").findings
    number = ET.fromstring((copy / "data/metadata.xml").read_bytes()).findtext("案卷/卷内文件/文件[2]/登记信息/文书编号")
    assert any(f.startswith("文件 2（data/documents/002.pdf）") and f"登记簿为 {number} 登记" in f for f in findings), findings


def test_a_forged_inclusion_proof_is_named_with_its_log_entry(archive_app: App, package: Path, tmp_path: Path) -> None:
    """The proof's path reordered (manifests redone): the finding names the document and the log entry."""
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    proof = next((copy / "data/evidence/registry").glob("002-inclusion.json"))
    bundle = json.loads(proof.read_text("utf-8"))
    assert len(bundle["proof"]) > 1
    proof.write_text(json.dumps(dict(bundle, proof=bundle["proof"][::-1])), "utf-8")
    _rebag(copy)
    report = archiving.check(archive_app, copy)
    findings = next(i for i in report.items if i.code == "1-1").findings
    assert (f"文件 2（data/documents/002.pdf）：日志包含证明未通过核验：日志条目 {bundle['leaf_index']} 的 RFC 9162 "
            "包含证明推不出签名检查点的根哈希") in "\n".join(findings), findings


def test_package_resealed_under_a_foreign_ca_fails_when_anchors_are_pinned(package: Path, tmp_path: Path) -> None:
    """The package's own anchors are replaced: the checker pins the bureau's anchors."""
    from yiyin.signing.devpki import DevCA

    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    anchor = next((copy / "data/evidence/anchors").glob("*.pem"))
    anchor.write_bytes(DevCA.create().cert_pem)
    _rebag(copy)
    expected = {hashlib.sha256(b"x").hexdigest()}
    report = check_package(copy, expected_anchors=expected)
    assert "1-1" in report.failed()


def _plain_dossier(app: App, demo_dir: Path, tmp_path: Path, originals: tuple[Original, ...] = ()) -> Dossier:
    decision = sorted(demo_dir.glob("01-*.pdf"))[0].read_bytes()
    page = tmp_path / "scan"
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile", str(sorted(demo_dir.glob("02-*.pdf"))[0]), str(page)], check=True)
    scan = page.with_suffix(".png").read_bytes()
    material = images_to_pdfa([scan], "营业执照（复印件）", app.fonts)
    today = app.today()
    matter = Matter(case_id="台审批受〔2026〕0900号", matter="开办药店", applicant="台安县康宁大药房有限公司",
                    items=(("210321-XK-0412", "药品零售企业许可"),), received=today, closed=today, organ="台安县行政审批局",
                    archival_code=ArchivalCode("Z109", "ZW", today.year, Retention.years_30, "SPJ", 900),
                    required=frozenset({DocumentKind.material, DocumentKind.decision}))
    entries = (
        DossierEntry(1, "台安县康宁大药房有限公司", "营业执照（复印件）", today, DocumentKind.material, material,
                     originals=(Original("营业执照.png", "image/png", scan, "窗口收取的扫描件"), *originals)),
        DossierEntry(2, "台安县行政审批局", "准予行政许可决定书", today, DocumentKind.decision, decision, doc_number="台审批许准〔2026〕1号"),
    )
    now = datetime.now(timezone.utc)
    return Dossier(matter, entries, (ProcessEvent(now, "受理", "窗口", seq=1), ProcessEvent(now, "归档", "档案室")),
                   Evidence(trust_anchors=tuple(a.dump() for a in app.trust_roots()), crls=tuple(app.current_crls())))


def _archive_sealer(app: App):  # type: ignore[no-untyped-def]
    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, "档案专用章", app.now())
    return app.sealer(seal, "台安县行政审批局")


def test_plain_data_dossier_with_a_scanned_material(archive_app: App, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    demo_dir = tmp_path_factory.mktemp("plain-demo")
    run_demo(archive_app, demo_dir)
    dossier = _plain_dossier(archive_app, demo_dir, tmp_path)
    built = build_package(dossier, tmp_path / "plain", fonts=archive_app.fonts, sealer=_archive_sealer(archive_app),
                          revocation=archive_app.revocation_material(), location="辽宁省鞍山市台安县", signer_name="档案专用章")
    assert built.documents == 2 and (tmp_path / "plain/data/originals/001-01.png").exists()
    report = check_package(tmp_path / "plain")
    assert report.ok, report.render()
    assert "PDF/A-3b" in (tmp_path / "plain/data/metadata.xml").read_text("utf-8")


def test_virus_and_active_content_fail_security(archive_app: App, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    demo_dir = tmp_path_factory.mktemp("virus-demo")
    run_demo(archive_app, demo_dir)
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x');")})
    script = tmp_path / "js.pdf"
    writer.write(script)
    dossier = _plain_dossier(archive_app, demo_dir, tmp_path, originals=(
        Original("eicar.txt", "text/plain", EICAR, "the EICAR test file"),
        Original("form.pdf", "application/pdf", script.read_bytes(), "a PDF with JavaScript")))
    build_package(dossier, tmp_path / "bad", fonts=archive_app.fonts, sealer=_archive_sealer(archive_app),
                  revocation=archive_app.revocation_material(), location="辽宁省鞍山市台安县", signer_name="档案专用章")
    report = check_package(tmp_path / "bad")
    item = next(i for i in report.items if i.code == "4-2")
    assert item.status == "fail"
    assert any("EICAR" in f for f in item.findings) and any("JavaScript" in f for f in item.findings), item.findings


def test_bad_dossier_names_every_field_and_writes_nothing(archive_app: App, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    demo_dir = tmp_path_factory.mktemp("bad-demo")
    run_demo(archive_app, demo_dir)
    good = _plain_dossier(archive_app, demo_dir, tmp_path)
    bad = Dossier(
        Matter(**{**good.matter.__dict__, "archival_code": ArchivalCode("z1", "ZW", 2026, Retention.permanent, "SPJ", 1),
                  "required": frozenset({DocumentKind.licence, DocumentKind.decision})}),
        (good.entries[0], DossierEntry(**{**good.entries[1].__dict__, "seq": 3})), good.history, good.evidence)
    with pytest.raises(InvalidData) as err:
        build_package(bad, tmp_path / "never", fonts=archive_app.fonts, sealer=_archive_sealer(archive_app),
                      revocation=archive_app.revocation_material(), location="x", signer_name="x")
    fields = {p.field for p in err.value.problems}
    assert {"archival_code.fonds", "entries[1].seq", "entries"} <= fields
    assert "许可证" in err.value.message
    assert not (tmp_path / "never").exists()


def test_cli_build_and_check(archive_app: App, tmp_path: Path) -> None:
    home = archive_app.settings.home
    out = tmp_path / "cli-pkg"
    built = run_cli("archive", "build", CASE, "--out", str(out), home=home)
    assert built.returncode == 0, built.stderr
    assert "Z109-ZW·" in built.stdout and "archive check" in built.stdout
    checked = run_cli("archive", "check", "--json", str(out), home=home)
    report = json.loads(checked.stdout)
    assert checked.returncode == 0 and report["passed"] is True and len(report["items"]) == len(ITEMS)
    text = run_cli("archive", "check", str(out), home=home)
    assert text.returncode == 0 and "4-2" in text.stdout and "全部通过" in text.stdout
    again = run_cli("archive", "build", CASE, "--out", str(out), home=home)
    assert again.returncode == 2 and f"{out} 已存在且不是空文件夹" in again.stderr
    missing = run_cli("archive", "build", "台审批受〔2026〕9999号", "--out", str(tmp_path / "x"), home=home)
    assert missing.returncode != 0 and "登记簿中没有" in missing.stderr and "台审批受〔2026〕9999号" in missing.stderr
    _flip(out / "data/documents/001.pdf")
    tampered = run_cli("archive", "check", str(out), home=home)
    assert tampered.returncode == 1
    # the archivist reads which item failed and which file it was
    changed = next(line for line in tampered.stdout.splitlines() if line.strip().startswith("2-7"))
    assert "✗ 不通过" in changed, tampered.stdout
    assert "- 文件 1（data/documents/001.pdf）：sha256 摘要与 manifest-sha256.txt 所记不符" in tampered.stdout, tampered.stdout
    assert "结论 result: 不通过 FAILED（" in tampered.stdout and "2-7" in tampered.stdout.splitlines()[-1]
    assert run_cli("archive", "check", str(tmp_path / "nothing"), home=home).returncode == 2
