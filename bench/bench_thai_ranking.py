"""Thai ranking: trigram substring (production) vs PyThaiNLP word segmentation.

Run:  .venv/bin/python bench/bench_thai_ranking.py [--db ckan_bench]
          [--tokenizer-python /path/to/python-with-pythainlp]

A small labelled set (32 Thai datasets, 10 queries with the datasets judged
relevant, built in below) is loaded into a TEMP table of a scratch database
(ckan_bench by default; nothing persists), then ranked two ways:

(a) production: kpigov_pgsearch's own compiler (substring LIKE on the
    lower-cased text, served by the pg_trgm GIN index; score = title hit 1.0
    + text hit 0.1 + trigram similarity to the title), the very SQL
    ``package_search`` runs;
(b) PyThaiNLP ``newmm`` word segmentation of title (weight A) and notes and
    tags (weight C) into a ``tsvector`` (no stemming, like the 'simple'
    configuration), query words AND-ed, ordered by ``ts_rank``.

Reports precision@5, recall@5, R-precision and MRR per method. PyThaiNLP is not a
dependency of the project: pass --tokenizer-python with an interpreter that
has it (e.g. a throwaway venv) or (b) is skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# id: (title, notes, tags)
DOCS = {
    "d01": ("ข้อมูลผู้สูงอายุในชุมชนเขตปทุมวัน", "จำนวนผู้สูงอายุที่ลงทะเบียนรับเบี้ยยังชีพ", "สวัสดิการ"),
    "d02": ("ทะเบียนผู้รับเบี้ยยังชีพผู้สูงอายุ", "รายชื่อผู้มีสิทธิรับเบี้ยยังชีพ แยกตามเขต", "สวัสดิการ"),
    "d03": ("ศูนย์บริการสาธารณสุข", "ที่ตั้งศูนย์ บริการตรวจสุขภาพผู้สูงอายุและเด็ก", "สาธารณสุข"),
    "d04": ("ชมรมผู้สูงวัย", "รายชื่อชมรมคนชราและกิจกรรมประจำเดือน", "ผู้สูงอายุ"),
    "d05": ("จุดเสี่ยงน้ำท่วมขังในกรุงเทพมหานคร", "ตำแหน่งจุดที่มีน้ำท่วมขังเมื่อฝนตกหนัก", "น้ำท่วม"),
    "d06": ("ระดับน้ำในคลองสายหลัก", "ข้อมูลจากสถานีวัดระดับน้ำ ใช้เฝ้าระวังน้ำท่วม", "คลอง"),
    "d07": ("ปริมาณน้ำฝนรายชั่วโมง", "สถานีวัดน้ำฝนของสำนักการระบายน้ำ", "ฝน"),
    "d08": ("พื้นที่ประสบอุทกภัย ปี 2565", "ชุมชนที่ได้รับผลกระทบจากน้ำท่วมใหญ่", "อุทกภัย"),
    "d09": ("ร้านขายยาที่ได้รับอนุญาต", "รายชื่อร้านขายยาแผนปัจจุบันและแผนโบราณ", "ยา"),
    "d10": ("โรงพยาบาลสังกัดกรุงเทพมหานคร", "จำนวนเตียงและพยาบาลของโรงพยาบาล", "สุขภาพ"),
    "d11": ("สถิติผู้ติดยาเสพติดที่เข้ารับการบำบัด", "ผู้ป่วยยาเสพติดในศูนย์บำบัด", "ยาเสพติด"),
    "d12": ("ต้นยางนาริมถนน", "ทะเบียนต้นไม้ใหญ่ริมถนนสายหลัก", "ต้นไม้"),
    "d13": ("ตลาดนัดชุมชน", "ที่ตั้งตลาดนัดและวันเปิดทำการ", "ตลาด"),
    "d14": ("ตลาดสดที่ผ่านมาตรฐาน", "ผลการตรวจสุขาภิบาลตลาดสด", "ตลาด"),
    "d15": ("ราคาสินค้าเกษตร", "ราคาขายส่งจากตลาดกลางสินค้าเกษตร", "เศรษฐกิจ"),
    "d16": ("ที่จอดรถสาธารณะ", "จำนวนช่องจอดรถในอาคารจอดรถของกรุงเทพมหานคร", "จราจร"),
    "d17": ("เส้นทางรถโดยสารประจำทาง", "เส้นทางเดินรถเมล์และป้ายรถประจำทาง", "ขนส่ง"),
    "d18": ("ผู้ที่สามารถเข้าถึงอินเทอร์เน็ต", "ร้อยละของครัวเรือนที่สามารถใช้อินเทอร์เน็ตได้", "ดิจิทัล"),
    "d19": ("อุบัติเหตุทางถนน", "จำนวนอุบัติเหตุจากรถจักรยานยนต์และรถยนต์", "จราจร"),
    "d20": ("คลองและคูน้ำในความดูแล", "ความยาวคลองและการขุดลอก", "คลอง"),
    "d21": ("ท่าเรือโดยสารในคลองแสนแสบ", "ตารางเดินเรือโดยสารคลองแสนแสบ", "ขนส่ง"),
    "d22": ("พื้นที่นาข้าวในเขตหนองจอก", "พื้นที่ปลูกข้าวและผลผลิตต่อไร่", "เกษตร"),
    "d23": ("โรงเรียนนานาชาติ", "รายชื่อโรงเรียนนานาชาติที่ได้รับอนุญาต", "การศึกษา"),
    "d24": ("ความหนาแน่นของประชากร", "ประชากรต่อตารางกิโลเมตร แยกตามเขต", "ประชากร"),
    "d25": ("ข้อมูลเขตบางนา", "สถานที่สำคัญในเขตบางนา", "เขต"),
    "d26": ("โรงเรียนสังกัดกรุงเทพมหานคร", "จำนวนนักเรียนและครู แยกตามโรงเรียน", "การศึกษา"),
    "d27": ("ผลการทดสอบทางการศึกษาระดับชาติ", "คะแนนเฉลี่ยของนักเรียนแต่ละโรงเรียน", "การศึกษา"),
    "d28": ("ค่าฝุ่นละออง PM2.5 รายวัน", "ค่าเฉลี่ยฝุ่นละอองขนาดเล็กจากสถานีตรวจวัด", "ฝุ่น"),
    "d29": ("คุณภาพอากาศ", "ดัชนีคุณภาพอากาศและค่าฝุ่น", "สิ่งแวดล้อม"),
    "d30": ("เหตุไฟไหม้และการดับเพลิง", "สถิติเหตุไฟไหม้ แยกตามสาเหตุ", "อัคคีภัย"),
    "d31": ("อัคคีภัยในอาคารสูง", "เหตุอัคคีภัยและความเสียหาย", "ความปลอดภัย"),
    "d32": ("การใช้ไฟฟ้าในอาคารของกรุงเทพมหานคร", "หน่วยการใช้ไฟฟ้ารายเดือน", "พลังงาน"),
}
# query: datasets judged relevant (by meaning, not by string match)
QUERIES = {
    "ผู้สูงอายุ": ["d01", "d02", "d03", "d04"],
    "น้ำท่วม": ["d05", "d06", "d08"],
    "ยา": ["d09", "d11"],
    "ตลาด": ["d13", "d14", "d15"],
    "รถ": ["d16", "d17", "d19"],
    "คลอง": ["d06", "d20", "d21"],
    "นา": ["d22"],
    "โรงเรียน": ["d26", "d27", "d23"],
    "ฝุ่น": ["d28", "d29"],
    "ไฟไหม้": ["d30", "d31"],
}


def tokenize(texts: list[str], python: str) -> list[list[str]]:
    code = (
        "import json, sys\n"
        "from pythainlp.tokenize import word_tokenize\n"
        "texts = json.load(sys.stdin)\n"
        "out = [[w.strip().lower() for w in word_tokenize(t, engine='newmm',"
        " keep_whitespace=False) if w.strip() and any(c.isalnum() for c in w)]"
        " for t in texts]\n"
        "json.dump(out, sys.stdout, ensure_ascii=False)\n")
    res = subprocess.run([python, "-c", code], input=json.dumps(texts),
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def metrics(ranked: dict[str, list[str]]) -> dict[str, float]:
    p5 = r5 = mrr = rp = 0.0
    for q, relevant in QUERIES.items():
        got = ranked[q]
        top = got[:5]
        hits = sum(1 for d in top if d in relevant)
        p5 += hits / 5.0
        r5 += hits / float(len(relevant))
        rp += sum(1 for d in got[:len(relevant)] if d in relevant) / float(
            len(relevant))
        mrr += next((1.0 / (i + 1) for i, d in enumerate(got) if d in relevant), 0.0)
    n = float(len(QUERIES))
    return {"precision@5": round(p5 / n, 3), "recall@5": round(r5 / n, 3),
            "R-precision": round(rp / n, 3), "MRR": round(mrr / n, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="ckan_bench")
    ap.add_argument("--tokenizer-python", default=sys.executable)
    ap.add_argument("--show", action="store_true", help="print each ranking")
    args = ap.parse_args()

    import sqlalchemy as sa

    from ckanext.kpigov.search import lucene
    from ckanext.kpigov.search.compiler import Compiler

    engine = sa.create_engine(
        "postgresql://ckan_default:pass@127.0.0.1:%s/%s"
        % (os.environ.get("PG_PORT", "5432"), args.db))
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TEMP TABLE d (id text PRIMARY KEY, search_text text,"
            " title_text text, tsv tsvector, fields jsonb DEFAULT '{}',"
            " metadata_modified timestamp DEFAULT now(), wtsv tsvector)"))
        for id_, (title, notes, tags) in DOCS.items():
            text = " ".join([title, tags, notes]).lower()
            conn.execute(sa.text(
                "INSERT INTO d (id, search_text, title_text, tsv) VALUES "
                "(:id, :s, :t, to_tsvector('english', :s))"),
                {"id": id_, "s": text, "t": (title + " " + id_).lower()})

        ranked_a: dict[str, list[str]] = {}
        for q in QUERIES:
            comp = Compiler()
            node = lucene.parse_user_query(q)
            where = comp.compile(node)
            score = comp.score(lucene.free_text_terms(node))
            order = comp.order_by(None, score)
            rows = conn.execute(sa.text(
                "SELECT d.id FROM d WHERE %s ORDER BY %s" % (where, order)),
                comp.params).fetchall()
            ranked_a[q] = [r[0] for r in rows]
        results = {"trigram substring (production)": metrics(ranked_a)}
        rankings = {"trigram substring (production)": ranked_a}

        try:
            ids = list(DOCS)
            toks = tokenize([DOCS[i][0] for i in ids]
                            + [DOCS[i][2] + " " + DOCS[i][1] for i in ids]
                            + list(QUERIES), args.tokenizer_python)
        except (subprocess.CalledProcessError, OSError) as e:
            detail = (getattr(e, "stderr", None) or str(e)).strip().splitlines()
            print("PyThaiNLP not available to %s: (b) skipped (%s)"
                  % (args.tokenizer_python, detail[-1] if detail else e))
            toks = None
        if toks is not None:
            n = len(ids)
            for k, id_ in enumerate(ids):
                conn.execute(sa.text(
                    "UPDATE d SET wtsv = setweight(array_to_tsvector("
                    "CAST(:a AS text[])), 'A') || setweight(array_to_tsvector("
                    "CAST(:c AS text[])), 'C') WHERE id = :id"),
                    {"a": toks[k] or [""], "c": toks[n + k] or [""], "id": id_})
            ranked_b: dict[str, list[str]] = {}
            for j, q in enumerate(QUERIES):
                words = toks[2 * n + j]
                tsq = " & ".join("'%s'" % w.replace("'", "''") for w in words)
                rows = conn.execute(sa.text(
                    "SELECT id FROM d WHERE wtsv @@ CAST(:q AS tsquery) "
                    "ORDER BY ts_rank(wtsv, CAST(:q AS tsquery)) DESC, id"),
                    {"q": tsq}).fetchall()
                ranked_b[q] = [r[0] for r in rows]
            results["pythainlp newmm + ts_rank"] = metrics(ranked_b)
            rankings["pythainlp newmm + ts_rank"] = ranked_b
            print("query segmentation: " + ", ".join(
                "%s→%s" % (q, "|".join(toks[2 * n + j]))
                for j, q in enumerate(QUERIES)))

    if args.show:
        for method, ranked in rankings.items():
            print("\n" + method)
            for q, got in ranked.items():
                marks = ["%s%s" % (d, "*" if d in QUERIES[q] else "")
                         for d in got[:6]]
                print("  %-12s %s" % (q, " ".join(marks)))
    print("\n%d datasets, %d queries (relevant judged by meaning)"
          % (len(DOCS), len(QUERIES)))
    print("%-32s %11s %9s %11s %6s" % ("method", "precision@5", "recall@5",
                                       "R-precision", "MRR"))
    for method, m in results.items():
        print("%-32s %11.3f %9.3f %11.3f %6.3f" % (
            method, m["precision@5"], m["recall@5"], m["R-precision"], m["MRR"]))
    print("(precision@5 is capped below 1: most queries have fewer than 5 "
          "relevant datasets)")
    out = os.path.join(ROOT, "bench", "out", "thai_ranking.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"results": results, "rankings": rankings}, fh,
                  ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
