"""Reference data of the demo region: its codes and quarter ends, streets, names, ID
prefixes, age pyramids, the department lists' vocabularies and the codes the simulation
uses for schemes, statuses, groups and hukou states.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

REGION_CODE = "530199"
REGION_NAME = "示例市"
QUARTER_ENDS: tuple[dt.date, ...] = tuple(
    d.date() for d in pd.date_range("2023-03-31", "2025-09-30", freq="QE")
)
N_YEARS = 3  # yearly lists are sent in the Q1 batches of 2023, 2024 and 2025


def _words(text: str) -> tuple[str, ...]:
    """A word list written as space-separated text (reads better than a list literal)."""
    return tuple(text.split())


# code suffix, name, urban, coverage effect, structure effect, move effect, visit effect:
# the effects make streets differ on purpose (some near the 95%/30% goals, some far).
STREETS: tuple[tuple[str, str, bool, float, float, float, float], ...] = (
    ("001", "东城街道", True, 0.9, 0.75, 0.30, 0.3),
    ("002", "西城街道", True, 0.6, 0.55, 0.10, 0.1),
    ("003", "南苑街道", True, 0.1, 0.30, -0.20, -0.2),
    ("004", "北辰街道", True, 0.4, 0.45, 0.20, 0.2),
    ("005", "金湖街道", True, -0.2, 0.15, 0.00, 0.0),
    ("006", "青龙镇", False, 0.4, -0.10, 0.30, 0.4),
    ("007", "白沙镇", False, -0.4, -0.40, -0.30, -0.3),
    ("008", "松林镇", False, 0.1, -0.30, 0.00, 0.0),
    ("009", "石桥镇", False, -0.6, -0.55, -0.20, -0.4),
)
_COMMUNITY_STEMS = _words(
    "翠湖 金碧 玉泉 春晖 文化 新华 和平 朝阳 龙泉 锦绣 桂园 花园 光明 太平 长春 紫荆 丽景 "
    "滨江 云岭 明珠 东风 建设 人民 康乐 富民 兴隆 永安 安康 书院 迎春 百合 青云 金马 碧鸡 "
    "螺峰 北门 南屏 福海 望城 景苑 雨花 杏林 鸣凤 宝山 凤凰 祥和 阳光 怡园 清风 莲池 银杏 "
    "海棠 映月 华庭 盘龙 西林"
)
_VILLAGE_STEMS = _words(
    "李家 张家营 大石头 小河 龙潭 白石 杨柳 高桥 黄土坡 新庄 松树 马鞍山 三合 五里 沙河 "
    "石龙 大营 小营 赵家庄 下坝 上坝 羊街 水井 中和 河湾 田心 桃园 梨园 竹园 岔河 大村 "
    "小村 团山 柳树 石洞 青山 鱼塘 麦地 荞地 核桃箐 大哨 小哨 老鸦 观音 新田 长坡 海子 "
    "双龙 太和 永丰 安乐 平地 草坝 木瓜 红石岩 塘子 落水洞 凉水 大平地 果园"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严武戴莫孔向汤普者"
)
_GIVEN_MALE = (
    "伟强军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林阳成文云海兵国建志永春德福荣贵顺才磊峰"
)
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂英萍红梅琳丹雪婷慧莉欣佳倩颖洁琴秀兰凤玉珍蓉彤琼莹巧美"
# Real county codes, used as ID prefixes of people born elsewhere and as other
# pension regions (异地参保). None of them is the demo region.
_HUKOU_OTHER_PREFIXES = (
    "530102",
    "530111",
    "530112",
    "530381",
    "532301",
    "530402",
    "533102",
    "530602",
)
_RESIDENCE_PREFIXES = (
    "510104",
    "510682",
    "511502",
    "520102",
    "522401",
    "430111",
    "500101",
    "532301",
    "532501",
    "532901",
    "530381",
    "360102",
    "420106",
    "610113",
    "530602",
    "532801",
)
_OTHER_PENSION_REGIONS = (
    "530102",
    "530111",
    "530112",
    "530181",
    "440305",
    "330106",
    "510104",
    "520102",
    "532301",
    "320506",
)
# Prefixes only used for rows that lie outside the region (never a person of the demo).
_OUTSIDE_ADDRESS_COUNTIES = ("530181", "530124", "530125", "530114")
_SCHEMES = ("", "城乡居民基本养老保险", "企业职工基本养老保险", "机关事业单位基本养老保险")
_SCHEMES_SHORT = ("", "城乡居民", "企业职工", "机关事业单位")
_STATUSES = ("", "参保缴费", "暂停缴费", "待遇领取", "终止参保")
_RESIDENT_GRADES = np.array([100, 200, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000, 5000])
_RESIDENT_GRADE_P = np.array([18, 22, 20, 9, 9, 5, 4, 5, 3, 2, 2, 1], dtype=float)

# Age pyramid: China 2020 census shares by five-year band (0-4 ... 95-99), per cent.
_PYRAMID = np.array(
    [
        5.7,
        6.4,
        6.3,
        5.3,
        5.3,
        6.0,
        8.9,
        7.0,
        6.6,
        8.2,
        8.7,
        7.2,
        5.2,
        5.0,
        3.4,
        2.2,
        1.4,
        0.7,
        0.25,
        0.05,
    ]
)
_PYRAMID_MIGRANT = np.array(
    [
        3.0,
        3.0,
        2.5,
        3.0,
        10.0,
        14.0,
        15.0,
        13.0,
        11.0,
        9.0,
        7.0,
        4.0,
        2.5,
        1.5,
        1.0,
        0.5,
        0.3,
        0.1,
        0.05,
        0.01,
    ]
)

_GROUP_BITS = {g: 1 << (g - 1) for g in range(1, 9)}
_UPGRADE_GROUPS = (1, 3, 4, 5, 6, 8)


_OCCUPATIONS = np.array(["网约车司机", "快递员", "外卖骑手", "货运司机", "网络主播"])
_OCCUPATION_P = np.array([0.25, 0.30, 0.35, 0.07, 0.03])
_PLATFORMS = {
    "网约车司机": ("滴滴出行", "曹操出行", "T3出行"),
    "快递员": ("顺丰速运", "中通快递", "京东物流", "圆通速递"),
    "外卖骑手": ("美团", "饿了么"),
    "货运司机": ("货拉拉", "满帮"),
    "网络主播": ("抖音", "快手"),
}
_GROUP_OCCUPATIONS = ("网约车司机", "快递员", "外卖骑手", "货运司机")
_PRACTICE_TYPES = np.array(["专职", "兼职", "个体", "自由职业"])
_FREELANCE_PRACTICE = ("兼职", "个体", "自由职业")
_OTHER_CATEGORIES = np.array(
    ["村社区干部", "乡村医生", "基层服务项目高校毕业生", "民办学校教职工", "机关事业单位编外人员"]
)
_CATEGORY_GROUP = {
    "村社区干部": 2,
    "乡村医生": 2,
    "基层服务项目高校毕业生": 8,
    "民办学校教职工": 8,
    "机关事业单位编外人员": 8,
}
_DISABILITY_LEVELS = np.array(["一级", "二级", "三级", "四级"])
_DISABILITY_TYPES = np.array(
    ["视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾"]
)
_MONITOR_TYPES = np.array(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"])
_SCHOOLS = np.array(
    [
        "示例市第一中学",
        "示例市第二中学",
        "示例市职业高级中学",
        "云南大学",
        "昆明理工大学",
        "云南师范大学",
        "云南民族大学",
        "昆明医科大学",
        "云南财经大学",
    ]
)
_WORKPLACES = np.array(
    ["本市", "昆明市官渡区", "广东省深圳市", "浙江省宁波市", "江苏省苏州市", "上海市"]
)
_EMPLOYMENT_TYPES = np.array(["务工", "灵活就业", "自主创业", "公益性岗位"])
_TRADE_NAMES = list("兴旺顺达鑫源华盛金鹏宏达恒通云翔福泰永利嘉禾聚丰瑞祥家和万隆")
_SHOP_KINDS = np.array(
    [
        "餐馆",
        "小吃店",
        "五金店",
        "便利店",
        "理发店",
        "汽车修理部",
        "农资店",
        "服装店",
        "水果店",
        "建材经营部",
        "茶叶店",
        "烧烤店",
    ]
)
_FIRM_TRADES = np.array(
    [
        "商贸",
        "建筑工程",
        "农业开发",
        "物流",
        "餐饮管理",
        "科技",
        "物业服务",
        "运输",
        "家政服务",
        "食品",
    ]
)


_SURVEY_RESULTS = ("已参保", "同意参保", "考虑中", "拒绝", "联系不上", "已在外地参保")
_NOT_INSURED_REASONS = np.array(
    ["缴费负担重", "不了解政策", "外出务工", "年龄偏大", "已有商业保险", "其他"]
)


_NONE, _C, _S, _P, _T = 0, 1, 2, 3, 4  # enrollment statuses (index into _STATUSES)
_RES, _ENT, _INST = 1, 2, 3  # schemes (index into _SCHEMES)
_HK_NONE, _HK_NORMAL, _HK_DEAD, _HK_OUT = -1, 0, 1, 2


_GROUP_STRINGS = np.array(
    [";".join(str(g) for g in range(1, 9) if mask & (1 << (g - 1))) for mask in range(256)]
)
