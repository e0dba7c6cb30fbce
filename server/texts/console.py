"""The console and the phone pages: panels, labels and notifications."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    # The console of an empty database (no station yet): what to run to start one.
    "first_start.title": ("安心 · 还没有服务站", "Anxin · no station yet"),
    "first_start.heading": ("还没有服务站", "No station yet"),
    "first_start.lead": (
        "这个数据库里还没有服务站，调度台没有可显示的内容。在服务器上依次运行下面的命令，"
        "建好服务站和账号、导入街道的老人名单，然后刷新本页登录。",
        "This database holds no station yet, so the console has nothing to show. Run these "
        "commands on the server to create the station and its accounts and to load the street "
        "office's elder list, then reload this page and sign in.",
    ),
    "first_start.step_station": ("1. 建服务站（坐标为 GCJ-02）", "1. Create the station (GCJ-02)"),
    "first_start.step_users": (
        "2. 建账号（会提示输入密码）",
        "2. Create the accounts (asks for passwords)",
    ),
    "first_start.step_elders": (
        "3. 导入老人名单：先试运行，逐行列出错误，改正后再正式导入",
        "3. Load the elder list: a dry run lists every row's errors; then import",
    ),
    "first_start.demo": (
        "只想看看？运行 make demo（或 anxin demo）会建一个演示服务站，用 operator / anxin1234 登录。",
        "Just looking? `make demo` (or `anxin demo`) seeds a demo station; sign in as "
        "operator / anxin1234.",
    ),
}

# The commands the empty console shows (not translated: they are typed as they are).
FIRST_START_COMMANDS = {
    "first_start.step_station": (
        "anxin admin create-station --name 仓红社区养老服务站 --lat 39.9219 --lng 116.4436 \\\n"
        "    --address 北京市朝阳区仓红社区1号 --phone 13800138000"
    ),
    "first_start.step_users": (
        "anxin admin create-user --role admin --username root --name 管理员\n"
        "anxin admin create-user --role operator --station 1 --username liqing --name 李青\n"
        "anxin admin create-user --role caregiver --station 1 --username wangfang --name 王芳 "
        "--phone 13900000001"
    ),
    "first_start.step_elders": (
        "anxin import elders 老人名单.xlsx --station 1 --dry-run\n"
        "anxin import elders 老人名单.xlsx --station 1"
    ),
}
