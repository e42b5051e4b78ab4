"""The demo agencies: eight Bangkok Metropolitan Administration units.

``profile`` sets how their update history looks in the ledger:

- ``diligent``: every period, on time (before the 15th);
- ``good``: misses 1-3 months, some updates late (after the 15th);
- ``mixed``: irregular, about three periods out of four;
- ``lagging``: misses many periods and stopped about four months ago.

``target`` is this year's KPI 5.2 target database (kind, rationale); two
agencies have none on purpose, so the scoring pages have gaps to show.
"""
from __future__ import annotations

from typing import Any

AGENCIES: list[dict[str, Any]] = [
    {
        "key": "anamai", "name": "anamai", "kind": "department",
        "title": "สำนักอนามัย", "short": "สนอ.", "profile": "diligent",
        "district": None,
        "description": (
            "หน่วยงานระดับสำนักของกรุงเทพมหานคร รับผิดชอบงานส่งเสริมสุขภาพ "
            "ป้องกันและควบคุมโรค อนามัยสิ่งแวดล้อม และบริการสาธารณสุขมูลฐาน"
            "ผ่านศูนย์บริการสาธารณสุข 69 แห่งทั่วกรุงเทพมหานคร"),
        "target": ("improved",
                   ("ขยายข้อมูลผู้รับบริการให้ครอบคลุมศูนย์บริการสาธารณสุขทุกแห่ง"
                   "และปรับปรุงเป็นรายเดือนเพื่อใช้วางแผนอัตรากำลัง")),
    },
    {
        "key": "pathumwan", "name": "pathumwan-district", "kind": "district",
        "title": "สำนักงานเขตปทุมวัน", "short": "สนข.ปทุมวัน",
        "profile": "good", "district": "ปทุมวัน",
        "description": (
            "สำนักงานเขตในพื้นที่ชั้นในของกรุงเทพมหานคร ดูแลแขวงรองเมือง "
            "วังใหม่ ปทุมวัน และลุมพินี ให้บริการประชาชนด้านทะเบียน "
            "รักษาความสะอาด เทศกิจ และพัฒนาชุมชน"),
        "target": ("improved",
                   "เพิ่มข้อมูลภาวะพึ่งพิงและผู้ดูแลของผู้สูงอายุให้ครบทุกชุมชนในเขต"),
    },
    {
        "key": "drainage", "name": "drainage", "kind": "department",
        "title": "สำนักการระบายน้ำ", "short": "สนน.", "profile": "good",
        "district": None,
        "description": (
            "รับผิดชอบระบบป้องกันน้ำท่วม ระบบระบายน้ำ สถานีสูบน้ำ "
            "อุโมงค์ระบายน้ำ คูคลอง และการบำบัดน้ำเสียของกรุงเทพมหานคร"),
        "target": ("new",
                   "จัดทำฐานข้อมูลระดับน้ำจากสถานีสูบน้ำทุกแห่งเพื่อใช้เตือนภัยน้ำท่วม"),
    },
    {
        "key": "environment", "name": "environment", "kind": "department",
        "title": "สำนักสิ่งแวดล้อม", "short": "สสล.", "profile": "good",
        "district": None,
        "description": (
            "ดูแลการจัดการมูลฝอยและสิ่งปฏิกูล คุณภาพอากาศและเสียง "
            "สวนสาธารณะและพื้นที่สีเขียวของกรุงเทพมหานคร"),
        "target": ("improved",
                   "แยกข้อมูลปริมาณมูลฝอยตามประเภทและรายเขตเพื่อติดตามนโยบายคัดแยกขยะ"),
    },
    {
        "key": "registration", "name": "registration", "kind": "department",
        "title": "สำนักงานปกครองและทะเบียน", "short": "สปท.",
        "profile": "lagging", "district": None,
        "description": (
            "กำกับดูแลงานทะเบียนราษฎร บัตรประจำตัวประชาชน และงานปกครอง"
            "ของสำนักงานเขตทั้ง 50 เขต"),
        "target": ("new",
                   "พัฒนาฐานข้อมูลสถิติการให้บริการงานทะเบียนของทุกสำนักงานเขตแบบรายเดือน"),
    },
    {
        "key": "strategy", "name": "strategy-evaluation", "kind": "department",
        "title": "สำนักยุทธศาสตร์และประเมินผล", "short": "สยป.",
        "profile": "diligent", "district": None,
        "description": (
            "จัดทำแผนพัฒนากรุงเทพมหานคร ติดตามและประเมินผลการปฏิบัติราชการ "
            "และบริหารจัดการตัวชี้วัดของหน่วยงานในสังกัดกรุงเทพมหานคร"),
        "target": ("improved",
                   "รวบรวมผลตัวชี้วัดของทุกหน่วยงานเป็นข้อมูลเปิดที่เครื่องอ่านได้"),
    },
    {
        "key": "bangrak", "name": "bangrak-district", "kind": "district",
        "title": "สำนักงานเขตบางรัก", "short": "สนข.บางรัก",
        "profile": "lagging", "district": "บางรัก",
        "description": (
            "สำนักงานเขตย่านธุรกิจสีลม ดูแลแขวงมหาพฤฒาราม สีลม สุริยวงศ์ "
            "บางรัก และสี่พระยา"),
        "target": None,
    },
    {
        "key": "chatuchak", "name": "chatuchak-district", "kind": "district",
        "title": "สำนักงานเขตจตุจักร", "short": "สนข.จตุจักร",
        "profile": "mixed", "district": "จตุจักร",
        "description": (
            "ดูแลแขวงลาดยาว เสนานิคม จันทรเกษม จอมพล และจตุจักร "
            "รวมถึงพื้นที่ตลาดนัดจตุจักรและสวนสาธารณะขนาดใหญ่"),
        "target": None,
    },
]
