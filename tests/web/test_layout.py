def test_dashboard_renders_with_the_layout(admin_client):
    r = admin_client.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Recurent Demo SRL" in html
    assert 'href="/static/web/app.css"' in html


def test_anonymous_is_sent_to_login(client, db):
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert client.get("/login/").status_code == 200
