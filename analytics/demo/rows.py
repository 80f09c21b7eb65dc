"""Clean rows of each kind at a quarter end: what a department's list says about the world."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.demo.frames import _frame, _ints
from analytics.demo.reference import (
    _EMPLOYMENT_TYPES,
    _ENT,
    _HK_NONE,
    _OTHER_PENSION_REGIONS,
    _RES,
    _SCHEMES,
    _SCHOOLS,
    _STATUSES,
    _T,
    _TRADE_NAMES,
    _WORKPLACES,
    REGION_CODE,
    REGION_NAME,
)
from analytics.demo.world import World


def person_frame(w: World, idx: np.ndarray, **cols) -> pd.DataFrame:
    return _frame({"id_number": w.ids[idx], "name": w.names[idx], **cols, "_pi": idx})


def pension_rows(w: World, t: int) -> pd.DataFrame:
    rng = w.rng
    regions = np.array((REGION_CODE,) + _OTHER_PENSION_REGIONS)

    def region_text(reg: np.ndarray, long: np.ndarray) -> np.ndarray:
        code = regions[reg]
        if not len(reg):
            return code
        twelve = np.char.add(
            code,
            np.char.add(
                np.char.zfill((reg % 7 + 1).astype(str), 3),
                np.char.zfill((reg * 3 % 17 + 1).astype(str), 3),
            ),
        )
        return np.where(long & (reg > 0), twelve, code)

    parts = []
    prim = np.flatnonzero(w.sch > 0)
    uscc = np.concatenate([w.entities.table.uscc.to_numpy(), w.ext_usccs])
    emp = w.employer[prim]
    emp_code = np.where(
        emp >= 0,
        uscc[np.maximum(emp, 0)],
        np.where(emp <= -2, uscc[len(w.entities.table) + np.maximum(-2 - emp, 0)], ""),
    )
    sch = w.sch[prim]
    parts.append(
        _frame(
            {
                "scheme": np.array(_SCHEMES)[sch],
                "status": np.array(_STATUSES)[w.st[prim]],
                "region_code": region_text(w.reg[prim], w.reg12[prim]),
                "start_date": w.start[prim],
                "grade": _ints(w.grade[prim], sch == _RES),
                "base": _ints(w.base[prim], sch >= _ENT),
                "employer_uscc": np.where(sch == _ENT, emp_code, ""),
                "_pi": prim,
            }
        )
    )
    dup = np.flatnonzero(w.dst > 0)
    parts.append(
        _frame(
            {
                "scheme": np.array(_SCHEMES)[w.dsch[dup]],
                "status": np.array(_STATUSES)[w.dst[dup]],
                "region_code": region_text(w.dreg[dup], np.zeros(len(dup), dtype=bool)),
                "start_date": np.full(len(dup), np.datetime64("NaT"), dtype="datetime64[D]"),
                "grade": _ints(np.full(len(dup), 200)),
                "base": "",
                "employer_uscc": "",
                "_pi": dup,
            }
        )
    )
    term = np.flatnonzero(
        (w.tsch > 0)
        & ~((w.tsch == w.sch) & (w.treg == w.reg))
        & ~((w.tsch == w.dsch) & (w.treg == w.dreg))
    )
    parts.append(
        _frame(
            {
                "scheme": np.array(_SCHEMES)[w.tsch[term]],
                "status": _STATUSES[_T],
                "region_code": region_text(w.treg[term], np.zeros(len(term), dtype=bool)),
                "start_date": np.full(len(term), np.datetime64("NaT"), dtype="datetime64[D]"),
                "grade": "",
                "base": "",
                "employer_uscc": "",
                "_pi": term,
            }
        )
    )
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "id_number", w.ids[df._pi])
    df.insert(1, "name", w.names[df._pi])
    df["start_date"] = df.start_date.astype("datetime64[ns]")
    # Departments sort by person; keep a person's rows together in a random person order.
    order = rng.permutation(w.n)
    return df.iloc[np.argsort(order[df._pi.to_numpy()], kind="stable")].reset_index(drop=True)


def death_rows(w: World, t: int) -> pd.DataFrame:
    idx = np.flatnonzero(w.death_q == t)
    dates = w.death_date[idx].copy()
    dates[w.rng.random(len(idx)) < 0.05] = np.datetime64("NaT")
    return person_frame(w, idx, death_date=dates.astype("datetime64[ns]"))


def division_rows(w: World, y: int) -> pd.DataFrame:
    g = w.geo
    return _frame(
        {
            "code": [REGION_CODE, *g.streets.code, *g.communities.code],
            "name": [REGION_NAME, *g.streets.name, *g.communities.name],
            "_pi": -1,
        }
    )


def hukou_rows(w: World, y: int) -> pd.DataFrame:
    hk = w.years[y].hukou_status
    idx = np.flatnonzero(hk != _HK_NONE)
    comm = w.people.comm.to_numpy()[idx]
    c = w.geo.communities
    num = w.rng.integers(1, 200, len(idx)).astype(str)
    address = (
        REGION_NAME
        + c.street_name.to_numpy()[comm]
        + c.name.to_numpy()[comm]
        + np.where(c.urban.to_numpy()[comm], np.char.add(num, "栋"), np.char.add(num, "号"))
    )
    return person_frame(
        w,
        idx,
        gender=np.where(w.male[idx], "男", "女"),
        address_code=w.comm_codes[comm],
        address=address,
        status=np.array(["正常", "死亡", "迁出"])[hk[idx]],
    )


def residence_rows(w: World, y: int) -> pd.DataFrame:
    idx = np.flatnonzero(w.years[y].residence)
    comm = w.people.res_comm.to_numpy()[idx]
    c = w.geo.communities
    address = REGION_NAME + c.street_name.to_numpy()[comm] + c.name.to_numpy()[comm] + "出租屋"
    return person_frame(w, idx, address_code=w.comm_codes[comm], address=address)


def market_entity_rows(w: World, y: int) -> pd.DataFrame:
    e = w.entities
    idx = np.flatnonzero(e.status[:, y] != "")
    tab = e.table.iloc[idx]
    code = w.comm_codes[tab.comm.to_numpy()]
    code = np.where(w.rng.random(len(idx)) < 0.05, "", code)
    return _frame(
        {
            "uscc": tab.uscc.to_numpy(),
            "entity_name": tab.entity_name.to_numpy(),
            "entity_type": tab.entity_type.to_numpy(),
            "operator_id_number": w.ids[tab.operator.to_numpy()],
            "status": e.status[idx, y],
            "established_date": tab.established.to_numpy().astype("datetime64[ns]"),
            "address_code": code,
            "employees": _ints(tab.employees.to_numpy()),
            "_pi": tab.operator.to_numpy(),
        }
    )


def taxpayer_rows(w: World, y: int) -> pd.DataFrame:
    e = w.entities
    idx = np.flatnonzero(e.tax_status[:, y] != "")
    tab = e.table.iloc[idx]
    revenue = np.round(tab.employees.to_numpy() * w.rng.lognormal(11.5, 0.5, len(idx)), -2)
    return _frame(
        {
            "uscc": tab.uscc.to_numpy(),
            "taxpayer_name": tab.entity_name.to_numpy(),
            "tax_status": e.tax_status[idx, y],
            "annual_revenue": _ints(revenue),
            "employees": _ints(tab.employees.to_numpy()),
            "_pi": -1,
        }
    )


def student_rows(w: World, y: int) -> pd.DataFrame:
    idx = np.flatnonzero(w.years[y].student)
    age = w.age(4 * y)[idx]
    school = np.where(
        age < 19,
        _SCHOOLS[w.rng.integers(0, 3, len(idx))],
        _SCHOOLS[w.rng.integers(3, len(_SCHOOLS), len(idx))],
    )
    return person_frame(w, idx, school=school)


def inmate_rows(w: World, y: int) -> pd.DataFrame:
    rel = w.years[y].inmate_release
    idx = np.flatnonzero(~np.isnat(rel))
    return person_frame(w, idx, release_date=rel[idx].astype("datetime64[ns]"))


def members(w: World, kind: str, y: int) -> np.ndarray:
    return np.flatnonzero(w.latent.member[kind][:, y] & w.years[y].present)


def dibao_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "dibao", y)
    return person_frame(w, idx, category=np.where(w.urban[idx], "城市低保", "农村低保"))


def tekun_rows(w: World, y: int) -> pd.DataFrame:
    return person_frame(w, members(w, "tekun", y))


def fanpin_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "fanpin", y)
    return person_frame(w, idx, monitor_type=w.latent.attrs["monitor_type"][idx])


def disability_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "disability", y)
    a = w.latent.attrs
    return person_frame(
        w,
        idx,
        disability_type=a["disability_type"][idx],
        disability_level=a["disability_level"][idx],
    )


def landless_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "landless", y)
    return person_frame(
        w,
        idx,
        expropriation_date=w.latent.attrs["expropriation_date"][idx].astype("datetime64[ns]"),
    )


def migrant_worker_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "migrant_worker", y)
    k = len(idx)
    return person_frame(
        w,
        idx,
        employment_start=w.years[y].migrant_start[idx].astype("datetime64[ns]"),
        employment_type=_EMPLOYMENT_TYPES[w.rng.choice(4, k, p=[0.7, 0.2, 0.07, 0.03])],
        monthly_income=_ints(np.round(w.rng.uniform(2500, 8000, k), -2)),
        workplace=_WORKPLACES[w.rng.integers(0, len(_WORKPLACES), k)],
    )


def platform_worker_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "platform_worker", y)
    a = w.latent.attrs
    start = a["platform_start"][idx].copy()
    start[w.rng.random(len(idx)) < 0.1] = np.datetime64("NaT")
    return person_frame(
        w,
        idx,
        occupation=a["occupation"][idx],
        platform=a["platform"][idx],
        start_date=start.astype("datetime64[ns]"),
        monthly_income=_ints(np.round(w.rng.uniform(3000, 9000, len(idx)), -2)),
    )


def licensed_professional_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "licensed_professional", y)
    a = w.latent.attrs
    prof = a["profession"][idx]
    firm = np.array(_TRADE_NAMES)[idx % len(_TRADE_NAMES)]
    inst = np.where(
        prof == "律师",
        np.char.add(np.char.add("云南", firm), "律师事务所"),
        np.char.add(np.char.add(REGION_NAME, firm), "旅行社"),
    )
    inst = np.where(a["practice_type"][idx] == "自由职业", "", inst)
    return person_frame(
        w, idx, profession=prof, practice_type=a["practice_type"][idx], institution=inst
    )


def income_assets_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "income_assets", y)
    a = w.latent.attrs
    return person_frame(
        w,
        idx,
        annual_income=_ints(w.years[y].annual_income[idx]),
        properties=_ints(a["properties"][idx]),
        vehicles=_ints(a["vehicles"][idx]),
    )


def other_eligible_rows(w: World, y: int) -> pd.DataFrame:
    idx = members(w, "other_eligible", y)
    cat = w.latent.attrs["category"][idx]
    comm = w.geo.communities.name.to_numpy()[w.people.comm.to_numpy()[idx]]
    employer = np.select(
        [
            cat == "村社区干部",
            cat == "乡村医生",
            cat == "基层服务项目高校毕业生",
            cat == "民办学校教职工",
        ],
        [
            np.char.add(comm.astype(str), "委员会"),
            np.char.add(comm.astype(str), "卫生室"),
            np.full(len(idx), "示例市（三支一扶）"),
            np.full(len(idx), "示例市育才民办学校"),
        ],
        default="示例市人民医院",
    )
    return person_frame(w, idx, category=cat, employer=employer)


# The yearly kinds, in the order their files are written (and their random numbers drawn).
YEARLY_ROWS = {
    "division": division_rows,
    "hukou": hukou_rows,
    "residence": residence_rows,
    "market_entity": market_entity_rows,
    "taxpayer": taxpayer_rows,
    "student": student_rows,
    "inmate": inmate_rows,
    "dibao": dibao_rows,
    "tekun": tekun_rows,
    "fanpin": fanpin_rows,
    "disability": disability_rows,
    "landless": landless_rows,
    "migrant_worker": migrant_worker_rows,
    "platform_worker": platform_worker_rows,
    "licensed_professional": licensed_professional_rows,
    "income_assets": income_assets_rows,
    "other_eligible": other_eligible_rows,
}
