from test_score_views import site, auth, FY
def test_dbg(app, site):
    page = app.get("/th/organization/pathumwan/kpi?fy=%d" % FY, headers=auth(site["member"]))
    i = page.body.find("ไม่มีข้อมูล")
    print(page.body[i-200:i+300])
