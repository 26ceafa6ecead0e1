"""Shop exports written at test time, shaped like the files the back offices produce.

Headers are the real ones (trailing spaces, full-width brackets and the repeated Youzan header
included), extra columns a platform added later are mixed in, and files are written in the
encoding and container each back office uses: GBK CSV (Taobao, JD, Pinduoduo), UTF-8 with a
BOM (Youzan), XLSX (千牛, Douyin, Kuaishou, WeChat Shop, WeCom).

A row is a dict from header (exactly as in the file) to cell; headers a row leaves out are
written empty. A repeated header's second occurrence is addressed as "name#2".
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

Row = dict[str, Any]

# Taobao classic order report, 2017-07 (from a raw export; trailing spaces are real).
TAOBAO_2017 = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分",
    "总金额", "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言",
    "收货人姓名", "收货地址 ", "运送方式", "联系电话 ", "联系手机", "订单创建时间",
    "订单付款时间 ", "宝贝标题 ", "宝贝种类 ", "物流单号 ", "物流公司", "订单备注",
    "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头",
    "是否手机订单", "分阶段订单信息", "特权订金订单id", "是否上传合同照片", "是否上传小票",
    "是否代付", "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣",
    "集分宝抵扣", "是否是O2O交易", "退款金额", "预约门店",
]  # fmt: skip

# ~2019-2020: 支付单号/支付详情 inserted, 满返红包金额 and the 新零售 block added, more appended.
TAOBAO_2019 = [
    *TAOBAO_2017[:3], "支付单号", "支付详情", *TAOBAO_2017[3:44], "满返红包金额",
    "新零售交易类型", "新零售导购门店名称", "新零售导购门店id", "新零售发货门店名称",
    "新零售发货门店id", "退款金额", "预约门店", "确认收货时间", "打款商家金额",
    "含应开票给个人的个人红包", "是否信用购", "体验期结束时间", "前N有礼", "配送类型",
    "直播返现状态", "返现金额", "新零售成交门店昵称", "新零售成交门店id",
    "新零售成交经销商id", "主订单编号",
]  # fmt: skip

# 千牛 xlsx order export: a merchant-chosen subset, 买家实付金额 renamed, no buyer nick.
QIANNIU_ORDERS = [
    "订单编号", "支付单号", "买家应付货款", "买家应付邮费", "总金额", "买家实付金额", "订单状态",
    "收货地址", "运送方式", "订单创建时间", "订单付款时间", "商品标题", "宝贝种类", "物流单号",
    "物流公司", "备注标签", "商家备注", "宝贝总数量", "开票信息", "手机订单", "商品属性SKU",
    "发货时间", "确认收货时间", "订单关闭原因", "退款金额", "店铺名称",
]  # fmt: skip

# 宝贝报表 / ExportOrderDetailList, one row per sub-order.
TAOBAO_DETAIL = [
    "子订单编号", "主订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性",
    "套餐信息", "备注", "订单状态", "商家编码", "支付单号", "买家应付货款", "买家实际支付金额",
    "退款状态", "退款金额", "订单创建时间", "订单付款时间",
]  # fmt: skip
TAOBAO_DETAIL_CLASSIC = [
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注",
    "订单状态", "商家编码",
]  # fmt: skip

# JD POP classic 30 columns (下单帐号 with 帐; full-width brackets), plus later additions.
JD = [
    "订单号", "商品ID", "商品名称", "订购数量", "支付方式", "下单时间", "京东价", "订单金额",
    "结算金额", "余额支付", "应付金额", "订单状态", "订单类型", "下单帐号", "客户姓名",
    "客户地址", "联系电话", "订单备注", "发票类型", "发票抬头", "发票内容", "商家备注",
    "商家备注等级（等级1-5为由高到低）", "运费金额", "付款确认时间", "增值税发票", "货号",
    "订单完成时间", "订单来源", "订单渠道",
]  # fmt: skip
JD_LATER = ["送装服务", "服务费", "仓库id", "仓库名称", "商家SKUID", "邮政编码", "商家应收"]

# Douyin Shop, current 75-column header.
DOUYIN = [
    "主订单编号", "子订单编号", "支付方式", "选购商品", "货号", "商品ID", "商家编码", "商品数量",
    "商品金额", "订单提交时间", "支付完成时间", "订单完成时间", "承诺发货时间", "预约发货时间",
    "买家留言", "旗帜颜色", "商家备注", "APP渠道", "订单状态", "取消原因", "售后状态",
    "订单类型", "发货时间", "车型", "是否是以旧换新", "换新额外补贴", "换新额外补贴发放状态",
    "订单应付金额", "运费", "优惠总金额", "平台优惠", "商家优惠", "达人优惠", "商家改价",
    "支付优惠", "手续费", "红包抵扣", "降价类优惠", "平台实际承担优惠金额",
    "商家实际承担优惠金额", "达人实际承担优惠金额", "收件人", "收件人手机号", "省", "市", "区",
    "街道", "详细地址", "是否修改过地址", "快递信息", "序列号", "达人ID", "达人昵称",
    "拼团订单团编号", "商品单价是否含税", "税费", "鲁班落地页ID", "所属门店ID", "流量来源",
    "仓库ID", "仓库名称", "是否安心购", "广告渠道", "流量类型", "流量体裁", "流量渠道",
    "发货主体", "发货主体明细", "教育优惠", "预计送达时间", "是否平台仓自流转",
    "是否是渠道商品", "预约送达时间", "建议发货时间（起）", "建议发货时间（止）",
]  # fmt: skip

# Pinduoduo, the older layout that still had the receiver (收货人, 手机) and 商家编码-SKU维度.
PDD = [
    "商品", "订单号", "订单状态", "商品数量(件)", "是否审核中", "支付时间", "承诺发货时间",
    "发货时间", "确认收货时间", "商品id", "商品规格", "样式ID", "商家编码-SKU维度",
    "商家编码-商品维度", "商家备注", "买家留言", "售后状态", "订单成交时间", "团ID",
    "商品总价(元)", "邮费(元)", "店铺优惠折扣(元)", "平台优惠折扣(元)", "多多支付立减金额(元)",
    "用户实付金额(元)", "商家实收金额(元)", "快递单号", "快递公司", "收货人", "手机", "省", "市",
    "区", "街道/镇", "详细地址", " 用户购买手机号", "是否门店自提", "支付方式", "订单来源",
]  # fmt: skip

# Youzan order dimension: 分销员 appears twice (the repeated header).
YOUZAN = [
    "订单号", "销售渠道", "归属店铺", "订单类型", "订单状态", "推广方式", "订单来源",
    "订单创建时间", "买家付款时间", "交易成功时间", "付款方式", "支付流水号", "商品金额合计",
    "运费", "店铺优惠合计", "应收订单金额", "订单实付金额", "支付优惠合计", "订单实收金额",
    "订单抵用积分数", "店铺优惠方式", "支付优惠方式", "全部商品名称", "商品种类数",
    "订单配送方式", "同城送达时间/提货时间", "收货人省份", "收货人城市", "收货人地区",
    "详细收货地址/提货地址", "收货人/提货人", "收货人手机号/提货人手机号", "买家备注",
    "订单星级", "买家昵称", "买家是否会员", "买家手机号", "下单网点", "收银员", "分销员",
    "销售导购", "专属导购", "订单退款状态", "订单已退款金额", "商家订单备注", "桌号",
    "挂账主体", "挂账手机号", "团长订单", "订单风险标签", "分销员", "分销员手机号",
    "分销员所属店铺", "分销员所属团队", "分销员所属分组", "分销员等级", "订单佣金类型",
    "订单佣金金额", "订单下级卖货提成类型", "订单下级卖货提成金额", "优惠券码名称",
]  # fmt: skip

# Kuaishou Shop, current 64 columns, plus the older 退货退款 column.
KUAISHOU = [
    "订单号", "赠品订单号", "活动订单编号", "订单创建时间", "订单支付时间", "预售定金支付时间",
    "订单状态", "实付款", "快递费", "店铺优惠", "平台补贴", "主播补贴", "混资活动优惠",
    "支付优惠", "支付方式", "成交数量", "买家留言", "账号类型", "账号明细", "订单备注",
    "旗帜颜色", "售后状态", "活动订单", "预售/承诺发货时间", "订单载体", "国补类型", "商品名称",
    "商品ID", "商品规格", "SKU编码", "商品单价", "渠道", "CPS达人ID", "CPS达人昵称",
    "预估推广佣金", "预估推广者分佣比例", "团长ID", "团长昵称", "快赚客ID", "快赚客昵称",
    "授权推广者ID", "授权推广者昵称", "收货人姓名", "收货人电话", "收货地址-省", "收货地址-市",
    "收货地址-区", "收货地址-街道", "收货地址", "发货时间", "快递公司", "快递单号", "物流信息",
    "集运类型", "直邮类型", "仓库名称", "仓库地址", "发货类型", "实名姓名", "服务门店ID",
    "服务门店名称", "服务门店地址", "国补/类国补/消费券", "订单销售主体",
]  # fmt: skip

# WeChat Shop V5 (38 columns) with the newer 订单下单时间 spelling and the WeCom id column.
WECHAT_SHOP = [
    "订单号", "订单下单时间", "订单状态", "发货方式", "收件人姓名", "收件人地址", "省", "市",
    "区", "收件人手机", "买家备注", "商家备注", "订单实际支付金额", "订单运费", "支付方式",
    "支付时间", "交易单号", "物流公司", "快递单号", "带货人昵称", "授权号", "预估佣金",
    "实际佣金", "实际服务费", "技术服务费", "技术服务费（将以人气卡形式返还）",
    "运费险预计投保费用", "商品名称", "商品编码（平台）", "商品编码(自定义)", "SKU编码(自定义)",
    "商品属性", "商品价格", "是否预售", "商品数量", "商品发货", "商品售后", "商品已退款金额",
    "订单确认收货时间", "企业微信加密id",
]  # fmt: skip

# WeCom customer list: one column per tag group, named 标签组N(组名).
WECOM = [
    "客户名称", "描述", "添加人", "添加人账号", "添加人所属部门", "添加时间", "来源", "手机",
    "企业", "邮箱", "地址", "职务", "电话", "标签组1(学员等级)", "标签组2(来源)",
    "external_userid", "备注", "性别",
]  # fmt: skip

# Columns nobody asked for, as later versions add them.
EXTRAS = ["平台备注", "风控标记", "数据更新时间"]


def shuffled(header: Sequence[str], seed: int = 7, extras: Sequence[str] = EXTRAS) -> list[str]:
    """The header with extra columns, in another order: importers must go by name."""
    names = [*header, *extras]
    random.Random(seed).shuffle(names)
    return names


def _cells(header: Sequence[str], row: Row) -> list[Any]:
    seen: dict[str, int] = {}
    cells = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name}#{seen[name]}"
        cells.append(row.get(key, ""))
    return cells


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Taobao writes long ids as a bare formula, ="123", outside any quotes.
    if text.startswith('="') and text.endswith('"'):
        return text
    return '"' + text.replace('"', '""') + '"'


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Row],
    *,
    encoding: str = "gbk",
    delimiter: str = ",",
) -> Path:
    lines = [delimiter.join(_csv_cell(h) for h in header)]
    lines += [delimiter.join(_csv_cell(c) for c in _cells(header, row)) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(
    path: Path, header: Sequence[str], rows: Sequence[Row], sheet: str = "Sheet1"
) -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(header))
    for row in rows:
        ws.append(_cells(header, row))
    book.save(path)
    return path


# Realistic rows. Each builder gives a full row for one order; tests override what they check.


def taobao_row(order_id: str, nick: str, **over: Any) -> Row:
    row: Row = {
        "订单编号": f'="{order_id}"',
        "买家会员名": nick,
        "买家支付宝账号": "1432480331@qq.com",
        "买家应付货款": "201.12",
        "买家应付邮费": "0.00",
        "买家支付积分": "0",
        "总金额": "201.12",
        "返点积分": "0",
        "买家实际支付金额": "201.12",
        "买家实际支付积分": "0",
        "订单状态": "买家已付款，等待卖家发货",
        "收货人姓名": "薛先生langer",
        "收货地址 ": "广东省 广州市 越秀区 黄花岗街道环市东路472号3101(510180)",
        "运送方式": "快递",
        "联系电话 ": "",
        "联系手机": "'13925130165",
        "订单创建时间": "2017-07-08 00:42:32",
        "订单付款时间 ": "2017-07-08 00:42:39",
        "宝贝标题 ": "【顺丰包邮】澳洲进口 羊毛被 冬季加厚",
        "宝贝种类 ": "1",
        "宝贝总数量": "1",
        "店铺Id": "0",
        "店铺名称": "勤驿达海外生活",
        "订单关闭原因": "订单未关闭",
        "卖家服务费": "0",
        "买家服务费": "0元",
        "是否手机订单": "手机订单",
        "特权订金订单id": '=""',
        "是否上传合同照片": "否",
        "是否上传小票": "否",
        "是否代付": "否",
        "天猫卡券抵扣": "",
        "集分宝抵扣": "",
        "退款金额": "无退款申请",
    }
    row.update(over)
    return row


def qianniu_row(order_id: str, **over: Any) -> Row:
    row: Row = {
        "订单编号": order_id,
        "支付单号": "2024061822001155551234567890",
        "买家应付货款": "¥1,299.00",
        "买家应付邮费": "0",
        "总金额": "¥1,299.00",
        "买家实付金额": "¥1,199.00",
        "订单状态": "买家已付款,等待卖家发货",
        "收货地址": "江苏省 南京市 建邺区 沙洲街道****",
        "运送方式": "快递",
        "订单创建时间": "2024-06-18 10:01:02",
        "订单付款时间": "2024-06-18 10:01:30",
        "商品标题": "岩板餐桌 现代简约 1.6米",
        "宝贝种类": 1,
        "宝贝总数量": 1,
        "手机订单": "手机订单",
        "商品属性SKU": "颜色分类：砂白色2.0米岩板餐桌",
        "订单关闭原因": "订单未关闭",
        "店铺名称": "家居旗舰店",
    }
    row.update(over)
    return row


def taobao_detail_row(order_id: str, sub_id: str, **over: Any) -> Row:
    row: Row = {
        "子订单编号": f'="{sub_id}"',
        "主订单编号": f'="{order_id}"',
        "标题": "岩板餐桌 现代简约",
        "价格": "100.00",
        "购买数量": "1",
        "商品属性": "颜色分类：砂白色;尺寸：1.6米",
        "订单状态": "交易成功",
        "商家编码": "TB-001",
        "支付单号": '="2024061822001155551234567890"',
        "买家应付货款": "100.00",
        "买家实际支付金额": "100.00",
        "退款状态": "没有申请退款",
        "退款金额": "无退款申请",
        "订单创建时间": "2024-06-18 10:01:02",
        "订单付款时间": "2024-06-18 10:01:30",
    }
    row.update(over)
    return row


def jd_row(order_id: str, pin: str, **over: Any) -> Row:
    row: Row = {
        "订单号": order_id,
        "商品ID": "1953814331",
        "商品名称": "韩秘美 玫瑰精华水 120ml",
        "订购数量": "1",
        "支付方式": "在线支付",
        "下单时间": "2015-12-31 23:19:56",
        "京东价": "758.00",
        "订单金额": "1097.00",
        "结算金额": "932.45",
        "余额支付": "0.00",
        "应付金额": "932.45",
        "订单状态": "(删除)等待出库",
        "订单类型": "销售订单",
        "下单帐号": pin,
        "客户姓名": "王冬阳",
        "客户地址": "江西南昌市青山湖区湖坊镇上海路658号",
        "联系电话": "13767111772",
        "商家备注": "订单拆分为  11729439936    11749907506",
        "运费金额": "0.00",
        "付款确认时间": "2015-12-31 23:20:30",
        "货号": "HM-120",
        "订单来源": "移动端订单",
        "订单渠道": "暂无来源",
        "商家应收": "499.00（系统计算中，该值仅供参考）",
    }
    row.update(over)
    return row


def douyin_row(order_id: str, sub_id: str, **over: Any) -> Row:
    row: Row = {
        "主订单编号": order_id,
        "子订单编号": sub_id,
        "支付方式": "微信",
        "选购商品": "国风真丝围巾 桑蚕丝",
        "货号": "DY-01",
        "商品ID": "3612345678901234567",
        "商家编码": "SILK-01",
        "商品数量": 1,
        "商品金额": "1,299.00",
        "订单提交时间": "2024-05-01 20:15:00",
        "支付完成时间": "2024-05-01 20:15:20",
        "订单状态": "已完成",
        "售后状态": "-",
        "订单应付金额": "1,299.00",
        "运费": "0",
        "优惠总金额": "100.00",
        "收件人": "刘*",
        "收件人手机号": "138****1234",
        "省": "浙江省",
        "市": "杭州市",
        "区": "西湖区",
        "街道": "文新街道",
        "详细地址": "***",
        "达人ID": "\tK1",
        "达人昵称": "小美直播间",
        "流量来源": "精选联盟",
    }
    row.update(over)
    return row


def pdd_row(order_id: str, **over: Any) -> Row:
    row: Row = {
        "商品": "新疆阿克苏冰糖心苹果 5斤装",
        "订单号": order_id,
        "订单状态": "已签收",
        "商品数量(件)": "\t1",
        "支付时间": "\t2024-03-02 09:10",
        "发货时间": "2024-03-02 18:00:00",
        "确认收货时间": "2024-03-06 12:00:00",
        "商品id": "50012345678",
        "商品规格": "5斤 中果",
        "商家编码-SKU维度": "\tAPPLE-5",
        "售后状态": "无售后或售后取消",
        "订单成交时间": "2024-03-02 09:10:05",
        "商品总价(元)": "39.90",
        "邮费(元)": "0.00",
        "店铺优惠折扣(元)": "3.00",
        "平台优惠折扣(元)": "2.00",
        "多多支付立减金额(元)": "0.00",
        "用户实付金额(元)": "34.90",
        "商家实收金额(元)": "37.90",
        "收货人": "张**",
        "手机": "13800138000-1234",
        "省": "广东省",
        "市": "深圳市",
        "区": "南山区",
        "街道/镇": "粤海街道",
        "详细地址": "科技园****",
        " 用户购买手机号": "",
    }
    row.update(over)
    return row


def youzan_row(order_id: str, buyer_phone: str, **over: Any) -> Row:
    row: Row = {
        "订单号": order_id,
        "销售渠道": "微商城",
        "归属店铺": "有赞茶饮旗舰店",
        "订单类型": "普通订单",
        "订单状态": "交易完成",
        "订单来源": "微信",
        "订单创建时间": "2024-02-10 12:00:00",
        "买家付款时间": "2024-02-10 12:00:30",
        "交易成功时间": "2024-02-20 12:00:00",
        "付款方式": "微信支付",
        "商品金额合计": "298.00",
        "运费": "10.00",
        "店铺优惠合计": "20.00",
        "应收订单金额": "288.00",
        "订单实付金额": "288.00",
        "支付优惠合计": "0.00",
        "订单实收金额": "288.00",
        "店铺优惠方式": "优惠券",
        "全部商品名称": "明前龙井 250g;白毫银针 100g",
        "商品种类数": "2",
        "收货人省份": "上海市",
        "收货人城市": "上海市",
        "收货人地区": "徐汇区",
        "详细收货地址/提货地址": "漕溪北路88号",
        "收货人/提货人": "陈女士",
        "收货人手机号/提货人手机号": "13900001111",
        "买家昵称": "茶茶",
        "买家是否会员": "是",
        "买家手机号": buyer_phone,
        "分销员": "——",
        "订单退款状态": "——",
        "订单已退款金额": "0.00",
        "分销员#2": "小李",
        "分销员手机号": "13700000000",
        "优惠券码名称": "SPRING20",
    }
    row.update(over)
    return row


def kuaishou_row(order_id: str, **over: Any) -> Row:
    row: Row = {
        "订单号": order_id,
        "订单创建时间": "2024-04-01 19:00:00",
        "订单支付时间": "2024-04-01 19:00:10",
        "订单状态": "已收货",
        "实付款": "¥1,299.90",
        "快递费": "￥0",
        "店铺优惠": "¥50.00",
        "平台补贴": "¥20.00",
        "主播补贴": "-",
        "混资活动优惠": "--",
        "支付优惠": "/",
        "支付方式": "微信",
        "成交数量": 1,
        "售后状态": "—",
        "商品名称": "羽绒服 白鸭绒 短款",
        "商品ID": "2234567",
        "商品规格": "黑色 L",
        "SKU编码": "YRF-L-BLK",
        "商品单价": "¥1,369.90",
        "预估推广者分佣比例": "30.0%",
        "收货人姓名": "赵**",
        "收货人电话": "137****5678",
        "收货地址-省": "四川省",
        "收货地址-市": "成都市",
        "收货地址-区": "武侯区",
        "收货地址-街道": "玉林街道",
        "收货地址": "四川省 成都市 武侯区 玉林街道****",
        "订单销售主体": "快手小店-羽绒优选",
    }
    row.update(over)
    return row


def wechat_shop_row(order_id: str, **over: Any) -> Row:
    row: Row = {
        "订单号": order_id,
        "订单下单时间": "2024-07-01 08:00:00",
        "订单状态": "已完成",
        "发货方式": "快递",
        "收件人姓名": "孙**",
        "收件人地址": "北京市 北京市 朝阳区 望京街道****",
        "省": "北京市",
        "市": "北京市",
        "区": "朝阳区",
        "收件人手机": "13800138000-5678",
        "订单实际支付金额": "1,099.00",
        "订单运费": "0.00",
        "支付方式": "微信支付",
        "支付时间": "2024-07-01 08:00:10",
        "交易单号": "4200001234202407011234567890",
        "商品名称": "香薰蜡烛礼盒",
        "商品编码（平台）": "10000012345",
        "SKU编码(自定义)": "CANDLE-1",
        "商品属性": "规格:三支装",
        "商品价格": "1,099.00",
        "商品数量": 1,
        "商品发货": "已发货",
        "商品售后": "无",
        "商品已退款金额": "0.00",
        "订单确认收货时间": "2024-07-05 08:00:00",
        "企业微信加密id": "",
    }
    row.update(over)
    return row


def wecom_row(name: str, **over: Any) -> Row:
    row: Row = {
        "客户名称": name,
        "描述": "老客户，喜欢香薰",
        "添加人": "王导购",
        "添加人账号": "WangDaoGou",
        "添加人所属部门": "上海门店",
        "添加时间": "2024-01-15 14:30:00",
        "来源": "扫描二维码",
        "手机": "",
        "企业": "",
        "邮箱": "",
        "标签组1(学员等级)": "VIP、高价值",
        "标签组2(来源)": "门店",
        "external_userid": "",
        "性别": "女",
    }
    row.update(over)
    return row


def snapshot(session: Any) -> dict[str, Any]:
    """Everything an import may touch, to compare before and after a repeated import."""
    from sqlalchemy import select

    from siyu.contacts.models import (
        Contact,
        ContactIdentity,
        ContactNote,
        ContactOrder,
        ContactOrderLine,
        ContactTagLink,
    )

    def rows(*columns: Any) -> list[tuple[Any, ...]]:
        return sorted(tuple(r) for r in session.execute(select(*columns)))

    return {
        "contacts": rows(
            Contact.id, Contact.name, Contact.phone_hint, Contact.order_count,
            Contact.total_spent, Contact.refunded_amount, Contact.traits,
        ),
        "identities": rows(ContactIdentity.contact_id, ContactIdentity.kind, ContactIdentity.value),
        "orders": rows(
            ContactOrder.platform, ContactOrder.platform_order_id, ContactOrder.contact_id,
            ContactOrder.status, ContactOrder.total_amount, ContactOrder.paid_amount,
            ContactOrder.refunded_amount, ContactOrder.updated_at,
        ),
        "lines": rows(ContactOrderLine.order_id, ContactOrderLine.line_no, ContactOrderLine.title),
        "tags": rows(ContactTagLink.contact_id, ContactTagLink.tag_id),
        "notes": rows(ContactNote.contact_id, ContactNote.body),
    }  # fmt: skip


def order(session: Any, platform: str, order_id: str) -> dict[str, Any]:
    """An imported order as the API shows it, with its lines."""
    from sqlalchemy import select

    from siyu.contacts import orders
    from siyu.contacts.models import ContactOrder

    found = session.execute(
        select(ContactOrder.id).where(
            ContactOrder.platform == platform, ContactOrder.platform_order_id == order_id
        )
    ).scalar_one()
    data = orders.get_order(session, found)
    data["receiver_name"] = session.get(ContactOrder, found).receiver_name
    return data
