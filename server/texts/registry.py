"""The registry: family bindings, stations, caregivers, elders, and their accounts."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "push.binding.confirmed": ("家属绑定已确认", "Your family binding was confirmed"),
    "push.binding.requested": ("有家属申请绑定", "A family member asked to be bound"),
    # The name of a family account made at its first WeChat sign-in (stored, in Chinese).
    "account.wechat_user": ("微信用户", "WeChat user"),
    # The first start: `anxin admin ...` and `anxin import elders` (server/registry/flows/).
    "import.row": ("第 {row} 行：{what}", "row {row}: {what}"),
    "import.no_header": (
        "第 1 行应是表头（姓名、身份证号、手机号、住址、类别、联系人）",
        "row 1 must be the header (name, ID number, mobile, address, category, contacts)",
    ),
    "import.missing_column": ("表头缺少“{column}”列", "the header has no '{column}' column"),
    "import.empty_file": ("文件里没有老人（表头下没有数据行）", "the file holds no elders"),
    "import.name_missing": ("姓名为空", "the name is empty"),
    "import.name_too_long": ("姓名超过 50 个字", "the name is longer than 50 characters"),
    "import.id_missing": ("身份证号为空", "the ID number is empty"),
    "import.id_as_number": (
        "身份证号被存成了数字，后几位已丢失；请把这一列设为“文本”后重新填写",
        "the ID number was stored as a number and lost its last digits; format the column as "
        "text and type it again",
    ),
    "import.id_format": (
        "身份证号“{value}”应为 18 位：17 位数字加一位数字或 X",
        "ID number '{value}' must be 18 characters: 17 digits and a digit or X",
    ),
    "import.id_check": (
        "身份证号“{value}”最后一位校验码不对（按前 17 位应为 {expected}），请核对",
        "ID number '{value}' has a wrong check character (the first 17 give {expected})",
    ),
    "import.id_birth": (
        "身份证号“{value}”中的出生日期不存在",
        "ID number '{value}' holds an impossible birth date",
    ),
    "import.id_repeated": (
        "身份证号与第 {first} 行重复",
        "the ID number repeats row {first}",
    ),
    "import.id_other_station": (
        "该身份证号已登记在其他服务站（{station}），不能导入到本站",
        "this ID number is registered at another station ({station})",
    ),
    "import.mobile": (
        "手机号“{value}”应为 11 位、以 13–19 开头（座机请带区号或填在“座机”列）",
        "mobile '{value}' must be 11 digits starting 13-19 (a fixed line goes in 座机)",
    ),
    "import.landline": (
        "座机“{value}”应为 7–8 位，或带区号（010-65550000）",
        "fixed line '{value}' must be 7-8 digits, or with its area code (010-65550000)",
    ),
    "import.address_missing": ("住址为空", "the address is empty"),
    "import.address_too_long": ("住址超过 200 个字", "the address is longer than 200 characters"),
    "import.category_unknown": (
        "类别“{value}”不认识（可填：{known}）",
        "category '{value}' is unknown (known: {known})",
    ),
    "import.contact_bad": (
        "联系人“{value}”应写成“姓名 关系 手机号”，如“张伟 儿子 13912345678”",
        "contact '{value}' must read 'name relation mobile'",
    ),
    "import.contact_phone": (
        "联系人“{name}”的手机号“{value}”应为 11 位",
        "contact {name}'s mobile '{value}' must be 11 digits",
    ),
    "import.coords": (
        "经纬度“{value}”不是中国境内的坐标（纬度 3–54，经度 73–136）",
        "coordinates '{value}' are not in China (lat 3-54, lng 73-136)",
    ),
    "import.unreadable": ("读不了文件 {path}：{reason}", "cannot read {path}: {reason}"),
    "import.file_type": (
        "只能导入 .xlsx 或 .csv 文件（{path}）",
        "only .xlsx or .csv files can be imported ({path})",
    ),
    "import.station_missing": (
        "没有编号为 {station} 的服务站；先运行 anxin admin create-station",
        "no station {station}; run `anxin admin create-station` first",
    ),
    "import.summary": (
        "共 {rows} 行：新增 {created}，更新 {updated}，无变化 {unchanged}，有错 {bad}",
        "{rows} rows: {created} new, {updated} updated, {unchanged} unchanged, {bad} with errors",
    ),
    "import.dry_run": ("试运行：没有写入任何记录", "dry run: nothing was written"),
    "import.refused": (
        "有 {bad} 行有错误，未导入任何记录；改正后重试，或加 --skip-bad 只导入正确的行",
        "{bad} rows have errors and nothing was imported; fix them, or pass --skip-bad to "
        "import the correct rows only",
    ),
    "import.needs_location": (
        "{n} 位老人的住址未能定位，已先放在服务站的位置，请在档案中补上位置：",
        "{n} elders' addresses could not be located; they stand at the station until their "
        "location is set in their file:",
    ),
    "import.needs_location_row": ("第 {row} 行 {name}：{address}", "row {row} {name}: {address}"),
    "admin.station_created": (
        "已建服务站 {name}（编号 {id}）。下一步：anxin admin create-user --role operator "
        "--station {id} ...",
        "created station {name} (id {id}). Next: anxin admin create-user --role operator "
        "--station {id} ...",
    ),
    "admin.user_created": (
        "已建{role}账号 {login}（用户编号 {id}）",
        "created the {role} account {login} (user id {id})",
    ),
    "admin.password_short": (
        "密码至少 {n} 个字符",
        "the password needs at least {n} characters",
    ),
    "admin.password_weak": (
        "这个密码不能用（演示密码、与登录名相同或过于简单）",
        "this password may not be used (the demo's, the login name, or too simple)",
    ),
    "admin.password_mismatch": ("两次输入的密码不一致", "the two passwords differ"),
    "admin.password_missing": (
        "需要密码：在终端里运行会提示输入，或用 --password-env 变量名 / --password-stdin",
        "a password is needed: run it in a terminal to be asked, or pass --password-env NAME "
        "or --password-stdin",
    ),
    "admin.password_prompt": ("密码：", "Password: "),
    "admin.password_again": ("再输一次：", "Again: "),
    "admin.needs_station": (
        "{role} 账号需要 --station 服务站编号",
        "a {role} account needs --station",
    ),
    "admin.needs_phone": (
        "护理员账号需要 --phone 手机号（护理员用它登录）",
        "a caregiver account needs --phone (they sign in with it)",
    ),
    "admin.needs_district": (
        "审核员账号需要 --district 区（街道审核员再加 --street 街道）",
        "an officer account needs --district (and --street for a street officer)",
    ),
}


# The street office's elder list: each column and the headings it goes by (the first is the
# one the error messages name). Contacts are one column ("张伟 儿子 13912345678", several
# separated by ；) or three (联系人, 联系人关系, 联系人电话).
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "老人姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number"),
    "phone": ("手机号", "手机", "联系电话", "电话", "mobile", "phone"),
    "landline": ("座机", "固定电话", "家庭电话", "landline"),
    "address": ("住址", "地址", "家庭住址", "居住地址", "address"),
    "category": ("类别", "人员类别", "category", "categories"),
    "contacts": ("联系人", "紧急联系人", "contacts"),
    "contact_relation": ("联系人关系", "关系", "contact_relation"),
    "contact_phone": ("联系人电话", "联系人手机", "contact_phone"),
    "lat": ("纬度", "lat"),
    "lng": ("经度", "lng"),
}
IMPORT_REQUIRED = ("name", "id_number", "address")
# A relation when the list gives only a contact's name and number.
DEFAULT_RELATION = "家属"
ROLE_NAMES = {
    "operator": ("调度员", "operator"),
    "caregiver": ("护理员", "caregiver"),
    "street_officer": ("街道审核员", "street officer"),
    "district_officer": ("区民政审核员", "district officer"),
    "admin": ("管理员", "administrator"),
}
