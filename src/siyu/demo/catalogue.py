"""The demo merchant: a small skin-care brand, 山茶集, selling online and in a few stores."""

from __future__ import annotations

from dataclasses import dataclass

BRAND = "山茶集"


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    price: int  # fen
    # What buying it says about the buyer, written as a tag by the merchant's CRM.
    interest: str


PRODUCTS: tuple[Product, ...] = (
    Product("SCJ-001", "山茶集 山茶花修护精华油 30ml", 23900, "修护"),
    Product("SCJ-002", "山茶集 氨基酸温和洁面乳 120g", 8900, "护肤"),
    Product("SCJ-003", "山茶集 山茶花保湿爽肤水 150ml", 12900, "补水"),
    Product("SCJ-004", "山茶集 山茶花修护面霜 50g", 19900, "修护"),
    Product("SCJ-005", "山茶集 轻薄防晒乳 SPF50+ PA++++ 40ml", 14900, "防晒"),
    Product("SCJ-006", "山茶集 补水保湿面膜 5片装", 6900, "补水"),
    Product("SCJ-007", "山茶集 紧致淡纹眼霜 15g", 25900, "抗老"),
    Product("SCJ-008", "山茶集 山茶花护手霜 三支装", 5900, "护肤"),
    Product("SCJ-009", "山茶集 明星单品旅行装套盒", 9900, "护肤"),
    Product("SCJ-010", "山茶集 焕颜修护礼盒（精华油+面霜+水）", 59900, "修护"),
    Product("SCJ-011", "山茶集 舒缓修护喷雾 100ml", 7900, "敏感肌"),
    Product("SCJ-012", "山茶集 胶原紧致精华液 30ml", 32900, "抗老"),
)
# Cheap items people add to reach a free-shipping or coupon threshold.
SMALL_ITEMS = tuple(p for p in PRODUCTS if p.price < 10000)

# Shop names as they appear in each back office.
SHOPS = {
    "taobao": "山茶集官方旗舰店",
    "jd": "山茶集京东自营旗舰店",
    "douyin": "山茶集抖音官方旗舰店",
    "wechat_mini": "山茶集会员商城小程序",
}
STORES = (
    "山茶集·杭州湖滨银泰店",
    "山茶集·上海静安嘉里中心店",
    "山茶集·南京德基广场店",
    "山茶集·苏州中心店",
)
# (city, province) of each store; store customers mostly live nearby.
STORE_PLACES = (
    ("杭州市", "浙江省"),
    ("上海市", "上海"),
    ("南京市", "江苏省"),
    ("苏州市", "江苏省"),
)

# Where buyers live, weighted roughly by online spending. (province, city, weight)
PLACES: tuple[tuple[str, str, int], ...] = (
    ("广东省", "广州市", 8),
    ("广东省", "深圳市", 8),
    ("广东省", "东莞市", 3),
    ("广东省", "佛山市", 3),
    ("浙江省", "杭州市", 9),
    ("浙江省", "宁波市", 3),
    ("浙江省", "温州市", 2),
    ("江苏省", "南京市", 5),
    ("江苏省", "苏州市", 5),
    ("江苏省", "无锡市", 2),
    ("上海", "上海市", 10),
    ("北京", "北京市", 8),
    ("天津", "天津市", 2),
    ("重庆", "重庆市", 3),
    ("四川省", "成都市", 5),
    ("湖北省", "武汉市", 4),
    ("湖南省", "长沙市", 3),
    ("福建省", "厦门市", 2),
    ("福建省", "福州市", 2),
    ("山东省", "青岛市", 2),
    ("山东省", "济南市", 2),
    ("河南省", "郑州市", 3),
    ("陕西省", "西安市", 3),
    ("安徽省", "合肥市", 2),
    ("辽宁省", "沈阳市", 1),
    ("云南省", "昆明市", 1),
)
DISTRICTS = (
    "朝阳区",
    "海淀区",
    "西湖区",
    "天河区",
    "南山区",
    "鼓楼区",
    "武侯区",
    "江汉区",
    "高新区",
)

# The merchant's CRM tags, by group. "" is the default group (e.g. plain VIP).
AUDIENCES = ("学生党", "宝妈", "白领", "银发族")
SKIN_TYPES = ("干皮", "油皮", "混合皮", "敏感肌")
VIP_TAG = "VIP"

# Staff who own customers: (login, name).
STAFF = (
    ("lina", "李娜"),
    ("zhangwei", "张伟"),
    ("wangfang", "王芳"),
    ("chenjing", "陈静"),
    ("liuyang", "刘洋"),
)

NOTES = (
    "偏好无香型产品，推荐时避开香氛款",
    "敏感肌，换季容易泛红，推荐修护系列",
    "双11前提醒补货面霜",
    "反馈物流慢，已补发一张20元无门槛券",
    "在门店试用过眼霜，很满意，想等活动再买",
    "公司团购联系人，年底可能批量采购礼盒",
    "给妈妈买抗老系列，关注中老年护肤内容",
    "学生，价格敏感，适合推小样和旅行装",
    "老客户，每季度回购精华油",
    "加了企业微信，愿意参加新品试用",
)

COUPONS = ("NEW20", "VIP50", "BIRTHDAY30", "SPRING2025", "DOUBLE11", "MEMBER15")
BUYER_MESSAGES = ("请尽快发货", "送人的，不要放发票", "麻烦多送点小样", "周末不在家，请放快递柜")
CARRIERS = ("顺丰速运", "中通快递", "圆通速递", "韵达快递", "京东物流")
