"""A real station's first start from the command line, on both stores: the station, its
accounts, and the street office's elder list (a real .xlsx with bad rows, and a GB18030 CSV
as Excel saves it in China)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from server.auth.passwords import verify_password
from server.auth.tables import users
from server.identity import make_id_number
from server.registry.tables import elders, stations
from server.store.engine import Store
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

GOOD_1 = make_id_number("110105", date(1940, 3, 8), 11)
GOOD_2 = make_id_number("110105", date(1951, 12, 1), 12)
GOOD_3 = make_id_number("110105", date(1938, 6, 30), 13)
WRONG_CHECK = GOOD_3[:17] + ("1" if GOOD_3[17] != "1" else "2")
STRONG = "Cang-hong-2026!"


@pytest.fixture
def empty_schema() -> bool:
    return True


def anxin(args: list[str], url: str, stdin: str = "", **env: str) -> tuple[int, str]:
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env={**os.environ, "ANXIN_DATABASE_URL": url, "ANXIN_LOG_LEVEL": "WARNING", **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.returncode, out.stdout + out.stderr


@pytest.fixture
def station(database_url: str) -> Iterator[str]:
    assert anxin(["migrate"], database_url)[0] == 0
    code, out = anxin(
        [
            "admin",
            "create-station",
            "--name",
            "仓红社区养老服务站",
            "--lat",
            "39.9219",
            "--lng",
            "116.4436",
            "--address",
            "北京市朝阳区仓红社区1号",
        ],
        database_url,
    )
    assert code == 0 and "已建服务站 仓红社区养老服务站（编号 1）" in out, out
    yield database_url


async def _rows(url: str, table: Any) -> list[Any]:
    store = Store(url)
    try:
        async with store.read() as conn:
            return list((await conn.execute(select(table).order_by(table.c.id))).all())
    finally:
        await store.dispose()


def rows(url: str, table: Any) -> list[Any]:
    return asyncio.run(_rows(url, table))


def test_the_first_station_and_its_accounts(station: str) -> None:
    url = station
    assert [s.name for s in rows(url, stations)] == ["仓红社区养老服务站"]
    code, out = anxin(
        [
            "admin",
            "create-user",
            "--role",
            "admin",
            "--username",
            "root",
            "--name",
            "管理员",
            "--password-env",
            "ADMIN_PW",
        ],
        url,
        ADMIN_PW=STRONG,
    )
    assert code == 0 and "已建管理员账号 root" in out, out
    base = ["admin", "create-user", "--password-stdin", "--station", "1"]
    code, out = anxin(
        [*base, "--role", "operator", "--username", "liqing", "--name", "李青"], url, STRONG + "\n"
    )
    assert code == 0 and "已建调度员账号 liqing" in out, out
    code, out = anxin(
        [*base, "--role", "caregiver", "--username", "wangfang", "--name", "王芳"],
        url,
        STRONG + "\n",
    )
    assert code == 1 and "需要 --phone" in out, out
    code, out = anxin(
        [
            *base,
            "--role",
            "caregiver",
            "--username",
            "wangfang",
            "--name",
            "王芳",
            "--phone",
            "13900000001",
        ],
        url,
        STRONG + "\n",
    )
    assert code == 0 and "已建护理员账号 wangfang" in out, out
    code, out = anxin(
        [
            "admin",
            "create-user",
            "--password-stdin",
            "--role",
            "officer",
            "--username",
            "liulitun",
            "--name",
            "六里屯街道",
            "--district",
            "朝阳区",
            "--street",
            "六里屯街道",
        ],
        url,
        STRONG + "\n",
    )
    assert code == 0 and "已建街道审核员账号 liulitun" in out, out
    # Refused: the demo's password, a short one, a taken login, no password at all.
    for pw, says in (("anxin1234", "不能用"), ("short", "至少 8 个字符")):
        code, out = anxin(
            [*base, "--role", "operator", "--username", "op2", "--name", "王二"], url, pw + "\n"
        )
        assert code == 1 and says in out, out
    code, out = anxin(
        [*base, "--role", "operator", "--username", "liqing", "--name", "李青"], url, STRONG + "\n"
    )
    assert code == 1 and "login_taken" in out, out
    code, out = anxin(
        ["admin", "create-user", "--role", "operator", "--station", "1", "--username", "x1y",
         "--name", "某"], url
    )  # fmt: skip
    assert code == 1 and "需要密码" in out, out
    accounts = {u.username: u for u in rows(url, users)}
    assert sorted(accounts) == ["liqing", "liulitun", "root", "wangfang"]
    assert accounts["liqing"].role == "operator" and accounts["liqing"].station_id == 1
    assert verify_password(accounts["liqing"].password_hash, STRONG)
    assert accounts["liulitun"].role == "street_officer"


def _xlsx(path: Path, data: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "姓名", "身份证号", "手机号", "住址", "类别", "联系人", "纬度", "经度"])
    for r in data:
        ws.append(r)
    wb.save(path)
    return path


LIST: list[list[Any]] = [
    # row 2: good, with coordinates
    [1, "张桂兰", GOOD_1, "13512345678", "朝阳路5号楼2单元301", "低保、高龄",
     "张伟 儿子 13912345678", 39.925, 116.447],
    # row 3: good, no coordinates (needs a location), a mobile written the long way
    [2, "李德明", GOOD_2, "+86 135 0000 1111", "红庙北里3号楼101", "", "", None, None],
    # row 4: the check character is wrong, the mobile is short, a category is unknown
    [3, "王秀珍", WRONG_CHECK, "1351234", "金台路7号", "贫困户", "", None, None],
    # row 5: the ID number became a number in Excel; no name
    [4, "", 110105194003081234.0, "13512345679", "延静里1号", "", "", None, None],
    # row 6: the same ID number as row 2; a contact without a mobile; coordinates swapped
    [5, "张桂兰", GOOD_1, "", "朝阳路5号楼", "", "张伟 儿子", 116.4, 39.9],
    # row 7: blank, skipped
    [None, None, None, None, None, None, None, None, None],
    # row 8: no address
    [6, "赵凤英", GOOD_3, "", "", "特困", "", None, None],
]  # fmt: skip


def test_the_elder_list_is_checked_row_by_row_and_imported_once(
    station: str, tmp_path: Path
) -> None:
    url = station
    book = _xlsx(tmp_path / "老人名单.xlsx", LIST)
    code, out = anxin(["import", "elders", str(book), "--station", "1", "--dry-run"], url)
    assert code == 1, out
    for expected in (
        f"第 4 行：身份证号“{WRONG_CHECK}”最后一位校验码不对",
        "第 4 行：手机号“1351234”应为 11 位",
        "第 4 行：类别“贫困户”不认识",
        "第 5 行：姓名为空",
        "第 5 行：身份证号被存成了数字",
        "第 6 行：身份证号与第 2 行重复",
        "第 6 行：联系人“张伟 儿子”应写成",
        "第 6 行：经纬度“116.4, 39.9”不是中国境内的坐标",
        "第 8 行：住址为空",
        "共 6 行：新增 2，更新 0，无变化 0，有错 4",
        "试运行：没有写入任何记录",
    ):
        assert expected in out, (expected, out)
    assert "第 2 行：" not in out and "第 3 行：" not in out
    assert rows(url, elders) == []

    # Errors and no --skip-bad: nothing is written.
    code, out = anxin(["import", "elders", str(book), "--station", "1"], url)
    assert code == 1 and "未导入任何记录" in out, out
    assert rows(url, elders) == []

    code, out = anxin(["import", "elders", str(book), "--station", "1", "--skip-bad"], url)
    assert code == 0 and "新增 2" in out, out
    assert "1 位老人的住址未能定位" in out and "第 3 行 李德明：红庙北里3号楼101" in out, out
    found = {e.id_number: e for e in rows(url, elders)}
    assert sorted(found) == sorted([GOOD_1, GOOD_2])
    zhang, li = found[GOOD_1], found[GOOD_2]
    assert (zhang.name, zhang.phone, zhang.categories) == (
        "张桂兰",
        "13512345678",
        ["低保", "高龄"],
    )
    assert zhang.contacts == [
        {"name": "张伟", "relation": "儿子", "phone": "13912345678", "order": 1}
    ]
    assert (zhang.lat, zhang.lng, zhang.location_pending) == (39.925, 116.447, False)
    assert (zhang.sex, zhang.birth_date) == ("M" if int(GOOD_1[16]) % 2 else "F", "1940-03-08")
    assert li.phone == "13500001111" and li.location_pending is True
    assert (li.lat, li.lng) == (39.9219, 116.4436)  # at the station until it is set

    # The corrected list again: found by ID number, the changed file updated, no one twice.
    fixed = [r[:] for r in LIST[:2]]
    fixed[1][3] = "13500002222"
    fixed[1][7], fixed[1][8] = 39.93, 116.45
    code, out = anxin(
        ["import", "elders", str(_xlsx(tmp_path / "v2.xlsx", fixed)), "--station", "1"], url
    )
    assert code == 0 and "共 2 行：新增 0，更新 1，无变化 1，有错 0" in out, out
    assert "未能定位" not in out
    li = {e.id_number: e for e in rows(url, elders)}[GOOD_2]
    assert (li.phone, li.lat, li.location_pending) == ("13500002222", 39.93, False)
    assert len(rows(url, elders)) == 2


def test_a_csv_saved_by_excel_in_china_and_a_file_that_is_not_a_list(
    station: str, tmp_path: Path
) -> None:
    url = station
    csv_file = tmp_path / "名单.csv"
    csv_file.write_bytes(
        (
            "姓名,身份证号,手机号,住址,类别,联系人,联系人关系,联系人电话\r\n"
            f"赵凤英,{GOOD_3},13512340000,金台路7号,特困,赵强,儿子,13812340000\r\n"
        ).encode("gb18030")
    )
    code, out = anxin(["import", "elders", str(csv_file), "--station", "1"], url)
    assert code == 0 and "新增 1" in out, out
    (e,) = rows(url, elders)
    assert e.contacts == [{"name": "赵强", "relation": "儿子", "phone": "13812340000", "order": 1}]
    bad = tmp_path / "list.txt"
    bad.write_text("x")
    code, out = anxin(["import", "elders", str(bad), "--station", "1"], url)
    assert code == 1 and "只能导入 .xlsx 或 .csv 文件" in out
    headless = tmp_path / "h.csv"
    headless.write_text("姓名,电话\n王五,13500000000\n", encoding="utf-8")
    code, out = anxin(["import", "elders", str(headless), "--station", "1"], url)
    assert code == 1 and "表头缺少“身份证号、住址”列" in out, out
    code, out = anxin(["import", "elders", str(csv_file), "--station", "9"], url)
    assert code == 1 and "没有编号为 9 的服务站" in out, out
