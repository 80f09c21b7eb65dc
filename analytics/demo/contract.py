"""The data contract as the demo sees it: each kind's fields, keys and the defects that
suit it (``KINDS``), and the header variants departments use (``HEADERS``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KindSpec:
    """What the contract says about one kind, plus which defects suit it."""

    kind: str
    cn: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...] = ("id_number",)
    id_field: str | None = "id_number"
    dates: tuple[str, ...] = ()
    required_dates: tuple[str, ...] = ()
    ints: tuple[str, ...] = ()
    required_enums: dict[str, str] = field(default_factory=dict)  # field -> an unknown value
    # optional closed field -> (values that may be made unreadable without changing meaning, bad value)
    optional_enums: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    conflict_field: str | None = None
    optional_date_warn: str | None = None
    address_field: str | None = None
    name_mismatch: bool = True


KINDS: dict[str, KindSpec] = {
    s.kind: s
    for s in (
        KindSpec(
            "hukou",
            "户籍人口",
            ("id_number", "name", "gender", "address_code", "address", "status"),
            ("id_number", "name", "address_code"),
            optional_enums={"status": (("正常",), "不详"), "gender": (("男", "女"), "未说明")},
            conflict_field="address_code",
            address_field="address_code",
            name_mismatch=False,
        ),
        KindSpec(
            "residence",
            "居住证",
            ("id_number", "name", "address_code", "address"),
            ("id_number", "name", "address_code"),
            conflict_field="address_code",
            address_field="address_code",
            name_mismatch=False,
        ),
        KindSpec(
            "death",
            "死亡人员",
            ("id_number", "name", "death_date"),
            ("id_number",),
            dates=("death_date",),
            conflict_field="death_date",
            optional_date_warn="death_date",
        ),
        KindSpec(
            "pension_enrollment",
            "养老保险参保",
            (
                "id_number",
                "name",
                "scheme",
                "status",
                "region_code",
                "start_date",
                "grade",
                "base",
                "employer_uscc",
            ),
            ("id_number", "scheme", "status", "region_code"),
            key=("id_number", "scheme", "region_code"),
            dates=("start_date",),
            ints=("grade", "base"),
            required_enums={"scheme": "其他险种", "status": "待核实"},
            conflict_field="status",
            optional_date_warn="start_date",
            address_field="region_code",
        ),
        KindSpec(
            "market_entity",
            "市场主体",
            (
                "uscc",
                "entity_name",
                "entity_type",
                "operator_id_number",
                "status",
                "established_date",
                "address_code",
                "employees",
            ),
            ("uscc", "entity_name", "entity_type", "operator_id_number"),
            key=("uscc",),
            id_field="operator_id_number",
            dates=("established_date",),
            ints=("employees",),
            optional_enums={"status": (("存续", "在业"), "待核实")},
            conflict_field="employees",
            optional_date_warn="established_date",
            name_mismatch=False,
        ),
        KindSpec(
            "taxpayer",
            "纳税主体",
            ("uscc", "taxpayer_name", "tax_status", "annual_revenue", "employees"),
            ("uscc", "tax_status"),
            key=("uscc",),
            id_field=None,
            ints=("annual_revenue", "employees"),
            required_enums={"tax_status": "待核实"},
            conflict_field="tax_status",
            name_mismatch=False,
        ),
        KindSpec(
            "student",
            "在校生",
            ("id_number", "name", "school"),
            ("id_number",),
            conflict_field="school",
        ),
        KindSpec(
            "inmate",
            "服刑人员",
            ("id_number", "name", "release_date"),
            ("id_number",),
            dates=("release_date",),
            conflict_field="release_date",
            name_mismatch=False,
        ),
        KindSpec(
            "dibao",
            "低保",
            ("id_number", "name", "category"),
            ("id_number",),
            conflict_field="category",
        ),
        KindSpec("tekun", "特困", ("id_number", "name"), ("id_number",)),
        KindSpec(
            "fanpin",
            "防返贫监测",
            ("id_number", "name", "monitor_type"),
            ("id_number",),
            conflict_field="monitor_type",
        ),
        KindSpec(
            "disability",
            "残疾人",
            ("id_number", "name", "disability_type", "disability_level"),
            ("id_number", "disability_level"),
            required_enums={"disability_level": "五级"},
            conflict_field="disability_type",
        ),
        KindSpec(
            "landless",
            "被征地农民",
            ("id_number", "name", "expropriation_date"),
            ("id_number",),
            dates=("expropriation_date",),
            conflict_field="expropriation_date",
            optional_date_warn="expropriation_date",
        ),
        KindSpec(
            "migrant_worker",
            "转移就业",
            (
                "id_number",
                "name",
                "employment_start",
                "employment_type",
                "monthly_income",
                "workplace",
            ),
            ("id_number", "employment_start"),
            dates=("employment_start",),
            required_dates=("employment_start",),
            ints=("monthly_income",),
            conflict_field="monthly_income",
        ),
        KindSpec(
            "platform_worker",
            "新就业形态",
            ("id_number", "name", "occupation", "platform", "start_date", "monthly_income"),
            ("id_number", "occupation"),
            key=("id_number", "occupation", "platform"),
            dates=("start_date",),
            ints=("monthly_income",),
            conflict_field="monthly_income",
            optional_date_warn="start_date",
        ),
        KindSpec(
            "licensed_professional",
            "执业资格",
            ("id_number", "name", "profession", "practice_type", "institution"),
            ("id_number", "profession"),
            key=("id_number", "profession"),
            optional_enums={"practice_type": (("专职",), "其他")},
            conflict_field="institution",
        ),
        KindSpec(
            "income_assets",
            "收入资产",
            ("id_number", "name", "annual_income", "properties", "vehicles"),
            ("id_number",),
            ints=("annual_income", "properties", "vehicles"),
            conflict_field="vehicles",
        ),
        KindSpec(
            "other_eligible",
            "其他应参人员",
            ("id_number", "name", "category", "employer"),
            ("id_number", "category"),
            key=("id_number", "category"),
            required_enums={"category": "其他人员"},
            conflict_field="employer",
        ),
        KindSpec(
            "division",
            "行政区划",
            ("code", "name"),
            ("code", "name"),
            key=("code",),
            id_field=None,
            name_mismatch=False,
        ),
        KindSpec(
            "survey",
            "入户调查",
            (
                "id_number",
                "name",
                "survey_date",
                "result",
                "willingness",
                "reason",
                "ability_to_pay",
                "phone",
                "surveyor",
            ),
            ("id_number", "survey_date", "result"),
            key=("id_number", "survey_date"),
            dates=("survey_date",),
            required_dates=("survey_date",),
            required_enums={"result": "不详"},
            optional_enums={"ability_to_pay": (("强", "一般", "弱"), "不清楚")},
            conflict_field="result",
        ),
    )
}


# Header variants per kind (contract synonyms); a file uses one variant, chosen by year.
HEADERS: dict[str, tuple[dict[str, str], ...]] = {
    "hukou": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "gender": "性别",
            "address_code": "户籍地址编码",
            "address": "户籍地址",
            "status": "人口状态",
        },
        {
            "id_number": "公民身份号码",
            "name": "姓名",
            "gender": "性别",
            "address_code": "区划代码",
            "address": "住址",
            "status": "人口状态",
        },
        {
            "id_number": "身份证号码",
            "name": "人员姓名",
            "gender": "性别",
            "address_code": "村居编码",
            "address": "户籍地址",
            "status": "人口状态",
        },
    ),
    "residence": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "address_code": "居住地址编码",
            "address": "居住地址",
        },
        {
            "id_number": "证件号码",
            "name": "名字",
            "address_code": "社区编码",
            "address": "居住地址",
        },
        {
            "id_number": "公民身份号码",
            "name": "姓名",
            "address_code": "区划代码",
            "address": "居住地址",
        },
    ),
    "death": (
        {"id_number": "身份证号码", "name": "姓名", "death_date": "死亡日期"},
        {"id_number": "公民身份号码", "name": "人员姓名", "death_date": "死亡日期"},
    ),
    "pension_enrollment": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "scheme": "险种",
            "status": "参保状态",
            "region_code": "参保地",
            "start_date": "参保日期",
            "grade": "缴费档次",
            "base": "缴费基数",
            "employer_uscc": "单位统一社会信用代码",
        },
        {
            "id_number": "公民身份号码",
            "name": "人员姓名",
            "scheme": "险种类型",
            "status": "缴费状态",
            "region_code": "参保统筹区",
            "start_date": "首次参保日期",
            "grade": "缴费档次",
            "base": "缴费基数",
            "employer_uscc": "单位信用代码",
        },
        {
            "id_number": "社会保障号码",
            "name": "姓名",
            "scheme": "险种类型",
            "status": "参保状态",
            "region_code": "参保地区划",
            "start_date": "参保日期",
            "grade": "缴费档次",
            "base": "缴费基数",
            "employer_uscc": "单位统一社会信用代码",
        },
    ),
    "market_entity": (
        {
            "uscc": "统一社会信用代码",
            "entity_name": "主体名称",
            "entity_type": "主体类型",
            "operator_id_number": "经营者身份证号",
            "status": "登记状态",
            "established_date": "成立日期",
            "address_code": "住所区划代码",
            "employees": "从业人数",
        },
        {
            "uscc": "信用代码",
            "entity_name": "企业名称",
            "entity_type": "企业类型",
            "operator_id_number": "法定代表人身份证号",
            "status": "登记状态",
            "established_date": "成立日期",
            "address_code": "区划代码",
            "employees": "从业人数",
        },
        {
            "uscc": "统一社会信用代码",
            "entity_name": "字号名称",
            "entity_type": "主体类型",
            "operator_id_number": "负责人证件号码",
            "status": "登记状态",
            "established_date": "成立日期",
            "address_code": "社区编码",
            "employees": "从业人数",
        },
    ),
    "taxpayer": (
        {
            "uscc": "纳税人识别号",
            "taxpayer_name": "纳税人名称",
            "tax_status": "纳税人状态",
            "annual_revenue": "年营业收入",
            "employees": "从业人数",
        },
        {
            "uscc": "统一社会信用代码",
            "taxpayer_name": "纳税人名称",
            "tax_status": "纳税状态",
            "annual_revenue": "营业收入",
            "employees": "从业人数",
        },
    ),
    "student": (
        {"id_number": "身份证号", "name": "姓名", "school": "学校"},
        {"id_number": "证件号码", "name": "姓名", "school": "学校名称"},
    ),
    "inmate": (
        {"id_number": "身份证号码", "name": "姓名", "release_date": "刑满日期"},
        {"id_number": "公民身份号码", "name": "人员姓名", "release_date": "刑满日期"},
    ),
    "dibao": (
        {"name": "姓名", "id_number": "身份证号", "category": "低保类别"},
        {"name": "姓名", "id_number": "身份证号码", "category": "低保类别"},
    ),
    "tekun": (
        {"name": "姓名", "id_number": "身份证号码"},
        {"name": "人员姓名", "id_number": "公民身份号码"},
    ),
    "fanpin": (
        {"name": "姓名", "id_number": "身份证号", "monitor_type": "监测类型"},
        {"name": "名字", "id_number": "证件号码", "monitor_type": "监测类型"},
    ),
    "disability": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "disability_type": "残疾类别",
            "disability_level": "残疾等级",
        },
        {
            "name": "人员姓名",
            "id_number": "证件号码",
            "disability_type": "残疾类别",
            "disability_level": "残疾等级",
        },
    ),
    "landless": (
        {"name": "姓名", "id_number": "身份证号码", "expropriation_date": "征地时间"},
        {"name": "姓名", "id_number": "社会保障号码", "expropriation_date": "征地时间"},
    ),
    "migrant_worker": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "employment_start": "就业开始时间",
            "employment_type": "就业形式",
            "monthly_income": "月收入",
            "workplace": "务工地点",
        },
        {
            "name": "姓名",
            "id_number": "公民身份号码",
            "employment_start": "务工开始时间",
            "employment_type": "就业形式",
            "monthly_income": "月收入",
            "workplace": "务工地点",
        },
    ),
    "platform_worker": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "occupation": "职业",
            "platform": "平台",
            "start_date": "注册日期",
            "monthly_income": "月均收入",
        },
        {
            "name": "姓名",
            "id_number": "证件号码",
            "occupation": "从业类型",
            "platform": "平台企业",
            "start_date": "从业开始时间",
            "monthly_income": "月均收入",
        },
    ),
    "licensed_professional": (
        {
            "name": "姓名",
            "id_number": "身份证号码",
            "profession": "执业类别",
            "practice_type": "执业类型",
            "institution": "执业机构",
        },
        {
            "name": "姓名",
            "id_number": "身份证号",
            "profession": "职业",
            "practice_type": "执业类型",
            "institution": "执业机构",
        },
    ),
    "income_assets": (
        {
            "id_number": "身份证号",
            "name": "姓名",
            "annual_income": "年收入",
            "properties": "房产套数",
            "vehicles": "车辆数",
        },
        {
            "id_number": "公民身份号码",
            "name": "姓名",
            "annual_income": "年度收入",
            "properties": "房产套数",
            "vehicles": "车辆数",
        },
    ),
    "other_eligible": (
        {"name": "姓名", "id_number": "身份证号", "category": "人员类别", "employer": "工作单位"},
        {"name": "人员姓名", "id_number": "证件号码", "category": "人员类别", "employer": "单位"},
    ),
    "division": (
        {"code": "区划代码", "name": "区划名称"},
        {"code": "统计用区划代码", "name": "名称"},
        {"code": "代码", "name": "单位名称"},
    ),
    "survey": (
        {
            "name": "姓名",
            "id_number": "身份证号",
            "survey_date": "调查日期",
            "result": "调查结果",
            "willingness": "参保意愿",
            "reason": "未参保原因",
            "ability_to_pay": "缴费能力",
            "phone": "联系电话",
            "surveyor": "调查人",
        },
        {
            "name": "姓名",
            "id_number": "公民身份号码",
            "survey_date": "走访日期",
            "result": "调查结果",
            "willingness": "参保意愿",
            "reason": "未参保原因",
            "ability_to_pay": "缴费能力",
            "phone": "联系电话",
            "surveyor": "调查人",
        },
    ),
}
