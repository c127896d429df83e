"""The catalogue (first-batch matters, import with every bad row named) and working days (the
2026 holiday calendar with its 调休 weekends, a bureau's own calendar file, deadline flags)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from yiyin.config import Settings
from yiyin.errors import InvalidData
from yiyin.service import catalogue
from yiyin.service.app import App
from yiyin.service.workdays import WorkCalendar, deadline

from .conftest import run_cli


def test_first_batch_matters_are_loaded_with_lead_sections_and_stages(app: App) -> None:
    with app.db.session() as s:
        matters = {m.name: m for m in catalogue.matters(s)}
        items = {i.code: i for i in catalogue.items(s)}
    assert {"开办药店", "开办旅行社", "房地产开发项目", "工业项目", "开办医疗机构", "开办加油加气站", "开办印刷厂",
            "开办道路旅客运输企业", "开办危险货物运输企业"} <= set(matters)
    pharmacy = matters["开办药店"]
    assert pharmacy.lead_section == "企业登记科" and [c for c, _, _ in pharmacy.items] == [
        "210321-XK-0101", "210321-XK-0412", "210321-XK-0413", "210321-QT-0414"]
    estate = matters["房地产开发项目"]
    assert estate.kind == "一个项目" and [st["name"] for st in estate.stages] == [
        "立项用地规划许可阶段", "工程建设许可阶段", "施工许可阶段", "竣工验收阶段"]
    assert matters["工业项目"].stages[0] == {"name": "施工许可阶段", "lead_section": "生态环境审批科"}
    # kinds and promised limits: 即办件 1, 一审一核件 3, 承诺件 10; the delegated item names its agreement
    assert (items["210321-XK-0101"].kind, items["210321-XK-0101"].time_limit_days) == ("即办件", 1)
    assert (items["210321-XK-0303"].kind, items["210321-XK-0303"].time_limit_days) == ("一审一核件", 3)
    assert items["210321-XK-0520"].mode == "委托" and items["210321-XK-0520"].agreement == "台市监委〔2026〕1号"
    assert items["210321-XK-0412"].licence_type == "licence_drug_retail" and items["210321-XK-0412"].site_inspection
    # the sample matters name the catalogue's own items, licence kinds included
    travel = matters["开办旅行社"]
    assert [n for _, n, _ in travel.items] == ["企业设立、变更、注销登记", "旅行社设立许可"]
    assert items[travel.items[1][0]].licence_type == "licence_travel_agency" and items[travel.items[1][0]].materials
    sample = json.loads((Path(__file__).resolve().parents[1] / "samples" / "matters.json").read_text("utf-8"))
    for row in sample["items"]:
        if "name" in row:
            assert items[row["code"]].name == row["name"], row["code"]


@pytest.mark.slow
def test_import_names_every_bad_row_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"items": [
        {"code": "210321-XK-9001", "name": "测试事项", "category": "行政许可", "legal_basis": "《某条例》", "section": "社会事务审批科",
         "kind": "承诺件", "organ_id": "taian-xzspj", "mode": "transferred"},
        {"code": "210321-XK-9002", "name": "缺时限", "category": "行政许可", "legal_basis": "x", "section": "社会事务审批科",
         "organ_id": "nowhere", "mode": "delegated", "licence_type": "licence_unicorn"},
        {"code": "bad code!", "category": "行政许可"},
    ], "matters": [{"id": "ceshi", "name": "测试一件事", "kind": "一件事", "lead_section": "规划审批科",
                    "items": [{"code": "210321-XK-9001"}, {"code": "210321-XK-9999"}]}]}, ensure_ascii=False), "utf-8")
    out = run_cli("catalog", "import", str(bad), home=home)
    assert out.returncode == 2
    for expected in ("items[1]（210321-XK-9002）: 请填写 kind", "items[1]（210321-XK-9002）.organ_id", "delegating_organ_id",
                     "licence_unicorn", "items[2].code", "matters[0]（测试一件事）.items[1]", "matters[0]（测试一件事）.lead_section"):
        assert expected in out.stderr, (expected, out.stderr)
    assert "210321-XK-9001" not in run_cli("catalog", "list", home=home).stdout  # nothing of the file was written

    good = tmp_path / "items.csv"
    good.write_text("code,name,category,legal_basis,section,kind,organ_id,mode,materials,site_inspection\n"
                    "210321-XK-9001,测试事项,行政许可,《某条例》第一条,社会事务审批科,一审一核件,taian-xzspj,transferred,申请书；身份证明,是\n",
                    "utf-8")
    out = run_cli("catalog", "import", str(good), home=home)
    assert out.returncode == 0, out.stderr
    listing = json.loads(run_cli("catalog", "list", "--json", home=home).stdout)
    item = next(i for i in listing["items"] if i["code"] == "210321-XK-9001")
    assert (item["kind"], item["time_limit_days"], item["site_inspection"]) == ("一审一核件", 3, True)
    assert [m["name"] for m in item["materials"]] == ["申请书", "身份证明"]


def test_working_days_follow_the_2026_holidays_and_a_bureaus_own_calendar(tmp_path: Path) -> None:
    cal = WorkCalendar.load()
    assert cal.knows(2026) and not cal.is_workday(date(2026, 10, 1)) and cal.is_workday(date(2026, 10, 10))  # 调休 Saturday
    assert cal.add(date(2026, 2, 13), 1) == date(2026, 2, 14)      # the Saturday before 春节 is worked
    assert cal.add(date(2026, 2, 14), 1) == date(2026, 2, 24)      # then nine days off
    assert cal.add(date(2026, 9, 30), 10) == date(2026, 10, 20)    # 国庆节 off, the 10 October Saturday worked
    assert deadline(cal, date(2026, 10, 9), date(2026, 10, 8)).state == "临期"
    assert deadline(cal, date(2026, 10, 9), date(2026, 10, 12)).state == "超期"
    assert deadline(cal, date(2026, 10, 21), date(2026, 10, 8)).state == "正常"
    # a year nobody published: weekends only, and said so
    assert not deadline(cal, date(2027, 3, 1), date(2027, 2, 1)).calendar_known
    (tmp_path / "holidays").mkdir()
    (tmp_path / "holidays" / "2027.json").write_text(json.dumps({"holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-01"}],
                                                                  "working_weekends": []}), "utf-8")
    own = WorkCalendar.load(tmp_path)
    assert own.knows(2027) and not own.is_workday(date(2027, 1, 1))
    (tmp_path / "holidays" / "2028.json").write_text(json.dumps({"holidays": [], "working_weekends": ["2028-01-03"]}), "utf-8")
    with pytest.raises(Exception, match="调休上班日 2028-01-03 不是星期六或星期日"):
        WorkCalendar.load(tmp_path)


@pytest.mark.slow
def test_first_run_names_no_default_password(tmp_path: Path) -> None:
    out = run_cli("user", "list", home=tmp_path / "fresh")
    assert "yiyin user add admin --role admin" in out.stdout
    app = App.open(Settings.from_env({"YIYIN_HOME": str(tmp_path / "fresh")}))
    from yiyin.service import staff

    with pytest.raises(InvalidData, match="10"):
        staff.add_user(app, "admin", "管理员", ["admin"], [], "short", "test")
    staff.add_user(app, "admin", "管理员", ["admin"], [], "a long enough secret", "test")
    with app.db.session() as s:
        from yiyin.registry.staff import StaffUser

        stored = s.query(StaffUser).filter_by(username="admin").one().password_hash
    assert stored.startswith("scrypt$") and "a long enough secret" not in stored
    assert staff.check_password("a long enough secret", stored) and not staff.check_password("wrong", stored)
    app.close()
