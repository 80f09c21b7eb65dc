"""The suggested action for a target: one of the six (六个一批), by rule."""

from __future__ import annotations


def suggest_action(target_type: str, groups: list[int]) -> tuple[str, str]:
    """One of the six actions (六个一批) and the rule that picked it.

    >>> suggest_action("enroll", [3, 7])
    ('政府帮扶兜底', '第7类缴费困难群体：政府代缴')
    """
    g = set(groups)
    if 7 in g:
        return "政府帮扶兜底", "第7类缴费困难群体：政府代缴"
    if 2 in g:
        return "完善政策吸纳", "第2类符合缴费补贴政策：落实补贴吸纳参保"
    if 3 in g:
        return "依法维权纳入", "第3类稳定就业满6个月：督促用人单位依法参保"
    if 1 in g:
        return "强化执法扩面", "第1类纳税正常市场主体经营者：执法检查推动单位参保"
    if 4 in g or 5 in g:
        return "典型引路带动", "第4/5类新业态或自由职业者：以身边典型带动参保"
    if target_type == "resume":
        return "精准宣传动员", "断缴人员：宣传持续缴费（持续保）"
    return "精准宣传动员", "其他对象：精准宣传动员"
